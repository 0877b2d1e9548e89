"""Concurrent leader appointments, on PostgreSQL with real threads.

Both tests fail when the actions do not lock the grid row: each thread then
finds the post vacant and saves its leader.
"""

import pytest
from django.core.exceptions import ValidationError

from grids.models import GridKind
from members.actions import assignment_create, assignment_update
from members.models import Assignment, Position
from tests.factories import make_assignment, make_grid, make_member, make_tree
from tests.grids.concurrency import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

# Several rounds, each on a fresh micro grid, so that a missing lock shows up
# even if one round happens not to interleave.
ROUNDS = 10


def outcome(results: list) -> list[str]:
    return sorted(type(result).__name__ for result in results)


def test_two_leader_appointments_give_one_leader():
    tree = make_tree()
    for round_number in range(ROUNDS):
        micro = make_grid(GridKind.MICRO, tree["general"])
        members = [make_member(), make_member()]

        results = run_together(
            2,
            lambda index, micro=micro, members=members: assignment_create(
                member_id=members[index].pk,
                grid_id=micro.pk,
                position=Position.LEADER,
            ),
        )

        assert outcome(results) == ["Assignment", "ValidationError"], round_number
        error = next(r for r in results if isinstance(r, ValidationError))
        assert micro.code in error.message_dict["position"][0]
        leaders = Assignment.objects.filter(grid=micro, position=Position.LEADER)
        assert leaders.count() == 1


def test_two_promotions_give_one_leader():
    tree = make_tree()
    for round_number in range(ROUNDS):
        micro = make_grid(GridKind.MICRO, tree["general"])
        assignments = [make_assignment(make_member(), micro) for _ in range(2)]

        results = run_together(
            2,
            lambda index, assignments=assignments: assignment_update(
                assignment_id=assignments[index].pk, position=Position.LEADER
            ),
        )

        assert outcome(results) == ["Assignment", "ValidationError"], round_number
        leaders = Assignment.objects.filter(grid=micro, position=Position.LEADER)
        assert leaders.count() == 1
