"""Recompute the deadlines of open tickets after their rules change.

A ticket's deadlines are computed when it is dispatched, from its category's
settings and the holidays table as they are at that moment. When staff change
a category's deadlines, its time basis or its place in the tree, or edit the
holidays table, the open tickets are brought in line:

- a dispatched ticket gets a new accept deadline and a new resolve deadline,
- an accepted ticket gets a new resolve deadline; its accept deadline has
  been met and stays as it was.

Both count from ``dispatched_at``, as dispatch, reassignment and reopening
set them. Escalation hands a ticket on and restarts only the accept
deadline, so the resolve deadline of a ticket escalated since its last
assignment counts from the time of that assignment, as recorded in its
history. Escalation levels and supervision already recorded stay as they
are: a later deadline does not undo them.
"""

import datetime
import logging
from collections.abc import Collection

from django.db import transaction
from django.db.models import OuterRef, Subquery

from incidents.calendar import NoWorkingDayError, WorkingCalendar, deadline_after
from incidents.categories import CategorySettings, settings_from_chain
from incidents.models import (
    Category,
    EventKind,
    Incident,
    IncidentEvent,
    State,
    TimeBasis,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

# Events that start a ticket's resolve deadline: each sets dispatched_at too.
ASSIGNMENT_EVENTS = (EventKind.DISPATCHED, EventKind.REASSIGNED, EventKind.REOPENED)

SETTINGS_FIELDS = (
    "parent_id",
    "role",
    "is_urgent",
    "accept_minutes",
    "resolve_minutes",
    "time_basis",
)


def settings_by_category() -> dict[int, CategorySettings]:
    """Return the effective settings of every category, in one query."""
    nodes = {node.pk: node for node in Category.objects.only(*SETTINGS_FIELDS)}
    result: dict[int, CategorySettings] = {}
    for pk, node in nodes.items():
        chain = [node]
        seen = {pk}
        while chain[-1].parent_id is not None and chain[-1].parent_id not in seen:
            parent = nodes.get(chain[-1].parent_id)
            if parent is None:
                break
            seen.add(parent.pk)
            chain.append(parent)
        result[pk] = settings_from_chain(chain)
    return result


def queue_recompute(category_ids: Collection[int] | None) -> None:
    """Queue recompute_deadlines() for ``category_ids`` after the transaction commits.

    None means every category whose deadlines count in working time.
    """
    ids = sorted(set(category_ids)) if category_ids is not None else None

    def send() -> None:
        from incidents.hooks import BROKER_ERRORS
        from incidents.tasks import recompute_deadlines_task

        try:
            recompute_deadlines_task.delay(ids)
        except BROKER_ERRORS as error:
            logger.warning(
                "deadline recompute not queued error=%s", type(error).__name__
            )

    transaction.on_commit(send)


def calendar_changed() -> None:
    """Queue a recompute of working-time deadlines after the holidays table changed.

    Call it inside the transaction that wrote the change, e.g. from the
    admin's save_model() and delete_model(). The task runs after commit, so
    it reads the new table.
    """
    queue_recompute(None)


def recompute_deadlines(
    category_ids: Collection[int] | None = None, *, batch_size: int = BATCH_SIZE
) -> int:
    """Recompute the deadlines of open tickets in ``category_ids``.

    Return the number of tickets whose deadlines changed.

    With None, recompute the tickets of every category whose deadlines count
    in working time, as after a change of the holidays table. Works in
    batches of ``batch_size`` tickets, one transaction and one UPDATE each,
    and locks each batch's rows so that a concurrent transition is not
    overwritten. A ticket whose deadline cannot be computed is logged and
    keeps its deadlines.
    """
    settings = settings_by_category()
    if category_ids is None:
        selected = sorted(
            pk
            for pk, found in settings.items()
            if found.time_basis == TimeBasis.WORKING
        )
    else:
        selected = sorted(pk for pk in set(category_ids) if pk in settings)
    if not selected:
        return 0

    calendar = WorkingCalendar()
    changed = 0
    failed = 0
    last_pk = 0
    while True:
        with transaction.atomic(durable=True):
            batch = _locked_batch(selected, last_pk, batch_size)
            if not batch:
                break
            last_pk = batch[-1].pk
            updated = []
            for incident in batch:
                try:
                    if _recompute_one(incident, settings, calendar):
                        updated.append(incident)
                except (ValueError, NoWorkingDayError):
                    logger.exception("deadline recompute failed id=%s", incident.pk)
                    failed += 1
            Incident.objects.bulk_update(
                updated, ["accept_deadline", "resolve_deadline"]
            )
        changed += len(updated)
        if len(batch) < batch_size:
            break

    logger.info(
        "deadlines recomputed categories=%s changed=%s failed=%s",
        len(selected),
        changed,
        failed,
    )
    return changed


def _locked_batch(category_ids: list[int], after_pk: int, size: int) -> list[Incident]:
    events = IncidentEvent.objects.filter(incident=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    last_assigned = events.filter(kind__in=ASSIGNMENT_EVENTS).values("created_at")[:1]
    last_escalated = events.filter(kind=EventKind.ESCALATED).values("created_at")[:1]
    queryset = (
        Incident.objects.filter(
            state__in=[State.DISPATCHED, State.ACCEPTED],
            category_id__in=category_ids,
            dispatched_at__isnull=False,
            pk__gt=after_pk,
        )
        .only(
            "pk",
            "state",
            "category_id",
            "dispatched_at",
            "accept_deadline",
            "resolve_deadline",
        )
        .annotate(
            last_assigned_at=Subquery(last_assigned),
            last_escalated_at=Subquery(last_escalated),
        )
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    return list(queryset[:size])


def _resolve_start(incident: Incident) -> datetime.datetime:
    assigned = incident.last_assigned_at  # type: ignore[attr-defined]
    escalated = incident.last_escalated_at  # type: ignore[attr-defined]
    if assigned is not None and escalated is not None and escalated > assigned:
        return assigned
    return incident.dispatched_at  # type: ignore[return-value]


def _recompute_one(
    incident: Incident,
    settings: dict[int, CategorySettings],
    calendar: WorkingCalendar,
) -> bool:
    """Set the ticket's new deadlines; return True if either one changed."""
    found = settings[incident.category_id]
    accept = incident.accept_deadline
    if incident.state == State.DISPATCHED:
        accept = deadline_after(
            incident.dispatched_at,  # type: ignore[arg-type]
            found.accept_minutes,
            found.time_basis,
            calendar=calendar,
        )
    resolve = deadline_after(
        _resolve_start(incident),
        found.resolve_minutes,
        found.time_basis,
        calendar=calendar,
    )

    if (accept, resolve) == (incident.accept_deadline, incident.resolve_deadline):
        return False
    incident.accept_deadline = accept
    incident.resolve_deadline = resolve
    return True
