"""The periodic sweep: escalation, supervision and late routing.

The sweep reads only overdue rows through partial indexes, and the tickets
of inactive members through the assignee index, so its cost grows with the
number of overdue tickets, not with the number of open ones. It
works in batches. Each batch is one transaction that locks its rows, and
PostgreSQL skips rows that another sweep holds. The batch is decided with a
handful of queries and written with one UPDATE, one INSERT of events and one
INSERT of notifications. A ticket escalates once per level: the unique constraint
on (ticket, level) of escalation events is the last guard if two sweeps ever
met on the same row.
"""

import datetime
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid
from incidents import hooks
from incidents.actors import Actor
from incidents.calendar import WorkingCalendar, deadline_after
from incidents.categories import effective_settings
from incidents.models import (
    ActorKind,
    Category,
    EventKind,
    Incident,
    IncidentEvent,
    State,
)
from incidents.notifications import notify_for_events
from members.models import Assignment, Member, Position

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# A ticket that fails to escalate is retried after this long, so that one
# broken row cannot make every sweep fail on it again at once.
RETRY_AFTER = datetime.timedelta(minutes=30)


@dataclass
class SweepReport:
    escalated: dict[int, int] = field(default_factory=dict)  # level -> count
    supervised: int = 0
    released: int = 0
    routed: int = 0
    reminded: int = 0
    failed: list[int] = field(default_factory=list)

    @property
    def escalated_total(self) -> int:
        return sum(self.escalated.values())


def _locked_batch(queryset, size: int) -> list[Incident]:
    queryset = queryset.select_for_update(
        skip_locked=connection.features.has_select_for_update_skip_locked, of=("self",)
    )
    return list(queryset[:size])


def _leaders_of(grid_ids: set[int]) -> dict[int, int]:
    """Return, per grid id, the member id of one active leader (lowest id first)."""
    rows = (
        Assignment.objects.active(timezone.localdate())
        .filter(grid_id__in=grid_ids, position=Position.LEADER, member__is_active=True)
        .order_by("grid_id", "member_id")
        .values_list("grid_id", "member_id")
    )
    leaders: dict[int, int] = {}
    for grid_id, member_id in rows:
        leaders.setdefault(grid_id, member_id)
    return leaders


class _CategoryCache:
    """Effective category settings and the working calendar, read once per sweep."""

    def __init__(self, now: datetime.datetime) -> None:
        self._settings: dict[int, object] = {}
        self.calendar = WorkingCalendar.from_moment(now)

    def get(self, category_id: int):
        if category_id not in self._settings:
            category = Category.objects.get(pk=category_id)
            self._settings[category_id] = effective_settings(category)
        return self._settings[category_id]


def escalate_overdue(
    now: datetime.datetime,
    report: SweepReport,
    *,
    batch_size: int = BATCH_SIZE,
    only: Collection[int] | None = None,
) -> None:
    """Hand every ticket whose accept deadline has passed to the next level up.

    ``only`` limits the sweep to those ticket ids, as a replay does.
    """
    categories = _CategoryCache(now)
    while True:
        try:
            done = _escalate_batch(now, report, categories, batch_size, only)
        except Exception:
            # One bad row, such as a category whose deadline cannot be
            # computed, must not hold up the others: the batch is rolled
            # back and retried ticket by ticket, which sets the bad row aside.
            logger.exception("escalation batch failed; retrying ticket by ticket")
            done = _escalate_one_by_one(now, report, categories, batch_size, only)
        if done:
            return


def _scoped(queryset, only: Collection[int] | None):
    return queryset if only is None else queryset.filter(pk__in=list(only))


def _overdue_accept(now: datetime.datetime, only: Collection[int] | None):
    return _scoped(
        Incident.objects.filter(state=State.DISPATCHED, accept_deadline__lte=now),
        only,
    ).order_by("accept_deadline", "pk")


def _escalate_batch(now, report, categories, batch_size, only) -> bool:
    with transaction.atomic(durable=True):
        batch = _locked_batch(
            # Every field that bulk_update() writes must be loaded here, or
            # reading a deferred one costs a query per ticket.
            _overdue_accept(now, only).only(
                "pk",
                "grid_id",
                "escalation_level",
                "category_id",
                "assignee_id",
                "state",
                "needs_triage",
                "dispatched_at",
                "accept_deadline",
                "updated_at",
            ),
            batch_size,
        )
        if not batch:
            return True
        levels = _escalate_rows(batch, now, categories)
    # Counted only once committed, so that a batch that is rolled back and
    # retried ticket by ticket is not counted twice.
    _add_levels(report, levels)
    return len(batch) < batch_size


def _escalate_one_by_one(now, report, categories, batch_size, only) -> bool:
    ids = list(_overdue_accept(now, only).values_list("pk", flat=True)[:batch_size])
    for incident_id in ids:
        try:
            with transaction.atomic(durable=True):
                batch = _locked_batch(
                    _overdue_accept(now, only).filter(pk=incident_id), 1
                )
                levels = _escalate_rows(batch, now, categories) if batch else {}
            _add_levels(report, levels)
        except Exception:
            logger.exception(
                "escalation failed id=%s; retry after %s", incident_id, RETRY_AFTER
            )
            report.failed.append(incident_id)
            Incident.objects.filter(pk=incident_id, state=State.DISPATCHED).update(
                accept_deadline=now + RETRY_AFTER
            )
    return len(ids) < batch_size


def _add_levels(report: SweepReport, levels: dict[int, int]) -> None:
    for level, count in levels.items():
        report.escalated[level] = report.escalated.get(level, 0) + count


def _escalate_rows(batch: list[Incident], now, categories) -> dict[int, int]:
    """Escalate the locked tickets of ``batch``; return the count per new level."""
    grids = {
        grid.pk: grid
        for grid in Grid.objects.filter(
            pk__in={incident.grid_id for incident in batch if incident.grid_id}
        ).only("pk", "parent_id", "name", "kind")
    }
    parent_ids = {grid.parent_id for grid in grids.values() if grid.parent_id}
    parents = {
        grid.pk: grid
        for grid in Grid.objects.filter(pk__in=parent_ids).only(
            "pk", "parent_id", "name"
        )
    }
    leaders = _leaders_of(parent_ids)

    events = []
    levels: dict[int, int] = {}
    previous_assignees = {incident.pk: incident.assignee_id for incident in batch}
    # Every ticket of the batch starts its new deadline at ``now``, so the
    # deadline depends on the category's settings alone.
    deadlines: dict[tuple[int, str], datetime.datetime] = {}
    for incident in batch:
        grid = grids.get(incident.grid_id)
        parent = parents.get(grid.parent_id) if grid and grid.parent_id else None
        leader_id = leaders.get(parent.pk) if parent else None
        incident.escalation_level += 1
        level = incident.escalation_level
        if parent is not None and leader_id is not None:
            incident.grid_id = parent.pk
            incident.assignee_id = leader_id
            incident.dispatched_at = now
            cat = categories.get(incident.category_id)
            key = (cat.accept_minutes, cat.time_basis)
            if key not in deadlines:
                deadlines[key] = deadline_after(
                    now,
                    cat.accept_minutes,
                    cat.time_basis,
                    calendar=categories.calendar,
                )
            incident.accept_deadline = deadlines[key]
            note = _("Not accepted in time; handed to the leader of %(grid)s.") % {
                "grid": parent.name
            }
        else:
            # Above the top grid, or no leader there: the street office takes it.
            incident.state = State.SUBMITTED
            incident.needs_triage = True
            incident.assignee_id = None
            incident.accept_deadline = None
            note = _("Not accepted in time; handed to the street office.")
        incident.updated_at = now
        events.append(
            IncidentEvent(
                incident=incident,
                kind=EventKind.ESCALATED,
                actor_kind=ActorKind.SYSTEM,
                from_state=State.DISPATCHED
                if incident.state != State.DISPATCHED
                else "",
                to_state=incident.state if incident.state != State.DISPATCHED else "",
                note=note,
                is_public=False,
                level=level,
            )
        )
        levels[level] = levels.get(level, 0) + 1

    _write_escalations(batch)
    created = IncidentEvent.objects.bulk_create(events)
    if notify_for_events(created, previous_assignees=previous_assignees):
        transaction.on_commit(hooks.deliver_notifications)
    return levels


ESCALATION_FIELDS = (
    "escalation_level",
    "grid_id",
    "assignee_id",
    "dispatched_at",
    "accept_deadline",
    "state",
    "needs_triage",
    "updated_at",
)


def _write_escalations(batch: list[Incident]) -> None:
    """Write the escalated fields of the locked rows of ``batch``.

    Django's bulk_update() builds one CASE WHEN per row and field, which
    costs more than the rest of the sweep. PostgreSQL gets one UPDATE joined
    to a VALUES list instead. Other databases get one UPDATE per group of
    rows that share their new values, and a batch has few such groups.
    """
    if connection.vendor == "postgresql":
        _write_escalations_postgresql(batch)
        return

    groups: dict[tuple, list[int]] = {}
    for incident in batch:
        values = tuple(getattr(incident, name) for name in ESCALATION_FIELDS)
        groups.setdefault(values, []).append(incident.pk)
    for values, ids in groups.items():
        Incident.objects.filter(pk__in=ids).update(
            **dict(zip(ESCALATION_FIELDS, values, strict=True))
        )


def _write_escalations_postgresql(batch: list[Incident]) -> None:
    table = Incident._meta.db_table
    casts = (
        "bigint",
        "smallint",
        "bigint",
        "bigint",
        "timestamptz",
        "timestamptz",
        "varchar",
        "boolean",
        "timestamptz",
    )
    row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    columns = ", ".join(("id", *ESCALATION_FIELDS))
    assignments = ", ".join(f"{name} = v.{name}" for name in ESCALATION_FIELDS)
    sql = (
        f"UPDATE {table} AS i SET {assignments} "
        f"FROM (VALUES {', '.join([row] * len(batch))}) AS v({columns}) "
        "WHERE i.id = v.id"
    )
    params = [
        value
        for incident in batch
        for value in (
            incident.pk,
            *(getattr(incident, name) for name in ESCALATION_FIELDS),
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def supervise_overdue(
    now: datetime.datetime,
    report: SweepReport,
    *,
    batch_size: int = BATCH_SIZE,
    only: Collection[int] | None = None,
) -> None:
    """Put open tickets past their resolve deadline under supervision (督办)."""
    while True:
        with transaction.atomic(durable=True):
            overdue = Incident.objects.filter(
                state__in=[State.DISPATCHED, State.ACCEPTED],
                is_supervised=False,
                resolve_deadline__lte=now,
            )
            batch = _locked_batch(
                _scoped(overdue, only)
                .order_by("resolve_deadline", "pk")
                .only("pk", "is_supervised", "grid_id", "state"),
                batch_size,
            )
            if not batch:
                return
            for incident in batch:
                incident.is_supervised = True
                incident.updated_at = now
            Incident.objects.bulk_update(batch, ["is_supervised", "updated_at"])
            created = IncidentEvent.objects.bulk_create(
                IncidentEvent(
                    incident=incident,
                    kind=EventKind.SUPERVISED,
                    actor_kind=ActorKind.SYSTEM,
                    note=_(
                        "Not resolved in time; supervised by the parent grid and the "
                        "street office."
                    ),
                    is_public=False,
                )
                for incident in batch
            )
            report.supervised += len(batch)
            if notify_for_events(created):
                transaction.on_commit(hooks.deliver_notifications)
        if len(batch) < batch_size:
            return


def release_from_inactive(
    now: datetime.datetime,
    report: SweepReport,
    *,
    only: Collection[int] | None = None,
) -> None:
    """Send the open tickets of members who are no longer active back to routing.

    Staff deactivate a member who leaves; late routing, which runs next, then
    finds someone else. The inactive members are read first, so the tickets
    are found through the assignee index however many are open.
    """
    from incidents.workflow import TransitionError, incident_release

    inactive = list(Member.objects.filter(is_active=False).values_list("pk", flat=True))
    if not inactive:
        return
    assigned_to_inactive = Incident.objects.filter(
        state__in=[State.DISPATCHED, State.ACCEPTED], assignee_id__in=inactive
    )
    rows = list(
        _scoped(assigned_to_inactive, only)
        .order_by("pk")
        .values_list("pk", "assignee_id", "assignee__name")[:BATCH_SIZE]
    )
    reason = _("%(member)s is no longer active; the ticket goes back to routing.")
    for incident_id, assignee_id, name in rows:
        try:
            incident_release(
                incident_id=incident_id,
                assignee_id=assignee_id,
                actor=Actor.system(),
                reason=reason % {"member": name},
            )
        except TransitionError:
            # Staff reassigned or closed it, or reactivated the member, since
            # the query above.
            continue
        except DatabaseError:
            logger.exception("returning for routing failed id=%s", incident_id)
            report.failed.append(incident_id)
            continue
        report.released += 1


def route_late(
    now: datetime.datetime,
    report: SweepReport,
    *,
    only: Collection[int] | None = None,
) -> None:
    """Route tickets still waiting after the grace period, as after a broker outage."""
    from incidents.routing import incident_route

    grace = datetime.timedelta(seconds=settings.WESTGARDEN_ROUTING_GRACE_SECONDS)
    waiting = Incident.objects.filter(
        state=State.SUBMITTED, needs_triage=False, created_at__lte=now - grace
    )
    ids = list(
        _scoped(waiting, only)
        .order_by("created_at")
        .values_list("pk", flat=True)[:BATCH_SIZE]
    )
    for incident_id in ids:
        try:
            if incident_route(incident_id=incident_id) is not None:
                report.routed += 1
        except Exception as error:
            # A ticket that routing cannot handle goes to staff, so the next
            # sweep does not fail on it again.
            logger.exception("late routing failed id=%s; sent to triage", incident_id)
            report.failed.append(incident_id)
            _triage_after_failure(incident_id, error)


def _triage_after_failure(incident_id: int, error: Exception) -> None:
    from incidents.workflow import TransitionError, incident_triage

    reason = _("Routing failed (%(error)s); staff must route the ticket.") % {
        "error": type(error).__name__
    }
    try:
        incident_triage(incident_id=incident_id, reason=reason)
    except (TransitionError, DatabaseError):
        logger.exception("triage after failed routing failed id=%s", incident_id)


def sweep(
    now: datetime.datetime | None = None, *, only: Collection[int] | None = None
) -> SweepReport:
    """Run one sweep: release, late routing, escalation, supervision, reminders.

    Release sends the open tickets of inactive members back to routing.

    With ``only``, the sweep touches just those ticket ids and sends no
    reminders: replays run it on a simulated clock and must leave every other
    ticket alone.
    """
    from incidents.reminders import remind_upcoming

    now = now or timezone.now()
    report = SweepReport()
    # Released tickets wait like new ones, so late routing takes them
    # up in the same sweep.
    release_from_inactive(now, report, only=only)
    route_late(now, report, only=only)
    escalate_overdue(now, report, only=only)
    supervise_overdue(now, report, only=only)
    if only is None:
        with transaction.atomic(durable=True):
            report.reminded = remind_upcoming(now)
    if (
        report.escalated
        or report.supervised
        or report.released
        or report.routed
        or report.failed
    ):
        logger.info(
            "sweep escalated=%s supervised=%s released=%s routed=%s failed=%s",
            report.escalated,
            report.supervised,
            report.released,
            report.routed,
            len(report.failed),
        )
    return report
