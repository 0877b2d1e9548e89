"""Import grids, places and members from roster spreadsheets."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grids.roster.sheets import RosterFile
from members.roster import SPECS, roster_import


class Command(BaseCommand):
    help = (
        "Import grids, places and members from an XLSX workbook or CSV files. "
        "Every row is checked first; any bad row is printed and nothing is "
        "written. See docs/roster-import.md for the columns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files",
            nargs="+",
            type=Path,
            help="XLSX workbooks and CSV files, imported together in one transaction.",
        )
        parser.add_argument(
            "--kind",
            choices=[spec.kind for spec in SPECS],
            help=(
                "Kind of the CSV files (and of single-sheet workbooks); by "
                "default it is told from each file's header."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report the counts, but write nothing.",
        )

    def handle(self, *args: object, **options: object) -> None:
        paths: list[Path] = options["files"]  # type: ignore[assignment]
        files = []
        for path in paths:
            try:
                files.append(RosterFile(name=str(path), content=path.read_bytes()))
            except OSError as error:
                raise CommandError(
                    _("Failed to read %(path)s: %(error)s")
                    % {"path": path, "error": error.strerror}
                ) from None

        try:
            report = roster_import(
                files=files,
                kind=options["kind"],  # type: ignore[arg-type]
                dry_run=bool(options["dry_run"]),
            )
        except IntegrityError as error:
            # Another request wrote a conflicting row, such as a member with
            # the same phone number, between the checks and the writes.
            raise CommandError(
                _(
                    "The database changed during the import (%(error)s); "
                    "nothing was written. Run the import again."
                )
                % {"error": error}
            ) from None

        for note in report.notes:
            self.stdout.write(note)
        for problem in report.errors:
            self.stderr.write(str(problem))
        if report.errors:
            raise CommandError(
                ngettext(
                    "%(count)s error; nothing was written.",
                    "%(count)s errors; nothing was written.",
                    len(report.errors),
                )
                % {"count": len(report.errors)}
            )

        for kind, counts in report.counts.items():
            self.stdout.write(
                _(
                    "%(kind)s: %(created)s created, %(updated)s updated, "
                    "%(unchanged)s unchanged"
                )
                % {
                    "kind": kind,
                    "created": counts.created,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                }
            )
        if report.dry_run:
            self.stdout.write(_("Dry run: every row is valid; nothing was written."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Roster imported in %(seconds).1f s.")
                    % {"seconds": report.seconds}
                )
            )
