"""Factories that build valid rows through the project's actions where it matters."""

import itertools

from grids.actions import grid_create, place_create
from grids.models import Grid, GridKind, Place, PlaceKind
from members.actions import assignment_create, member_create
from members.models import Assignment, Member, Position

_counter = itertools.count(1)


def next_number() -> int:
    return next(_counter)


def make_grid(kind: str = GridKind.TOTAL, parent: Grid | None = None, **fields) -> Grid:
    number = next_number()
    fields.setdefault("code", f"G{number}")
    fields.setdefault("name", f"Grid {number}")
    return grid_create(kind=kind, parent_id=parent.pk if parent else None, **fields)


def make_tree() -> dict[str, Grid]:
    """Build total -> general -> micro, and total -> dedicated."""
    total = make_grid(GridKind.TOTAL, name="天瑞社区总网格")
    general = make_grid(GridKind.GENERAL, total, name="第一网格")
    micro = make_grid(GridKind.MICRO, general, name="1-1 微网格")
    dedicated = make_grid(GridKind.DEDICATED, total, name="某电子厂专属网格")
    return {"total": total, "general": general, "micro": micro, "dedicated": dedicated}


def make_place(grid: Grid, kind: str = PlaceKind.BUILDING, **fields) -> Place:
    number = next_number()
    fields.setdefault("code", f"P{number}")
    fields.setdefault("name", f"{number} 栋")
    return place_create(kind=kind, grid_id=grid.pk, **fields)


def make_member(**fields) -> Member:
    number = next_number()
    fields.setdefault("name", f"成员{number}")
    fields.setdefault("phone", f"139{number:08d}")
    return member_create(**fields)


def make_assignment(
    member: Member, grid: Grid, position: str = Position.MEMBER, **fields
) -> Assignment:
    return assignment_create(
        member_id=member.pk, grid_id=grid.pk, position=position, **fields
    )
