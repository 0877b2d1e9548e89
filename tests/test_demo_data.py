import time
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.utils import translation

from grids.models import PARENT_KIND, PLACE_GRID_KINDS, Grid, GridKind, Place, PlaceKind
from grids.queries import grid_tree_problems
from members.models import (
    PARTY_KIND_FOR_GRID,
    Assignment,
    Member,
    Organization,
    OrganizationKind,
    PartyOrganization,
    Position,
    RoleCode,
    mobile_validator,
)
from tests.factories import make_assignment, make_grid, make_member
from westgarden.demo.actions import STAFF_APPS, STAFF_GROUP
from westgarden.demo.plan import build_plan

SMALL = "0.05"
MICRO_PLACE_KINDS = {
    PlaceKind.BUILDING,
    PlaceKind.FLOOR,
    PlaceKind.DORMITORY,
    PlaceKind.SHOP,
    PlaceKind.STREET,
}
DEDICATED_PLACE_KINDS = {PlaceKind.PRODUCTION_LINE, PlaceKind.DORMITORY}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hashing the three demo passwords would otherwise dominate each test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def run_demo(*arguments: str) -> str:
    output = StringIO()
    call_command("demo_data", *arguments, stdout=output)
    return output.getvalue()


def snapshot() -> dict[str, list[tuple]]:
    """Return every demo-relevant row by natural key, without primary keys."""
    return {
        "grids": sorted(
            Grid.objects.values_list(
                "code",
                "kind",
                "name",
                "parent__code",
                "boundary",
                "lft",
                "rght",
                "level",
                "tree_id",
            )
        ),
        "organizations": sorted(
            Organization.objects.values_list("name", "kind", "grid__code")
        ),
        "members": sorted(
            Member.objects.values_list(
                "phone",
                "name",
                "is_party_member",
                "organization__name",
                "user__username",
            )
        ),
        "assignments": sorted(
            (
                assignment.member.phone,
                assignment.grid.code,
                assignment.position,
                assignment.title,
                assignment.duties,
                assignment.commitment,
                assignment.start_date,
                assignment.end_date,
                tuple(sorted(role.code for role in assignment.roles.all())),
            )
            for assignment in Assignment.objects.select_related(
                "member", "grid"
            ).prefetch_related("roles")
        ),
        "party organizations": sorted(
            PartyOrganization.objects.values_list(
                "grid__code", "kind", "name", "secretary__phone"
            )
        ),
        "places": sorted(
            Place.objects.values_list("code", "kind", "name", "grid__code", "address")
        ),
        "users": sorted(
            get_user_model().objects.values_list(
                "username", "is_staff", "is_superuser", "password"
            )
        ),
        "group permissions": sorted(
            Group.objects.values_list("name", "permissions__codename")
        ),
    }


def test_demo_data_rejected_when_debug_off(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError) as caught:
        run_demo("--scale", SMALL)

    assert "--allow-production" in str(caught.value)
    assert not Grid.objects.exists()
    assert not Member.objects.exists()
    assert not Group.objects.filter(name=STAFF_GROUP).exists()


def test_demo_data_allow_production_writes(db, settings):
    settings.DEBUG = False

    run_demo("--scale", SMALL, "--allow-production")

    assert Grid.objects.filter(code="TR").exists()


def test_demo_data_second_run_changes_nothing(db, debug_on):
    run_demo("--scale", SMALL)
    first = snapshot()

    with translation.override("en"):
        output = run_demo("--scale", SMALL)

    assert snapshot() == first
    assert "every row already existed" in output


def test_demo_data_small_scale_counts(db, debug_on):
    run_demo("--scale", SMALL)

    assert Grid.objects.filter(kind=GridKind.TOTAL).count() == 2
    assert Grid.objects.filter(kind=GridKind.GENERAL).count() == 3
    assert Grid.objects.filter(kind=GridKind.MICRO).count() == 20
    assert Grid.objects.filter(kind=GridKind.DEDICATED).count() == 6
    assert Assignment.objects.filter(grid__kind=GridKind.MICRO).count() == 40


def test_demo_grids_follow_kind_rules(db, debug_on):
    run_demo("--scale", SMALL)

    for grid in Grid.objects.select_related("parent"):
        parent_kind = grid.parent.kind if grid.parent else None
        assert parent_kind == PARENT_KIND[grid.kind], grid.code
    for place in Place.objects.select_related("grid"):
        assert place.grid.kind in PLACE_GRID_KINDS, place.code
        if place.grid.kind == GridKind.MICRO:
            assert place.kind in MICRO_PLACE_KINDS, place.code
        else:
            assert place.kind in DEDICATED_PLACE_KINDS, place.code
    leaves = Grid.objects.filter(kind__in=PLACE_GRID_KINDS)
    assert not leaves.filter(places__isnull=True).exists()
    assert grid_tree_problems() == []


def test_demo_party_organizations_follow_grids(db, debug_on):
    run_demo("--scale", SMALL)

    hosts = Grid.objects.filter(kind__in=list(PARTY_KIND_FOR_GRID))
    assert PartyOrganization.objects.count() == hosts.count()
    for organization in PartyOrganization.objects.select_related("grid", "secretary"):
        assert organization.kind == PARTY_KIND_FOR_GRID[organization.grid.kind]
        assert organization.secretary is not None, organization.name
        assert organization.secretary.is_party_member, organization.name


def test_demo_dedicated_grids_have_enterprises(db, debug_on):
    run_demo("--scale", SMALL)

    for grid in Grid.objects.filter(kind=GridKind.DEDICATED):
        enterprises = grid.organizations.filter(kind=OrganizationKind.ENTERPRISE)
        assert enterprises.count() == 1, grid.code


def test_enterprise_area_has_two_leaders(db, debug_on):
    run_demo("--scale", SMALL)

    area_leaders = Assignment.objects.active().filter(
        grid__code="TRQ", position=Position.LEADER
    )
    community_leader = Assignment.objects.get(grid__code="TR", position=Position.LEADER)
    enterprise_leader = area_leaders.exclude(member=community_leader.member).get()
    assert area_leaders.count() == 2
    assert area_leaders.filter(member=community_leader.member).exists()
    assert enterprise_leader.member.organization.kind == OrganizationKind.ENTERPRISE


def test_demo_general_and_dedicated_grids_have_one_leader(db, debug_on):
    run_demo("--scale", SMALL)

    for grid in Grid.objects.filter(kind__in=[GridKind.GENERAL, GridKind.DEDICATED]):
        leaders = grid.assignments.active().filter(position=Position.LEADER)
        assert leaders.count() == 1, grid.code


def test_micro_grid_members_cover_six_roles(db, debug_on):
    run_demo("--scale", SMALL)

    for grid in Grid.objects.filter(kind=GridKind.MICRO):
        assignments = grid.assignments.prefetch_related("roles")
        covered = set()
        for assignment in assignments:
            codes = {role.code for role in assignment.roles.all()}
            assert 1 <= len(codes) <= 3, assignment.pk
            covered |= codes
        assert assignments.count() >= 2, grid.code
        assert covered == set(RoleCode.values), grid.code


def test_demo_members_have_valid_unique_phones(db, debug_on):
    run_demo("--scale", SMALL)

    phones = list(Member.objects.values_list("phone", flat=True))
    for phone in phones:
        mobile_validator(phone)
        assert phone.startswith("1990"), phone
    assert len(set(phones)) == len(phones)


def test_demo_member_names_are_chinese(db, debug_on):
    run_demo("--scale", SMALL)

    for name in Member.objects.values_list("name", flat=True):
        assert len(name) in (2, 3), name
        assert all("\u4e00" <= character <= "\u9fff" for character in name), name


def delete_demo_rows() -> None:
    PartyOrganization.objects.all().delete()
    Assignment.objects.all().delete()
    Place.objects.all().delete()
    Member.objects.all().delete()
    Organization.objects.all().delete()
    get_user_model().objects.all().delete()
    Group.objects.all().delete()
    # Leaves first, because a grid protects its children's parent link.
    for level in (2, 1, 0):
        Grid.objects.filter(level=level).delete()


def test_demo_data_same_seed_same_rows(db, debug_on):
    run_demo("--scale", SMALL, "--seed", "7")
    first = snapshot()
    delete_demo_rows()
    assert not Grid.objects.exists()

    run_demo("--scale", SMALL, "--seed", "7")

    second = snapshot()
    assert second["grids"] == first["grids"]
    assert second["members"] == first["members"]
    assert second["places"] == first["places"]
    assert second["assignments"] == first["assignments"]


def test_demo_plan_other_seed_other_names():
    first = build_plan(seed=1, scale=0.05)
    second = build_plan(seed=2, scale=0.05)

    assert [row.code for row in first.grids] == [row.code for row in second.grids]
    assert [row.name for row in first.members] != [row.name for row in second.members]


def test_demo_data_smaller_scale_then_larger_extends(db, debug_on):
    run_demo("--scale", SMALL)
    small = snapshot()

    run_demo("--scale", "0.1")

    larger = snapshot()
    assert set(small["members"]) <= set(larger["members"])
    assert set(small["places"]) <= set(larger["places"])
    assert Grid.objects.filter(kind=GridKind.GENERAL).count() == 5
    assert grid_tree_problems() == []


def test_demo_data_invalid_scale_rejected(db, debug_on):
    for scale in ("0", "1.5", "-1"):
        with pytest.raises(CommandError) as caught:
            run_demo("--scale", scale)
        assert "scale" in str(caught.value), scale
    assert not Grid.objects.exists()


def test_demo_data_conflicting_grid_code_rejected(db, debug_on):
    make_grid(GridKind.TOTAL, code="TR-01")

    with pytest.raises(CommandError) as caught:
        run_demo("--scale", SMALL)

    assert "TR-01" in str(caught.value)
    assert Grid.objects.count() == 1
    assert not Member.objects.exists()


def test_demo_data_keeps_existing_leader(db, debug_on):
    community = make_grid(GridKind.TOTAL, code="TR", name="天瑞社区总网格")
    general = make_grid(GridKind.GENERAL, community, code="TR-01", name="第1网格")
    leader = make_member(name="现任网格长", phone="13700000001")
    make_assignment(leader, general, Position.LEADER)

    run_demo("--scale", SMALL)

    leaders = Assignment.objects.active().filter(grid=general, position=Position.LEADER)
    assert [assignment.member for assignment in leaders] == [leader]
    leader.refresh_from_db()
    assert leader.user.username == "demo-leader"
    assert Grid.objects.filter(parent=general).count() > 0
    assert grid_tree_problems() == []


def test_demo_logins(db, debug_on, client, django_user_model):
    run_demo("--scale", SMALL)

    password = django_settings.WESTGARDEN_DEMO_PASSWORD
    staff = django_user_model.objects.get(username="demo-staff")
    leader = django_user_model.objects.get(username="demo-leader")
    member = django_user_model.objects.get(username="demo-member")
    staff_permissions = Permission.objects.filter(
        content_type__app_label__in=STAFF_APPS
    )
    group = Group.objects.get(name=STAFF_GROUP)
    assert staff.is_staff
    assert not staff.is_superuser
    assert list(staff.groups.all()) == [group]
    assert set(group.permissions.all()) == set(staff_permissions)
    assert staff.has_perm("grids.change_grid")
    assert staff.has_perm("members.add_member")
    for user in (staff, leader, member):
        assert user.check_password(password), user.username
    assert not leader.is_staff
    assert not member.is_staff
    assert leader.member.assignments.filter(
        grid__code="TR-01", position=Position.LEADER
    ).exists()
    assert member.member.assignments.filter(
        grid__parent__code="TR-01", grid__kind=GridKind.MICRO
    ).exists()
    assert client.login(username="demo-staff", password=password)
    assert client.get("/admin/").status_code == 200


def test_demo_data_full_scale_counts(db, debug_on):
    started = time.perf_counter()
    run_demo()
    elapsed = time.perf_counter() - started

    assert Grid.objects.filter(code="TR", kind=GridKind.TOTAL).exists()
    assert Grid.objects.filter(code="TRQ", kind=GridKind.TOTAL).exists()
    assert Grid.objects.filter(kind=GridKind.GENERAL, parent__code="TR").count() == 54
    assert Grid.objects.filter(kind=GridKind.MICRO).count() == 392
    assert (
        Grid.objects.filter(kind=GridKind.DEDICATED, parent__code="TRQ").count() == 121
    )
    assert Assignment.objects.filter(grid__kind=GridKind.MICRO).count() == 806
    assert Organization.objects.filter(kind=OrganizationKind.ENTERPRISE).count() == 121
    assert grid_tree_problems() == []
    assert elapsed < 60

    tree_before = sorted(
        Grid.objects.values_list("pk", "lft", "rght", "level", "tree_id")
    )
    Grid.objects.rebuild()
    tree_after = sorted(
        Grid.objects.values_list("pk", "lft", "rght", "level", "tree_id")
    )
    assert tree_after == tree_before
