"""Routing: find the member responsible for a new ticket.

The grid comes from the place (or the grid chosen when reporting). In that
grid, the active member with the category's role and the fewest open
tickets takes the ticket. If nobody holds the role, the grid's leader takes
it. If the grid has no leader either, the same search runs one grid up the
tree. Tickets that find nobody wait for staff.

Residents wait for routing, so its reads are hand-written SQL that works on
PostgreSQL and SQLite alike. The first query locks the ticket and reads the
category's ancestors. The second reads the grid's ancestors with their
leaders and role holders and each one's open tickets. Building the same
queries through the ORM took several times the database's own time.
"""

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid, Place
from incidents.actors import Actor
from incidents.categories import CategorySettings, settings_from_chain
from incidents.models import OPEN_STATES, Category, Incident, State
from incidents.workflow import dispatch_locked, triage_locked
from members.models import Assignment, Member, Position, RoleCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingDecision:
    member: Member | None
    grid: Grid | None
    reason: str


@dataclass(frozen=True)
class LockedTicket:
    """A ticket waiting for routing, locked, with what routing reads next."""

    incident: Incident
    # The grid chosen when reporting, else the place's grid.
    grid_id: int | None
    # The category and its ancestors, nearest first.
    category_chain: list[Category]


@dataclass(frozen=True)
class _Candidate:
    member: Member
    grid_id: int
    is_leader: bool
    has_role: bool


def _partial(model: type[Model], values: dict[str, Any]) -> Any:
    """Return a saved instance of ``model`` with only ``values`` loaded.

    Every other field is deferred, as with ``QuerySet.only()``, so reading
    one loads it and nothing is overwritten by a default.
    """
    names = [
        field.attname
        for field in model._meta.concrete_fields
        if field.attname in values
    ]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


_CATEGORY_COLUMNS = (
    "id",
    "name",
    "role",
    "is_urgent",
    "accept_minutes",
    "resolve_minutes",
    "time_basis",
)


def lock_for_routing(incident_id: int) -> LockedTicket | None:
    """Lock and return the ticket if it still waits for routing, else None.

    Call it inside a transaction. Only what routing and its notification read
    is loaded.
    """
    lock = " FOR UPDATE OF i" if connection.features.has_select_for_update_of else ""
    category = _table(Category)
    category_columns = ", ".join(f"c.{name} AS c_{name}" for name in _CATEGORY_COLUMNS)
    rows = _rows(
        f"SELECT i.id, i.state, i.needs_triage, i.category_id, i.place_id, "
        f"i.grid_id, i.tracking_code, i.subject, p.grid_id AS place_grid_id, "
        f"{category_columns} "
        f"FROM {_table(Incident)} i LEFT JOIN {_table(Place)} p ON p.id = i.place_id "
        f"JOIN {category} t ON t.id = i.category_id "
        f"JOIN {category} c ON c.tree_id = t.tree_id AND c.lft <= t.lft "
        f"AND c.rght >= t.rght "
        f"WHERE i.id = %s ORDER BY c.lft DESC{lock}",
        [incident_id],
    )
    if not rows:
        return None
    first = rows[0]
    if first["state"] != State.SUBMITTED or first["needs_triage"]:
        return None

    incident = _partial(
        Incident,
        {
            name: first[name]
            for name in (
                "id",
                "state",
                "needs_triage",
                "category_id",
                "place_id",
                "grid_id",
                "tracking_code",
                "subject",
            )
        },
    )
    chain = [
        _partial(Category, {name: row[f"c_{name}"] for name in _CATEGORY_COLUMNS})
        for row in rows
    ]
    incident.category = chain[0]
    return LockedTicket(incident, first["grid_id"] or first["place_grid_id"], chain)


def category_chain(category_id: int) -> list[Category]:
    """Return the category and its ancestors, nearest first, in one query."""
    columns = ", ".join(f"c.{name}" for name in _CATEGORY_COLUMNS)
    rows = _rows(
        f"SELECT {columns} FROM {_table(Category)} c "
        f"JOIN {_table(Category)} t ON t.id = %s "
        f"WHERE c.tree_id = t.tree_id AND c.lft <= t.lft AND c.rght >= t.rght "
        f"ORDER BY c.lft DESC",
        [category_id],
    )
    return [_partial(Category, row) for row in rows]


def _grid_chain(
    grid_id: int, role: str, day: datetime.date
) -> tuple[list[Grid], list[_Candidate]]:
    """Return the grid and its ancestors, nearest first, and their candidates.

    Candidates are the active leaders and holders of ``role`` whose member is
    active, sorted by the member's open tickets in any grid, then member id.
    One query.
    """
    states = ", ".join(["%s"] * len(OPEN_STATES))
    roles_table = _table(Assignment.roles.through)
    rows = _rows(
        f"SELECT g.id AS grid_id, g.name AS grid_name, g.parent_id, "
        f"m.id AS member_id, a.position, m.name AS member_name, m.phone, m.user_id, "
        f"u.email, u.is_active AS user_active, r.role_id, "
        f"(SELECT COUNT(*) FROM {_table(Incident)} o WHERE o.assignee_id = a.member_id "
        f"AND o.state IN ({states})) AS open_count "
        f"FROM {_table(Grid)} g JOIN {_table(Grid)} t ON t.id = %s "
        f"LEFT JOIN {_table(Assignment)} a ON a.grid_id = g.id "
        f"AND a.start_date <= %s AND (a.end_date IS NULL OR a.end_date >= %s) "
        f"LEFT JOIN {_table(Member)} m ON m.id = a.member_id AND m.is_active = %s "
        f"LEFT JOIN {_table(get_user_model())} u ON u.id = m.user_id "
        f"LEFT JOIN {roles_table} r ON r.assignment_id = a.id AND r.role_id = %s "
        f"WHERE g.tree_id = t.tree_id AND g.lft <= t.lft AND g.rght >= t.rght "
        f"ORDER BY g.lft DESC, open_count, m.id",
        # ISO dates compare as dates on PostgreSQL and as text on SQLite.
        [*OPEN_STATES, grid_id, day.isoformat(), day.isoformat(), True, role],
    )

    grids: dict[int, Grid] = {}
    candidates = []
    for row in rows:
        if row["grid_id"] not in grids:
            grids[row["grid_id"]] = _partial(
                Grid,
                {
                    "id": row["grid_id"],
                    "name": row["grid_name"],
                    "parent_id": row["parent_id"],
                },
            )
        is_leader = row["position"] == Position.LEADER
        has_role = bool(role) and row["role_id"] is not None
        if row["member_id"] is None or not (is_leader or has_role):
            continue
        member = _partial(
            Member,
            {
                "id": row["member_id"],
                "name": row["member_name"],
                "phone": row["phone"],
                "user_id": row["user_id"],
                "is_active": True,
            },
        )
        # The notification reads the user: its id, e-mail and active flag.
        member.user = (
            None
            if row["user_id"] is None
            else _partial(
                get_user_model(),
                {
                    "id": row["user_id"],
                    "email": row["email"],
                    "is_active": bool(row["user_active"]),
                },
            )
        )
        candidates.append(_Candidate(member, row["grid_id"], is_leader, has_role))
    return list(grids.values()), candidates


def _routing_grid_id(incident: Incident) -> int | None:
    if incident.grid_id is not None:
        return incident.grid_id
    place = incident.place if incident.place_id else None
    return place.grid_id if place is not None else None


def decide(
    incident: Incident,
    category_settings: CategorySettings | None = None,
    *,
    grid_id: int | None = None,
) -> RoutingDecision:
    """Return who should handle ``incident`` and why, without writing anything.

    ``grid_id`` saves reading the place when the caller knows the grid.
    """
    grid_id = grid_id or _routing_grid_id(incident)
    if grid_id is None:
        return RoutingDecision(None, None, _("The ticket names no place or grid."))

    if category_settings is None:
        category_settings = settings_from_chain(category_chain(incident.category_id))
    role = category_settings.role
    role_label = RoleCode(role).label if role in RoleCode.values else ""
    chain, candidates = _grid_chain(grid_id, role, timezone.localdate())
    category_name = incident.category.name

    passed: list[str] = []
    for current in chain:
        # Candidates come sorted by open tickets, then member id.
        in_grid = [item for item in candidates if item.grid_id == current.pk]
        holder = next((item for item in in_grid if item.has_role), None)
        if holder is not None:
            return RoutingDecision(
                holder.member,
                current,
                _(
                    "%(grid)s, %(role)s %(member)s, because category %(category)s "
                    "is handled by the %(role)s role."
                )
                % {
                    "grid": current.name,
                    "role": role_label,
                    "member": holder.member.name,
                    "category": category_name,
                },
            )
        leader = next((item for item in in_grid if item.is_leader), None)
        if leader is not None:
            why = (
                _("nobody in it holds the %(role)s role") % {"role": role_label}
                if role
                else _("category %(category)s names no role")
                % {"category": category_name}
            )
            prefix = (
                _("passed up from %(grids)s; ") % {"grids": ", ".join(passed)}
                if passed
                else ""
            )
            return RoutingDecision(
                leader.member,
                current,
                prefix
                + _("%(grid)s, leader %(member)s, because %(why)s.")
                % {"grid": current.name, "member": leader.member.name, "why": why},
            )
        passed.append(current.name)

    return RoutingDecision(
        None,
        chain[0] if chain else None,
        _("Nobody serves in %(grids)s; staff must route the ticket.")
        % {"grids": ", ".join(passed)},
    )


def incident_route(*, incident_id: int) -> Incident | None:
    """Dispatch a submitted ticket to the member that ``decide`` picks.

    Return None when the ticket is no longer waiting for routing, so that a
    task run twice changes nothing the second time. The decision is made
    under the ticket's row lock, so two runs at once route it once.
    """
    with transaction.atomic(durable=True):
        locked = lock_for_routing(incident_id)
        if locked is None:
            logger.info("incident not waiting for routing id=%s", incident_id)
            return None

        incident = locked.incident
        category_settings = settings_from_chain(locked.category_chain)
        decision = decide(incident, category_settings, grid_id=locked.grid_id)
        if decision.member is None:
            triage_locked(incident, decision.reason)
        else:
            dispatch_locked(
                incident,
                decision.member,
                decision.grid,
                actor=Actor.system(),
                internal_note=decision.reason,
                category_settings=category_settings,
            )

    if decision.member is None:
        logger.info("incident sent to triage id=%s", incident.pk)
    else:
        logger.info(
            "incident dispatched id=%s assignee=%s", incident.pk, decision.member.pk
        )
    return incident
