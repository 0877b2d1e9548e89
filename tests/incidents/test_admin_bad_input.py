"""Staff admin of tickets given ids that are not numbers or do not fit 64 bits.

The photo URL returns 404, and the changelist redirects to ``?e=1`` as it
does for any invalid filter value.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from incidents.models import Incident, Photo
from tests.incidents.personas import World, world_fixture  # noqa: F401

CHANGELIST = reverse("admin:incidents_incident_changelist")
ADD = reverse("admin:incidents_incident_add")
NOTIFICATIONS = reverse("admin:incidents_notification_changelist")
CATEGORIES = reverse("admin:incidents_category_changelist")

# Larger than any signed 64-bit integer, so SQLite cannot bind it.
TOO_LARGE = "9" * 23


@pytest.fixture
def staff(world: World):
    return world.staff.client()


def png_upload() -> SimpleUploadedFile:
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(output, "PNG")
    return SimpleUploadedFile("wx.png", output.getvalue(), content_type="image/png")


def photo_url(ticket_id: object, photo_id: object) -> str:
    return f"/admin/incidents/incident/{ticket_id}/photos/{photo_id}/"


# Photo URL -----------------------------------------------------------------------


@pytest.mark.parametrize("ticket_id", ["abc", TOO_LARGE, "-1"])
def test_photo_view_invalid_ticket_id_404(world: World, staff, ticket_id):
    response = staff.get(photo_url(ticket_id, 1))

    assert response.status_code == 404


def test_photo_view_too_large_photo_id_404(world: World, staff):
    incident = world.ticket()

    response = staff.get(photo_url(incident.pk, TOO_LARGE))

    assert response.status_code == 404


def test_photo_view_other_ticket_404(world: World, staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    staff.post(ADD, {**entry_data(world), "photos": png_upload()})
    photo = Photo.objects.get()
    other = world.ticket()

    own = staff.get(photo_url(photo.incident_id, photo.pk))
    foreign = staff.get(photo_url(other.pk, photo.pk))

    assert own.status_code == 200
    assert foreign.status_code == 404


# Changelist filters -----------------------------------------------------------


@pytest.mark.parametrize(
    "parameter",
    [
        "assignee",
        "grid",
        "category",
        "place",
        "duplicate_of",
        "assignee__in",
        "assignee__gt",
        "id__in",
    ],
)
def test_changelist_too_large_id_redirects(world: World, staff, parameter):
    world.ticket(world.place_a, world.wang)

    response = staff.get(CHANGELIST, {parameter: TOO_LARGE})

    # The admin redirects to ?e=1 on IncorrectLookupParameters.
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize("parameter", ["assignee", "grid", "category"])
def test_changelist_non_numeric_id_redirects(world: World, staff, parameter):
    response = staff.get(CHANGELIST, {parameter: "abc"})

    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize("parameter", ["grid_tree", "category_tree"])
@pytest.mark.parametrize("value", [TOO_LARGE, "abc", "²", "0", "-3", ""])
def test_custom_filter_invalid_id_redirects(world: World, staff, parameter, value):
    response = staff.get(CHANGELIST, {parameter: value})

    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_changelist_valid_assignee_still_filters(world: World, staff):
    wang_ticket = world.ticket(world.place_a, world.wang)
    world.ticket(world.place_b, world.zhao)

    response = staff.get(CHANGELIST, {"assignee": world.wang.member.pk})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wang_ticket]


def test_custom_filters_valid_id_still_filter(world: World, staff):
    ticket_a = world.ticket(world.place_a, world.wang)
    world.ticket(world.place_b, world.zhao)

    by_grid = staff.get(CHANGELIST, {"grid_tree": world.general_a.pk})
    by_category = staff.get(CHANGELIST, {"category_tree": world.category.pk})

    assert list(by_grid.context["cl"].result_list) == [ticket_a]
    assert len(by_category.context["cl"].result_list) == 2


@pytest.mark.parametrize(
    "url, parameter",
    [
        (NOTIFICATIONS, "incident"),
        (NOTIFICATIONS, "recipient_user"),
        (CATEGORIES, "parent"),
    ],
)
def test_other_changelists_too_large_id_redirect(world: World, staff, url, parameter):
    response = staff.get(url, {parameter: TOO_LARGE})

    assert response.status_code == 302
    assert response.url.endswith("?e=1")


# Staff entry form ---------------------------------------------------------------


def entry_data(world: World, **fields) -> dict:
    data = {
        "token": "c" * 32,
        "category": world.category.pk,
        "place": world.place_a.pk,
        "description": "来电反映：3 栋电梯困人",
        "reporter_name": "周女士",
        "reporter_phone": "13712345678",
        "hide_name": "on",
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("field", ["place", "grid"])
@pytest.mark.parametrize("value", ["²", TOO_LARGE])
def test_staff_entry_odd_digits_name_field(world: World, staff, field, value):
    response = staff.post(ADD, entry_data(world, **{field: value}))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Incident.objects.exists()


@pytest.mark.parametrize("selected", [TOO_LARGE, "abc", "0"])
@pytest.mark.parametrize(
    "url",
    [
        CHANGELIST,
        reverse("admin:members_member_changelist"),
        reverse("admin:grids_grid_changelist"),
        reverse("admin:grids_place_changelist"),
    ],
)
def test_bulk_action_on_bad_id_changes_nothing(world: World, staff, url, selected):
    before = Incident.objects.order_by("pk").values_list("pk", "state")

    response = staff.post(
        url, {"action": "delete_selected", "_selected_action": [selected]}
    )

    assert response.status_code == 302
    assert list(Incident.objects.order_by("pk").values_list("pk", "state")) == list(
        before
    )
