"""Routing: find the member responsible for a new ticket.

The grid comes from the place (or the grid chosen when reporting). In that
grid, the active member with the category's role and the fewest open
tickets takes the ticket. If nobody holds the role, the grid's leader takes
it. If the grid has no leader either, the same search runs one grid up the
tree. Tickets that find nobody wait for staff.
"""

import logging
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid
from incidents.actors import Actor
from incidents.categories import effective_settings
from incidents.models import OPEN_STATES, Incident, State
from incidents.workflow import TransitionError, incident_dispatch, incident_triage
from members.models import Assignment, Member, Position, RoleCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingDecision:
    member: Member | None
    grid: Grid | None
    reason: str


def _least_loaded(assignments) -> Member | None:
    """Return the member of ``assignments`` with the fewest open tickets."""
    members = (
        Member.objects.filter(is_active=True, pk__in=assignments.values("member_id"))
        .annotate(
            open_count=Count(
                "assigned_incidents",
                filter=Q(assigned_incidents__state__in=OPEN_STATES),
            )
        )
        .order_by("open_count", "pk")
    )
    return members.first()


def decide(incident: Incident) -> RoutingDecision:
    """Return who should handle ``incident`` and why, without writing anything."""
    grid = incident.grid or (incident.place.grid if incident.place else None)
    if grid is None:
        return RoutingDecision(None, None, _("The ticket names no place or grid."))

    role = effective_settings(incident.category).role
    role_label = RoleCode(role).label if role in RoleCode.values else ""
    today = timezone.localdate()
    passed: list[str] = []
    for current in [grid, *reversed(list(grid.get_ancestors()))]:
        active = Assignment.objects.active(today).filter(grid=current)
        if role:
            member = _least_loaded(active.filter(roles=role))
            if member is not None:
                return RoutingDecision(
                    member,
                    current,
                    _(
                        "%(grid)s, %(role)s %(member)s, because category %(category)s "
                        "is handled by the %(role)s role."
                    )
                    % {
                        "grid": current.name,
                        "role": role_label,
                        "member": member.name,
                        "category": incident.category.name,
                    },
                )
        leader = _least_loaded(active.filter(position=Position.LEADER))
        if leader is not None:
            why = (
                _("nobody in it holds the %(role)s role") % {"role": role_label}
                if role
                else _("category %(category)s names no role")
                % {"category": incident.category.name}
            )
            prefix = (
                _("passed up from %(grids)s; ") % {"grids": ", ".join(passed)}
                if passed
                else ""
            )
            return RoutingDecision(
                leader,
                current,
                prefix
                + _("%(grid)s, leader %(member)s, because %(why)s.")
                % {"grid": current.name, "member": leader.name, "why": why},
            )
        passed.append(current.name)

    return RoutingDecision(
        None,
        grid,
        _("Nobody serves in %(grids)s; staff must route the ticket.")
        % {"grids": ", ".join(passed)},
    )


def incident_route(*, incident_id: int) -> Incident | None:
    """Dispatch a submitted ticket to the member that ``decide`` picks.

    Return None when the ticket is no longer waiting for routing, so that a
    task run twice changes nothing the second time.
    """
    incident = (
        Incident.objects.select_related("category", "place__grid", "grid")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None or incident.state != State.SUBMITTED or incident.needs_triage:
        return None

    decision = decide(incident)
    try:
        if decision.member is None:
            return incident_triage(incident_id=incident_id, reason=decision.reason)
        return incident_dispatch(
            incident_id=incident_id,
            assignee_id=decision.member.pk,
            grid_id=decision.grid.pk if decision.grid else None,
            actor=Actor.system(),
            internal_note=decision.reason,
            only_untriaged=True,
        )
    except TransitionError:
        logger.info("incident already routed id=%s", incident_id)
        return None
