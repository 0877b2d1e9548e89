from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.replay import replay


class Command(BaseCommand):
    help = (
        "Feed a CSV of citizen messages (board columns 留言主题/留言详情/"
        "一级分类[/答复意见], "
        "or NYC 311 columns) through the public intake, routing and escalation, "
        "then print a report."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="CSV file to replay.")
        parser.add_argument(
            "--seed", type=int, default=1, help="Seed for place choice."
        )
        parser.add_argument(
            "--limit", type=int, help="Replay at most this many messages."
        )
        parser.add_argument(
            "--simulate-hours",
            type=float,
            default=0.0,
            help="After intake, let this many hours pass on a simulated clock, "
            "sweeping at every accept deadline, so that tickets escalate.",
        )
        parser.add_argument(
            "--answer-share",
            type=float,
            default=0.6,
            help="Share (0-1) of routed messages with a reply that get answered.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even though DEBUG is off.",
        )
        parser.add_argument(
            "--via-celery",
            action="store_true",
            help="Leave routing to a running Celery worker and wait for it.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off, so this may be a production database; pass "
                "--allow-production to replay messages into it anyway."
            )
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} does not exist or is not a file.")
        if not 0 <= options["answer_share"] <= 1:
            raise CommandError(
                f"--answer-share={options['answer_share']} is not between 0 and 1."
            )
        if options["simulate_hours"] < 0:
            raise CommandError(
                f"--simulate-hours={options['simulate_hours']} must not be negative."
            )

        try:
            report = replay(
                path,
                seed=options["seed"],
                limit=options["limit"],
                simulate_hours=options["simulate_hours"],
                answer_share=options["answer_share"],
                via_celery=options["via_celery"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None

        for line in report.lines():
            self.stdout.write(line)
        for rejection in report.rejected[:20]:
            self.stderr.write(f"rejected {rejection}")
