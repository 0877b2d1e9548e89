"""Deactivating a grid on its admin change page while rows still depend on it.

The save goes through, and a warning names what still points at the grid,
because the public pages stop serving its places.
"""

import datetime

from django.contrib import admin, messages
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from grids.models import Grid
from incidents.models import Category, Channel, Incident, State
from members.models import Assignment
from tests.factories import make_assignment, make_member, make_place

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def change_url(grid: Grid) -> str:
    return reverse("admin:grids_grid_change", args=[grid.pk])


def change_form(grid: Grid, rows: tuple[dict, ...] = (), **fields) -> dict:
    """Return the change form of ``grid`` with its existing assignment ``rows``."""
    data = {
        "kind": grid.kind,
        "code": grid.code,
        "name": grid.name,
        "parent": grid.parent_id or "",
        "boundary": grid.boundary,
        "is_active": "on" if grid.is_active else None,
        "assignments-TOTAL_FORMS": str(len(rows)),
        "assignments-INITIAL_FORMS": str(len(rows)),
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"assignments-{index}-{name}"] = value
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def assignment_row(assignment: Assignment, **changes) -> dict:
    row = {
        "id": assignment.pk,
        "grid": assignment.grid_id,
        "member": assignment.member_id,
        "position": assignment.position,
        "title": assignment.title,
        "start_date": assignment.start_date.isoformat(),
        "end_date": assignment.end_date.isoformat() if assignment.end_date else "",
        "duties": assignment.duties,
        "commitment": assignment.commitment,
    }
    row.update(changes)
    return row


def open_ticket(grid: Grid, state: str = State.DISPATCHED) -> Incident:
    category, _created = Category.objects.get_or_create(
        code="noise", defaults={"name": "噪音", "role": "mediator"}
    )
    return Incident.objects.create(
        category=category,
        subject="噪音",
        description="楼上噪音",
        channel=Channel.PUBLIC_FORM,
        state=state,
        grid=grid,
    )


def warnings_of(response) -> list[str]:
    return [
        str(message)
        for message in get_messages(response.wsgi_request)
        if message.level == messages.WARNING
    ]


def deactivate(client, grid: Grid, rows: tuple[dict, ...] = ()):
    return client.post(
        change_url(grid),
        change_form(grid, rows, is_active=None),
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_deactivation_warns_with_plural_counts(officer_client, tree):
    micro = tree["micro"]
    make_place(micro)
    make_place(micro)
    make_place(micro, is_active=False)
    make_assignment(make_member(), micro)
    make_assignment(make_member(), micro)
    make_assignment(
        make_member(), micro, start_date=TODAY - 9 * DAY, end_date=TODAY - DAY
    )
    open_ticket(micro, State.SUBMITTED)
    open_ticket(micro, State.ACCEPTED)
    open_ticket(micro, State.CLOSED)

    response = deactivate(officer_client, micro)

    assert response.status_code == 302
    assert Grid.objects.get(pk=micro.pk).is_active is False
    assert warnings_of(response) == [
        f"{micro.code} {micro.name} is now inactive but still has 2 active "
        "places, 2 active assignments and 2 open tickets. The QR codes and "
        "report links of its places do not work until the grid is active again."
    ]


def test_deactivation_warns_with_singular_counts(officer_client, tree):
    micro = tree["micro"]
    make_place(micro)
    make_assignment(make_member(), micro)
    open_ticket(micro)

    response = deactivate(officer_client, micro)

    assert warnings_of(response) == [
        f"{micro.code} {micro.name} is now inactive but still has 1 active "
        "place, 1 active assignment and 1 open ticket. The QR codes and "
        "report links of its places do not work until the grid is active again."
    ]


def test_deactivation_skips_inactive_member(officer_client, tree):
    micro = tree["micro"]
    make_place(micro)
    make_assignment(make_member(is_active=False), micro)

    response = deactivate(officer_client, micro)

    [warning] = warnings_of(response)
    assert "1 active place, 0 active assignments and 0 open tickets" in warning


def test_deactivation_of_unused_grid_adds_no_warning(officer_client, tree):
    micro = tree["micro"]
    make_place(micro, is_active=False)
    open_ticket(micro, State.CLOSED)

    response = deactivate(officer_client, micro)

    assert response.status_code == 302
    assert Grid.objects.get(pk=micro.pk).is_active is False
    assert warnings_of(response) == []


def test_change_of_inactive_grid_adds_no_warning(officer_client, tree):
    micro = tree["micro"]
    make_place(micro)
    Grid.objects.filter(pk=micro.pk).update(is_active=False)
    micro.refresh_from_db()

    response = officer_client.post(
        change_url(micro), change_form(micro, name="1-1 微网格（旧）")
    )

    assert response.status_code == 302
    assert Grid.objects.get(pk=micro.pk).name == "1-1 微网格（旧）"
    assert warnings_of(response) == []


def test_deactivation_counts_after_inline_assignments(officer_client, tree):
    micro = tree["micro"]
    make_place(micro)
    leaving = make_assignment(make_member(), micro, start_date=TODAY - 9 * DAY)
    ended = assignment_row(leaving, end_date=(TODAY - DAY).isoformat())

    response = deactivate(officer_client, micro, rows=(ended,))

    assert Assignment.objects.get(pk=leaving.pk).end_date == TODAY - DAY
    [warning] = warnings_of(response)
    assert "1 active place, 0 active assignments and 0 open tickets" in warning


def test_rejected_deactivation_adds_no_warning(officer_client, tree):
    general = tree["general"]
    make_place(tree["micro"])

    response = deactivate(officer_client, general)

    # The active micro grid below keeps the general grid active.
    assert response.status_code == 200
    assert Grid.objects.get(pk=general.pk).is_active is True
    assert warnings_of(response) == []


def test_deactivation_warning_counts_in_one_query(
    tree, officer, django_assert_num_queries
):
    micro = tree["micro"]
    make_place(micro)
    make_assignment(make_member(), micro)
    open_ticket(micro)
    request = RequestFactory().post(change_url(micro))
    request.user = officer
    request.session = {}
    request._messages = FallbackStorage(request)
    grid_admin = admin.site._registry[Grid]

    with django_assert_num_queries(1):
        grid_admin._warn_grid_in_use(request, micro)

    assert len(list(request._messages)) == 1
