"""Reads of members and assignments for admin lists and filters."""

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from grids.models import Grid
from members.models import Assignment, Member


def grids_with_member_counts(queryset: QuerySet[Grid]) -> QuerySet[Grid]:
    """Annotate each grid with ``active_member_count``.

    The count is of active members holding an assignment that is active
    today, each member once, computed in one subquery per row of the same
    SELECT.
    """
    counted = (
        Assignment.objects.active()
        .filter(grid=OuterRef("pk"), member__is_active=True)
        .order_by()
        .values("grid")
        .annotate(total=Count("member", distinct=True))
        .values("total")
    )
    return queryset.annotate(
        active_member_count=Coalesce(
            Subquery(counted, output_field=IntegerField()), Value(0)
        )
    )


def members_with_active_grids(queryset: QuerySet[Member]) -> QuerySet[Member]:
    """Prefetch each member's active assignments and their grids as ``active``.

    The prefetch costs one query for the whole page, whatever its length.
    """
    active = Assignment.objects.active().select_related("grid").order_by("grid__code")
    return queryset.select_related("organization").prefetch_related(
        Prefetch("assignments", queryset=active, to_attr="active_assignments")
    )


def members_in_subtree(queryset: QuerySet[Member], grid: Grid) -> QuerySet[Member]:
    """Return members with an active assignment in ``grid`` or below it."""
    in_subtree = Assignment.objects.active().filter(
        member=OuterRef("pk"),
        grid__tree_id=grid.tree_id,
        grid__lft__gte=grid.lft,
        grid__rght__lte=grid.rght,
    )
    return queryset.filter(Exists(in_subtree))


def members_with_role(queryset: QuerySet[Member], role_code: str) -> QuerySet[Member]:
    """Return members holding ``role_code`` in an active assignment."""
    holding = Assignment.objects.active().filter(
        member=OuterRef("pk"), roles__code=role_code
    )
    return queryset.filter(Exists(holding))
