"""The lock that serializes writes to the grid tree."""

from django.db import connection, transaction

# Arbitrary constant shared by every process that writes the grid tree.
GRID_TREE_LOCK_KEY = 0x57_47_54_52  # "WGTR"


def lock_grid_tree() -> None:
    """Block until this transaction holds the grid tree lock.

    django-mptt rewrites lft/rght/tree_id of many rows from values it read
    before, so two concurrent inserts or moves would interleave and corrupt
    the tree. The caller must be inside ``transaction.atomic``; the lock is
    released at commit or rollback. SQLite needs nothing more, because the
    project opens its transactions with BEGIN IMMEDIATE, which already admits
    one writer at a time.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_grid_tree() must be called inside an atomic block.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRID_TREE_LOCK_KEY])
