"""Writes to members, assignments and party organizations."""

import datetime
import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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
) -> Member:
    """Create a member; raise ValidationError naming a bad phone or name."""
    with transaction.atomic(durable=True):
        member = Member(
            name=name,
            phone=phone,
            is_party_member=is_party_member,
            organization_id=organization_id,
            user_id=user_id,
        )
        member.full_clean()
        member.save()

    logger.info("member created id=%s", member.pk)
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
    grid: Grid, *, start_date: datetime.date, exclude_id: int | None = None
) -> None:
    """Raise ValidationError if ``grid`` admits one leader and already has one.

    The caller must hold a row lock on ``grid`` so that two requests cannot
    both see the post vacant.
    """
    if grid.kind in MULTI_LEADER_KINDS:
        return

    holders = Assignment.objects.active(start_date).filter(
        grid=grid, position=Position.LEADER
    )
    if exclude_id is not None:
        holders = holders.exclude(pk=exclude_id)
    holder = holders.select_related("member").first()
    if holder is not None:
        raise ValidationError(
            {
                "position": _(
                    "%(grid)s is a %(kind)s and already has an active leader "
                    "(member %(member)s); end that assignment first."
                )
                % {
                    "grid": grid.code,
                    "kind": GridKind(grid.kind).label,
                    "member": holder.member_id,
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
        grid = Grid.objects.select_for_update().get(pk=grid_id)
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
            check_leader_vacancy(grid, start_date=start_date)
        assignment.save()
        assignment.roles.set(Role.objects.filter(code__in=role_codes))

    logger.info(
        "assignment created id=%s member=%s grid=%s position=%s",
        assignment.pk,
        member_id,
        grid_id,
        position,
    )
    return assignment


def assignment_end(*, assignment_id: int, end_date: datetime.date | None = None) -> Assignment:
    """End an assignment on ``end_date`` (today by default)."""
    with transaction.atomic(durable=True):
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        assignment.end_date = end_date or timezone.localdate()
        assignment.full_clean()
        assignment.save(update_fields=["end_date"])

    logger.info("assignment ended id=%s", assignment_id)
    return assignment


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

    logger.info("party organization set id=%s grid=%s", organization.pk, grid_id)
    return organization
