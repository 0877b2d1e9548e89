import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from grids.models import GridKind
from members.actions import (
    assignment_create,
    assignment_end,
    assignment_update,
    member_create,
    member_update,
    party_organization_set,
)
from members.models import Assignment, Member, PartyOrganization, Position
from tests.factories import make_assignment, make_grid, make_member

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def leaders(grid) -> list[int]:
    return list(
        Assignment.objects.active()
        .filter(grid=grid, position=Position.LEADER)
        .values_list("member_id", flat=True)
    )


@pytest.mark.parametrize("phone", ["1380000000", "23800000000", "138-0000-000"])
def test_member_create_invalid_phone_rejected(db, phone):
    with pytest.raises(ValidationError) as caught:
        member_create(name="王芳", phone=phone)

    assert list(caught.value.message_dict) == ["phone"]
    assert phone in caught.value.message_dict["phone"][0]
    assert not Member.objects.exists()


def test_member_create_duplicate_phone_rejected(db):
    make_member(phone="13800000001")

    with pytest.raises(ValidationError) as caught:
        member_create(name="李强", phone="13800000001")

    assert "phone" in caught.value.message_dict
    assert Member.objects.count() == 1


def test_member_update_invalid_phone_keeps_old(db):
    member = make_member(phone="13800000002")

    with pytest.raises(ValidationError) as caught:
        member_update(member_id=member.pk, phone="12345")

    assert "12345" in caught.value.message_dict["phone"][0]
    assert Member.objects.get(pk=member.pk).phone == "13800000002"


def test_second_micro_leader_rejected(tree):
    first = make_member()
    make_assignment(first, tree["micro"], Position.LEADER)

    with pytest.raises(ValidationError) as caught:
        make_assignment(make_member(), tree["micro"], Position.LEADER)

    assert list(caught.value.message_dict) == ["position"]
    assert tree["micro"].code in caught.value.message_dict["position"][0]
    assert leaders(tree["micro"]) == [first.pk]
    assert Assignment.objects.count() == 1


@pytest.mark.parametrize("kind", ["general", "dedicated"])
def test_second_leader_rejected_for_single_leader_kinds(tree, kind):
    make_assignment(make_member(), tree[kind], Position.LEADER)

    with pytest.raises(ValidationError):
        make_assignment(make_member(), tree[kind], Position.LEADER)

    assert len(leaders(tree[kind])) == 1


def test_total_grid_accepts_two_leaders(tree):
    make_assignment(make_member(), tree["total"], Position.LEADER)
    make_assignment(make_member(), tree["total"], Position.LEADER)

    assert len(leaders(tree["total"])) == 2


def test_backdated_leader_overlapping_later_term_rejected(tree):
    make_assignment(
        make_member(), tree["micro"], Position.LEADER, start_date=TODAY + 10 * DAY
    )

    with pytest.raises(ValidationError) as caught:
        make_assignment(make_member(), tree["micro"], Position.LEADER)

    assert tree["micro"].code in caught.value.message_dict["position"][0]


def test_leader_after_ended_term_accepted(tree):
    old = make_assignment(
        make_member(), tree["micro"], Position.LEADER, start_date=TODAY - 30 * DAY
    )
    assignment_end(assignment_id=old.pk, end_date=TODAY - DAY)

    new = make_assignment(make_member(), tree["micro"], Position.LEADER)

    assert leaders(tree["micro"]) == [new.member_id]


def test_assignment_end_extending_into_successor_rejected(tree):
    old = make_assignment(
        make_member(),
        tree["micro"],
        Position.LEADER,
        start_date=TODAY - 30 * DAY,
        end_date=TODAY - DAY,
    )
    make_assignment(make_member(), tree["micro"], Position.LEADER)

    with pytest.raises(ValidationError) as caught:
        assignment_end(assignment_id=old.pk, end_date=TODAY + 5 * DAY)

    assert "position" in caught.value.message_dict
    assert Assignment.objects.get(pk=old.pk).end_date == TODAY - DAY


def test_assignment_update_promotion_to_second_leader_rejected(tree):
    make_assignment(make_member(), tree["micro"], Position.LEADER)
    member = make_assignment(make_member(), tree["micro"])

    with pytest.raises(ValidationError) as caught:
        assignment_update(assignment_id=member.pk, position=Position.LEADER)

    assert tree["micro"].code in caught.value.message_dict["position"][0]
    assert Assignment.objects.get(pk=member.pk).position == Position.MEMBER


def test_assignment_update_moves_leader_to_vacant_grid(tree):
    other_micro = make_grid(GridKind.MICRO, tree["general"])
    leader = make_assignment(make_member(), tree["micro"], Position.LEADER)

    assignment_update(assignment_id=leader.pk, grid_id=other_micro.pk)

    assert leaders(tree["micro"]) == []
    assert leaders(other_micro) == [leader.member_id]


def test_assignment_update_sets_roles(tree):
    assignment = make_assignment(make_member(), tree["micro"], roles=["mediator"])

    assignment_update(
        assignment_id=assignment.pk, roles=["inspector", "publicist"], title=""
    )

    codes = set(assignment.roles.values_list("code", flat=True))
    assert codes == {"inspector", "publicist"}


def test_assignment_update_unknown_role_rejected(tree):
    assignment = make_assignment(make_member(), tree["micro"], roles=["mediator"])

    with pytest.raises(ValidationError) as caught:
        assignment_update(assignment_id=assignment.pk, roles=["janitor"])

    assert "janitor" in caught.value.message_dict["roles"][0]
    assert list(assignment.roles.values_list("code", flat=True)) == ["mediator"]


def test_assignment_update_end_before_start_rejected(tree):
    assignment = make_assignment(make_member(), tree["micro"])

    with pytest.raises(ValidationError) as caught:
        assignment_update(assignment_id=assignment.pk, end_date=TODAY - 3 * DAY)

    assert "end_date" in caught.value.message_dict
    assert Assignment.objects.get(pk=assignment.pk).end_date is None


def test_assignment_update_unknown_field_rejected(tree):
    assignment = make_assignment(make_member(), tree["micro"])

    with pytest.raises(TypeError):
        assignment_update(assignment_id=assignment.pk, grid=tree["general"])


def test_assignment_create_missing_grid_rejected(db):
    member = make_member()

    with pytest.raises(ValidationError) as caught:
        assignment_create(member_id=member.pk, grid_id=999_999)

    assert "999999" in caught.value.message_dict["grid"][0]
    assert not Assignment.objects.exists()


def test_party_organization_on_total_grid_rejected(tree):
    with pytest.raises(ValidationError) as caught:
        party_organization_set(grid_id=tree["total"].pk, name="总支")

    assert tree["total"].code in caught.value.message_dict["grid"][0]
    assert not PartyOrganization.objects.exists()
