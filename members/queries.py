"""Reads of members and assignments: admin lists, filters and the grid directory."""

from collections import defaultdict
from dataclasses import dataclass

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
from django.utils.translation import gettext_lazy as _

from grids.models import PLACE_GRID_KINDS, Grid, GridKind, Place
from members.models import Assignment, Member, PartyOrganization, Position


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


# The public grid directory -------------------------------------------------------

# A subtree of at most this many grids is listed in full, indented by level.
# A larger one, such as a community total grid with its ~450 general, micro
# and dedicated grids, lists only the grids directly below, each with the
# number of grids under it, so that the page stays small.
SUBTREE_FULL_LIMIT = 60
# Maximum numbers of direct children and of places listed on one grid's page.
SUBGRID_LIMIT = 200
PLACE_LIMIT = 100

# Titles of a grid's people by grid kind, for the three displays (三亮).
LEADER_TITLES = {
    GridKind.TOTAL: _("community total grid leader"),
    GridKind.GENERAL: _("grid leader"),
    GridKind.MICRO: _("micro grid leader"),
    GridKind.DEDICATED: _("dedicated grid leader"),
}
MEMBER_TITLES = {
    GridKind.TOTAL: _("grid member"),
    GridKind.GENERAL: _("grid member"),
    GridKind.MICRO: _("micro-grid member"),
    GridKind.DEDICATED: _("dedicated-grid member"),
}


@dataclass(frozen=True)
class DirectoryPerson:
    """The public view of one grid leader or member: names and labels only.

    The phone number is masked here, so no page built from this can show the
    full number.
    """

    name: str
    position_title: str
    is_leader: bool
    is_party_member: bool
    head_title: str
    roles: list[str]
    duties: str
    commitment: str
    masked_phone: str


@dataclass(frozen=True)
class DirectoryGrid:
    """One grid in a listing: ``depth`` counts levels below the listed grid."""

    code: str
    name: str
    kind: str
    kind_label: str
    depth: int
    leader_title: str
    leader_names: list[str]
    grids_below: int | None = None


@dataclass(frozen=True)
class GridDirectoryPage:
    """Everything that one grid's public page shows."""

    grid: Grid
    kind_label: str
    party_organization: PartyOrganization | None
    ancestors: list[Grid]
    people: list[DirectoryPerson]
    places: list[Place]
    more_places: bool
    subgrids: list[DirectoryGrid]
    subtree_in_full: bool
    more_subgrids: bool


def grid_directory_roots() -> list[DirectoryGrid]:
    """Return the active total grids with their leaders and active grid counts."""
    roots = list(
        Grid.objects.filter(parent__isnull=True, is_active=True)
        .annotate(active_below=_active_descendant_count())
        .order_by("tree_id")
    )
    leaders = _leader_names([root.pk for root in roots])
    return [
        _directory_grid(root, depth=0, leaders=leaders, grids_below=root.active_below)
        for root in roots
    ]


def grid_directory_page(code: str) -> GridDirectoryPage | None:
    """Return the public page of the active grid ``code``, or None if there is none.

    Labels are in the active language. The number of queries does not depend
    on the size of the grid's subtree.
    """
    grid = (
        Grid.objects.select_related("party_organization")
        .filter(code=code, is_active=True)
        .first()
    )
    if grid is None:
        return None

    ancestors = list(
        Grid.objects.filter(
            tree_id=grid.tree_id, lft__lt=grid.lft, rght__gt=grid.rght
        ).order_by("lft")
    )
    places: list[Place] = []
    if grid.kind in PLACE_GRID_KINDS:
        places = list(
            Place.objects.filter(grid=grid, is_active=True).order_by("code")[
                : PLACE_LIMIT + 1
            ]
        )
    subgrids, in_full, more_subgrids = _subgrids(grid)

    return GridDirectoryPage(
        grid=grid,
        kind_label=str(GridKind(grid.kind).label),
        party_organization=getattr(grid, "party_organization", None),
        ancestors=ancestors,
        people=_people(grid),
        places=places[:PLACE_LIMIT],
        more_places=len(places) > PLACE_LIMIT,
        subgrids=subgrids,
        subtree_in_full=in_full,
        more_subgrids=more_subgrids,
    )


def _people(grid: Grid) -> list[DirectoryPerson]:
    assignments = (
        Assignment.objects.active()
        .filter(grid=grid, member__is_active=True)
        .select_related("member")
        .prefetch_related("roles")
    )
    people = [
        DirectoryPerson(
            name=assignment.member.name,
            position_title=str(
                LEADER_TITLES[grid.kind]
                if assignment.position == Position.LEADER
                else MEMBER_TITLES[grid.kind]
            ),
            is_leader=assignment.position == Position.LEADER,
            is_party_member=assignment.member.is_party_member,
            head_title=assignment.get_title_display() if assignment.title else "",
            roles=[str(role) for role in assignment.roles.all()],
            duties=assignment.duties,
            commitment=assignment.commitment,
            masked_phone=assignment.member.masked_phone,
        )
        for assignment in assignments
    ]
    # Leaders first, then everyone by name; a member with two assignments to
    # the same grid appears twice, once per assignment.
    people.sort(key=lambda person: (not person.is_leader, person.name))
    return people


def _subgrids(grid: Grid) -> tuple[list[DirectoryGrid], bool, bool]:
    """Return the grids to list below ``grid`` and two flags.

    The first flag is True when the list is the whole subtree, the second when
    children beyond SUBGRID_LIMIT were left out.
    """
    # django-mptt numbers a subtree of n grids with 2n consecutive values.
    descendants = (grid.rght - grid.lft - 1) // 2
    in_full = descendants <= SUBTREE_FULL_LIMIT
    if in_full:
        rows = list(
            Grid.objects.filter(
                tree_id=grid.tree_id,
                lft__gt=grid.lft,
                rght__lt=grid.rght,
                is_active=True,
            ).order_by("lft")
        )
    else:
        rows = list(
            Grid.objects.filter(parent=grid, is_active=True)
            .annotate(active_below=_active_descendant_count())
            .order_by("lft")[: SUBGRID_LIMIT + 1]
        )
    more = len(rows) > SUBGRID_LIMIT
    rows = rows[:SUBGRID_LIMIT]

    leaders = _leader_names([row.pk for row in rows])
    listed = [
        _directory_grid(
            row,
            depth=row.level - grid.level,
            leaders=leaders,
            grids_below=None if in_full else row.active_below,
        )
        for row in rows
    ]
    return listed, in_full, more


def _directory_grid(
    grid: Grid, *, depth: int, leaders: dict[int, list[str]], grids_below: int | None
) -> DirectoryGrid:
    return DirectoryGrid(
        code=grid.code,
        name=grid.name,
        kind=grid.kind,
        kind_label=str(GridKind(grid.kind).label),
        depth=depth,
        leader_title=str(LEADER_TITLES[grid.kind]),
        leader_names=leaders.get(grid.pk, []),
        grids_below=grids_below,
    )


def _active_descendant_count() -> Coalesce:
    """Count the active grids below the outer grid, as one subquery per row."""
    below = (
        Grid.objects.filter(
            tree_id=OuterRef("tree_id"),
            lft__gt=OuterRef("lft"),
            rght__lt=OuterRef("rght"),
            is_active=True,
        )
        .order_by()
        .values("tree_id")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(below, output_field=IntegerField()), Value(0))


def _leader_names(grid_ids: list[int]) -> dict[int, list[str]]:
    """Return the names of the active leaders of each grid, in one query."""
    rows = (
        Assignment.objects.active()
        .filter(grid_id__in=grid_ids, position=Position.LEADER, member__is_active=True)
        .order_by("grid_id", "start_date", "pk")
        .values_list("grid_id", "member__name")
    )
    names: dict[int, list[str]] = defaultdict(list)
    for grid_id, name in rows:
        names[grid_id].append(name)
    return names
