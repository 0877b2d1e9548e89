"""Fill the holidays and make-up working days table from chinesecalendar.

Safe to run at every start: a second run changes nothing, and rows entered by
staff are never overwritten.
"""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from incidents.calendar import calendar_sync, package_coverage


def calendar_year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year.") from None
    if not 1 <= year <= 9999:
        raise argparse.ArgumentTypeError(f"{year} is outside 1 to 9999.")
    return year


class Command(BaseCommand):
    help = (
        "Write the public holidays that fall on weekdays and the make-up working "
        "days that fall on weekends from the chinesecalendar package. Rows "
        "entered by staff stay as they are."
    )
    # This command is what fixes the missing-year warning of the checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--years",
            nargs="+",
            type=calendar_year,
            metavar="YEAR",
            help="Years to fill; default: this year and the next, in TIME_ZONE.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        years: list[int] = options["years"]
        if not years:
            this_year = timezone.localdate().year
            years = [this_year, this_year + 1]

        result = calendar_sync(years=years)
        for year_sync in result.synced:
            self.stdout.write(
                f"{year_sync.year}: {year_sync.created} created, "
                f"{year_sync.updated} updated, {year_sync.deleted} deleted, "
                f"{year_sync.left_to_staff} left to staff entries."
            )
        for year in result.unknown_years:
            self.stderr.write(
                f"{year}: not in {package_coverage()}; nothing written. Upgrade "
                "the package once the State Council has published the year's "
                "holidays, or enter the days in the admin."
            )

        if not result.synced:
            raise CommandError(
                f"None of the years {', '.join(map(str, years))} is in "
                f"{package_coverage()}."
            )
