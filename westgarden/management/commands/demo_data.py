import argparse
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from westgarden.demo.actions import (
    LEADER_USERNAME,
    MEMBER_USERNAME,
    STAFF_USERNAME,
    demo_data_create,
)


def scale_fraction(text: str) -> float:
    try:
        scale = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
    if not 0 < scale <= 1:
        raise argparse.ArgumentTypeError(
            f"{text} is outside (0, 1]; use a fraction such as 0.05."
        )
    return scale


class Command(BaseCommand):
    help = (
        "Create the demo community at the scale of Tianrui: grid tree, members, "
        "party organizations, places and the demo logins. Rows that exist are "
        "left as they are, so running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="Seed of the random names; the same seed builds the same rows.",
        )
        parser.add_argument(
            "--scale",
            type=scale_fraction,
            default=1.0,
            help="Fraction of the real counts to build, in (0, 1]; default 1.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Write demo rows and logins even though DEBUG is off.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                _(
                    "DEBUG is off, so this looks like a production database; the "
                    "demo would add made-up people and logins with a known "
                    "password. Pass --allow-production to write them anyway."
                )
            )

        started = time.perf_counter()
        try:
            created = demo_data_create(seed=options["seed"], scale=options["scale"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        elapsed = time.perf_counter() - started

        rows = ", ".join(
            f"{kind} {count}" for kind, count in sorted(created.items()) if count
        )
        if rows:
            message = _("Demo data ready in %(seconds).1f s; rows created: %(rows)s.")
        else:
            message = _(
                "Demo data ready in %(seconds).1f s; every row already existed."
            )
        self.stdout.write(message % {"seconds": elapsed, "rows": rows})
        self.stdout.write(
            _("Demo logins %(logins)s; password from WESTGARDEN_DEMO_PASSWORD.")
            % {"logins": ", ".join((STAFF_USERNAME, LEADER_USERNAME, MEMBER_USERNAME))}
        )
