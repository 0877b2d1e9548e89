"""Which tickets a signed-in user may see and handle.

A grid member sees the tickets whose grid lies in the subtree of a grid
where they hold an active assignment, whether as its leader or as a plain
member, plus the tickets assigned to them and the tickets they reported.
Staff see every ticket. Every subtree test compares the grid tree's
tree_id/lft/rght inside one SQL query, with no loop over grids in Python.
"""

import datetime

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from incidents.models import OPEN_STATES, Incident, State, normalize_tracking_code
from members.models import Assignment, Member, Position

User = AbstractUser | AnonymousUser


def member_of(user: User) -> Member | None:
    """Return the active grid member linked to ``user``, or None."""
    if not user.is_authenticated:
        return None
    member = getattr(user, "member", None)
    if member is None or not member.is_active:
        return None
    return member


def is_deactivated_member(user: User) -> bool:
    """Return True if ``user`` is not staff and has an inactive member record.

    Staff keep every page, because they act as staff and not as members.
    """
    if not user.is_authenticated or user.is_staff:
        return False
    member = getattr(user, "member", None)
    return member is not None and not member.is_active


def covering_assignments(
    member: Member, grid_ref: str, *, leader_only: bool = False
) -> QuerySet[Assignment]:
    """Return the member's active assignments whose grid contains the outer grid.

    ``grid_ref`` names the outer query's grid foreign key, e.g. ``"grid"``
    for tickets. Wrap the result in ``Exists()``: a row exists when the outer
    grid is the assignment's grid or lies below it.
    """
    assignments = Assignment.objects.active(timezone.localdate()).filter(
        member=member,
        grid__tree_id=OuterRef(f"{grid_ref}__tree_id"),
        grid__lft__lte=OuterRef(f"{grid_ref}__lft"),
        grid__rght__gte=OuterRef(f"{grid_ref}__rght"),
    )
    if leader_only:
        assignments = assignments.filter(position=Position.LEADER)
    return assignments


def visible_incidents(user: User) -> QuerySet[Incident]:
    """Return the tickets ``user`` may see: all for staff, else the member's scope."""
    if user.is_authenticated and user.is_staff:
        return Incident.objects.all()

    member = member_of(user)
    if member is None:
        return Incident.objects.none()
    return Incident.objects.filter(
        Q(assignee=member)
        | Q(reported_by=member)
        | Exists(covering_assignments(member, "grid"))
    )


def visible_incident_exists(user: User, incident_ref: str) -> Exists:
    """Return a condition, true where ``user`` may open the outer ticket.

    ``incident_ref`` names the outer query's ticket foreign key, e.g.
    ``"incident"`` for notifications. Annotating a list with it keeps the
    scope check inside the list's own query.
    """
    return Exists(visible_incidents(user).filter(pk=OuterRef(incident_ref)))


def led_incidents(member: Member) -> QuerySet[Incident]:
    """Return the tickets in the subtrees of the grids that ``member`` leads."""
    return Incident.objects.filter(
        Exists(covering_assignments(member, "grid", leader_only=True))
    )


def access_incident(user: User, code_or_pk: str | int) -> Incident:
    """Return the ticket if ``user`` may see it; raise Http404 otherwise.

    A string is a tracking code in any spelling a person types (lower case,
    with the dash); an int is a primary key. A ticket outside the scope
    raises the same Http404 as a missing one, so a member cannot learn
    whether it exists.
    """
    tickets = visible_incidents(user).select_related(
        "category", "place", "grid", "assignee", "reported_by", "duplicate_of"
    )
    if isinstance(code_or_pk, int):
        incident = tickets.filter(pk=code_or_pk).first()
    else:
        incident = tickets.filter(
            tracking_code=normalize_tracking_code(code_or_pk)
        ).first()
    if incident is None:
        raise Http404("No ticket matches the given query.")
    return incident


def can_reassign(user: User, incident: Incident) -> bool:
    """Return True if ``user`` is staff or leads a grid above or at the ticket's."""
    if user.is_authenticated and user.is_staff:
        return True

    member = member_of(user)
    if member is None or incident.grid_id is None:
        return False
    return led_incidents(member).filter(pk=incident.pk).exists()


def reassign_choices(user: User) -> QuerySet[Assignment]:
    """Return the active assignments a ticket may be reassigned to by ``user``.

    Staff may pick any active member; a leader picks among the active
    assignments in the subtrees of the grids they lead, themselves included.
    """
    choices = (
        Assignment.objects.active(timezone.localdate())
        .filter(member__is_active=True)
        .select_related("member", "grid")
        .order_by("grid__tree_id", "grid__lft", "position", "member__name", "pk")
    )
    if user.is_authenticated and user.is_staff:
        return choices

    member = member_of(user)
    if member is None:
        return choices.none()
    return choices.filter(
        Exists(covering_assignments(member, "grid", leader_only=True))
    )


def overdue_condition(now: datetime.datetime) -> Q:
    """Return the filter for open tickets past their accept or resolve deadline."""
    late_accept = Q(state=State.DISPATCHED, accept_deadline__lt=now)
    late_resolve = Q(state__in=OPEN_STATES, resolve_deadline__lt=now)
    return late_accept | late_resolve


def is_overdue(incident: Incident, now: datetime.datetime) -> bool:
    """Return True if the ticket matches ``overdue_condition(now)``; reads no row."""
    if incident.state not in OPEN_STATES:
        return False
    if (
        incident.state == State.DISPATCHED
        and incident.accept_deadline is not None
        and incident.accept_deadline < now
    ):
        return True
    return incident.resolve_deadline is not None and incident.resolve_deadline < now


def inbox_incidents(user: User) -> QuerySet[Incident]:
    """Return the tickets of the user's mobile inbox.

    These are the tickets assigned to the user and, for a leader, the open
    tickets in the subtrees of the grids they lead. Staff see every open
    ticket as well.
    """
    condition = Q(pk__in=[])
    member = member_of(user)
    if member is not None:
        led = Exists(covering_assignments(member, "grid", leader_only=True))
        condition |= Q(assignee=member) | Q(led, state__in=OPEN_STATES)
    if user.is_authenticated and user.is_staff:
        condition |= Q(state__in=OPEN_STATES)
    return Incident.objects.filter(condition)
