import pytest
from django.core.management import call_command, load_command_class
from django.db import connection
from django.utils import translation

from grids.models import Grid, GridKind
from grids.queries import grid_tree_problems
from tests.factories import make_grid


def raw_update(sql: str, params: list) -> None:
    """Write the grids table behind django-mptt's back, as a faulty tool would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def big_tree(tree):
    second_general = make_grid(GridKind.GENERAL, tree["total"])
    for _ in range(3):
        make_grid(GridKind.MICRO, second_general)
    make_grid(GridKind.MICRO, tree["general"])
    other_total = make_grid(GridKind.TOTAL)
    make_grid(GridKind.DEDICATED, other_total)
    return {**tree, "second_general": second_general, "other_total": other_total}


def problem_ids(problems) -> set:
    return {problem.grid_id for problem in problems}


def test_tree_problems_empty_for_sound_tree(big_tree):
    assert grid_tree_problems() == []


def test_tree_problems_empty_without_grids(db):
    assert grid_tree_problems() == []


def test_tree_problems_find_swapped_lft_rght(big_tree):
    micro = big_tree["micro"]
    raw_update("UPDATE grids_grid SET lft = rght, rght = lft WHERE id = %s", [micro.pk])

    problems = grid_tree_problems()

    assert micro.pk in problem_ids(problems)
    assert any("lft=" in str(problem) for problem in problems)


def test_tree_problems_find_child_outside_parent(big_tree):
    micro = Grid.objects.get(pk=big_tree["micro"].pk)
    raw_update(
        "UPDATE grids_grid SET lft = lft + 100, rght = rght + 100 WHERE id = %s",
        [micro.pk],
    )

    problems = grid_tree_problems()

    assert micro.pk in problem_ids(problems)
    assert any(big_tree["general"].code in str(problem) for problem in problems)


def test_tree_problems_find_overlapping_siblings(big_tree):
    first, second, *_ = Grid.objects.filter(parent=big_tree["second_general"]).order_by(
        "lft"
    )
    raw_update(
        "UPDATE grids_grid SET lft = %s, rght = %s WHERE id = %s",
        [first.lft, second.rght, second.pk],
    )

    problems = grid_tree_problems()

    assert second.pk in problem_ids(problems)
    assert any(first.code in str(problem) for problem in problems)


def test_tree_problems_find_wrong_level(big_tree):
    raw_update("UPDATE grids_grid SET level = 5 WHERE id = %s", [big_tree["micro"].pk])

    assert big_tree["micro"].pk in problem_ids(grid_tree_problems())


def test_tree_problems_find_shared_tree_id(big_tree):
    raw_update(
        "UPDATE grids_grid SET tree_id = %s WHERE tree_id = %s",
        [big_tree["total"].tree_id, big_tree["other_total"].tree_id],
    )

    problems = [str(problem) for problem in grid_tree_problems()]

    assert any(big_tree["other_total"].code in problem for problem in problems)


def test_tree_problems_find_wrong_parent_kind(big_tree):
    raw_update(
        "UPDATE grids_grid SET kind = %s WHERE id = %s",
        [GridKind.DEDICATED, big_tree["micro"].pk],
    )

    assert big_tree["micro"].pk in problem_ids(grid_tree_problems())


def test_tree_problems_find_parent_cycle(big_tree):
    general, micro = big_tree["general"], big_tree["micro"]
    raw_update(
        "UPDATE grids_grid SET parent_id = %s WHERE id = %s", [micro.pk, general.pk]
    )

    with translation.override("en"):
        problems = grid_tree_problems()

    looped = {problem.grid_id for problem in problems if "loops" in problem.message}
    assert looped & {general.pk, micro.pk}


def test_tree_problems_find_gap_in_numbering(big_tree):
    total = big_tree["total"]
    raw_update("UPDATE grids_grid SET rght = rght + 2 WHERE id = %s", [total.pk])

    problems = grid_tree_problems()

    assert any(
        problem.grid_id is None and f"tree_id={total.tree_id}" in problem.message
        for problem in problems
    )


def test_check_grid_tree_prints_ok(big_tree, capsys):
    call_command("check_grid_tree")

    output = capsys.readouterr().out.strip().splitlines()
    assert len(output) == 1
    assert "11" in output[0]


def run_as_manage_py() -> None:
    """Run the command as ``manage.py check_grid_tree`` does, minus django.setup().

    run_from_argv() turns a CommandError into SystemExit with the exit
    status, and returns normally on success.
    """
    command = load_command_class("grids", "check_grid_tree")
    command.run_from_argv(["manage.py", "check_grid_tree"])


def test_check_grid_tree_exits_0_on_sound_tree(big_tree):
    run_as_manage_py()


def test_check_grid_tree_exits_1_on_corrupt_tree(big_tree, capsys):
    micro = big_tree["micro"]
    raw_update(
        "UPDATE grids_grid SET lft = lft + 1, rght = rght + 50 WHERE id = %s",
        [micro.pk],
    )

    with pytest.raises(SystemExit) as exit_info:
        run_as_manage_py()

    assert exit_info.value.code == 1
    errors = capsys.readouterr().err
    assert f"grid {micro.pk} ({micro.code})" in errors
