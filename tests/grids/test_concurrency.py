"""Concurrent writes to the grid tree, on PostgreSQL with real threads.

Each test fails when lock_grid_tree() does nothing: django-mptt then shifts
lft/rght from values another transaction has already changed.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse

from grids.actions import grid_create, grid_move
from grids.locks import lock_grid_tree
from grids.models import Grid, GridKind
from grids.queries import grid_tree_problems
from tests.factories import make_grid, make_tree
from tests.grids.concurrency import run_together, waiting_advisory_locks

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def test_concurrent_creates_keep_tree_sound():
    tree = make_tree()

    results = run_together(
        THREADS,
        lambda index: grid_create(
            kind=GridKind.MICRO,
            code=f"C-{index}",
            name=f"微网格 {index}",
            parent_id=tree["general"].pk,
        ),
    )

    assert [type(result) for result in results] == [Grid] * THREADS
    assert grid_tree_problems() == []
    general = Grid.objects.get(pk=tree["general"].pk)
    assert general.get_descendant_count() == THREADS + 1


def test_concurrent_roots_get_distinct_tree_ids():
    results = run_together(
        THREADS,
        lambda index: grid_create(
            kind=GridKind.TOTAL, code=f"T-{index}", name=f"社区 {index}"
        ),
    )

    assert [type(result) for result in results] == [Grid] * THREADS
    assert grid_tree_problems() == []
    assert len(set(Grid.objects.values_list("tree_id", flat=True))) == THREADS


def test_concurrent_moves_and_creates_keep_tree_sound():
    west = make_grid(GridKind.TOTAL, code="WEST")
    east = make_grid(GridKind.TOTAL, code="EAST")
    generals = []
    for index in range(THREADS):
        general = make_grid(GridKind.GENERAL, west, code=f"W-{index}")
        make_grid(GridKind.MICRO, general)
        make_grid(GridKind.MICRO, general)
        generals.append(general)

    def move_or_create(index: int) -> Grid:
        # Half the threads move a subtree to the other root, half insert
        # into the subtrees being moved.
        if index % 2 == 0:
            return grid_move(grid_id=generals[index].pk, parent_id=east.pk)
        return grid_create(
            kind=GridKind.MICRO,
            code=f"NEW-{index}",
            name=f"新微网格 {index}",
            parent_id=generals[index - 1].pk,
        )

    results = run_together(THREADS, move_or_create)

    assert [type(result) for result in results] == [Grid] * THREADS
    assert grid_tree_problems() == []
    east = Grid.objects.get(pk=east.pk)
    assert east.get_descendant_count() == (THREADS // 2) * 4


def test_admin_add_race_shows_code_error(client, officer):
    """The form validates, then another transaction takes the code first.

    grid_create() re-checks under the tree lock and rejects the code, and
    the admin shows that on the code field instead of failing.
    """
    total = make_grid(GridKind.TOTAL)
    holding = threading.Event()
    failures: list[BaseException] = []

    def take_code_while_holding_lock() -> None:
        try:
            with transaction.atomic():
                lock_grid_tree()
                holding.set()
                deadline = time.monotonic() + 10
                while waiting_advisory_locks() == 0:
                    assert time.monotonic() < deadline, "the admin never waited"
                    time.sleep(0.01)
                Grid(
                    kind=GridKind.GENERAL, code="RACE", name="抢先", parent=total
                ).save()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            failures.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=take_code_while_holding_lock)
    holder.start()
    assert holding.wait(timeout=10)
    client.force_login(officer)
    response = client.post(
        reverse("admin:grids_grid_add"),
        {
            "kind": GridKind.GENERAL,
            "code": "RACE",
            "name": "迟到",
            "parent": total.pk,
            "boundary": "",
            "is_active": "on",
            "assignments-TOTAL_FORMS": "0",
            "assignments-INITIAL_FORMS": "0",
        },
    )
    holder.join(timeout=20)

    assert failures == []
    assert response.status_code == 200
    code_errors = response.context["adminform"].form.errors["code"]
    assert len(code_errors) == 1
    assert "RACE" in code_errors[0]
    assert Grid.objects.filter(code="RACE").count() == 1
    assert grid_tree_problems() == []
