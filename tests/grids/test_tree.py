import pytest
from django.core.exceptions import ValidationError

from grids.actions import grid_create, grid_move
from grids.models import Grid, GridKind
from tests.factories import make_grid


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
