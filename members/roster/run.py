"""Run a roster import: read the files, plan every sheet, write if all is valid."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from grids.cache import bump_directory_version
from grids.locks import lock_grid_tree
from grids.roster.sheets import RosterError, RosterFile, Sheet, read_roster_files
from grids.roster.tree import (
    GRID_SHEET,
    PLACE_SHEET,
    ImportCounts,
    plan_grids,
    plan_places,
    write_grids,
    write_places,
)
from members.roster.columns import MEMBER_SHEET
from members.roster.plan import count_assignments, plan_members, write_members

logger = logging.getLogger(__name__)

SPECS = (GRID_SHEET, PLACE_SHEET, MEMBER_SHEET)


@dataclass
class RosterReport:
    """Outcome of an import: counts per kind, errors, notes and timing."""

    dry_run: bool
    counts: dict[str, ImportCounts] = field(default_factory=dict)
    errors: list[RosterError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False
    seconds: float = 0.0


def roster_import(
    *, files: Sequence[RosterFile], kind: str | None = None, dry_run: bool = False
) -> RosterReport:
    """Validate every row of the roster files, then write them if all are valid.

    A file with any bad row writes nothing. Validation and writing share one
    durable transaction that holds the grid tree lock, so no other write can
    change the tree between the checks and the writes. ``kind`` forces the
    kind of CSV files; ``dry_run`` validates only. Return the report.
    """
    started = time.monotonic()
    logger.info("roster import started files=%s dry_run=%s", len(files), dry_run)
    sheets, errors, notes = read_roster_files(files, SPECS, kind)
    report = RosterReport(dry_run=dry_run, errors=errors, notes=notes)
    if errors:
        return _finish(report, sheets, started)

    by_kind = {spec.kind: [s for s in sheets if s.spec is spec] for spec in SPECS}
    with transaction.atomic(durable=True):
        lock_grid_tree()
        grid_plan = plan_grids(by_kind["grids"], errors)
        place_plan = plan_places(by_kind["places"], grid_plan, errors)
        member_plan = plan_members(by_kind["members"], grid_plan, errors)
        count_assignments(member_plan)
        report.counts = {
            "grids": grid_plan.counts,
            "places": place_plan.counts,
            "organizations": member_plan.organization_counts,
            "members": member_plan.member_counts,
            "assignments": member_plan.assignment_counts,
        }
        if errors or dry_run:
            return _finish(report, sheets, started)

        write_grids(grid_plan)
        write_places(place_plan)
        write_members(member_plan)
        transaction.on_commit(bump_directory_version)
        report.written = True
    return _finish(report, sheets, started)


def _finish(report: RosterReport, sheets: list[Sheet], started: float) -> RosterReport:
    order = {sheet.source: index for index, sheet in enumerate(sheets)}
    report.errors.sort(key=lambda error: (order.get(error.source, -1), error.row or 0))
    report.seconds = time.monotonic() - started
    counts = {
        kind: f"{c.created}/{c.updated}/{c.unchanged}"
        for kind, c in report.counts.items()
    }
    logger.info(
        "roster import finished written=%s dry_run=%s errors=%s seconds=%.1f "
        "created/updated/unchanged=%s",
        report.written,
        report.dry_run,
        len(report.errors),
        report.seconds,
        counts,
    )
    return report
