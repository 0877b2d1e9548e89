"""Builders shared by the integration tests: a small grid tree with people in it."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from grids.models import Grid, GridKind, Place
from incidents.models import Category, TimeBasis
from members.models import Member, Position
from tests.factories import make_assignment, make_grid, make_member, make_place


@dataclass
class Scenario:
    total: Grid
    general: Grid
    micro: Grid
    place: Place
    category: Category
    mediator: Member
    micro_leader: Member
    general_leader: Member
    total_leader: Member


def build_scenario() -> Scenario:
    total = make_grid(GridKind.TOTAL, name="总网格")
    general = make_grid(GridKind.GENERAL, total, name="一般网格")
    micro = make_grid(GridKind.MICRO, general, name="微网格")
    place = make_place(micro)
    category = Category.objects.create(
        code="it-noise",
        name="噪音",
        role="mediator",
        accept_minutes=60,
        resolve_minutes=600,
        time_basis=TimeBasis.CALENDAR,
    )
    user_model = get_user_model()
    people = {}
    for key, grid, position, roles in [
        ("mediator", micro, Position.MEMBER, ["mediator"]),
        ("micro_leader", micro, Position.LEADER, []),
        ("general_leader", general, Position.LEADER, []),
        ("total_leader", total, Position.LEADER, []),
    ]:
        user = user_model.objects.create_user(f"it-{key}", password="pw-it-12345")
        member = make_member(user_id=user.pk)
        make_assignment(member, grid, position=position, roles=roles)
        people[key] = member
    user_model.objects.create_user("it-staff", password="pw-it-12345", is_staff=True)
    return Scenario(total, general, micro, place, category, **people)
