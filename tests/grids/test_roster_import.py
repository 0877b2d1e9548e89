"""Roster import: grids, places and members from CSV and XLSX files."""

import csv
import datetime
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from grids.models import Grid, GridKind, Place
from grids.roster.sheets import RosterFile
from members.models import Assignment, Member, Organization, Position
from members.roster import RosterReport, roster_import
from tests.factories import make_assignment, make_grid, make_member

GRID_HEADER = [
    "网格编码",
    "网格名称",
    "网格类型",
    "上级网格编码",
    "网格范围",
    "是否启用",
]
# Children come before their parents on purpose.
GRID_ROWS = [
    ["TR-01-1", "1-1 微网格", "微网格", "TR-01", "天瑞路 1-3 号", "是"],
    ["TR-01", "第一网格", "一般网格", "TR", "", ""],
    ["TR", "天瑞社区总网格", "社区总网格", "", "天瑞社区全域", "是"],
    ["TR-D1", "某电子厂专属网格", "专属网格", "TR", "", "是"],
]
PLACE_HEADER = ["场所编码", "场所名称", "场所类型", "所属网格编码", "地址"]
PLACE_ROWS = [
    ["TR-P1", "1 栋", "楼栋", "TR-01-1", "天瑞路 1 号"],
    ["TR-P2", "A 产线", "产线", "TR-D1", ""],
]
MEMBER_HEADER = [
    "姓名",
    "手机号",
    "是否党员",
    "所属单位",
    "单位类型",
    "网格编码",
    "职务",
    "六员",
    "三长",
    "职责",
    "公开承诺",
    "任职日期",
    "离任日期",
]
MEMBER_ROWS = [
    ["张三", "13800000001", "是", "天瑞社区工作站", "社区", "TR", "总网格长"]
    + ["", "", "统筹全域", "", "2024-01-01", ""],
    ["李四", "13800000002", "否", "某物业公司", "物业", "TR-01-1", "网格长"]
    + ["", "楼栋长", "", "", "2024-01-01", ""],
    ["王五", "138-0000-0003", "是", "", "", "TR-01-1", "微网格员"]
    + ["宣传员、调解员", "", "巡查楼栋", "有求必应", "2024/3/1", ""],
    ["张三", "13800000001", "是", "天瑞社区工作站", "社区", "TR-01", "网格长"]
    + ["", "", "", "", "2024-01-01", ""],
]

ENGLISH_HEADERS = {
    "grids": ["code", "name", "kind", "parent code", "boundary", "active"],
    "places": ["code", "name", "kind", "grid code", "address"],
    "members": [
        "name",
        "phone",
        "party member",
        "organization",
        "organization kind",
        "grid code",
        "position",
        "roles",
        "three heads title",
        "duties",
        "commitment",
        "start date",
        "end date",
    ],
}
# Tuples, so that a test that edits a copy cannot edit the base by accident.
GRID_ROWS = [tuple(row) for row in GRID_ROWS]
PLACE_ROWS = [tuple(row) for row in PLACE_ROWS]
MEMBER_ROWS = [tuple(row) for row in MEMBER_ROWS]
BASE = {
    "grids": (GRID_HEADER, GRID_ROWS),
    "places": (PLACE_HEADER, PLACE_ROWS),
    "members": (MEMBER_HEADER, MEMBER_ROWS),
}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(row)
    workbook.save(path)
    return path


def roster_csvs(tmp_path: Path, changes: dict | None = None) -> list[Path]:
    """Write the base roster as three CSV files, with ``changes`` applied.

    ``changes`` maps a kind to {spreadsheet row number: {header: value}}; a
    row number past the end appends a row built from the base's last row.
    """
    paths = []
    for kind, (header, rows) in BASE.items():
        rows = [list(row) for row in rows]
        for number, cells in (changes or {}).get(kind, {}).items():
            index = number - 2
            if index == len(rows):
                rows.append(list(rows[-1]))
            for column, value in cells.items():
                rows[index][header.index(column)] = value
        paths.append(write_csv(tmp_path / f"{kind}.csv", [header, *rows]))
    return paths


def import_files(*paths: Path, **options) -> RosterReport:
    files = [RosterFile(name=path.name, content=path.read_bytes()) for path in paths]
    return roster_import(files=files, **options)


def counts_of(report: RosterReport) -> dict[str, tuple[int, int, int]]:
    return {
        kind: (counts.created, counts.updated, counts.unchanged)
        for kind, counts in report.counts.items()
    }


def table_sizes() -> dict[str, int]:
    return {
        "grids": Grid.objects.count(),
        "places": Place.objects.count(),
        "organizations": Organization.objects.count(),
        "members": Member.objects.count(),
        "assignments": Assignment.objects.count(),
        "roles": Assignment.roles.through.objects.count(),
    }


def snapshot() -> dict[str, list]:
    """Return every column of every roster table, to compare before and after."""
    return {
        "grids": list(Grid.objects.order_by("pk").values()),
        "places": list(Place.objects.order_by("pk").values()),
        "organizations": list(Organization.objects.order_by("pk").values()),
        "members": list(Member.objects.order_by("pk").values()),
        "assignments": list(Assignment.objects.order_by("pk").values()),
        "roles": list(
            Assignment.roles.through.objects.order_by("pk").values_list(
                "assignment_id", "role_id"
            )
        ),
    }


def assert_tree_consistent() -> None:
    """Check lft, rght, level and tree_id of every grid against the parent links."""
    nodes = {grid.pk: grid for grid in Grid.objects.all()}
    descendants: Counter = Counter()
    children = defaultdict(list)
    for grid in nodes.values():
        children[grid.parent_id].append(grid)
        ancestor_id = grid.parent_id
        while ancestor_id is not None:
            descendants[ancestor_id] += 1
            ancestor_id = nodes[ancestor_id].parent_id

    roots = children[None]
    assert len({root.tree_id for root in roots}) == len(roots)
    for grid in nodes.values():
        assert grid.rght - grid.lft == 2 * descendants[grid.pk] + 1, grid.code
        if grid.parent_id is None:
            assert (grid.lft, grid.level) == (1, 0), grid.code
            continue
        parent = nodes[grid.parent_id]
        assert grid.tree_id == parent.tree_id, grid.code
        assert parent.lft < grid.lft < grid.rght < parent.rght, grid.code
        assert grid.level == parent.level + 1, grid.code
    for parent_id, siblings in children.items():
        if parent_id is None:
            continue
        siblings.sort(key=lambda grid: grid.lft)
        for left, right in zip(siblings, siblings[1:], strict=False):
            assert left.rght < right.lft, (left.code, right.code)


def find_error(report: RosterReport, source: str, row: int, column: str):
    matches = [
        error
        for error in report.errors
        if error.source == source and error.row == row and error.column == column
    ]
    assert matches, [str(error) for error in report.errors]
    return matches[0]


# Good files


@pytest.mark.django_db
def test_csv_import_creates_roster(tmp_path):
    report = import_files(*roster_csvs(tmp_path))

    assert report.errors == []
    assert report.written
    assert counts_of(report) == {
        "grids": (4, 0, 0),
        "places": (2, 0, 0),
        "organizations": (2, 0, 0),
        "members": (3, 0, 0),
        "assignments": (4, 0, 0),
    }
    micro = Grid.objects.get(code="TR-01-1")
    assert micro.kind == GridKind.MICRO
    assert micro.parent.code == "TR-01"
    assert micro.boundary == "天瑞路 1-3 号"
    assert [g.code for g in micro.get_ancestors()] == ["TR", "TR-01"]
    assert Place.objects.get(code="TR-P2").grid.code == "TR-D1"
    assert_tree_consistent()


@pytest.mark.django_db
def test_csv_import_reads_member_columns(tmp_path):
    import_files(*roster_csvs(tmp_path))

    wang = Member.objects.get(phone="13800000003")
    assert wang.name == "王五"
    assert wang.is_party_member
    assert wang.organization is None
    assignment = wang.assignments.get()
    assert assignment.grid.code == "TR-01-1"
    assert assignment.position == Position.MEMBER
    assert sorted(assignment.roles.values_list("code", flat=True)) == [
        "mediator",
        "publicist",
    ]
    assert assignment.duties == "巡查楼栋"
    assert assignment.commitment == "有求必应"
    assert assignment.start_date == datetime.date(2024, 3, 1)
    assert assignment.end_date is None

    li = Member.objects.get(phone="13800000002")
    assert li.organization.kind == "property"
    assert li.assignments.get().title == "building"
    assert li.assignments.get().position == Position.LEADER
    zhang = Member.objects.get(phone="13800000001")
    assert zhang.assignments.count() == 2
    assert zhang.organization.name == "天瑞社区工作站"


@pytest.mark.django_db
def test_xlsx_import_with_english_headers(tmp_path):
    sheets = {
        kind: [ENGLISH_HEADERS[kind], *map(list, rows)]
        for kind, (_, rows) in BASE.items()
    }
    # Excel keeps phone numbers typed as numbers and dates as date cells.
    sheets["members"][1][1] = 13800000001
    sheets["members"][4][1] = 13800000001.0
    sheets["members"][3][11] = datetime.datetime(2024, 3, 1)
    path = write_workbook(tmp_path / "roster.xlsx", sheets)

    report = import_files(path)

    assert report.errors == []
    assert counts_of(report)["assignments"] == (4, 0, 0)
    assert Member.objects.get(phone="13800000001").assignments.count() == 2
    assignment = Assignment.objects.get(member__phone="13800000003")
    assert assignment.start_date == datetime.date(2024, 3, 1)
    assert_tree_consistent()


@pytest.mark.django_db
def test_xlsx_import_with_chinese_sheet_names(tmp_path):
    path = write_workbook(
        tmp_path / "台账.xlsx",
        {
            "说明": [["本台账由社区工作站维护"]],
            "网格": [GRID_HEADER, *GRID_ROWS],
            "场所": [PLACE_HEADER, *PLACE_ROWS],
            "成员": [MEMBER_HEADER, *MEMBER_ROWS],
        },
    )

    report = import_files(path)

    assert report.errors == []
    assert table_sizes()["grids"] == 4
    assert table_sizes()["assignments"] == 4
    assert any("说明" in note for note in report.notes)


@pytest.mark.django_db
def test_xlsx_empty_sheet_skipped(tmp_path):
    path = write_workbook(
        tmp_path / "roster.xlsx", {"网格": [GRID_HEADER, *GRID_ROWS], "场所": []}
    )

    report = import_files(path)

    assert report.errors == []
    assert counts_of(report)["grids"] == (4, 0, 0)
    assert counts_of(report)["places"] == (0, 0, 0)


@pytest.mark.django_db
def test_xlsx_sheet_missing_column_reported(tmp_path):
    path = write_workbook(
        tmp_path / "roster.xlsx",
        {"网格": [GRID_HEADER, *GRID_ROWS], "成员": [["姓名", "网格编码"]]},
    )

    report = import_files(path)

    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.source, error.row) == ("roster.xlsx, sheet 成员", 1)
    assert "手机号" in error.message
    assert Grid.objects.count() == 0


@pytest.mark.django_db
def test_title_row_keeps_row_numbers(tmp_path):
    rows = [["天瑞社区网格台账"], GRID_HEADER, *map(list, GRID_ROWS)]
    rows[3][2] = "小网格"
    path = write_workbook(tmp_path / "roster.xlsx", {"网格": rows})

    report = import_files(path)

    error = find_error(report, "roster.xlsx, sheet 网格", 4, "网格类型")
    assert error.value == "小网格"


@pytest.mark.django_db
def test_gb18030_csv_import(tmp_path):
    grids = write_csv(tmp_path / "grids.csv", [GRID_HEADER, *GRID_ROWS], "gb18030")

    report = import_files(grids)

    assert report.errors == []
    assert "grids.csv: read as GB18030" in report.notes
    assert Grid.objects.get(code="TR").name == "天瑞社区总网格"


@pytest.mark.django_db
def test_utf8_csv_with_bom_import(tmp_path):
    places = tmp_path / "places.csv"
    grids = write_csv(tmp_path / "grids.csv", [GRID_HEADER, *GRID_ROWS])
    write_csv(places, [PLACE_HEADER, *PLACE_ROWS], "utf-8-sig")
    assert places.read_bytes().startswith(b"\xef\xbb\xbf")

    report = import_files(grids, places)

    assert report.errors == []
    assert "places.csv: read as UTF-8 (BOM)" in report.notes
    assert Place.objects.count() == 2


@pytest.mark.django_db
def test_utf16_tab_separated_import(tmp_path):
    # Excel's "Unicode text" export: UTF-16 with a byte order mark, tabs.
    path = tmp_path / "grids.txt"
    text = "\n".join("\t".join(row) for row in [GRID_HEADER, *GRID_ROWS])
    path.write_bytes(text.encode("utf-16"))

    report = import_files(path)

    assert report.errors == []
    assert "grids.txt: read as UTF-16 (BOM)" in report.notes
    assert Grid.objects.get(code="TR-01-1").boundary == "天瑞路 1-3 号"


@pytest.mark.django_db
def test_undecodable_csv_reported(tmp_path):
    path = tmp_path / "grids.csv"
    path.write_bytes("网格编码,网格名称\n".encode() + b"TR,\x80\xff\n")

    report = import_files(path)

    assert len(report.errors) == 1
    message = str(report.errors[0])
    assert "UTF-8" in message
    assert "GB18030" in message
    assert "line 2" in message
    assert table_sizes()["grids"] == 0


@pytest.mark.django_db
def test_kind_detected_from_english_header(tmp_path):
    grids = write_csv(tmp_path / "a.csv", [ENGLISH_HEADERS["grids"], *GRID_ROWS])
    places = write_csv(tmp_path / "b.csv", [ENGLISH_HEADERS["places"], *PLACE_ROWS])

    report = import_files(places, grids)

    assert report.errors == []
    assert counts_of(report)["places"] == (2, 0, 0)


@pytest.mark.django_db
def test_kind_option_forces_kind(tmp_path):
    # This header fits grids and places equally well.
    header = ["code", "name", "kind", "parent code", "grid code"]
    path = write_csv(
        tmp_path / "list.csv", [header, ["TR", "天瑞", "total", "", "TR-01-1"]]
    )

    guessed = import_files(path)
    forced = import_files(path, kind="grids")

    assert len(guessed.errors) == 1
    assert "Cannot tell" in guessed.errors[0].message
    assert forced.errors == []
    assert Grid.objects.get(code="TR").kind == GridKind.TOTAL
    assert "list.csv: ignored columns grid code" in forced.notes


@pytest.mark.django_db
def test_missing_required_column_reported(tmp_path):
    path = write_csv(
        tmp_path / "grids.csv", [GRID_HEADER[:3], *[row[:3] for row in GRID_ROWS]]
    )

    report = import_files(path, kind="grids")

    assert len(report.errors) == 1
    assert report.errors[0].row == 1
    assert "上级网格编码" in report.errors[0].message


# Re-import


@pytest.mark.django_db
def test_reimport_changes_nothing(tmp_path):
    paths = roster_csvs(tmp_path)
    import_files(*paths)
    before = snapshot()
    stamps = dict(Grid.objects.values_list("code", "updated_at"))

    report = import_files(*paths)

    assert report.errors == []
    assert counts_of(report) == {
        "grids": (0, 0, 4),
        "places": (0, 0, 2),
        "organizations": (0, 0, 2),
        "members": (0, 0, 3),
        "assignments": (0, 0, 4),
    }
    assert dict(Grid.objects.values_list("code", "updated_at")) == stamps
    assert snapshot() == before


@pytest.mark.django_db
def test_xlsx_reimport_after_csv_unchanged(tmp_path):
    import_files(*roster_csvs(tmp_path))
    before = snapshot()
    sheets = {kind: [header, *rows] for kind, (header, rows) in BASE.items()}

    report = import_files(write_workbook(tmp_path / "roster.xlsx", sheets))

    assert report.errors == []
    assert {c[0] + c[1] for c in counts_of(report).values()} == {0}
    assert snapshot() == before


@pytest.mark.django_db
def test_reimport_updates_changed_rows_only(tmp_path):
    import_files(*roster_csvs(tmp_path))
    stamps = dict(Grid.objects.values_list("code", "updated_at"))

    changes = {
        "grids": {3: {"网格名称": "第一网格（东）"}},
        "members": {4: {"六员": "宣传员", "离任日期": "2025-06-30"}},
    }
    report = import_files(*roster_csvs(tmp_path, changes))

    assert report.errors == []
    assert counts_of(report)["grids"] == (0, 1, 3)
    assert counts_of(report)["assignments"] == (0, 1, 3)
    new_stamps = dict(Grid.objects.values_list("code", "updated_at"))
    assert new_stamps["TR-01"] > stamps["TR-01"]
    assert {code: new_stamps[code] for code in ("TR", "TR-01-1", "TR-D1")} == {
        code: stamps[code] for code in ("TR", "TR-01-1", "TR-D1")
    }
    assignment = Assignment.objects.get(member__phone="13800000003")
    assert list(assignment.roles.values_list("code", flat=True)) == ["publicist"]
    assert assignment.end_date == datetime.date(2025, 6, 30)


@pytest.mark.django_db
def test_reimport_without_start_date_unchanged(tmp_path):
    changes = {"members": {4: {"任职日期": ""}}}
    import_files(*roster_csvs(tmp_path, changes))
    before = snapshot()

    report = import_files(*roster_csvs(tmp_path, changes))

    assert counts_of(report)["assignments"] == (0, 0, 4)
    assert snapshot() == before


@pytest.mark.django_db
def test_member_matched_by_phone(tmp_path):
    member = make_member(phone="13800000003", name="王 五")

    report = import_files(*roster_csvs(tmp_path))

    assert counts_of(report)["members"] == (2, 1, 0)
    member.refresh_from_db()
    assert member.name == "王五"
    assert member.is_party_member


@pytest.mark.django_db
def test_import_moves_existing_grid(tmp_path):
    import_files(*roster_csvs(tmp_path))
    make_grid(GridKind.GENERAL, Grid.objects.get(code="TR"), code="TR-02")

    changes = {"grids": {2: {"上级网格编码": "TR-02"}}}
    report = import_files(*roster_csvs(tmp_path, changes))

    assert report.errors == []
    assert counts_of(report)["grids"] == (0, 1, 3)
    micro = Grid.objects.get(code="TR-01-1")
    assert micro.parent.code == "TR-02"
    assert [g.code for g in Grid.objects.get(code="TR-02").get_descendants()] == [
        "TR-01-1"
    ]
    assert_tree_consistent()


@pytest.mark.django_db
def test_import_keeps_existing_trees(tree, tmp_path):
    before = {
        grid.code: grid.get_descendant_count()
        for grid in Grid.objects.filter(pk__in=[g.pk for g in tree.values()])
    }

    import_files(*roster_csvs(tmp_path))

    assert_tree_consistent()
    after = {
        code: Grid.objects.get(code=code).get_descendant_count() for code in before
    }
    assert after == before
    assert Grid.objects.get(code="TR").get_descendant_count() == 3


@pytest.mark.django_db
def test_leader_handover_in_one_file(tmp_path):
    import_files(*roster_csvs(tmp_path))

    changes = {
        "members": {
            3: {"离任日期": "2024-05-31"},
            6: {
                "姓名": "赵六",
                "手机号": "13800000006",
                "网格编码": "TR-01-1",
                "职务": "网格长",
                "任职日期": "2024-06-01",
            },
        }
    }
    report = import_files(*roster_csvs(tmp_path, changes))

    assert report.errors == []
    leaders = Assignment.objects.filter(
        grid__code="TR-01-1", position=Position.LEADER
    ).order_by("start_date")
    assert [a.member.phone for a in leaders] == ["13800000002", "13800000006"]


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path):
    report = import_files(*roster_csvs(tmp_path), dry_run=True)

    assert report.errors == []
    assert not report.written
    assert counts_of(report)["grids"] == (4, 0, 0)
    assert set(table_sizes().values()) == {0}


# Bad rows

BAD_ROWS = [
    ("grids", {3: {"网格类型": "小网格"}}, 3, "网格类型", "小网格", "Unknown value"),
    (
        "grids",
        {2: {"上级网格编码": "TR"}},
        2,
        "上级网格编码",
        "TR",
        "must sit under a general grid",
    ),
    (
        "grids",
        {5: {"上级网格编码": "TR-99"}},
        5,
        "上级网格编码",
        "TR-99",
        "neither in this file nor in the database",
    ),
    ("grids", {6: {"网格编码": "TR-01"}}, 6, "网格编码", "TR-01", "Duplicate code"),
    ("grids", {4: {"是否启用": "也许"}}, 4, "是否启用", "也许", "yes/no"),
    ("grids", {4: {"是否启用": "否"}}, 4, "是否启用", "否", "active child"),
    ("grids", {5: {"网格编码": "TR D1!"}}, 5, "网格编码", "TR D1!", "letters"),
    ("grids", {4: {"网格名称": ""}}, 4, "网格名称", "", "blank"),
    ("places", {2: {"场所类型": "车库"}}, 2, "场所类型", "车库", "Unknown value"),
    (
        "places",
        {2: {"所属网格编码": "TR-01"}},
        2,
        "所属网格编码",
        "TR-01",
        "micro or dedicated grid",
    ),
    ("places", {3: {"所属网格编码": "TR-77"}}, 3, "所属网格编码", "TR-77", "neither"),
    ("places", {4: {"场所编码": "TR-P1"}}, 4, "场所编码", "TR-P1", "Duplicate code"),
    ("members", {3: {"手机号": "1380000"}}, 3, "手机号", "1380000", "mobile"),
    ("members", {4: {"六员": "宣传员、厨师"}}, 4, "六员", "宣传员、厨师", "厨师"),
    ("members", {4: {"任职日期": "2024-13-01"}}, 4, "任职日期", "2024-13-01", "date"),
    ("members", {4: {"离任日期": "2023-01-01"}}, 4, "离任日期", "2023-01-01", "end"),
    ("members", {4: {"职务": "队长"}}, 4, "职务", "队长", "Unknown value"),
    ("members", {3: {"三长": "队长"}}, 3, "三长", "队长", "Unknown value"),
    ("members", {3: {"网格编码": "TR-42"}}, 3, "网格编码", "TR-42", "neither"),
    ("members", {3: {"单位类型": ""}}, 3, "单位类型", "", "give its kind"),
    ("members", {3: {"单位类型": "公司"}}, 3, "单位类型", "公司", "Unknown value"),
    ("members", {5: {"姓名": "张叁"}}, 5, "姓名", "张叁", "another name"),
    (
        "members",
        {
            6: {
                "姓名": "赵六",
                "手机号": "13800000006",
                "网格编码": "TR-01-1",
                "职务": "网格长",
                "任职日期": "2024-06-01",
            }
        },
        6,
        "职务",
        "网格长",
        "one leader at a time",
    ),
    (
        "members",
        {6: {"网格编码": "TR-01", "任职日期": "2024-01-01"}},
        6,
        "职务",
        "网格长",
        "already assigns this member",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "changes", "row", "column", "value", "reason"),
    BAD_ROWS,
    ids=[f"{case[0]}-{case[3]}-{case[5]}" for case in BAD_ROWS],
)
def test_bad_row_reported_writes_nothing(
    tree, tmp_path, kind, changes, row, column, value, reason
):
    before = snapshot()

    report = import_files(*roster_csvs(tmp_path, {kind: changes}))

    error = find_error(report, f"{kind}.csv", row, column)
    assert error.value == value
    assert reason in error.message
    assert f"row {row}, column {column}" in str(error)
    assert not report.written
    assert snapshot() == before


@pytest.mark.django_db
def test_one_bad_row_writes_nothing(tree, tmp_path):
    header, rows = BASE["places"]
    many = [[f"TR-P{n}", f"{n} 栋", "楼栋", "TR-01-1", ""] for n in range(10, 60)]
    many[30][3] = "TR-01"
    grids = write_csv(tmp_path / "grids.csv", [GRID_HEADER, *GRID_ROWS])
    places = write_csv(tmp_path / "places.csv", [header, *rows, *many])
    sizes = table_sizes()

    report = import_files(grids, places)

    assert len(report.errors) == 1
    assert report.errors[0].row == 2 + len(rows) + 30
    assert table_sizes() == sizes


@pytest.mark.django_db
def test_second_leader_against_database(tree, tmp_path):
    micro = tree["micro"]
    leader = make_member()
    make_assignment(
        leader, micro, Position.LEADER, start_date=datetime.date(2024, 1, 1)
    )
    header = ["姓名", "手机号", "网格编码", "职务", "任职日期"]
    path = write_csv(
        tmp_path / "members.csv",
        [header, ["赵六", "13800000006", micro.code, "网格长", "2024-06-01"]],
    )
    sizes = table_sizes()

    report = import_files(path)

    error = find_error(report, "members.csv", 2, "职务")
    assert error.value == "网格长"
    assert "already has a leader" in error.message
    assert str(leader.pk) in error.message
    assert table_sizes() == sizes


@pytest.mark.django_db
def test_second_leader_of_total_grid_accepted(tree, tmp_path):
    make_assignment(make_member(), tree["total"], Position.LEADER)
    header = ["姓名", "手机号", "网格编码", "职务"]
    path = write_csv(
        tmp_path / "members.csv",
        [header, ["赵六", "13800000006", tree["total"].code, "总网格长"]],
    )

    report = import_files(path)

    assert report.errors == []
    assert tree["total"].assignments.filter(position=Position.LEADER).count() == 2


# Command


@pytest.mark.django_db
def test_command_imports_and_prints_counts(tmp_path, capsys):
    call_command("import_roster", *map(str, roster_csvs(tmp_path)))

    output = capsys.readouterr().out
    assert "grids: 4 created, 0 updated, 0 unchanged" in output
    assert "Roster imported" in output
    assert Grid.objects.count() == 4


@pytest.mark.django_db
def test_command_prints_errors_and_fails(tmp_path, capsys):
    changes = {"members": {3: {"手机号": "1380000"}}, "grids": {3: {"网格类型": "x"}}}
    paths = roster_csvs(tmp_path, changes)

    with pytest.raises(CommandError) as caught:
        call_command("import_roster", *map(str, paths))

    assert caught.value.returncode == 1
    assert "nothing was written" in str(caught.value)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{paths[0]}, row 3, column 网格类型")
    assert lines[1].startswith(f"{paths[2]}, row 3, column 手机号")
    assert Grid.objects.count() == 0


@pytest.mark.django_db
def test_command_dry_run_writes_nothing(tmp_path, capsys):
    call_command("import_roster", *map(str, roster_csvs(tmp_path)), "--dry-run")

    assert "nothing was written" in capsys.readouterr().out
    assert Grid.objects.count() == 0


# Scale


def large_roster(path: Path) -> Path:
    """Write a workbook at the scale of one large community.

    601 grids (1 total, 54 general, 432 micro, 114 dedicated), 3,000 places
    and 1,000 members, each in one assignment.
    """
    grids = [GRID_HEADER, ["L", "大社区", "社区总网格", "", "", "是"]]
    places = [PLACE_HEADER]
    members = [MEMBER_HEADER]
    leaves = []
    for general in range(54):
        code = f"L-{general}"
        grids.append([code, f"第{general}网格", "一般网格", "L", "", "是"])
        members.append(
            [f"网格长{general}", f"137{general:08d}", "是", "", "", code, "网格长"]
            + ["", "", "", "", "2024-01-01", ""]
        )
        for micro in range(8):
            leaves.append(f"{code}-{micro}")
            grids.append([leaves[-1], f"{general}-{micro}", "微网格", code, "", "是"])
    for dedicated in range(114):
        leaves.append(f"L-D{dedicated}")
        grids.append([leaves[-1], f"企业{dedicated}", "专属网格", "L", "", "是"])
    # Children before parents, the hard order.
    grids[1:] = grids[:0:-1]

    for number in range(3000):
        leaf = leaves[number % len(leaves)]
        places.append([f"P{number}", f"{number} 栋", "楼栋", leaf, ""])
    for number in range(946):
        members.append(
            [f"成员{number}", f"139{number:08d}", "否", "", "", leaves[number % 546]]
            + ["微网格员", "宣传员、排查员", "", "", "", "2024-01-01", ""]
        )
    return write_workbook(path, {"网格": grids, "场所": places, "成员": members})


@pytest.mark.django_db
def test_large_roster_import_speed(tmp_path):
    path = large_roster(tmp_path / "large.xlsx")

    started = time.monotonic()
    report = import_files(path)
    first = time.monotonic() - started
    started = time.monotonic()
    again = import_files(path)
    second = time.monotonic() - started

    assert report.errors == []
    assert counts_of(report)["grids"] == (601, 0, 0)
    assert counts_of(report)["places"] == (3000, 0, 0)
    assert counts_of(report)["members"] == (1000, 0, 0)
    assert counts_of(again)["members"] == (0, 0, 1000)
    assert_tree_consistent()
    print(f"large roster: first import {first:.1f} s, second {second:.1f} s")  # noqa: T201
    assert first < 60
    assert second < 60
