"""The category tree: default set, writes under the tree lock, taxonomy import."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.utils.translation import override

from incidents.calendar import MAX_DEADLINE_MINUTES
from incidents.categories import effective_settings
from incidents.category_actions import category_create, category_move, category_update
from incidents.models import Category, Incident, State, TimeBasis
from incidents.routing import incident_route
from incidents.taxonomy import (
    DEFAULT_ROLE_MAP,
    HEADER,
    TaxonomyInvalid,
    category_import_taxonomy,
    read_taxonomy,
    taxonomy_code,
)
from members.models import RoleCode
from tests.incidents.tickets import DISPATCHED, build_office

DEFAULT_CODES = {
    "noise-nuisance": ("噪音扰民", RoleCode.MEDIATOR),
    "neighbour-dispute": ("邻里纠纷", RoleCode.MEDIATOR),
    "safety-hazard": ("安全隐患", RoleCode.INSPECTOR),
    "sanitation": ("环境卫生", RoleCode.COORDINATOR),
    "facility-repair": ("设施报修", RoleCode.COORDINATOR),
    "policy-question": ("政策咨询", RoleCode.PUBLICIST),
    "service-request": ("服务需求", RoleCode.COLLECTOR),
    "merchant-complaint": ("商户投诉", RoleCode.COORDINATOR),
}


def tree_columns() -> dict[int, tuple[int, int, int, int]]:
    return {
        row[0]: row[1:]
        for row in Category.objects.values_list("pk", "tree_id", "lft", "rght", "level")
    }


def assert_tree_valid() -> None:
    """Assert that the tree columns match what a full rebuild computes."""
    before = tree_columns()
    Category.objects.rebuild()
    after = tree_columns()

    # A rebuild numbers the trees anew, so compare each node's place inside
    # its tree, and which nodes share a tree.
    def places(columns):
        return {pk: value[1:] for pk, value in columns.items()}

    def trees(columns):
        members: dict[int, set[int]] = {}
        for pk, value in columns.items():
            members.setdefault(value[0], set()).add(pk)
        return sorted(sorted(pks) for pks in members.values())

    assert places(before) == places(after)
    assert trees(before) == trees(after)


# Default categories ----------------------------------------------------------


@pytest.mark.django_db
def test_default_categories_shipped_by_migration():
    rows = {
        category.code: category
        for category in Category.objects.filter(code__in=DEFAULT_CODES)
    }

    assert set(rows) == set(DEFAULT_CODES)
    for code, (name, role) in DEFAULT_CODES.items():
        assert rows[code].name == name
        assert rows[code].role == role
        assert rows[code].is_public is True
        assert rows[code].is_active is True


@pytest.mark.django_db
def test_default_safety_hazard_is_urgent_in_calendar_time():
    hazard = effective_settings(Category.objects.get(code="safety-hazard"))

    assert hazard.is_urgent is True
    assert hazard.time_basis == TimeBasis.CALENDAR
    assert hazard.accept_minutes <= 60


@pytest.mark.django_db
def test_default_non_urgent_categories_count_working_time():
    for category in Category.objects.filter(code__in=DEFAULT_CODES).exclude(
        code="safety-hazard"
    ):
        found = effective_settings(category)
        assert found.is_urgent is False, category.code
        assert found.time_basis == TimeBasis.WORKING, category.code
        assert found.accept_minutes < found.resolve_minutes, category.code


@pytest.mark.django_db
def test_default_categories_form_valid_tree():
    assert_tree_valid()


# category_create and category_update -------------------------------------------


@pytest.fixture
def dispute(db) -> Category:
    return category_create(
        code="test-dispute",
        name="纠纷",
        role=RoleCode.MEDIATOR,
        accept_minutes=120,
        resolve_minutes=1350,
        time_basis=TimeBasis.WORKING,
    )


def test_create_child_inherits_settings(dispute):
    child = category_create(code="test-parking", name="车位纠纷", parent_id=dispute.pk)

    found = effective_settings(child)
    assert child.parent == dispute
    assert found.role == RoleCode.MEDIATOR
    assert found.accept_minutes == 120
    assert found.time_basis == TimeBasis.WORKING
    assert_tree_valid()


def test_create_siblings_ordered_by_sort_order(dispute):
    later = category_create(
        code="test-b", name="乙", parent_id=dispute.pk, sort_order=20
    )
    earlier = category_create(
        code="test-a", name="甲", parent_id=dispute.pk, sort_order=10
    )

    dispute.refresh_from_db()
    assert list(dispute.get_children()) == [earlier, later]
    assert_tree_valid()


BAD_CREATE = [
    pytest.param({"role": "janitor"}, "role", id="unknown role"),
    pytest.param({"code": "有空格 code"}, "code", id="invalid code"),
    pytest.param({"code": "test-dispute"}, "code", id="taken code"),
    pytest.param({"name": ""}, "name", id="empty name"),
    pytest.param({"time_basis": "lunar"}, "time_basis", id="unknown time basis"),
    pytest.param({"accept_minutes": 0}, "accept_minutes", id="zero minutes"),
    pytest.param(
        {"resolve_minutes": MAX_DEADLINE_MINUTES + 1},
        "resolve_minutes",
        id="longer than a year",
    ),
    pytest.param(
        {"accept_minutes": 2000, "resolve_minutes": 1000},
        "accept_minutes",
        id="accept after resolve",
    ),
    pytest.param({"parent_id": 987654}, "parent", id="unknown parent"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_CREATE)
def test_create_bad_field_named_writes_nothing(dispute, fields, field):
    count = Category.objects.count()
    values = {"code": "test-new", "name": "新类别", **fields}

    with pytest.raises(ValidationError) as caught:
        category_create(**values)

    assert field in caught.value.message_dict
    assert Category.objects.count() == count


def test_create_accept_after_inherited_resolve_rejected(dispute):
    with pytest.raises(ValidationError) as caught:
        category_create(
            code="test-slow", name="慢", parent_id=dispute.pk, accept_minutes=1400
        )

    assert "accept_minutes" in caught.value.message_dict
    assert "1350" in caught.value.message_dict["accept_minutes"][0]


def test_create_under_inactive_parent_rejected(dispute):
    category_update(category_id=dispute.pk, is_active=False)

    with pytest.raises(ValidationError) as caught:
        category_create(code="test-new", name="新类别", parent_id=dispute.pk)

    assert "parent" in caught.value.message_dict


def test_update_unknown_field_rejected(dispute):
    with pytest.raises(TypeError):
        category_update(category_id=dispute.pk, colour="red")


def _recomputes(callbacks) -> list:
    # Every category write also clears the cached public categories.
    return [item for item in callbacks if "queue_recompute" in item.__qualname__]


def test_update_name_changes_only_name(dispute, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        updated = category_update(category_id=dispute.pk, name="邻里纠纷调解")

    assert updated.name == "邻里纠纷调解"
    assert _recomputes(callbacks) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"accept_minutes": 60},
        {"resolve_minutes": 900},
        {"time_basis": TimeBasis.CALENDAR},
    ],
    ids=["accept minutes", "resolve minutes", "time basis"],
)
def test_update_deadline_queues_one_recompute(
    dispute, fields, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        category_update(category_id=dispute.pk, **fields)

    assert len(_recomputes(callbacks)) == 1


def test_update_same_value_queues_nothing(dispute, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        category_update(category_id=dispute.pk, accept_minutes=120)

    assert _recomputes(callbacks) == []


def test_update_deadline_recomputes_subtree_tickets(
    db, django_capture_on_commit_callbacks
):
    office = build_office()
    child = category_create(
        code="test-late-noise", name="深夜噪音", parent_id=office.noise.pk
    )
    inside = office.ticket(DISPATCHED)
    Incident.objects.filter(pk=inside.pk).update(category=child)
    other_category = category_create(
        code="test-other",
        name="其他",
        accept_minutes=60,
        resolve_minutes=600,
        time_basis=TimeBasis.CALENDAR,
    )
    outside = office.ticket(DISPATCHED)
    Incident.objects.filter(pk=outside.pk).update(category=other_category)

    with django_capture_on_commit_callbacks(execute=True):
        category_update(category_id=office.noise.pk, accept_minutes=30)

    inside_after = Incident.objects.get(pk=inside.pk)
    outside_after = Incident.objects.get(pk=outside.pk)
    assert (inside_after.accept_deadline - inside_after.dispatched_at).seconds == 1800
    assert outside_after.accept_deadline == outside.accept_deadline


def test_move_recomputes_moved_tickets(db, django_capture_on_commit_callbacks):
    office = build_office()
    fast = category_create(
        code="test-fast",
        name="快速",
        accept_minutes=15,
        resolve_minutes=120,
        time_basis=TimeBasis.CALENDAR,
    )
    branch = category_create(code="test-branch", name="分支", parent_id=office.noise.pk)
    leaf = category_create(code="test-leaf", name="叶子", parent_id=branch.pk)
    incident = office.ticket(DISPATCHED)
    Incident.objects.filter(pk=incident.pk).update(category=leaf)

    with django_capture_on_commit_callbacks(execute=True):
        moved = category_move(category_id=branch.pk, parent_id=fast.pk)

    assert moved.parent == fast
    after = Incident.objects.get(pk=incident.pk)
    assert (after.accept_deadline - after.dispatched_at).seconds == 15 * 60
    assert (after.resolve_deadline - after.dispatched_at).seconds == 120 * 60
    assert_tree_valid()


def test_move_into_own_subtree_rejected(dispute):
    child = category_create(code="test-child", name="子类", parent_id=dispute.pk)
    grandchild = category_create(code="test-grand", name="孙类", parent_id=child.pk)

    for target in (dispute, child, grandchild):
        with pytest.raises(ValidationError) as caught:
            category_move(category_id=dispute.pk, parent_id=target.pk)
        assert "parent" in caught.value.message_dict

    assert Category.objects.get(pk=dispute.pk).parent_id is None
    assert_tree_valid()


def test_move_to_root_and_back_keeps_tree_valid(dispute):
    child = category_create(code="test-child", name="子类", parent_id=dispute.pk)
    category_create(code="test-grand", name="孙类", parent_id=child.pk)

    category_move(category_id=child.pk, parent_id=None)
    assert_tree_valid()
    category_move(category_id=child.pk, parent_id=dispute.pk)
    assert_tree_valid()

    assert Category.objects.get(code="test-grand").get_ancestors().count() == 2


def test_deactivate_deactivates_subtree(dispute):
    child = category_create(code="test-child", name="子类", parent_id=dispute.pk)
    grandchild = category_create(code="test-grand", name="孙类", parent_id=child.pk)

    category_update(category_id=dispute.pk, is_active=False)

    assert not Category.objects.get(pk=child.pk).is_active
    assert not Category.objects.get(pk=grandchild.pk).is_active


def test_reactivate_under_inactive_parent_rejected(dispute):
    child = category_create(code="test-child", name="子类", parent_id=dispute.pk)
    category_update(category_id=dispute.pk, is_active=False)

    with pytest.raises(ValidationError) as caught:
        category_update(category_id=child.pk, is_active=True)

    assert "parent" in caught.value.message_dict
    assert not Category.objects.get(pk=child.pk).is_active


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_keep_tree_valid():
    root = category_create(code="test-root", name="根")
    errors: list[BaseException] = []

    def create_many(prefix: str) -> None:
        try:
            for number in range(15):
                category_create(
                    code=f"test-{prefix}-{number}",
                    name=f"{prefix}{number}",
                    parent_id=root.pk,
                    sort_order=number,
                )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create_many, args=(p,)) for p in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert Category.objects.get(pk=root.pk).get_descendant_count() == 30
    assert_tree_valid()


# Taxonomy import ----------------------------------------------------------------


def taxonomy_csv(rows: list[tuple[str, ...]], header=HEADER) -> str:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return "\n".join(lines) + "\n"


SMALL = [
    ("城乡建设", "安全生产", "安全隐患"),
    ("城乡建设", "安全生产", "事故处理"),
    ("城乡建设", "其他", "其他"),
    ("政法", "仲裁与调解", "邻里纠纷"),
    ("政法", "其他", "其他"),
    ("纪检监察", "干部作风", "工作作风"),
]


def synthetic_taxonomy() -> list[tuple[str, ...]]:
    """Return 517 leaves under 15 first-level and 103 second-level names."""
    rows = []
    for second in range(103):
        first = second % 15
        leaves = 5 + (1 if second < 517 - 5 * 103 else 0)
        for leaf in range(leaves):
            rows.append((f"一级{first:02d}", f"二级{second:03d}", f"三级{leaf}"))
    return rows


def write_csv(tmp_path, rows, *, encoding="utf-8", name="taxonomy.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(taxonomy_csv(rows, header), encoding=encoding)
    return path


def test_taxonomy_synthetic_shape():
    rows = synthetic_taxonomy()

    assert len(rows) == 517
    assert len({row[0] for row in rows}) == 15
    assert len({row[1] for row in rows}) == 103


def test_import_creates_three_levels(db, tmp_path, capsys):
    path = write_csv(tmp_path, SMALL)

    call_command("import_categories", str(path))

    output = capsys.readouterr().out
    assert "6 rows read; 14 categories created (per level: 3, 5, 6)" in output
    leaf = Category.objects.get(
        code=taxonomy_code(("政法", "仲裁与调解", "邻里纠纷"), None)
    )
    assert [node.name for node in leaf.get_ancestors()] == ["政法", "仲裁与调解"]
    assert leaf.is_public is False
    assert_tree_valid()


def test_import_same_name_under_two_parents_makes_two_nodes(db, tmp_path):
    call_command("import_categories", str(write_csv(tmp_path, SMALL)))

    others = Category.objects.filter(name="其他", level=1)
    assert others.count() == 2
    assert {node.parent.name for node in others} == {"城乡建设", "政法"}


def test_import_default_roles_on_first_level(db, tmp_path):
    call_command("import_categories", str(write_csv(tmp_path, SMALL)))

    roles = dict(
        Category.objects.filter(level=0, code__startswith="tx-").values_list(
            "name", "role"
        )
    )
    assert roles == {"城乡建设": "inspector", "政法": "mediator", "纪检监察": ""}
    leaf = Category.objects.get(name="安全隐患", code__startswith="tx-")
    assert leaf.role == ""
    assert effective_settings(leaf).role == RoleCode.INSPECTOR


def test_import_again_changes_nothing(db, tmp_path, capsys):
    path = write_csv(tmp_path, synthetic_taxonomy())
    call_command("import_categories", str(path))
    before = list(Category.objects.order_by("pk").values())
    capsys.readouterr()

    call_command("import_categories", str(path))

    assert list(Category.objects.order_by("pk").values()) == before
    assert "0 categories created" in capsys.readouterr().out


def test_import_517_leaves_in_few_queries(db, tmp_path, django_assert_max_num_queries):
    taxonomy = read_taxonomy(taxonomy_csv(synthetic_taxonomy()).encode())

    with django_assert_max_num_queries(120):
        result = category_import_taxonomy(taxonomy=taxonomy)

    assert result.created_per_level == [15, 103, 517]
    assert_tree_valid()


def test_import_adds_missing_rows_only(db, tmp_path):
    call_command("import_categories", str(write_csv(tmp_path, SMALL[:3])))
    first_ids = set(Category.objects.values_list("pk", flat=True))

    call_command("import_categories", str(write_csv(tmp_path, SMALL)))

    added = Category.objects.exclude(pk__in=first_ids)
    assert sorted(added.values_list("name", flat=True)) == sorted(
        [
            "政法",
            "仲裁与调解",
            "邻里纠纷",
            "其他",
            "其他",
            "纪检监察",
            "干部作风",
            "工作作风",
        ]
    )
    assert_tree_valid()


def test_import_under_root_code_inherits_root(db, tmp_path):
    root = category_create(
        code="hotline",
        name="12345 热线",
        accept_minutes=240,
        resolve_minutes=2250,
        time_basis=TimeBasis.WORKING,
        is_public=False,
    )
    path = write_csv(tmp_path, SMALL)

    call_command("import_categories", str(path), "--root-code", "hotline")

    firsts = Category.objects.get(pk=root.pk).get_children()
    assert sorted(node.name for node in firsts) == ["城乡建设", "政法", "纪检监察"]
    leaf = Category.objects.get(code=taxonomy_code(SMALL[0], "hotline"))
    assert leaf.get_root() == root
    assert effective_settings(leaf).resolve_minutes == 2250
    assert taxonomy_code(SMALL[0], "hotline") != taxonomy_code(SMALL[0], None)
    assert_tree_valid()


def test_import_unknown_root_code_rejected(db, tmp_path):
    path = write_csv(tmp_path, SMALL)
    count = Category.objects.count()

    with pytest.raises(CommandError):
        call_command("import_categories", str(path), "--root-code", "nowhere")

    assert Category.objects.count() == count


def test_import_public_flag(db, tmp_path):
    call_command("import_categories", str(write_csv(tmp_path, SMALL)), "--public")

    imported = Category.objects.filter(code__startswith="tx-")
    assert imported.count() == 14
    assert not imported.filter(is_public=False).exists()


def test_import_role_map_overrides_default(db, tmp_path):
    path = write_csv(tmp_path, SMALL)

    call_command(
        "import_categories",
        str(path),
        "--role-map",
        "城乡建设=coordinator,纪检监察=collector",
        "--role-map",
        "政法=",
    )

    roles = dict(
        Category.objects.filter(level=0, code__startswith="tx-").values_list(
            "name", "role"
        )
    )
    assert roles == {"城乡建设": "coordinator", "政法": "", "纪检监察": "collector"}


def test_import_without_default_roles(db, tmp_path):
    call_command(
        "import_categories", str(write_csv(tmp_path, SMALL)), "--no-default-roles"
    )

    assert not Category.objects.filter(code__startswith="tx-").exclude(role="").exists()


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ("城乡建设=janitor", "城乡建设=janitor"),
        ("城乡建设", "城乡建设"),
        ("城乡建=inspector", "城乡建"),
    ],
    ids=["unknown role", "no equals sign", "unknown first-level name"],
)
def test_import_bad_role_map_writes_nothing(db, tmp_path, capsys, entry, shown):
    count = Category.objects.count()

    with pytest.raises(CommandError):
        call_command(
            "import_categories", str(write_csv(tmp_path, SMALL)), "--role-map", entry
        )

    assert shown in capsys.readouterr().err
    assert Category.objects.count() == count


def test_import_reads_gb18030(db, tmp_path):
    path = write_csv(tmp_path, SMALL, encoding="gb18030")

    call_command("import_categories", str(path))

    assert Category.objects.filter(name="邻里纠纷", code__startswith="tx-").exists()


def test_import_reads_utf8_with_byte_order_mark(db, tmp_path):
    path = write_csv(tmp_path, SMALL, encoding="utf-8-sig")

    call_command("import_categories", str(path))

    assert Category.objects.filter(code__startswith="tx-").count() == 14


def test_import_bad_rows_reported_with_line_column_value(db, tmp_path, capsys):
    long_name = "长" * 101
    rows = [
        SMALL[0],
        ("城乡建设", "", "事故处理"),  # line 3
        SMALL[1],
        ("政法", "诉讼", long_name),  # line 5
        ("政法", "诉讼"),  # line 6
        SMALL[2],
    ]
    path = write_csv(tmp_path, rows)
    count = Category.objects.count()

    with pytest.raises(CommandError) as caught, override("en"):
        call_command("import_categories", str(path))

    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3
    assert "line 3, column 二级分类" in errors[0]
    assert "line 5, column 三级分类" in errors[1]
    assert long_name in errors[1]
    assert "101" in errors[1]
    assert "line 6" in errors[2]
    assert "政法,诉讼" in errors[2]
    assert "3 errors" in str(caught.value)
    assert Category.objects.count() == count


def test_import_line_numbers_count_quoted_line_breaks(db):
    text = taxonomy_csv([SMALL[0]]) + '"政法","仲裁\n与调解","x"\n政法,,其他\n'

    with pytest.raises(TaxonomyInvalid) as caught:
        read_taxonomy(text.encode())

    lines = [(error.line, error.column) for error in caught.value.errors]
    assert lines == [(3, "二级分类"), (5, "二级分类")]
    assert caught.value.errors[0].value == "仲裁\n与调解"


def test_import_wrong_header_rejected(db, tmp_path, capsys):
    path = write_csv(tmp_path, SMALL, header=("一级", "二级", "三级"))

    with pytest.raises(CommandError), override("en"):
        call_command("import_categories", str(path))

    assert "line 1:" in capsys.readouterr().err
    assert not Category.objects.filter(code__startswith="tx-").exists()


def test_import_missing_file_rejected(db, tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("import_categories", str(tmp_path / "missing.csv"))

    assert "missing.csv" in str(caught.value)


def test_import_binary_file_rejected(db, tmp_path, capsys):
    path = tmp_path / "taxonomy.xlsx"
    path.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81\x30\x81")

    with pytest.raises(CommandError), override("en"):
        call_command("import_categories", str(path))

    assert "UTF-8" in capsys.readouterr().err


def test_import_blank_lines_skipped(db):
    text = taxonomy_csv(SMALL[:2]) + "\n,,\n" + ",".join(SMALL[2]) + "\n"

    taxonomy = read_taxonomy(text.encode())

    assert taxonomy.rows == 3
    assert len(taxonomy.paths) == 3


def test_default_role_map_names_known_roles():
    assert set(DEFAULT_ROLE_MAP.values()) <= set(RoleCode.values)
    assert len(DEFAULT_ROLE_MAP) == 14


def test_imported_tickets_route_by_inherited_role(db, tmp_path):
    office = build_office()
    call_command("import_categories", str(write_csv(tmp_path, SMALL)), "--public")
    leaf = Category.objects.get(
        code=taxonomy_code(("政法", "仲裁与调解", "邻里纠纷"), None)
    )
    incident = office.submit(category_id=leaf.pk)
    routed = incident_route(incident_id=incident.pk)

    assert routed.state == State.DISPATCHED
    assert routed.assignee == office.liu
