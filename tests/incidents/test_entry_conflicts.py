"""A ticket given both a place and a grid: the place must lie in that grid's subtree.

Personas as in tests.incidents.personas: Sun Li (孙丽), street-office staff,
types in tickets taken by phone. Place A lies in micro grid A-1 under general
grid A; place B in micro grid B-1 under general grid B.
"""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from grids.models import Grid
from incidents.actors import Actor
from incidents.models import Channel, Incident, IncidentEvent, Photo
from incidents.workflow import incident_submit
from tests.incidents.personas import World, world_fixture  # noqa: F401

STAFF_ENTRY = reverse("admin:incidents_incident_add")


@pytest.fixture
def staff(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.staff.user)
    return client


def entry_data(world: World, **fields) -> dict:
    data = {
        "token": "e" * 32,
        "category": world.category.pk,
        "place": world.place_a.pk,
        "description": "来电反映：楼道灯坏了",
        "reporter_name": "",
        "reporter_phone": "",
        "hide_name": "on",
    }
    data.update(fields)
    return data


def counts() -> tuple[int, int, int]:
    return (
        Incident.objects.count(),
        IncidentEvent.objects.count(),
        Photo.objects.count(),
    )


def submit(world: World, **fields) -> Incident:
    return incident_submit(
        category_id=world.category.pk,
        description="楼道灯坏了",
        channel=Channel.STAFF,
        actor=world.staff.actor,
        **fields,
    )


def conflict_message(world: World, grid) -> str:
    place = world.place_a
    return (
        f"Place {place.code} is in grid {place.grid.code}, which is not grid "
        f"{grid.code} or below it. Correct the place or the grid, or leave the "
        "grid empty."
    )


def test_staff_entry_place_outside_grid_rejected(world: World, staff):
    response = staff.post(STAFF_ENTRY, entry_data(world, grid=world.general_b.pk))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["grid"] == [conflict_message(world, world.general_b)]
    assert counts() == (0, 0, 0)


def test_staff_entry_place_in_sibling_micro_grid_rejected(world: World, staff):
    response = staff.post(STAFF_ENTRY, entry_data(world, grid=world.micro_b.pk))

    assert response.status_code == 200
    assert "grid" in response.context["form"].errors
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("grid_name", ["micro_a", "general_a", "total"])
def test_staff_entry_place_in_grid_subtree_accepted(world: World, staff, grid_name):
    grid = getattr(world, grid_name)

    response = staff.post(STAFF_ENTRY, entry_data(world, grid=grid.pk))

    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.place == world.place_a
    assert incident.grid == world.micro_a


def test_submit_place_outside_grid_rejected(world: World):
    with pytest.raises(ValidationError) as raised:
        submit(world, place_id=world.place_a.pk, grid_id=world.general_b.pk)

    assert raised.value.message_dict == {
        "grid": [conflict_message(world, world.general_b)]
    }
    assert counts() == (0, 0, 0)


def test_submit_unknown_grid_with_place_rejected(world: World):
    with pytest.raises(ValidationError) as raised:
        submit(world, place_id=world.place_a.pk, grid_id=999_999)

    assert "grid" in raised.value.message_dict
    assert counts() == (0, 0, 0)


def test_submit_inactive_grid_with_place_rejected(world: World):
    Grid.objects.filter(pk=world.micro_b.pk).update(is_active=False)

    with pytest.raises(ValidationError) as raised:
        submit(world, place_id=world.place_a.pk, grid_id=world.micro_b.pk)

    assert "grid" in raised.value.message_dict
    assert counts() == (0, 0, 0)


def test_submit_place_only_takes_place_grid(world: World):
    incident = submit(world, place_id=world.place_b.pk)

    assert incident.grid == world.micro_b


def test_submit_grid_only_kept(world: World):
    incident = submit(world, grid_id=world.general_a.pk)

    assert incident.place is None
    assert incident.grid == world.general_a


def test_repeat_key_after_conflict_returns_first_ticket(world: World):
    key = "s1:conflict-repeat"
    first = submit(world, place_id=world.place_a.pk, idempotency_key=key)

    again = submit(
        world,
        place_id=world.place_a.pk,
        grid_id=world.general_b.pk,
        idempotency_key=key,
    )

    assert again.pk == first.pk
    assert Incident.objects.count() == 1


def test_api_channel_conflict_rejected(world: World):
    with pytest.raises(ValidationError):
        incident_submit(
            category_id=world.category.pk,
            description="楼道灯坏了",
            channel=Channel.API,
            actor=Actor.resident(),
            place_id=world.place_b.pk,
            grid_id=world.general_a.pk,
        )

    assert counts() == (0, 0, 0)
