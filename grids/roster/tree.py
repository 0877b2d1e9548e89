"""Validate and write the grids and places sheets of a roster import.

Planning reads the database once, overlays the file's rows on it and checks
every row with the models' own ``full_clean()``. It adds the checks that need
the whole file, such as codes that repeat, parents that come later in the
file and inactive grids with active children. Writing happens only after a
plan without errors, in the caller's transaction.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import PLACE_GRID_KINDS, Grid, GridKind, Place, PlaceKind
from grids.roster.sheets import (
    CellError,
    Choices,
    Column,
    RosterError,
    Row,
    Sheet,
    SheetSpec,
    parse_bool,
)

GRID_SHEET = SheetSpec(
    kind="grids",
    sheet_names=("grids", "网格"),
    columns=(
        Column("code", "网格编码", ("网格编码", "网格编号", "code"), True),
        Column("name", "网格名称", ("网格名称", "name", "grid name"), True),
        Column("kind", "网格类型", ("网格类型", "kind", "grid kind", "type"), True),
        Column(
            "parent_code",
            "上级网格编码",
            ("上级网格编码", "上级网格", "parent code", "parent grid code", "parent"),
            True,
        ),
        Column("boundary", "网格范围", ("网格范围", "四至范围", "边界", "boundary")),
        Column("is_active", "是否启用", ("是否启用", "启用", "active", "is active")),
    ),
)

PLACE_SHEET = SheetSpec(
    kind="places",
    sheet_names=("places", "场所"),
    columns=(
        Column(
            "code", "场所编码", ("场所编码", "场所编号", "code", "place code"), True
        ),
        Column("name", "场所名称", ("场所名称", "name", "place name"), True),
        Column("kind", "场所类型", ("场所类型", "kind", "place kind", "type"), True),
        Column(
            "grid_code",
            "所属网格编码",
            ("所属网格编码", "网格编码", "所属网格", "grid code", "grid"),
            True,
        ),
        Column("address", "地址", ("地址", "详细地址", "address")),
    ),
)

GRID_KINDS = Choices(
    {
        GridKind.TOTAL: (
            "社区总网格",
            "总网格",
            "企业片区总网格",
            "community total grid",
        ),
        GridKind.GENERAL: ("一般网格", "general grid"),
        GridKind.MICRO: ("微网格", "micro grid"),
        GridKind.DEDICATED: ("专属网格", "dedicated grid"),
    }
)

PLACE_KINDS = Choices(
    {
        PlaceKind.BUILDING: ("楼栋", "楼宇"),
        PlaceKind.FLOOR: ("楼层",),
        PlaceKind.DORMITORY: ("宿舍", "宿舍楼"),
        PlaceKind.SHOP: ("商铺", "店铺", "门店"),
        PlaceKind.STREET: ("路段", "道路", "street segment"),
        PlaceKind.PRODUCTION_LINE: ("产线", "生产线", "production line"),
    }
)

# Depth of each kind in the 3+1 tree. Writing in this order puts every
# parent before its children, whatever the order of the rows.
KIND_DEPTH = {
    GridKind.TOTAL: 0,
    GridKind.GENERAL: 1,
    GridKind.DEDICATED: 1,
    GridKind.MICRO: 2,
}

GRID_FIELD_COLUMNS = {
    "code": "code",
    "name": "name",
    "kind": "kind",
    "parent": "parent_code",
    "boundary": "boundary",
    "is_active": "is_active",
}
PLACE_FIELD_COLUMNS = {
    "code": "code",
    "name": "name",
    "kind": "kind",
    "grid": "grid_code",
    "address": "address",
}

# Maximum number of codes per lookup query, because SQLite before 3.32
# accepts at most 999 parameters in one statement.
LOOKUP_CHUNK = 500


@dataclass
class ImportCounts:
    """How many rows of one kind an import created, updated and left alone."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def add_model_errors(
    errors: list[RosterError],
    row: Row,
    error: ValidationError,
    field_columns: dict[str, str],
    skip: Iterable[str] = (),
) -> None:
    """Append the messages of a model's ValidationError as row errors.

    Fields in ``skip`` were already reported by the import's own checks.
    """
    skipped = set(skip)
    for model_field, messages in error.message_dict.items():
        if model_field in skipped:
            continue
        column = field_columns.get(model_field)
        if model_field == NON_FIELD_ERRORS:
            column = None
        for message in messages:
            errors.append(row.error(column, message))


def fetch_by_code(
    queryset: models.QuerySet, codes: Sequence[str], key: str = "code"
) -> dict[str, models.Model]:
    """Return the rows of ``queryset`` whose ``key`` is in ``codes``, by key."""
    found: dict[str, models.Model] = {}
    unique = list(dict.fromkeys(codes))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        for instance in queryset.filter(**{f"{key}__in": chunk}):
            found[getattr(instance, key)] = instance
    return found


@dataclass
class GridPlan:
    """The grid tree as the import would leave it: the database plus the file."""

    existing: dict[str, Grid] = field(default_factory=dict)
    existing_by_pk: dict[int, Grid] = field(default_factory=dict)
    planned: dict[str, Grid] = field(default_factory=dict)
    rows: dict[str, Row] = field(default_factory=dict)
    entries: list[tuple[Row, Grid]] = field(default_factory=list)
    old_values: dict[str, tuple] = field(default_factory=dict)
    to_create: list[Grid] = field(default_factory=list)
    to_update: list[Grid] = field(default_factory=list)
    moved: bool = False
    counts: ImportCounts = field(default_factory=ImportCounts)

    def get(self, code: str) -> Grid | None:
        """Return the grid with ``code`` as the import leaves it, or None."""
        return self.planned.get(code) or self.existing.get(code)

    def parent_code_of(self, grid: Grid) -> str:
        if grid.parent_id is None:
            return ""
        return self.existing_by_pk[grid.parent_id].code


def _grid_values(grid: Grid, parent_code: str) -> tuple:
    return (grid.kind, grid.name, parent_code, grid.boundary, grid.is_active)


def plan_grids(sheets: Iterable[Sheet], errors: list[RosterError]) -> GridPlan:
    """Check every grids row against the database and the rest of the file.

    Append one error per bad cell to ``errors`` and return the plan. The
    plan may be written only if no error was added.
    """
    plan = GridPlan()
    for grid in Grid.objects.all():
        plan.existing[grid.code] = grid
        plan.existing_by_pk[grid.pk] = grid

    for sheet in sheets:
        for row in sheet.rows:
            _read_grid_row(plan, row, errors)

    for row, grid in plan.entries:
        _check_grid_row(plan, row, grid, errors)
    _check_deactivations(plan, errors)
    return plan


def _read_grid_row(plan: GridPlan, row: Row, errors: list[RosterError]) -> None:
    code = row.text("code")
    if code and code in plan.rows:
        errors.append(_duplicate_error(row, "code", plan.rows[code]))
        return

    existing = plan.existing.get(code) if code else None
    if existing is not None:
        plan.old_values[code] = _grid_values(existing, plan.parent_code_of(existing))
    grid = existing or Grid(code=code)
    grid.name = row.text("name")
    try:
        grid.kind = GRID_KINDS.parse(row.text("kind")) if row.text("kind") else ""
    except CellError as error:
        errors.append(row.error("kind", str(error)))
        grid.kind = ""
    if row.has("boundary"):
        grid.boundary = row.text("boundary")
    if row.has("is_active"):
        try:
            grid.is_active = parse_bool(row.text("is_active"), default=True)
        except CellError as error:
            errors.append(row.error("is_active", str(error)))

    plan.entries.append((row, grid))
    if code:
        plan.rows[code] = row
        plan.planned[code] = grid


def _duplicate_error(row: Row, field_name: str, first: Row) -> RosterError:
    return row.error(
        field_name,
        _("Duplicate code %(code)s; %(source)s row %(row)s has it already.")
        % {
            "code": row.text(field_name),
            "source": first.sheet.source,
            "row": first.number,
        },
    )


def _check_grid_row(
    plan: GridPlan, row: Row, grid: Grid, errors: list[RosterError]
) -> None:
    # Inactive grids are checked against the children they keep in the file
    # and in the database by _check_deactivations(), not by Grid.clean().
    reported = {"is_active"}
    if not grid.kind:
        reported.add("kind")

    parent_code = row.text("parent_code")
    parent = plan.get(parent_code) if parent_code else None
    if parent_code and parent is None:
        errors.append(
            row.error(
                "parent_code",
                _(
                    "Parent grid %(code)s was found neither in this file nor in "
                    "the database."
                )
                % {"code": parent_code},
            )
        )
        reported.add("parent")
    if parent is not None and not parent.kind:
        # The parent's own row reports its bad kind, and Grid.clean() cannot
        # check a parent without one.
        reported.add("parent")
        parent = None
    grid.parent = parent

    try:
        grid.full_clean(validate_unique=False)
    except ValidationError as error:
        add_model_errors(errors, row, error, GRID_FIELD_COLUMNS, reported)

    old_values = plan.old_values.get(grid.code)
    new_values = _grid_values(grid, parent_code)
    if old_values is None:
        plan.to_create.append(grid)
        plan.counts.created += 1
    elif old_values != new_values:
        plan.to_update.append(grid)
        plan.counts.updated += 1
        plan.moved = plan.moved or old_values[2] != parent_code
    else:
        plan.counts.unchanged += 1


def _check_deactivations(plan: GridPlan, errors: list[RosterError]) -> None:
    """Report inactive grids of the file that keep active children."""
    active_children: dict[str, list[str]] = defaultdict(list)
    for code, grid in plan.existing.items():
        if code not in plan.planned and grid.is_active:
            active_children[plan.parent_code_of(grid)].append(code)
    for code, row in plan.rows.items():
        if plan.planned[code].is_active:
            active_children[row.text("parent_code")].append(code)

    for code, row in plan.rows.items():
        children = active_children.get(code)
        if code and children and not plan.planned[code].is_active:
            errors.append(
                row.error(
                    "is_active",
                    _(
                        "%(grid)s still has active child grids (%(children)s); "
                        "deactivate or move them first."
                    )
                    % {"grid": code, "children": ", ".join(children[:5])},
                )
            )


def write_grids(plan: GridPlan) -> None:
    """Insert and update the planned grids, then rebuild the tree columns.

    The caller must hold ``lock_grid_tree()`` inside a transaction. Rows are
    saved with django-mptt's updates disabled and one ``rebuild()`` at the
    end, because a normal insert shifts lft and rght of every row after it.
    """
    if not plan.to_create and not plan.to_update:
        return

    now = timezone.now()
    next_tree_id = (Grid.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
    pending = sorted(
        plan.to_create + plan.to_update, key=lambda grid: KIND_DEPTH[grid.kind]
    )
    with Grid.objects.disable_mptt_updates():
        for grid in pending:
            if grid.pk is None:
                # Placeholder tree columns that rebuild() replaces. A new
                # tree id sorts the new grid after the existing ones.
                grid.tree_id, grid.lft, grid.rght, grid.level = next_tree_id, 1, 2, 0
                next_tree_id += 1
                grid.save()
            else:
                Grid.objects.filter(pk=grid.pk).update(
                    kind=grid.kind,
                    name=grid.name,
                    parent=grid.parent,
                    boundary=grid.boundary,
                    is_active=grid.is_active,
                    updated_at=now,
                )
    if plan.to_create or plan.moved:
        Grid.objects.rebuild()


@dataclass
class PlacePlan:
    """The places of the file, matched by code against the database."""

    rows: dict[str, Row] = field(default_factory=dict)
    to_create: list[Place] = field(default_factory=list)
    to_update: list[Place] = field(default_factory=list)
    counts: ImportCounts = field(default_factory=ImportCounts)


def _place_values(place: Place, grid_code: str) -> tuple:
    return (place.kind, place.name, grid_code, place.address)


def plan_places(
    sheets: Sequence[Sheet], grids: GridPlan, errors: list[RosterError]
) -> PlacePlan:
    """Check every places row, append errors and return the plan."""
    plan = PlacePlan()
    codes = [row.text("code") for sheet in sheets for row in sheet.rows]
    existing = fetch_by_code(Place.objects.select_related("grid"), codes)

    for sheet in sheets:
        for row in sheet.rows:
            _check_place_row(plan, grids, existing, row, errors)
    return plan


def _check_place_row(
    plan: PlacePlan,
    grids: GridPlan,
    existing: dict,
    row: Row,
    errors: list[RosterError],
) -> None:
    code = row.text("code")
    if code and code in plan.rows:
        errors.append(_duplicate_error(row, "code", plan.rows[code]))
        return
    if code:
        plan.rows[code] = row

    place = existing.get(code) or Place(code=code)
    old_values = None
    if place.pk is not None:
        old_values = _place_values(place, place.grid.code)
    reported = {"grid"}
    place.name = row.text("name")
    try:
        place.kind = PLACE_KINDS.parse(row.text("kind")) if row.text("kind") else ""
    except CellError as error:
        errors.append(row.error("kind", str(error)))
        reported.add("kind")
    if row.has("address"):
        place.address = row.text("address")

    grid_code = row.text("grid_code")
    grid = grids.get(grid_code) if grid_code else None
    grid_error = _place_grid_error(grid_code, grid)
    if grid_error is not None:
        errors.append(row.error("grid_code", grid_error))

    # Place.clean() reads the grid from the database, where a grid of this
    # file may not exist yet or may still have its old kind. The grid was
    # checked above as the import leaves it, and is attached after the check.
    place.grid = None
    try:
        place.full_clean(exclude=["grid"], validate_unique=False)
    except ValidationError as error:
        add_model_errors(errors, row, error, PLACE_FIELD_COLUMNS, reported)
    if grid_error is None:
        place.grid = grid

    if place.pk is None:
        plan.to_create.append(place)
        plan.counts.created += 1
    elif old_values != _place_values(place, grid_code):
        plan.to_update.append(place)
        plan.counts.updated += 1
    else:
        plan.counts.unchanged += 1


def _place_grid_error(grid_code: str, grid: Grid | None) -> str | None:
    """Return why a place cannot belong to ``grid``, or None if it can."""
    if not grid_code:
        return _("Enter the code of the micro or dedicated grid of the place.")
    if grid is None:
        return _(
            "Grid %(code)s was found neither in this file nor in the database."
        ) % {"code": grid_code}
    if grid.kind and grid.kind not in PLACE_GRID_KINDS:
        return _(
            "A place belongs to a micro or dedicated grid, but %(grid)s is a %(kind)s."
        ) % {"grid": grid.code, "kind": GridKind(grid.kind).label}
    return None


def write_places(plan: PlacePlan) -> None:
    """Insert and update the planned places, after the grids are written."""
    # A place planned under a grid that this import created gets the grid's
    # new primary key from the cached instance when it is saved.
    Place.objects.bulk_create(plan.to_create, batch_size=LOOKUP_CHUNK)
    for place in plan.to_update:
        place.save(update_fields=["kind", "name", "grid", "address"])
