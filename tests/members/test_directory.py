"""The public grid directory: a grid's members with the three displays (三亮)."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from grids.actions import grid_move, grid_update, place_create
from grids.cache import DIRECTORY_VERSION_KEY, bump_directory_version
from grids.cache import directory_version as current_version
from grids.models import GridKind, PlaceKind
from grids.roster.sheets import RosterFile
from members import queries
from members.actions import (
    assignment_end,
    member_update,
    party_organization_set,
)
from members.models import HeadTitle, Position, RoleCode
from members.roster import roster_import
from tests.factories import make_assignment, make_grid, make_member
from westgarden.demo.actions import demo_data_create

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
# An 11-digit mainland mobile number that is not part of a longer number.
FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture(autouse=True)
def empty_cache():
    # The local-memory cache outlives each test's database rollback, and
    # tests reuse grid codes, so every test starts from an empty cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def english_client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def chinese_client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="zh-hans")


@pytest.fixture
def wang(tree):
    """Wang, leader (网格长) of the general grid and secretary of its branch."""
    member = make_member(name="王建国", phone="13812345678", is_party_member=True)
    make_assignment(
        member,
        tree["general"],
        Position.LEADER,
        duties="统筹第一网格的微网格员开展工作。",
        commitment="有事找我，件件有回音。",
    )
    party_organization_set(
        grid_id=tree["general"].pk, name="第一网格党支部", secretary_id=member.pk
    )
    return member


@pytest.fixture
def li(tree):
    """Li, micro-grid member (微网格员) and building leader, mediator and publicist."""
    member = make_member(name="李秀英", phone="13987654321")
    make_assignment(
        member,
        tree["micro"],
        roles=[RoleCode.MEDIATOR, RoleCode.PUBLICIST],
        title=HeadTitle.BUILDING,
        duties="调解邻里纠纷，宣传政策。",
        commitment="小事不出网格，大事及时上报。",
    )
    return member


def page(client: Client, code: str) -> str:
    return get_body(client, f"/grids/{code}/")


def main_part(body: str) -> str:
    """Return the page from <main> on, leaving out the header's CSRF token."""
    return body[body.index("<main>") :]


def get_body(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


# Contents ---------------------------------------------------------------------


def test_index_lists_active_total_grids(chinese_client, tree, wang):
    closed = make_grid(GridKind.TOTAL, name="已撤销社区总网格")
    grid_update(grid_id=closed.pk, is_active=False)

    body = get_body(chinese_client, "/grids/")

    assert f'href="/grids/{tree["total"].code}/"' in body
    assert tree["total"].name in body
    assert closed.name not in body
    assert tree["general"].name not in body


def test_index_names_total_grid_leader(chinese_client, tree):
    make_assignment(make_member(name="陈书记"), tree["total"], Position.LEADER)

    body = get_body(chinese_client, "/grids/")

    assert "总网格长：陈书记" in body


def test_index_counts_grids_below(english_client, tree):
    body = get_body(english_client, "/grids/")

    assert "3 grids below" in body


def test_grid_page_shows_leader_three_displays(chinese_client, tree, wang):
    body = page(chinese_client, tree["general"].code)

    assert "王建国" in body
    assert "网格长" in body
    assert "统筹第一网格的微网格员开展工作。" in body
    assert "有事找我，件件有回音。" in body
    assert "138****5678" in body
    assert "第一网格党支部" in body


def test_grid_page_shows_roles_and_title(chinese_client, tree, li):
    body = page(chinese_client, tree["micro"].code)

    assert "李秀英" in body
    assert "微网格员" in body
    assert "宣传员" in body
    assert "调解员" in body
    assert "楼栋长" in body
    assert "调解邻里纠纷，宣传政策。" in body
    assert "小事不出网格，大事及时上报。" in body
    assert "139****4321" in body


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_grid_page_never_shows_full_phone(tree, wang, li, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)

    for grid in tree.values():
        body = page(client, grid.code)
        assert "13812345678" not in body
        assert "13987654321" not in body
        assert FULL_PHONE.search(body) is None


def test_cached_fragment_holds_masked_phone_only(chinese_client, tree, li):
    page(chinese_client, tree["micro"].code)

    key = f"members:directory:{current_version()}:zh-hans:grid:{tree['micro'].code}"
    fragment = cache.get(key)
    assert fragment is not None
    assert "139****4321" in fragment["body"]
    assert FULL_PHONE.search(str(fragment)) is None


def test_grid_page_shows_kind_and_boundary(chinese_client, tree):
    grid_update(grid_id=tree["micro"].pk, boundary="天瑞花园1期1栋、2栋")

    body = page(chinese_client, tree["micro"].code)

    assert "微网格" in body
    assert "天瑞花园1期1栋、2栋" in body
    assert tree["micro"].code in body


def test_grid_page_lists_places_of_micro_grid(chinese_client, tree):
    place_create(
        kind=PlaceKind.BUILDING,
        code="P-B7",
        name="天瑞花园7栋",
        grid_id=tree["micro"].pk,
    )
    place_create(
        kind=PlaceKind.SHOP,
        code="P-S1",
        name="已关闭商铺",
        grid_id=tree["micro"].pk,
        is_active=False,
    )

    body = page(chinese_client, tree["micro"].code)

    assert "天瑞花园7栋" in body
    assert "已关闭商铺" not in body


def test_leaders_listed_before_members(chinese_client, tree, wang):
    make_assignment(make_member(name="阿里木"), tree["general"])

    body = page(chinese_client, tree["general"].code)

    assert body.index("王建国") < body.index("阿里木")


def test_ended_and_future_assignments_hidden(chinese_client, tree):
    ended = make_member(name="赵已离任")
    assignment = make_assignment(ended, tree["micro"], start_date=TODAY - 10 * DAY)
    assignment_end(assignment_id=assignment.pk, end_date=TODAY - DAY)
    make_assignment(make_member(name="钱未到任"), tree["micro"], start_date=TODAY + DAY)

    body = page(chinese_client, tree["micro"].code)

    assert "赵已离任" not in body
    assert "钱未到任" not in body


def test_inactive_member_hidden(chinese_client, tree, li):
    member_update(member_id=li.pk, is_active=False)

    body = page(chinese_client, tree["micro"].code)

    assert "李秀英" not in body


def test_total_grid_lists_subtree_indented(chinese_client, tree, wang):
    body = page(chinese_client, tree["total"].code)

    general_row = f'class="depth-1" data-code="{tree["general"].code}"'
    micro_row = f'class="depth-2" data-code="{tree["micro"].code}"'
    dedicated_row = f'class="depth-1" data-code="{tree["dedicated"].code}"'
    assert general_row in body
    assert micro_row in body
    assert dedicated_row in body
    assert body.index(general_row) < body.index(micro_row) < body.index(dedicated_row)
    assert f'href="/grids/{tree["micro"].code}/"' in body
    # The general grid's row names its leader.
    general_part = body[body.index(general_row) : body.index(micro_row)]
    assert "王建国" in general_part


def test_large_subtree_lists_children_with_counts(
    english_client, tree, wang, monkeypatch
):
    make_grid(GridKind.MICRO, tree["general"], name="1-2 微网格")
    monkeypatch.setattr(queries, "SUBTREE_FULL_LIMIT", 2)

    body = page(english_client, tree["total"].code)

    assert f'data-code="{tree["general"].code}"' in body
    assert f'data-code="{tree["dedicated"].code}"' in body
    assert f'data-code="{tree["micro"].code}"' not in body
    assert "2 grids below" in body
    assert "Only the grids directly below are listed" in body


def test_inactive_subgrid_not_listed(chinese_client, tree):
    grid_update(grid_id=tree["micro"].pk, is_active=False)

    body = page(chinese_client, tree["general"].code)

    assert f'data-code="{tree["micro"].code}"' not in body


def test_inactive_grid_404(client, tree):
    grid_update(grid_id=tree["micro"].pk, is_active=False)

    assert client.get(f"/grids/{tree['micro'].code}/").status_code == 404


@pytest.mark.parametrize("path", ["/grids/NO-SUCH/", "/grids/a%20b/", "/grids/-x/"])
def test_unknown_code_404(client, tree, path):
    assert client.get(path).status_code == 404


def test_post_not_allowed(client, tree):
    assert client.post(f"/grids/{tree['micro'].code}/").status_code == 405


def test_home_links_directory(client, db):
    body = client.get("/").content.decode()

    assert 'href="/grids/"' in body


# Languages ----------------------------------------------------------------------


def test_english_page_when_language_switched(tree, li):
    client = Client()
    chinese = page(client, tree["micro"].code)

    response = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": f"/grids/{tree['micro'].code}/"},
    )
    assert response.status_code == 302
    english = page(client, tree["micro"].code)

    assert "微网格员" in chinese
    assert "micro-grid member" not in chinese
    assert "micro-grid member" in english
    assert "publicist" in english
    assert "宣传员" not in english
    assert "139****4321" in english


# Caching --------------------------------------------------------------------------


def make_general_with_micro_grids(count: int):
    total = make_grid(GridKind.TOTAL)
    general = make_grid(GridKind.GENERAL, total)
    make_assignment(make_member(), general, Position.LEADER, roles=[RoleCode.LIAISON])
    for _number in range(count):
        micro = make_grid(GridKind.MICRO, general)
        make_assignment(make_member(), micro, Position.LEADER)
        make_assignment(make_member(), micro, roles=[RoleCode.INSPECTOR])
    return general


def test_query_count_same_for_small_and_large_subtree(
    client, db, django_assert_num_queries
):
    small = make_general_with_micro_grids(2)
    large = make_general_with_micro_grids(20)

    # The grid, its ancestors, its assignments, their roles, the grids below
    # and their leaders.
    with django_assert_num_queries(6):
        small_body = page(client, small.code)
    with django_assert_num_queries(6):
        large_body = page(client, large.code)

    assert small_body.count('class="depth-1"') == 2
    assert large_body.count('class="depth-1"') == 20


def test_second_request_served_from_cache(client, tree, li, django_assert_num_queries):
    first = page(client, tree["micro"].code)

    with django_assert_num_queries(0):
        second = page(client, tree["micro"].code)

    assert main_part(second) == main_part(first)


def test_index_served_from_cache(client, tree, django_assert_num_queries):
    first = get_body(client, "/grids/")

    with django_assert_num_queries(0):
        second = get_body(client, "/grids/")

    assert main_part(second) == main_part(first)


def test_new_assignment_shown_on_next_request(
    chinese_client, tree, django_capture_on_commit_callbacks
):
    code = tree["micro"].code
    assert "孙新来" not in page(chinese_client, code)
    member = make_member(name="孙新来")

    with django_capture_on_commit_callbacks(execute=True):
        make_assignment(member, tree["micro"], roles=[RoleCode.INSPECTOR])

    body = page(chinese_client, code)
    assert "孙新来" in body
    assert "排查员" in body


def test_write_without_commit_leaves_cache(chinese_client, tree):
    code = tree["micro"].code
    page(chinese_client, code)

    # Outside django_capture_on_commit_callbacks the test transaction never
    # commits, so the version stays and the cached page is served.
    make_assignment(make_member(name="孙新来"), tree["micro"])

    assert "孙新来" not in page(chinese_client, code)


def test_grid_move_updates_pages(
    chinese_client, tree, django_capture_on_commit_callbacks
):
    other = make_grid(GridKind.GENERAL, tree["total"], name="第二网格")
    micro_row = f'data-code="{tree["micro"].code}"'
    assert micro_row in page(chinese_client, tree["general"].code)
    assert micro_row not in page(chinese_client, other.code)
    assert "第二网格" not in page(chinese_client, tree["micro"].code)

    with django_capture_on_commit_callbacks(execute=True):
        grid_move(grid_id=tree["micro"].pk, parent_id=other.pk)

    assert micro_row not in page(chinese_client, tree["general"].code)
    assert micro_row in page(chinese_client, other.code)
    assert "第二网格" in page(chinese_client, tree["micro"].code)


def test_grid_deactivation_removes_page(
    client, tree, django_capture_on_commit_callbacks
):
    page(client, tree["micro"].code)

    with django_capture_on_commit_callbacks(execute=True):
        grid_update(grid_id=tree["micro"].pk, is_active=False)

    assert client.get(f"/grids/{tree['micro'].code}/").status_code == 404


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda tree, li: member_update(member_id=li.pk, name="李秀兰"), "李秀兰"),
        (
            lambda tree, li: party_organization_set(
                grid_id=tree["micro"].pk, name="1-1 微网格党小组"
            ),
            "1-1 微网格党小组",
        ),
        (
            lambda tree, li: place_create(
                kind=PlaceKind.SHOP,
                code="P-NEW",
                name="新开便利店",
                grid_id=tree["micro"].pk,
            ),
            "新开便利店",
        ),
        (
            lambda tree, li: grid_update(grid_id=tree["micro"].pk, name="改名微网格"),
            "改名微网格",
        ),
    ],
    ids=["member_update", "party_organization_set", "place_create", "grid_update"],
)
def test_write_shown_on_next_request(
    chinese_client, tree, li, django_capture_on_commit_callbacks, write, expected
):
    code = tree["micro"].code
    assert expected not in page(chinese_client, code)

    with django_capture_on_commit_callbacks(execute=True):
        write(tree, li)

    assert expected in page(chinese_client, code)


def test_assignment_end_hides_member_on_next_request(
    chinese_client, tree, django_capture_on_commit_callbacks
):
    assignment = make_assignment(
        make_member(name="周卸任"), tree["micro"], start_date=TODAY - DAY
    )
    assert "周卸任" in page(chinese_client, tree["micro"].code)

    with django_capture_on_commit_callbacks(execute=True):
        assignment_end(assignment_id=assignment.pk, end_date=TODAY - DAY)

    assert "周卸任" not in page(chinese_client, tree["micro"].code)


def test_roster_import_shown_on_next_request(
    chinese_client, tree, django_capture_on_commit_callbacks
):
    code = tree["micro"].code
    assert "吴导入" not in page(chinese_client, code)
    rows = [
        ["姓名", "手机号", "网格编码", "职务"],
        ["吴导入", "13700000009", code, "微网格员"],
    ]
    content = "\n".join(",".join(row) for row in rows).encode("utf-8-sig")

    with django_capture_on_commit_callbacks(execute=True):
        report = roster_import(files=[RosterFile(name="members.csv", content=content)])

    assert report.errors == []
    assert "吴导入" in page(chinese_client, code)


def test_demo_data_shown_on_next_request(
    chinese_client, db, settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert "天瑞社区总网格" not in get_body(chinese_client, "/grids/")

    with django_capture_on_commit_callbacks(execute=True):
        demo_data_create(seed=1, scale=0.05)

    assert "天瑞社区总网格" in get_body(chinese_client, "/grids/")


def test_languages_cached_apart(english_client, chinese_client, tree, li):
    chinese = page(chinese_client, tree["micro"].code)
    english = page(english_client, tree["micro"].code)

    assert "微网格员" in chinese
    assert "micro-grid member" in english


# Directory version ------------------------------------------------------------------


def test_bump_changes_version(db):
    before = current_version()

    bump_directory_version()

    assert current_version() == before + 1


def test_version_stable_between_bumps(db):
    assert current_version() == current_version()


def test_bump_after_eviction_starts_fresh_version(db):
    before = current_version()
    cache.delete(DIRECTORY_VERSION_KEY)

    bump_directory_version()

    after = cache.get(DIRECTORY_VERSION_KEY)
    assert after is not None
    assert after > before + 1
