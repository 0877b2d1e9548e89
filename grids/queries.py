"""Reads of the grid tree: admin list annotations and the tree integrity check."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from grids.models import PARENT_KIND, Grid, Place


def count_subquery(queryset: QuerySet, column: str = "grid") -> Coalesce:
    """Return ``queryset`` counted per ``column`` = the outer grid, as one subquery.

    The count runs inside the outer SELECT, so a list of grids costs the same
    number of queries whatever its length. A grid with no rows gets 0.
    """
    counted = (
        queryset.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def grids_with_place_counts(queryset: QuerySet[Grid]) -> QuerySet[Grid]:
    """Annotate each grid with ``active_place_count``."""
    return queryset.annotate(
        active_place_count=count_subquery(Place.objects.filter(is_active=True))
    )


@dataclass(frozen=True)
class TreeProblem:
    """One inconsistency found in the grids table."""

    grid_id: int | None
    code: str
    message: str

    def __str__(self) -> str:
        if self.grid_id is None:
            return self.message
        return f"grid {self.grid_id} ({self.code}): {self.message}"


@dataclass
class _Node:
    pk: int
    parent_id: int | None
    kind: str
    code: str
    lft: int
    rght: int
    tree_id: int
    level: int


def grid_tree_problems() -> list[TreeProblem]:
    """Check lft/rght/tree_id/level and the 3+1 parent kinds of every grid.

    Return one TreeProblem per inconsistency, or an empty list for a sound
    tree. The whole table is read into memory with one SELECT, so the check
    sees a single committed state of the tree.
    """
    rows = Grid.objects.order_by("tree_id", "lft", "pk").values_list(
        "pk", "parent_id", "kind", "code", "lft", "rght", "tree_id", "level"
    )
    nodes = {row[0]: _Node(*row) for row in rows}
    problems: list[TreeProblem] = []

    children: dict[int | None, list[_Node]] = defaultdict(list)
    for node in nodes.values():
        children[node.parent_id].append(node)
        problems.extend(_node_problems(node, nodes.get(node.parent_id)))

    problems.extend(_root_problems(children[None]))
    for siblings in children.values():
        problems.extend(_sibling_problems(siblings))
    problems.extend(_cycle_problems(nodes))
    problems.extend(_numbering_problems(nodes, children[None]))
    return problems


def _problem(node: _Node, message: str) -> TreeProblem:
    return TreeProblem(node.pk, node.code, message)


def _node_problems(node: _Node, parent: _Node | None) -> list[TreeProblem]:
    problems = []
    if node.lft < 1 or node.lft >= node.rght:
        problems.append(
            _problem(
                node,
                _("lft=%(lft)s must be at least 1 and below rght=%(rght)s.")
                % {"lft": node.lft, "rght": node.rght},
            )
        )

    if node.kind not in PARENT_KIND:
        problems.append(_problem(node, _("unknown kind %r.") % node.kind))
    elif PARENT_KIND[node.kind] != (parent.kind if parent else None):
        expected_kind = PARENT_KIND[node.kind]
        parent_kind = parent.kind if parent else None
        problems.append(
            _problem(
                node,
                _(
                    "a %(kind)s grid needs a parent of kind %(expected)s, "
                    "not %(actual)s."
                )
                % {
                    "kind": node.kind,
                    "expected": expected_kind or _("none (a root)"),
                    "actual": parent_kind or _("none (a root)"),
                },
            )
        )
    if parent is None:
        if node.level != 0:
            problems.append(
                _problem(node, _("a root must have level 0, not %s.") % node.level)
            )
        return problems

    if node.tree_id != parent.tree_id:
        problems.append(
            _problem(
                node,
                _(
                    "tree_id=%(tree)s differs from tree_id=%(parent_tree)s "
                    "of its parent."
                )
                % {"tree": node.tree_id, "parent_tree": parent.tree_id},
            )
        )
    if node.level != parent.level + 1:
        problems.append(
            _problem(
                node,
                _("level=%(level)s but its parent has level %(parent_level)s.")
                % {"level": node.level, "parent_level": parent.level},
            )
        )
    if not (parent.lft < node.lft and node.rght < parent.rght):
        problems.append(
            _problem(
                node,
                _(
                    "interval [%(lft)s, %(rght)s] lies outside the interval "
                    "[%(parent_lft)s, %(parent_rght)s] of its parent %(parent)s."
                )
                % {
                    "lft": node.lft,
                    "rght": node.rght,
                    "parent_lft": parent.lft,
                    "parent_rght": parent.rght,
                    "parent": parent.code,
                },
            )
        )
    return problems


def _root_problems(roots: list[_Node]) -> list[TreeProblem]:
    by_tree: dict[int, list[_Node]] = defaultdict(list)
    for root in roots:
        by_tree[root.tree_id].append(root)

    problems = []
    for tree_id, same_tree in sorted(by_tree.items()):
        if len(same_tree) > 1:
            codes = ", ".join(root.code for root in same_tree)
            problems.append(
                TreeProblem(
                    None,
                    "",
                    _("roots %(codes)s share tree_id=%(tree)s.")
                    % {"codes": codes, "tree": tree_id},
                )
            )
    return problems


def _sibling_problems(siblings: list[_Node]) -> list[TreeProblem]:
    problems = []
    ordered = sorted(siblings, key=lambda node: (node.tree_id, node.lft))
    for previous, node in zip(ordered, ordered[1:], strict=False):
        if previous.parent_id is None and previous.tree_id != node.tree_id:
            continue
        if node.lft <= previous.rght:
            problems.append(
                _problem(
                    node,
                    _(
                        "interval [%(lft)s, %(rght)s] overlaps the interval "
                        "[%(other_lft)s, %(other_rght)s] of its sibling %(other)s."
                    )
                    % {
                        "lft": node.lft,
                        "rght": node.rght,
                        "other_lft": previous.lft,
                        "other_rght": previous.rght,
                        "other": previous.code,
                    },
                )
            )
    return problems


def _cycle_problems(nodes: dict[int, _Node]) -> list[TreeProblem]:
    problems = []
    settled: set[int] = set()
    for start in nodes.values():
        path: list[int] = []
        current: _Node | None = start
        while current is not None and current.pk not in settled:
            if current.pk in path:
                problems.append(
                    _problem(current, _("its parent chain loops back to itself."))
                )
                break
            path.append(current.pk)
            current = nodes.get(current.parent_id) if current.parent_id else None
        settled.update(path)
    return problems


def _numbering_problems(
    nodes: dict[int, _Node], roots: list[_Node]
) -> list[TreeProblem]:
    """Check that each tree numbers its lft and rght values 1, 2, …, 2n once each.

    django-mptt counts descendants as (rght - lft - 1) / 2, so a gap or a
    repeated value gives wrong counts even where the intervals still nest.
    """
    by_tree: dict[int, list[_Node]] = defaultdict(list)
    for node in nodes.values():
        by_tree[node.tree_id].append(node)
    root_trees = {root.tree_id for root in roots}

    problems = []
    for tree_id, tree_nodes in sorted(by_tree.items()):
        if tree_id not in root_trees:
            problems.append(
                TreeProblem(None, "", _("tree_id=%s has no root grid.") % tree_id)
            )
        values = sorted(value for node in tree_nodes for value in (node.lft, node.rght))
        expected = list(range(1, 2 * len(tree_nodes) + 1))
        if values != expected:
            problems.append(
                TreeProblem(
                    None,
                    "",
                    _(
                        "tree_id=%(tree)s has %(count)s grids, but its lft and "
                        "rght values are not 1 to %(max)s, each used once."
                    )
                    % {"tree": tree_id, "count": len(tree_nodes), "max": len(expected)},
                )
            )
    return problems
