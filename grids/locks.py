"""Locks that serialize writes to the project's MPTT trees."""

import zlib

from django.db import connection, transaction


def lock_tree(name: str) -> None:
    """Block until this transaction holds the write lock of the tree ``name``.

    django-mptt rewrites lft/rght/tree_id of many rows from values it read
    before, so two concurrent inserts or moves would interleave and corrupt
    the tree. The caller must be inside ``transaction.atomic``; the lock is
    released at commit or rollback. SQLite needs nothing more, because the
    project opens its transactions with BEGIN IMMEDIATE, which already admits
    one writer at a time.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_tree() must be called inside an atomic block.")
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"westgarden-tree:{name}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def lock_grid_tree() -> None:
    """Block until this transaction holds the grid tree's write lock."""
    lock_tree("grids")
