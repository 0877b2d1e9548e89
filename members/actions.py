"""Writes to members, assignments and party organizations."""

import datetime
import logging
from collections.abc import Collection, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.cache import bump_directory_version
from grids.models import Grid, GridKind
from members.models import (
    MULTI_LEADER_KINDS,
    PARTY_KIND_FOR_GRID,
    Assignment,
    Member,
    PartyOrganization,
    Position,
    Role,
    RoleCode,
)

logger = logging.getLogger(__name__)


def member_create(
    *,
    name: str,
    phone: str,
    is_party_member: bool = False,
    organization_id: int | None = None,
    user_id: int | None = None,
    is_active: bool = True,
) -> Member:
    """Create a member; raise ValidationError naming a bad phone or name."""
    with transaction.atomic(durable=True):
        member = Member(
            name=name,
            phone=phone,
            is_party_member=is_party_member,
            organization_id=organization_id,
            user_id=user_id,
            is_active=is_active,
        )
        member.full_clean()
        member.save()
        transaction.on_commit(bump_directory_version)

    logger.info("member created id=%s", member.pk)
    return member


MEMBER_FIELDS = {
    "name",
    "phone",
    "is_party_member",
    "organization_id",
    "user_id",
    "is_active",
}


def member_update(*, member_id: int, **fields: Any) -> Member:
    """Change a member's fields; raise ValidationError naming a bad one."""
    unknown = set(fields) - MEMBER_FIELDS
    if unknown:
        raise TypeError(f"member_update() got unexpected fields {sorted(unknown)}")

    with transaction.atomic(durable=True):
        member = Member.objects.select_for_update().get(pk=member_id)
        for field, value in fields.items():
            setattr(member, field, value)
        member.full_clean()
        member.save()
        transaction.on_commit(bump_directory_version)

    logger.info("member updated id=%s fields=%s", member_id, sorted(fields))
    return member


def _check_roles(codes: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    unknown = [code for code in codes if code not in RoleCode.values]
    if unknown:
        raise ValidationError(
            {
                "roles": _("Unknown role %(role)s; use one of %(known)s.")
                % {"role": ", ".join(unknown), "known": ", ".join(RoleCode.values)}
            }
        )
    return codes


def check_leader_vacancy(
    grid: Grid,
    *,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    exclude_ids: Collection[int] = (),
) -> None:
    """Raise ValidationError if ``grid`` admits one leader and has another one.

    Another leader counts if their assignment overlaps ``start_date`` to
    ``end_date`` (open-ended if None) by at least one day. ``exclude_ids``
    are assignments whose stored dates the caller is replacing. The caller
    must hold a row lock on ``grid`` so that two requests cannot both see the
    post vacant; form validation may call it without one and rely on the
    action to check again.
    """
    if grid.kind in MULTI_LEADER_KINDS:
        return

    holders = Assignment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start_date),
        grid=grid,
        position=Position.LEADER,
    ).exclude(pk__in=list(exclude_ids))
    if end_date is not None:
        holders = holders.filter(start_date__lte=end_date)
    holder = holders.order_by("start_date", "pk").first()
    if holder is not None:
        raise ValidationError(
            {
                "position": _(
                    "%(grid)s is a %(kind)s and already has a leader for that "
                    "period (member %(member)s, from %(start)s); end that "
                    "assignment first."
                )
                % {
                    "grid": grid.code,
                    "kind": GridKind(grid.kind).label,
                    "member": holder.member_id,
                    "start": holder.start_date.isoformat(),
                }
            }
        )


def assignment_create(
    *,
    member_id: int,
    grid_id: int,
    position: str = Position.MEMBER,
    roles: Iterable[str] = (),
    title: str = "",
    duties: str = "",
    commitment: str = "",
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
) -> Assignment:
    """Assign a member to a grid; raise ValidationError on a second leader."""
    role_codes = _check_roles(roles)
    start_date = start_date or timezone.localdate()

    with transaction.atomic(durable=True):
        # Locks the grid row so that two concurrent leader appointments to
        # the same grid cannot both pass the vacancy check.
        grid = _lock_grid(grid_id)
        assignment = Assignment(
            member_id=member_id,
            grid=grid,
            position=position,
            title=title,
            duties=duties,
            commitment=commitment,
            start_date=start_date,
            end_date=end_date,
        )
        assignment.full_clean()
        if position == Position.LEADER:
            check_leader_vacancy(grid, start_date=start_date, end_date=end_date)
        assignment.save()
        assignment.roles.set(Role.objects.filter(code__in=role_codes))
        transaction.on_commit(bump_directory_version)

    logger.info(
        "assignment created id=%s member=%s grid=%s position=%s",
        assignment.pk,
        member_id,
        grid_id,
        position,
    )
    return assignment


def _lock_grid(grid_id: int) -> Grid:
    try:
        return Grid.objects.select_for_update().get(pk=grid_id)
    except Grid.DoesNotExist:
        raise ValidationError(
            {"grid": _("Grid %(id)s does not exist.") % {"id": grid_id}}
        ) from None


ASSIGNMENT_FIELDS = {
    "member_id",
    "grid_id",
    "position",
    "roles",
    "title",
    "duties",
    "commitment",
    "start_date",
    "end_date",
}


def assignment_update(*, assignment_id: int, **fields: Any) -> Assignment:
    """Change an assignment's fields, ``roles`` being a list of role codes.

    Raise ValidationError naming the field on bad input, and on ``position``
    when the result would give a grid that admits one leader a second one.
    """
    unknown = set(fields) - ASSIGNMENT_FIELDS
    if unknown:
        raise TypeError(f"assignment_update() got unexpected fields {sorted(unknown)}")
    role_codes = _check_roles(fields.pop("roles")) if "roles" in fields else None

    with transaction.atomic(durable=True):
        # Lock order: the assignment row, then its grid row. Every action that
        # locks both takes them in this order, so two of them cannot deadlock;
        # assignment_create locks only the grid because its row is new.
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        for field, value in fields.items():
            setattr(assignment, field, value)
        grid = _lock_grid(assignment.grid_id)
        assignment.grid = grid

        assignment.full_clean()
        if assignment.position == Position.LEADER:
            check_leader_vacancy(
                grid,
                start_date=assignment.start_date,
                end_date=assignment.end_date,
                exclude_ids=[assignment.pk],
            )
        assignment.save()
        if role_codes is not None:
            assignment.roles.set(Role.objects.filter(code__in=role_codes))
        transaction.on_commit(bump_directory_version)

    changed = sorted([*fields, *(["roles"] if role_codes is not None else [])])
    logger.info("assignment updated id=%s fields=%s", assignment_id, changed)
    return assignment


def assignment_end(
    *, assignment_id: int, end_date: datetime.date | None = None
) -> Assignment:
    """End an assignment on ``end_date`` (today by default).

    A later end date than the stored one extends the assignment, so it goes
    through the same leader check as any other update.
    """
    return assignment_update(
        assignment_id=assignment_id, end_date=end_date or timezone.localdate()
    )


def party_organization_set(
    *, grid_id: int, name: str, secretary_id: int | None = None
) -> PartyOrganization:
    """Create or update the party branch or group hosted by a grid."""
    with transaction.atomic(durable=True):
        grid = Grid.objects.select_for_update().get(pk=grid_id)
        organization = PartyOrganization.objects.filter(grid=grid).first()
        if organization is None:
            organization = PartyOrganization(grid=grid)
        organization.kind = PARTY_KIND_FOR_GRID.get(grid.kind, "")
        organization.name = name
        organization.secretary_id = secretary_id
        organization.full_clean()
        organization.save()
        transaction.on_commit(bump_directory_version)

    logger.info("party organization set id=%s grid=%s", organization.pk, grid_id)
    return organization
