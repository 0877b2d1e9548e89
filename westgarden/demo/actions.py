"""Write the demo community: the rows of a plan that the database lacks.

Rows are matched by natural key: grids and places by code, members by phone,
enterprises by their dedicated grid, other organizations by name,
assignments by member, grid and position, party organizations by grid and
logins by username. A row that exists is left as it is, so running the demo
twice changes nothing. A row that exists but contradicts the plan (a grid
code of another kind or parent, a place code in another grid), or a grid
tree that fails the integrity check afterwards, raises ValidationError and
nothing is written.
"""

import datetime
import logging
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from grids.cache import bump_directory_version
from grids.locks import lock_grid_tree
from grids.models import Grid, GridKind, Place
from grids.queries import grid_tree_problems
from members.models import (
    MULTI_LEADER_KINDS,
    PARTY_KIND_FOR_GRID,
    Assignment,
    Member,
    Organization,
    OrganizationKind,
    PartyOrganization,
    Position,
    Role,
    RoleCode,
)
from westgarden.demo.plan import (
    AssignmentRow,
    DemoPlan,
    GridRow,
    MemberRow,
    OrganizationRow,
    PartyOrganizationRow,
    PlaceRow,
    build_plan,
)

logger = logging.getLogger(__name__)

STAFF_GROUP = "street office staff"
STAFF_APPS = ("grids", "members", "incidents", "merchants", "services")
STAFF_USERNAME = "demo-staff"
LEADER_USERNAME = "demo-leader"
MEMBER_USERNAME = "demo-member"
# A fixed start keeps the rows the same whatever day the demo is built.
ASSIGNMENT_START = datetime.date(2023, 3, 1)
BATCH_SIZE = 500


def demo_data_create(*, seed: int, scale: float = 1.0) -> Counter[str]:
    """Create the missing rows of the demo community and the demo logins.

    Return the number of rows created per kind of row. Raise ValueError on a
    bad ``scale`` and ValidationError when an existing row contradicts the
    plan; in both cases nothing is written.
    """
    plan = build_plan(seed=seed, scale=scale)
    created: Counter[str] = Counter()

    with transaction.atomic(durable=True):
        lock_grid_tree()
        grids = _create_grids(plan.grids, created)
        organizations = _create_organizations(plan.organizations, grids, created)
        members = _create_members(plan.members, organizations, created)
        _create_assignments(plan.assignments, grids, members, created)
        _create_party_organizations(plan.party_organizations, grids, members, created)
        _create_places(plan.places, grids, created)
        _create_logins(plan, grids, members, created)
        _check_tree()
        transaction.on_commit(bump_directory_version)

    # Counters keep kinds with no new rows; a second run creates none.
    new_rows = {kind: count for kind, count in created.items() if count}
    if new_rows:
        logger.info("demo data created seed=%s scale=%s rows=%s", seed, scale, new_rows)
    else:
        logger.info("demo data present seed=%s scale=%s; nothing created", seed, scale)
    return created


def _validate(instance: models.Model, foreign_keys: Iterable[str]) -> None:
    # Foreign keys point at rows loaded or created in this transaction, and
    # the database's foreign key, unique and check constraints cover what the
    # skipped per-row queries would check.
    instance.full_clean(
        exclude=list(foreign_keys), validate_unique=False, validate_constraints=False
    )


def _create_grids(rows: list[GridRow], created: Counter[str]) -> dict[str, Grid]:
    """Create missing grids in bulk and renumber the trees that received any.

    The caller must hold the grid tree lock.
    """
    codes = {row.code for row in rows}
    grids = {
        grid.code: grid
        for grid in Grid.objects.filter(code__in=codes).select_related("parent")
    }
    for row in rows:
        if row.code in grids:
            _check_existing_grid(grids[row.code], row)

    next_tree_id = (Grid.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
    # New nodes get provisional lft/rght values above every existing one, in
    # plan order, so the rebuild below puts them after their existing
    # siblings, in the order of the plan.
    provisional = (Grid.objects.aggregate(top=Max("rght"))["top"] or 0) + 1
    touched_trees: set[int] = set()
    pending = [row for row in rows if row.code not in grids]
    while pending:
        # One level at a time, because a child needs its parent's primary key.
        level = [
            row
            for row in pending
            if row.parent_code is None or row.parent_code in grids
        ]
        if not level:
            raise RuntimeError(f"Demo grids without a parent in the plan: {pending}")
        new_grids = []
        for row in level:
            parent = grids[row.parent_code] if row.parent_code else None
            if parent is None:
                tree_id, depth = next_tree_id, 0
                next_tree_id += 1
            else:
                tree_id, depth = parent.tree_id, parent.level + 1
            grid = Grid(
                kind=row.kind,
                code=row.code,
                name=row.name,
                parent=parent,
                boundary=row.boundary,
                tree_id=tree_id,
                level=depth,
                lft=provisional,
                rght=provisional,
            )
            provisional += 1
            _validate(grid, ["parent"])
            new_grids.append(grid)
            touched_trees.add(tree_id)
        Grid.objects.bulk_create(new_grids, batch_size=BATCH_SIZE)
        grids.update((grid.code, grid) for grid in new_grids)
        pending = [row for row in pending if row.code not in grids]
        created["grids"] += len(new_grids)

    for tree_id in sorted(touched_trees):
        Grid.objects.partial_rebuild(tree_id)
    if touched_trees:
        # The rebuild wrote lft/rght in the database only.
        grids = {grid.code: grid for grid in Grid.objects.filter(code__in=codes)}
    return grids


def _check_tree() -> None:
    """Raise ValidationError if the grid table is inconsistent after the writes.

    The caller holds the grid tree lock, so no other write is half done.
    """
    problems = grid_tree_problems()
    if problems:
        raise ValidationError(
            _("The grid tree is inconsistent after the demo writes: %(problems)s")
            % {"problems": "; ".join(str(problem) for problem in problems[:10])}
        )


def _check_existing_grid(grid: Grid, row: GridRow) -> None:
    parent_code = grid.parent.code if grid.parent is not None else None
    if grid.kind == row.kind and parent_code == row.parent_code:
        return
    raise ValidationError(
        {
            "code": _(
                "Grid %(code)s already exists as a %(kind)s under %(parent)s, "
                "but the demo needs a %(expected_kind)s under %(expected_parent)s. "
                "Run the demo on a database without that grid."
            )
            % {
                "code": row.code,
                "kind": GridKind(grid.kind).label,
                "parent": parent_code or "-",
                "expected_kind": GridKind(row.kind).label,
                "expected_parent": row.parent_code or "-",
            }
        }
    )


def _create_organizations(
    rows: list[OrganizationRow], grids: dict[str, Grid], created: Counter[str]
) -> dict[str, Organization]:
    """Create missing organizations; return them by plan key."""
    dedicated_codes = {
        grids[row.grid_code].pk: row.grid_code for row in rows if row.grid_code
    }
    found: dict[str, Organization] = {}
    for organization in Organization.objects.filter(
        kind=OrganizationKind.ENTERPRISE, grid_id__in=list(dedicated_codes)
    ).order_by("pk"):
        assert organization.grid_id is not None
        found.setdefault(dedicated_codes[organization.grid_id], organization)
    other_names = [row.name for row in rows if not row.grid_code]
    for organization in Organization.objects.filter(name__in=other_names):
        found[organization.name] = organization

    missing = [row for row in rows if row.key not in found]
    names_in_use = set(
        Organization.objects.filter(name__in=[row.name for row in missing]).values_list(
            "name", flat=True
        )
    )
    if names_in_use:
        raise ValidationError(
            {
                "name": _(
                    "Organization %(name)s already exists but is not the one the "
                    "demo expects; rename it or run the demo with another seed."
                )
                % {"name": ", ".join(sorted(names_in_use))}
            }
        )

    new_organizations = []
    for row in missing:
        organization = Organization(
            name=row.name,
            kind=row.kind,
            grid=grids[row.grid_code] if row.grid_code else None,
        )
        _validate(organization, ["grid"])
        new_organizations.append(organization)
        found[row.key] = organization
    Organization.objects.bulk_create(new_organizations, batch_size=BATCH_SIZE)
    created["organizations"] += len(new_organizations)
    return found


def _create_members(
    rows: list[MemberRow],
    organizations: dict[str, Organization],
    created: Counter[str],
) -> dict[str, Member]:
    """Create missing members; return them by phone."""
    members = {
        member.phone: member
        for member in Member.objects.filter(phone__in=[row.phone for row in rows])
    }

    new_members = []
    for row in rows:
        if row.phone in members:
            continue
        member = Member(
            name=row.name,
            phone=row.phone,
            is_party_member=row.is_party_member,
            organization=(
                organizations[row.organization_key] if row.organization_key else None
            ),
        )
        _validate(member, ["organization", "user"])
        new_members.append(member)
        members[row.phone] = member
    Member.objects.bulk_create(new_members, batch_size=BATCH_SIZE)
    created["members"] += len(new_members)
    return members


def _create_assignments(
    rows: list[AssignmentRow],
    grids: dict[str, Grid],
    members: dict[str, Member],
    created: Counter[str],
) -> None:
    """Create missing assignments with their roles.

    A leader post that someone else already holds is left to them, because a
    general, micro or dedicated grid has one leader at a time.
    """
    grid_ids = [grid.pk for grid in grids.values()]
    existing = set(
        Assignment.objects.filter(grid_id__in=grid_ids).values_list(
            "member_id", "grid_id", "position"
        )
    )
    # Leader posts held at any time since the demo assignments start.
    led_grids = set(
        Assignment.objects.filter(grid_id__in=grid_ids, position=Position.LEADER)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=ASSIGNMENT_START))
        .values_list("grid_id", flat=True)
    )
    known_roles = set(Role.objects.values_list("code", flat=True))
    if not known_roles.issuperset(RoleCode.values):
        raise ValidationError(
            {"roles": _("The six roles are missing; run `manage.py migrate` first.")}
        )

    new_assignments: list[tuple[Assignment, tuple[str, ...]]] = []
    for row in rows:
        grid, member = grids[row.grid_code], members[row.phone]
        if (member.pk, grid.pk, row.position) in existing:
            continue
        if row.position == Position.LEADER and grid.kind not in MULTI_LEADER_KINDS:
            if grid.pk in led_grids:
                logger.info(
                    "demo leader not assigned grid=%s: the grid has a leader", grid.pk
                )
                continue
            led_grids.add(grid.pk)
        assignment = Assignment(
            member=member,
            grid=grid,
            position=row.position,
            title=row.title,
            duties=row.duties,
            commitment=row.commitment,
            start_date=ASSIGNMENT_START,
        )
        _validate(assignment, ["member", "grid"])
        new_assignments.append((assignment, row.roles))

    Assignment.objects.bulk_create(
        [assignment for assignment, _roles in new_assignments], batch_size=BATCH_SIZE
    )
    through = Assignment.roles.through
    through.objects.bulk_create(
        [
            through(assignment_id=assignment.pk, role_id=role)
            for assignment, roles in new_assignments
            for role in roles
        ],
        batch_size=BATCH_SIZE,
    )
    created["assignments"] += len(new_assignments)


def _create_party_organizations(
    rows: list[PartyOrganizationRow],
    grids: dict[str, Grid],
    members: dict[str, Member],
    created: Counter[str],
) -> None:
    hosting = set(
        PartyOrganization.objects.filter(
            grid_id__in=[grid.pk for grid in grids.values()]
        ).values_list("grid_id", flat=True)
    )

    new_organizations = []
    for row in rows:
        grid = grids[row.grid_code]
        if grid.pk in hosting:
            continue
        organization = PartyOrganization(
            grid=grid,
            kind=PARTY_KIND_FOR_GRID[grid.kind],
            name=row.name,
            secretary=members[row.secretary_phone],
        )
        _validate(organization, ["grid", "secretary"])
        new_organizations.append(organization)
    PartyOrganization.objects.bulk_create(new_organizations, batch_size=BATCH_SIZE)
    created["party organizations"] += len(new_organizations)


def _create_places(
    rows: list[PlaceRow], grids: dict[str, Grid], created: Counter[str]
) -> None:
    existing = dict(
        Place.objects.filter(code__in=[row.code for row in rows]).values_list(
            "code", "grid__code"
        )
    )

    new_places = []
    for row in rows:
        if row.code in existing:
            if existing[row.code] != row.grid_code:
                raise ValidationError(
                    {
                        "code": _(
                            "Place %(code)s already exists in grid %(grid)s, but the "
                            "demo puts it in %(expected)s."
                        )
                        % {
                            "code": row.code,
                            "grid": existing[row.code],
                            "expected": row.grid_code,
                        }
                    }
                )
            continue
        place = Place(
            kind=row.kind,
            code=row.code,
            name=row.name,
            grid=grids[row.grid_code],
            address=row.address,
        )
        _validate(place, ["grid"])
        new_places.append(place)
    Place.objects.bulk_create(new_places, batch_size=BATCH_SIZE)
    created["places"] += len(new_places)


def _create_logins(
    plan: DemoPlan,
    grids: dict[str, Grid],
    members: dict[str, Member],
    created: Counter[str],
) -> None:
    """Create the staff group and the three demo logins if they are missing."""
    group, group_created = Group.objects.get_or_create(name=STAFF_GROUP)
    created["groups"] += int(group_created)
    # Adding is idempotent, and a rerun grants permissions of models added
    # since the first run.
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=STAFF_APPS)
    )

    staff = _get_or_create_user(STAFF_USERNAME, created, is_staff=True)
    staff.groups.add(group)

    # The grid may have kept a leader appointed before the demo ran.
    leadership = (
        Assignment.objects.active()
        .filter(grid=grids[plan.leader_grid_code], position=Position.LEADER)
        .select_related("member")
        .order_by("pk")
        .first()
    )
    leader = leadership.member if leadership else members[plan.leader_phone]
    for username, member in (
        (LEADER_USERNAME, leader),
        (MEMBER_USERNAME, members[plan.member_phone]),
    ):
        user = _get_or_create_user(username, created, first_name=member.name)
        user_has_member = Member.objects.filter(user=user).exists()
        if member.user_id is None and not user_has_member:
            member.user = user
            member.save(update_fields=["user"])
        elif member.user_id != user.pk:
            logger.warning(
                "demo login not linked user=%s member=%s", user.pk, member.pk
            )


def _get_or_create_user(
    username: str,
    created: Counter[str],
    *,
    is_staff: bool = False,
    first_name: str = "",
) -> User:
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user

    user = User.objects.create_user(
        username=username,
        password=settings.WESTGARDEN_DEMO_PASSWORD,
        is_staff=is_staff,
        first_name=first_name,
    )
    created["users"] += 1
    return user
