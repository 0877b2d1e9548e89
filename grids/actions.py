"""Writes to the grid tree and its places.

Every function that changes lft/rght/tree_id takes the grid tree lock first
and then re-reads the rows it works on, because django-mptt computes the new
tree values from the instance in memory.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from grids.cache import bump_directory_version
from grids.locks import lock_grid_tree
from grids.models import Grid, Place

logger = logging.getLogger(__name__)


def _fetch_parent(parent_id: int | None) -> Grid | None:
    if parent_id is None:
        return None
    try:
        return Grid.objects.get(pk=parent_id)
    except Grid.DoesNotExist:
        raise ValidationError(
            {"parent": _("Parent grid %(id)s does not exist.") % {"id": parent_id}}
        ) from None


def grid_create(
    *,
    kind: str,
    code: str,
    name: str,
    parent_id: int | None = None,
    boundary: str = "",
    is_active: bool = True,
) -> Grid:
    """Create a grid under ``parent_id``; raise ValidationError on any bad field."""
    with transaction.atomic(durable=True):
        lock_grid_tree()
        grid = Grid(
            kind=kind,
            code=code,
            name=name,
            parent=_fetch_parent(parent_id),
            boundary=boundary,
            is_active=is_active,
        )
        grid.full_clean()
        grid.save()
        transaction.on_commit(bump_directory_version)

    logger.info("grid created id=%s kind=%s parent=%s", grid.pk, kind, parent_id)
    return grid


def grid_update(*, grid_id: int, **fields: object) -> Grid:
    """Change the grid's own fields and, if ``parent_id`` is given, move it.

    Raise ValidationError naming the field when the result breaks the 3+1
    structure, for example a move that would make a cycle.
    """
    allowed = {"kind", "code", "name", "boundary", "is_active", "parent_id"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"grid_update() got unexpected fields {sorted(unknown)}")

    with transaction.atomic(durable=True):
        lock_grid_tree()
        grid = Grid.objects.get(pk=grid_id)
        old_parent_id = grid.parent_id
        for field, value in fields.items():
            if field != "parent_id":
                setattr(grid, field, value)
        if "parent_id" in fields:
            grid.parent = _fetch_parent(fields["parent_id"])  # type: ignore[arg-type]

        # NOTE: a kind change away from total keeps every leader assignment,
        # so a grid may end up with two leaders; grids cannot see members.
        grid.full_clean()
        if grid.parent_id != old_parent_id:
            # move_to() rewrites the tree columns from the fresh row read above.
            grid.move_to(grid.parent, "last-child")
            grid.refresh_from_db()
            for field, value in fields.items():
                if field != "parent_id":
                    setattr(grid, field, value)
        grid.save()
        transaction.on_commit(bump_directory_version)

    logger.info("grid updated id=%s fields=%s", grid.pk, sorted(fields))
    return grid


def grid_move(*, grid_id: int, parent_id: int | None) -> Grid:
    """Move a grid and its subtree under another parent."""
    return grid_update(grid_id=grid_id, parent_id=parent_id)


def grid_deactivate(*, grid_id: int) -> Grid:
    """Mark a grid inactive; raise ValidationError while it has active children."""
    return grid_update(grid_id=grid_id, is_active=False)


def grid_remove(*, grid_id: int) -> bool:
    """Delete a grid that nothing refers to, or else deactivate it.

    Return True if the row was deleted and False if it was deactivated.
    Rosters, places, child grids and tickets keep pointing at a deactivated
    grid, so history stays readable. Raise ValidationError on ``is_active``
    if the grid must be deactivated but still has active child grids.
    """
    with transaction.atomic(durable=True):
        lock_grid_tree()
        grid = Grid.objects.get(pk=grid_id)
        try:
            # django-mptt closes the gap in lft/rght before Django checks the
            # protected references, so the savepoint must undo that too.
            with transaction.atomic():
                grid.delete()
        except (ProtectedError, RestrictedError):
            deleted = False
        else:
            deleted = True

        if not deleted:
            grid = Grid.objects.get(pk=grid_id)
            grid.is_active = False
            grid.full_clean()
            grid.save(update_fields=["is_active", "updated_at"])
        transaction.on_commit(bump_directory_version)

    if deleted:
        logger.info("grid deleted id=%s", grid_id)
    else:
        logger.info("grid deactivated instead of deleted id=%s", grid_id)
    return deleted


def place_create(
    *,
    kind: str,
    code: str,
    name: str,
    grid_id: int,
    address: str = "",
    is_active: bool = True,
) -> Place:
    """Create a place in a micro or dedicated grid."""
    with transaction.atomic(durable=True):
        place = Place(
            kind=kind,
            code=code,
            name=name,
            grid_id=grid_id,
            address=address,
            is_active=is_active,
        )
        place.full_clean()
        place.save()
        transaction.on_commit(bump_directory_version)

    logger.info("place created id=%s grid=%s", place.pk, grid_id)
    return place


def place_update(*, place_id: int, **fields: object) -> Place:
    """Change a place's own fields or move it to another micro or dedicated grid."""
    allowed = {"kind", "code", "name", "grid_id", "address", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"place_update() got unexpected fields {sorted(unknown)}")

    with transaction.atomic(durable=True):
        place = Place.objects.select_for_update().get(pk=place_id)
        for field, value in fields.items():
            setattr(place, field, value)
        place.full_clean()
        place.save()
        transaction.on_commit(bump_directory_version)

    logger.info("place updated id=%s fields=%s", place_id, sorted(fields))
    return place
