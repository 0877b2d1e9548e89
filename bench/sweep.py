"""The escalation sweep at scale, timed in this process without a server.

Import this module only after django.setup().
"""

import time
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.fill import clear_tickets, fill_open_tickets
from incidents.escalation import sweep


@dataclass
class SweepCase:
    """One sweep over a freshly filled ticket table."""

    name: str
    open_tickets: int
    overdue: int
    fill_seconds: float = 0.0
    sweep_seconds: float = 0.0
    escalated: int = 0
    # Counted only where asked; None otherwise.
    queries: int | None = None
    # True if the query log's maximum length cut the count short.
    queries_capped: bool = False
    second_escalated: int | None = None
    second_seconds: float | None = None

    @property
    def ms_per_escalated(self) -> float:
        return self.sweep_seconds * 1000 / self.escalated if self.escalated else 0.0

    @property
    def queries_per_escalated(self) -> float | None:
        if self.queries is None or not self.escalated:
            return None
        return self.queries / self.escalated


def run_case(
    name: str,
    *,
    open_tickets: int,
    overdue: int,
    seed: int,
    count_queries: bool = False,
    sweep_again: bool = False,
) -> SweepCase:
    """Empty the ticket table, fill it, then time one sweep (and maybe a second).

    With ``count_queries``, the first sweep runs inside CaptureQueriesContext,
    whose debug cursor records every statement and so adds to the time.
    """
    case = SweepCase(name, open_tickets, overdue)
    now = timezone.now()
    clear_tickets()
    case.fill_seconds = fill_open_tickets(
        total=open_tickets, overdue=overdue, now=now, seed=seed
    )

    if count_queries:
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            report = sweep(now)
            case.sweep_seconds = time.perf_counter() - began
        case.queries = len(captured)
        case.queries_capped = case.queries >= (connection.queries_log.maxlen or 0)
    else:
        began = time.perf_counter()
        report = sweep(now)
        case.sweep_seconds = time.perf_counter() - began
    case.escalated = report.escalated_total

    if sweep_again:
        began = time.perf_counter()
        case.second_escalated = sweep(now).escalated_total
        case.second_seconds = time.perf_counter() - began
    return case
