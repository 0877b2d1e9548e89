import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from grids.actions import (
    grid_create,
    grid_deactivate,
    grid_move,
    grid_remove,
    grid_update,
    place_update,
)
from grids.models import Grid, GridKind, Place
from grids.queries import grid_tree_problems
from tests.factories import make_grid, make_place


def test_tree_structure_accepts_3_plus_1_kinds(tree):
    assert tree["micro"].get_ancestors().count() == 2
    assert tree["dedicated"].parent == tree["total"]


def test_micro_grid_under_total_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        make_grid(GridKind.MICRO, tree["total"], code="BAD-1")
    assert "parent" in caught.value.message_dict
    assert tree["total"].code in caught.value.message_dict["parent"][0]
    assert not Grid.objects.filter(code="BAD-1").exists()


def test_move_into_own_subtree_rejected(tree):
    other_total = make_grid(GridKind.TOTAL)
    with pytest.raises(ValidationError) as caught:
        grid_move(grid_id=tree["total"].pk, parent_id=other_total.pk)
    assert "parent" in caught.value.message_dict


def test_duplicate_code_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        grid_create(kind=GridKind.TOTAL, code=tree["total"].code, name="x")
    assert "code" in caught.value.message_dict


def tree_snapshot() -> list[tuple]:
    return list(
        Grid.objects.order_by("pk").values_list(
            "pk", "parent_id", "kind", "code", "lft", "rght", "tree_id", "level"
        )
    )


def test_general_grid_under_micro_rejected(tree):
    before = tree_snapshot()

    with pytest.raises(ValidationError) as caught:
        make_grid(GridKind.GENERAL, tree["micro"], code="BAD-2")

    assert list(caught.value.message_dict) == ["parent"]
    assert tree["micro"].code in caught.value.message_dict["parent"][0]
    assert tree_snapshot() == before


def test_dedicated_grid_without_parent_rejected(db):
    with pytest.raises(ValidationError) as caught:
        grid_create(kind=GridKind.DEDICATED, code="D-1", name="厂区")

    assert "parent" in caught.value.message_dict
    assert not Grid.objects.exists()


def test_move_general_under_own_micro_rejected(tree):
    before = tree_snapshot()

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        grid_move(grid_id=tree["general"].pk, parent_id=tree["micro"].pk)

    message = caught.value.message_dict["parent"][0]
    assert "cycle" in message
    assert tree["micro"].code in message
    assert tree["general"].code in message
    assert tree_snapshot() == before


def test_move_micro_under_itself_rejected(tree):
    before = tree_snapshot()

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        grid_move(grid_id=tree["micro"].pk, parent_id=tree["micro"].pk)

    assert "cycle" in caught.value.message_dict["parent"][0]
    assert tree["micro"].code in caught.value.message_dict["parent"][0]
    assert tree_snapshot() == before


def test_move_to_missing_parent_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        grid_move(grid_id=tree["micro"].pk, parent_id=999_999)

    assert "999999" in caught.value.message_dict["parent"][0]


def test_duplicate_code_names_code_and_writes_nothing(tree):
    before = tree_snapshot()

    with pytest.raises(ValidationError) as caught:
        grid_create(
            kind=GridKind.GENERAL,
            code=tree["general"].code,
            name="重复",
            parent_id=tree["total"].pk,
        )

    assert tree["general"].code in caught.value.message_dict["code"][0]
    assert tree_snapshot() == before


def test_rename_to_taken_code_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        grid_update(grid_id=tree["micro"].pk, code=tree["general"].code)

    assert tree["general"].code in caught.value.message_dict["code"][0]
    assert Grid.objects.get(pk=tree["micro"].pk).code == tree["micro"].code


def test_invalid_code_rejected(db):
    with pytest.raises(ValidationError) as caught:
        grid_create(kind=GridKind.TOTAL, code="天瑞 01", name="x")

    assert "code" in caught.value.message_dict
    assert not Grid.objects.exists()


def test_move_subtree_keeps_tree_sound(tree):
    other_total = make_grid(GridKind.TOTAL)

    grid_move(grid_id=tree["general"].pk, parent_id=other_total.pk)

    moved = Grid.objects.get(pk=tree["micro"].pk)
    assert moved.get_root() == other_total
    assert moved.level == 2
    assert grid_tree_problems() == []


def test_update_renames_and_moves_in_one_call(tree):
    second_general = make_grid(GridKind.GENERAL, tree["total"])

    grid = grid_update(
        grid_id=tree["micro"].pk, name="1-2 微网格", parent_id=second_general.pk
    )

    stored = Grid.objects.get(pk=grid.pk)
    assert stored.name == "1-2 微网格"
    assert stored.parent_id == second_general.pk
    assert grid_tree_problems() == []


def test_kind_change_that_orphans_children_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        grid_update(grid_id=tree["general"].pk, kind=GridKind.DEDICATED)

    assert tree["micro"].code in caught.value.message_dict["kind"][0]
    assert Grid.objects.get(pk=tree["general"].pk).kind == GridKind.GENERAL


def test_kind_change_that_strands_places_rejected(tree):
    make_place(tree["micro"], code="B-7")
    other_general = make_grid(GridKind.GENERAL, tree["total"])
    grid_update(grid_id=other_general.pk, is_active=False)

    with pytest.raises(ValidationError) as caught:
        grid_update(
            grid_id=tree["micro"].pk,
            kind=GridKind.GENERAL,
            parent_id=tree["total"].pk,
        )

    assert "B-7" in caught.value.message_dict["kind"][0]
    assert Grid.objects.get(pk=tree["micro"].pk).kind == GridKind.MICRO


def test_deactivate_with_active_child_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        grid_deactivate(grid_id=tree["general"].pk)

    assert tree["micro"].code in caught.value.message_dict["is_active"][0]
    assert Grid.objects.get(pk=tree["general"].pk).is_active


def test_grid_remove_deletes_unreferenced_grid(tree):
    assert grid_remove(grid_id=tree["micro"].pk) is True

    assert not Grid.objects.filter(pk=tree["micro"].pk).exists()
    assert grid_tree_problems() == []


def test_grid_remove_deactivates_grid_with_place(tree):
    make_place(tree["micro"])

    assert grid_remove(grid_id=tree["micro"].pk) is False

    assert Grid.objects.get(pk=tree["micro"].pk).is_active is False
    assert grid_tree_problems() == []


def test_grid_remove_keeps_parent_of_active_child(tree):
    with pytest.raises(ValidationError) as caught:
        grid_remove(grid_id=tree["general"].pk)

    assert "is_active" in caught.value.message_dict
    general = Grid.objects.get(pk=tree["general"].pk)
    assert general.is_active
    assert grid_tree_problems() == []


def test_grid_remove_deactivates_parent_of_inactive_child(tree):
    grid_deactivate(grid_id=tree["micro"].pk)

    assert grid_remove(grid_id=tree["general"].pk) is False

    assert Grid.objects.get(pk=tree["general"].pk).is_active is False
    assert Grid.objects.filter(pk=tree["micro"].pk).exists()


def test_place_in_general_grid_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        make_place(tree["general"], code="P-BAD")

    assert tree["general"].code in " ".join(caught.value.message_dict["grid"])
    assert not Place.objects.filter(code="P-BAD").exists()


def test_place_update_to_missing_grid_rejected(tree):
    place = make_place(tree["micro"])

    with pytest.raises(ValidationError) as caught:
        place_update(place_id=place.pk, grid_id=999_999)

    assert "grid" in caught.value.message_dict
    assert Place.objects.get(pk=place.pk).grid_id == tree["micro"].pk
