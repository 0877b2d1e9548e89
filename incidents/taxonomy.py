"""Import a three-level category taxonomy from a CSV file.

The file has a header row 一级分类,二级分类,三级分类 (first, second and third
level) and one row per leaf, naming its whole path. Every distinct path
prefix becomes one category, so a second-level name that occurs under two
first-level names, such as 其他, becomes two categories.

Codes are derived from the path and the parent the tree is imported under,
so importing the same file again finds every category it created before and
writes nothing. Categories that exist are left as they are, including any
change staff made to them since.
"""

import csv
import hashlib
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from incidents.category_actions import lock_category_tree
from incidents.models import Category
from incidents.queries import clear_public_categories
from members.models import RoleCode

logger = logging.getLogger(__name__)

HEADER = ("一级分类", "二级分类", "三级分类")
LEVELS = len(HEADER)
NAME_MAX_LENGTH = Category._meta.get_field("name").max_length
CODE_PREFIX = "tx-"
CODE_HASH_LENGTH = 12
# Sort orders leave gaps so that staff can slot a category in between.
SORT_STEP = 10

# The role that handles each first-level category of the taxonomy of
# government message boards (15 first-level names), chosen for what a grid
# member can do on the spot. docs/categories.md gives the reasons. Names
# missing here get no role, so their tickets go to the grid's leader.
DEFAULT_ROLE_MAP: dict[str, str] = {
    "城乡建设": RoleCode.INSPECTOR,
    "环境保护": RoleCode.INSPECTOR,
    "交通运输": RoleCode.INSPECTOR,
    "国土资源": RoleCode.INSPECTOR,
    "劳动和社会保障": RoleCode.COORDINATOR,
    "卫生计生": RoleCode.COORDINATOR,
    "商贸旅游": RoleCode.COORDINATOR,
    "农村农业": RoleCode.COORDINATOR,
    "科技与信息产业": RoleCode.COORDINATOR,
    "教育文体": RoleCode.PUBLICIST,
    "政法": RoleCode.MEDIATOR,
    "民政": RoleCode.COLLECTOR,
    "经济管理": RoleCode.COLLECTOR,
    "党务政务": RoleCode.LIAISON,
    # 纪检监察 (complaints about officials) is left to the grid's leader.
}


@dataclass(frozen=True)
class TaxonomyError:
    """A problem with one cell, one row or the whole file."""

    line: int | None
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        if not self.column and not self.value:
            return _("line %(line)s: %(message)s") % {
                "line": self.line,
                "message": self.message,
            }
        if not self.column:
            return _('line %(line)s, value "%(value)s": %(message)s') % {
                "line": self.line,
                "value": self.value,
                "message": self.message,
            }
        return _('line %(line)s, column %(column)s, value "%(value)s": %(message)s') % {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


class TaxonomyInvalid(Exception):
    """The file or the options have errors; nothing was written."""

    def __init__(self, errors: list[TaxonomyError]) -> None:
        super().__init__(f"{len(errors)} errors in the taxonomy")
        self.errors = errors


@dataclass
class Taxonomy:
    """The distinct paths of a taxonomy file, each level in file order."""

    paths: list[tuple[str, ...]] = field(default_factory=list)
    rows: int = 0

    def nodes(self) -> list[tuple[str, ...]]:
        """Return every path prefix once, parents before children, in file order."""
        seen: dict[tuple[str, ...], None] = {}
        for depth in range(1, LEVELS + 1):
            for path in self.paths:
                seen.setdefault(path[:depth], None)
        return list(seen)

    def first_level_names(self) -> set[str]:
        return {path[0] for path in self.paths}


@dataclass
class ImportResult:
    created: int = 0
    existing: int = 0
    rows: int = 0
    created_per_level: list[int] = field(default_factory=lambda: [0] * LEVELS)


def read_taxonomy(content: bytes) -> Taxonomy:
    """Parse the bytes of a taxonomy CSV file.

    Accept UTF-8, with or without a byte order mark, and GB18030, which
    Excel writes on Chinese Windows. Raise TaxonomyInvalid listing every bad
    row with its line number, column and value.
    """
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    errors: list[TaxonomyError] = []
    taxonomy = Taxonomy()

    line = 1
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise TaxonomyInvalid([TaxonomyError(1, "", "", str(error))]) from None
    found = tuple(cell.strip() for cell in header or ())
    if found != HEADER:
        raise TaxonomyInvalid(
            [
                TaxonomyError(
                    1,
                    "",
                    "",
                    _("The header is %(found)s; expected %(expected)s.")
                    % {"found": ",".join(found), "expected": ",".join(HEADER)},
                )
            ]
        )

    seen: set[tuple[str, ...]] = set()
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            errors.append(TaxonomyError(line, "", "", str(error)))
            break
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue

        taxonomy.rows += 1
        row_errors = _check_row(line, cells)
        errors += row_errors
        path = tuple(cells)
        if not row_errors and path not in seen:
            seen.add(path)
            taxonomy.paths.append(path)

    if errors:
        raise TaxonomyInvalid(errors)
    if not taxonomy.paths:
        raise TaxonomyInvalid(
            [TaxonomyError(None, "", "", _("The file has no rows below its header."))]
        )
    return taxonomy


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TaxonomyInvalid(
        [
            TaxonomyError(
                None,
                "",
                "",
                _("The file is neither UTF-8 nor GB18030 text; save it as CSV UTF-8."),
            )
        ]
    )


def _check_row(line: int, cells: list[str]) -> list[TaxonomyError]:
    if len(cells) != LEVELS:
        return [
            TaxonomyError(
                line,
                "",
                ",".join(cells),
                _("The row has %(count)s cells; expected %(expected)s.")
                % {"count": len(cells), "expected": LEVELS},
            )
        ]

    errors = []
    for column, value in zip(HEADER, cells, strict=True):
        if not value:
            errors.append(TaxonomyError(line, column, value, _("The name is empty.")))
        elif len(value) > NAME_MAX_LENGTH:
            errors.append(
                TaxonomyError(
                    line,
                    column,
                    value,
                    _("The name has %(count)s characters; the limit is %(limit)s.")
                    % {"count": len(value), "limit": NAME_MAX_LENGTH},
                )
            )
        elif not value.isprintable():
            errors.append(
                TaxonomyError(
                    line, column, value, _("The name contains control characters.")
                )
            )
    return errors


def parse_role_map(entries: Iterable[str]) -> dict[str, str]:
    """Parse NAME=ROLE entries, each possibly a comma-separated list of them.

    An empty role (NAME=) means no role. Raise TaxonomyInvalid naming every
    entry that is not NAME=ROLE or names an unknown role.
    """
    mapping: dict[str, str] = {}
    errors = []
    for entry in entries:
        for item in entry.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, role = (part.strip() for part in item.partition("="))
            if not sep or not name:
                errors.append(
                    TaxonomyError(
                        None,
                        "",
                        item,
                        _('--role-map entry "%(item)s" is not NAME=ROLE.')
                        % {"item": item},
                    )
                )
            elif role and role not in RoleCode.values:
                errors.append(
                    TaxonomyError(
                        None,
                        "",
                        item,
                        _(
                            '--role-map entry "%(item)s" names an unknown role; use '
                            "one of %(known)s."
                        )
                        % {"item": item, "known": ", ".join(RoleCode.values)},
                    )
                )
            else:
                mapping[name] = role
    if errors:
        raise TaxonomyInvalid(errors)
    return mapping


def taxonomy_code(path: tuple[str, ...], root_code: str | None) -> str:
    """Return the stable code of the category at ``path`` under ``root_code``."""
    key = "\x1f".join([root_code or "", *path])
    digest = hashlib.sha256(key.encode()).hexdigest()[:CODE_HASH_LENGTH]
    return f"{CODE_PREFIX}{digest}"


def category_import_taxonomy(
    *,
    taxonomy: Taxonomy,
    root_code: str | None = None,
    role_map: Mapping[str, str] = DEFAULT_ROLE_MAP,
    is_public: bool = False,
) -> ImportResult:
    """Create the categories of ``taxonomy`` that do not exist yet.

    First-level categories go under the category ``root_code``, or become
    roots without it. They get their role from ``role_map``, which maps
    first-level names to role codes, and deeper levels inherit it. Every other
    setting is left empty, so it comes from the root category or the
    project's defaults. Raise TaxonomyInvalid, having written nothing, for an
    unknown root.
    """
    nodes = taxonomy.nodes()
    codes = {path: taxonomy_code(path, root_code) for path in nodes}
    if len(set(codes.values())) != len(codes):
        # 48 bits of hash make this a one in 10**9 event for 1,000 nodes.
        raise RuntimeError("Two taxonomy paths hash to the same category code.")
    result = ImportResult(rows=taxonomy.rows)

    with transaction.atomic(durable=True):
        lock_category_tree()
        root = _fetch_root(root_code)
        existing = {
            category.code: category
            for category in Category.objects.filter(code__in=codes.values()).only(
                "pk", "code", "tree_id"
            )
        }

        sort_orders = _sort_orders(nodes)
        next_tree_id = (
            Category.objects.aggregate(last=Max("tree_id"))["last"] or 0
        ) + 1
        pk_of = {
            path: existing[code].pk for path, code in codes.items() if code in existing
        }
        tree_of = {
            path: existing[code].tree_id
            for path, code in codes.items()
            if code in existing
        }
        touched_trees: set[int] = set()

        for depth in range(1, LEVELS + 1):
            new_nodes = []
            for path in (p for p in nodes if len(p) == depth):
                if path in pk_of:
                    continue
                if depth == 1:
                    parent_id = root.pk if root else None
                    if root is not None:
                        tree_id = root.tree_id
                    else:
                        tree_id = next_tree_id
                        next_tree_id += 1
                else:
                    parent_id = pk_of[path[:-1]]
                    tree_id = tree_of[path[:-1]]
                node = Category(
                    code=codes[path],
                    name=path[-1],
                    parent_id=parent_id,
                    role=role_map.get(path[0], "") if depth == 1 else "",
                    is_public=is_public,
                    is_active=True,
                    sort_order=sort_orders[path],
                    # Placeholders; partial_rebuild() below sets the real ones.
                    tree_id=tree_id,
                    lft=0,
                    rght=0,
                    level=0,
                )
                node.full_clean(
                    exclude=["parent"],
                    validate_unique=False,
                    validate_constraints=False,
                )
                new_nodes.append((path, node))
                touched_trees.add(tree_id)

            Category.objects.bulk_create([node for _path, node in new_nodes])
            # bulk_create sends no post_save.
            clear_public_categories()
            for path, node in new_nodes:
                pk_of[path] = node.pk
                tree_of[path] = node.tree_id
            result.created_per_level[depth - 1] = len(new_nodes)

        for tree_id in sorted(touched_trees):
            Category.objects.partial_rebuild(tree_id)

    result.created = sum(result.created_per_level)
    result.existing = len(nodes) - result.created
    logger.info(
        "taxonomy imported root=%s created=%s existing=%s",
        root.pk if root else None,
        result.created,
        result.existing,
    )
    return result


def _fetch_root(root_code: str | None) -> Category | None:
    if root_code is None:
        return None
    root = Category.objects.filter(code=root_code).first()
    if root is None:
        raise TaxonomyInvalid(
            [
                TaxonomyError(
                    None,
                    "",
                    root_code,
                    _("--root-code %(code)s names no category.") % {"code": root_code},
                )
            ]
        )
    return root


def check_role_map_names(role_map: Mapping[str, str], taxonomy: Taxonomy) -> None:
    """Raise TaxonomyInvalid for each name of ``role_map`` that no row starts with."""
    known = taxonomy.first_level_names()
    unknown = sorted(name for name in role_map if name not in known)
    if unknown:
        raise TaxonomyInvalid(
            [
                TaxonomyError(
                    None,
                    "",
                    name,
                    _(
                        "--role-map names %(name)s, which is no first-level category "
                        "in the file."
                    )
                    % {"name": name},
                )
                for name in unknown
            ]
        )


def _sort_orders(nodes: list[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """Number each node among its siblings in file order."""
    counters: dict[tuple[str, ...], int] = {}
    orders = {}
    for path in nodes:
        parent = path[:-1]
        counters[parent] = counters.get(parent, 0) + 1
        orders[path] = counters[parent] * SORT_STEP
    return orders


def read_taxonomy_file(path: Path) -> Taxonomy:
    """Read and parse the taxonomy CSV at ``path``; raise OSError if unreadable."""
    return read_taxonomy(path.read_bytes())
