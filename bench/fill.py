"""Bulk fills of the bench database: tickets with history, and open tickets by SQL.

Both fills spread tickets over the active places of the demo structure, each
in its place's grid. Tickets past submission are assigned to a member who
serves in that grid, or in its parent grid where the grid has no member.
Import this module only after django.setup().
"""

import datetime
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from bench.site import BenchError
from grids.models import Place
from incidents.models import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    ActorKind,
    Channel,
    Incident,
    IncidentEvent,
    State,
    new_tracking_code,
)
from incidents.queries import public_categories
from members.models import Assignment

# Share of each state among the tickets of the history fill.
STATE_SHARES = {
    "submitted": 0.05,
    "dispatched": 0.10,
    "accepted": 0.15,
    "resolved": 0.15,
    "closed": 0.50,
    "rejected": 0.05,
}
# Tickets per bulk_create call, and per transaction of the history fill.
CHUNK = 5000
# Rows per INSERT ... SELECT of the SQL fill, one transaction each.
SQL_CHUNK = 100_000
# The modulo operator as written in SQL passed to a Django cursor with
# parameters, where a single % starts a placeholder.
MOD = "%%"


@dataclass(frozen=True)
class Slot:
    """A place with its grid, a member serving there and a category to report in."""

    place_id: int
    grid_id: int
    assignee_id: int | None
    category_id: int


@dataclass
class FillResult:
    tickets: int = 0
    events: int = 0
    seconds: float = 0.0


def ticket_slots(seed: int) -> list[Slot]:
    """Return one slot per active place, with a category drawn for each.

    Raise BenchError if the demo data has no place or no public category.
    """
    rng = random.Random(seed)
    categories = public_categories()
    parents = {category.parent_id for category in categories}
    leaves = [category.pk for category in categories if category.pk not in parents]
    places = list(
        Place.objects.filter(is_active=True, grid__is_active=True)
        .order_by("pk")
        .values_list("pk", "grid_id", "grid__parent_id")
    )
    if not places or not leaves:
        raise BenchError(
            f"the demo data has {len(places)} active places and {len(leaves)} "
            "public categories; the ticket fills need at least one of each."
        )

    serving: dict[int, list[int]] = {}
    for grid_id, member_id in (
        Assignment.objects.active()
        .filter(member__is_active=True)
        .order_by("grid_id", "member_id")
        .values_list("grid_id", "member_id")
    ):
        serving.setdefault(grid_id, []).append(member_id)

    slots = []
    for place_id, grid_id, parent_id in places:
        members = serving.get(grid_id) or serving.get(parent_id) or [None]
        slots.append(Slot(place_id, grid_id, rng.choice(members), rng.choice(leaves)))
    return slots


def clear_tickets() -> None:
    """Delete every ticket and every row that refers to one (events, notifications)."""
    statements = connection.ops.sql_flush(
        no_style(), [Incident._meta.db_table], allow_cascade=True
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# The history fill ---------------------------------------------------------------


def _draw_states(count: int, rng: random.Random) -> list[str]:
    states = list(STATE_SHARES)
    return rng.choices(states, weights=list(STATE_SHARES.values()), k=count)


def _unique_codes(count: int) -> Iterator[str]:
    seen: set[str] = set()
    while len(seen) < count:
        code = new_tracking_code()
        if code not in seen:
            seen.add(code)
            yield code


def fill_tickets(count: int, *, seed: int) -> FillResult:
    """Insert ``count`` tickets in all states, each with the events of its history.

    Tracking codes come from incidents.models.new_tracking_code. Every
    ticket's timestamps are the time of the fill, because bulk_create sets
    the auto_now fields. Deadlines of open tickets lie days ahead, so no
    sweep finds them overdue.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    slots = ticket_slots(seed)
    states = _draw_states(count, rng)
    codes = _unique_codes(count)
    result = FillResult()

    for first in range(0, count, CHUNK):
        chunk_states = states[first : first + CHUNK]
        with transaction.atomic():
            incidents = [
                _ticket(first + offset, state, next(codes), rng.choice(slots), rng)
                for offset, state in enumerate(chunk_states)
            ]
            result.tickets += len(_bulk_create_tickets(incidents))
            result.events += _create_histories(incidents)

    _analyze([Incident._meta.db_table, IncidentEvent._meta.db_table])
    result.seconds = time.perf_counter() - started
    return result


def _analyze(tables: list[str]) -> None:
    """Run ANALYZE on ``tables`` on PostgreSQL, as autovacuum would soon after a fill.

    SQLite keeps statistics only after an explicit ANALYZE, which the portal
    never runs, so the bench runs none there either.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _bulk_create_tickets(incidents: list) -> list:
    created = Incident.objects.bulk_create(incidents, batch_size=1000)
    if any(incident.pk is None for incident in created):
        raise BenchError(
            "bulk_create returned tickets without a primary key; this database "
            "does not return rows from a bulk insert."
        )
    return created


def _ticket(number: int, state: str, code: str, slot: Slot, rng: random.Random):
    now = timezone.now()
    dispatched = state not in (State.SUBMITTED, State.REJECTED)
    incident = Incident(
        tracking_code=code,
        category_id=slot.category_id,
        subject=f"Bench ticket {number}",
        description=(
            f"Bench ticket {number}: the street light in front of the entrance "
            "has been off for three nights, and the corridor is dark."
        ),
        place_id=slot.place_id,
        grid_id=slot.grid_id,
        channel=rng.choice([Channel.PUBLIC_FORM, Channel.QR_CODE]),
        reporter_name="Bench resident" if rng.random() < 0.5 else "",
        reporter_phone=f"138{number % 100_000_000:08d}" if rng.random() < 0.5 else "",
        state=state,
        needs_triage=state == State.SUBMITTED,
        assignee_id=slot.assignee_id if dispatched else None,
    )
    if state == State.DISPATCHED:
        incident.dispatched_at = now
        incident.accept_deadline = now + datetime.timedelta(days=rng.randint(2, 4))
    if state == State.ACCEPTED:
        incident.dispatched_at = incident.accepted_at = now
    if state in (State.DISPATCHED, State.ACCEPTED):
        incident.resolve_deadline = now + datetime.timedelta(days=rng.randint(5, 10))
    if state in (State.RESOLVED, State.CLOSED):
        incident.dispatched_at = incident.accepted_at = incident.resolved_at = now
        incident.reply = "The lamp was replaced and works again."
        incident.resolution_round = 1
    if state == State.CLOSED:
        incident.closed_at = now
    if state == State.REJECTED:
        incident.reject_reason = "The place is outside the community."
    return incident


# Events written for a ticket in each state, in order: kind, from, to, public.
_SUBMITTED = ("submitted", "", "", True)
_ROUTED = ("routed", "", "", False)
_DISPATCHED = ("dispatched", "submitted", "dispatched", True)
_ACCEPTED = ("accepted", "dispatched", "accepted", True)
_RESOLVED = ("resolved", "accepted", "resolved", True)
_CLOSED = ("closed", "resolved", "closed", True)
HISTORIES = {
    "submitted": [_SUBMITTED, _ROUTED],
    "dispatched": [_SUBMITTED, _ROUTED, _DISPATCHED],
    "accepted": [_SUBMITTED, _ROUTED, _DISPATCHED, _ACCEPTED],
    "resolved": [_SUBMITTED, _ROUTED, _DISPATCHED, _ACCEPTED, _RESOLVED],
    "closed": [_SUBMITTED, _ROUTED, _DISPATCHED, _ACCEPTED, _RESOLVED, _CLOSED],
    "rejected": [_SUBMITTED, ("rejected", "submitted", "rejected", True)],
}
EVENT_NOTES = {
    "routed": "Micro grid, collector, because the category is handled by collectors.",
    "resolved": "The lamp was replaced and works again.",
    "rejected": "The place is outside the community.",
}


def _create_histories(incidents: list) -> int:
    events = []
    for incident in incidents:
        for kind, from_state, to_state, is_public in HISTORIES[incident.state]:
            events.append(
                IncidentEvent(
                    incident_id=incident.pk,
                    kind=kind,
                    actor_kind=ActorKind.RESIDENT
                    if kind == "submitted"
                    else ActorKind.SYSTEM,
                    from_state=from_state,
                    to_state=to_state,
                    is_public=is_public,
                    note=EVENT_NOTES.get(kind, ""),
                )
            )
    IncidentEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)


# The SQL fill of open tickets ---------------------------------------------------


def _tracking_code_sql(number: str) -> str:
    """Return SQL for a 10-character tracking code that spells ``number`` in base 30."""
    base = len(TRACKING_ALPHABET)
    digits = [
        f"substr('{TRACKING_ALPHABET}', CAST(({number} / {base**place}) {MOD} "
        f"{base} AS INTEGER) + 1, 1)"
        for place in reversed(range(TRACKING_LENGTH))
    ]
    return " || ".join(digits)


def _series_sql(start: int, stop: int) -> str:
    """Return a FROM clause of the integers start to stop, as table ``series(n)``."""
    if connection.vendor == "postgresql":
        return f"generate_series({start}, {stop}) AS series(n)"
    return (
        f"(WITH RECURSIVE numbers(n) AS (SELECT {start} UNION ALL SELECT n + 1 "
        f"FROM numbers WHERE n < {stop}) SELECT n FROM numbers) AS series"
    )


def fill_open_tickets(
    *, total: int, overdue: int, now: datetime.datetime, seed: int
) -> float:
    """Insert ``total`` open tickets, ``overdue`` of them past their accept deadline.

    Rows 1 to ``overdue`` are dispatched with an accept deadline an hour
    before ``now``. The others alternate between dispatched with an accept
    deadline a week after ``now`` and accepted, and every resolve deadline
    is 30 days after ``now``, so that the sweep escalates exactly the
    overdue rows. The rows are made in the database by INSERT ... SELECT
    from a series (generate_series on PostgreSQL, a recursive CTE on
    SQLite), without events. Return the seconds taken, ANALYZE included on
    PostgreSQL.
    """
    started = time.perf_counter()
    slots = ticket_slots(seed)
    table = Incident._meta.db_table
    ops = connection.ops
    past = ops.adapt_datetimefield_value(now - datetime.timedelta(hours=1))
    soon = ops.adapt_datetimefield_value(now + datetime.timedelta(days=7))
    later = ops.adapt_datetimefield_value(now + datetime.timedelta(days=30))
    created = ops.adapt_datetimefield_value(now - datetime.timedelta(days=1))

    # Each column of the ticket table, as an expression of series.n and the
    # slot row; %s stands for a parameter given in the same order.
    columns: dict[str, tuple[str, list[object]]] = {
        "tracking_code": (_tracking_code_sql("series.n"), []),
        "subject": ("'Bench open ticket'", []),
        "description": ("'A bench ticket that waits for its grid member.'", []),
        "channel": ("'form'", []),
        "reporter_name": ("''", []),
        "reporter_phone": ("''", []),
        "reporter_email": ("''", []),
        "hide_name": ("%s", [True]),
        "state": (
            f"CASE WHEN series.n <= %s OR series.n {MOD} 2 = 0 THEN 'dispatched' "
            "ELSE 'accepted' END",
            [overdue],
        ),
        "needs_triage": ("%s", [False]),
        "escalation_level": ("0", []),
        "is_supervised": ("%s", [False]),
        "accept_deadline": (
            "CASE WHEN series.n <= %s THEN %s ELSE %s END",
            [overdue, past, soon],
        ),
        "resolve_deadline": ("%s", [later]),
        "reply": ("''", []),
        "reject_reason": ("''", []),
        "resolution_round": ("0", []),
        "idempotency_key": ("NULL", []),
        "created_at": ("%s", [created]),
        "updated_at": ("%s", [created]),
        "dispatched_at": ("%s", [created]),
        "accepted_at": (
            f"CASE WHEN series.n <= %s OR series.n {MOD} 2 = 0 THEN NULL ELSE %s END",
            [overdue, created],
        ),
        "resolved_at": ("NULL", []),
        "closed_at": ("NULL", []),
        "assignee_id": ("slot.assignee_id", []),
        "category_id": ("slot.category_id", []),
        "duplicate_of_id": ("NULL", []),
        "grid_id": ("slot.grid_id", []),
        "place_id": ("slot.place_id", []),
        "reported_by_id": ("NULL", []),
    }
    model_columns = {
        field.column for field in Incident._meta.concrete_fields if field.column != "id"
    }
    if model_columns != set(columns):
        raise BenchError(
            "the ticket table's columns changed; bench/fill.py fills "
            f"{sorted(set(columns) - model_columns)} but not "
            f"{sorted(model_columns - set(columns))}. Update fill_open_tickets."
        )

    names = ", ".join(connection.ops.quote_name(name) for name in columns)
    expressions = ", ".join(expression for expression, _params in columns.values())
    params = [value for _expression, values in columns.values() for value in values]

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_slot")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_slot (idx INTEGER PRIMARY KEY, "
            "place_id BIGINT, grid_id BIGINT, assignee_id BIGINT, "
            "category_id BIGINT)"
        )
        cursor.executemany(
            "INSERT INTO bench_slot VALUES (%s, %s, %s, %s, %s)",
            [
                (index, slot.place_id, slot.grid_id, slot.assignee_id, slot.category_id)
                for index, slot in enumerate(slots)
            ],
        )
        join = f"JOIN bench_slot AS slot ON slot.idx = series.n {MOD} {len(slots)}"
        for first in range(1, total + 1, SQL_CHUNK):
            last = min(total, first + SQL_CHUNK - 1)
            with transaction.atomic():
                cursor.execute(
                    f"INSERT INTO {ops.quote_name(table)} ({names}) "
                    f"SELECT {expressions} FROM {_series_sql(first, last)} {join}",
                    params,
                )
        cursor.execute("DROP TABLE bench_slot")
    _analyze([table])
    return time.perf_counter() - started
