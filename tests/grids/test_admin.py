import datetime

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from grids.models import Grid, GridKind, Place
from grids.queries import grid_tree_problems
from members.models import Position
from tests.factories import make_assignment, make_grid, make_member, make_place

GRIDS_URL = reverse("admin:grids_grid_changelist")
ADD_URL = reverse("admin:grids_grid_add")
PLACES_URL = reverse("admin:grids_place_changelist")


def change_url(grid: Grid) -> str:
    return reverse("admin:grids_grid_change", args=[grid.pk])


def grid_form(**fields) -> dict:
    data = {
        "kind": GridKind.TOTAL,
        "code": "TR",
        "name": "天瑞社区总网格",
        "parent": "",
        "boundary": "",
        "is_active": "on",
        # The assignment inline's management form.
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def change_form(grid: Grid, **fields) -> dict:
    initial = {
        "kind": grid.kind,
        "code": grid.code,
        "name": grid.name,
        "parent": grid.parent_id or "",
        "boundary": grid.boundary,
        "is_active": "on" if grid.is_active else None,
    }
    initial.update(fields)
    return grid_form(**initial)


def add_generals_with_micros(total: Grid, count: int) -> None:
    for _ in range(count):
        general = make_grid(GridKind.GENERAL, total)
        micro = make_grid(GridKind.MICRO, general)
        make_place(micro)
        make_assignment(make_member(), micro, Position.LEADER)


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_grid_changelist_shows_tree_and_counts(officer_client, tree):
    make_place(tree["micro"])
    make_place(tree["micro"])
    make_assignment(make_member(), tree["micro"], Position.LEADER)
    make_assignment(make_member(), tree["micro"])

    response = officer_client.get(GRIDS_URL)

    assert response.status_code == 200
    rows = {row.code: row for row in response.context["cl"].result_list}
    micro = rows[tree["micro"].code]
    assert micro.active_place_count == 2
    assert micro.active_member_count == 2
    assert rows[tree["total"].code].active_member_count == 0
    assert (
        response.context["cl"].model_admin.descendant_count(rows[tree["total"].code])
        == 3
    )
    # MPTTModelAdmin indents each row by its level.
    assert b"padding-left:" in response.content


def test_grid_changelist_counts_only_active_rows(officer_client, tree):
    place = make_place(tree["micro"])
    Place.objects.filter(pk=place.pk).update(is_active=False)
    today = timezone.localdate()
    make_assignment(
        make_member(),
        tree["micro"],
        start_date=today - datetime.timedelta(days=30),
        end_date=today - datetime.timedelta(days=1),
    )
    make_assignment(make_member(is_active=False), tree["micro"])

    response = officer_client.get(GRIDS_URL)

    rows = {row.code: row for row in response.context["cl"].result_list}
    assert rows[tree["micro"].code].active_place_count == 0
    assert rows[tree["micro"].code].active_member_count == 0


def test_grid_changelist_queries_constant(
    officer_client, tree, django_assert_num_queries
):
    add_generals_with_micros(tree["total"], 1)
    with CaptureQueriesContext(connection) as small:
        assert officer_client.get(GRIDS_URL).status_code == 200
    add_generals_with_micros(tree["total"], 15)
    assert Grid.objects.count() > 30

    with django_assert_num_queries(len(small.captured_queries)):
        response = officer_client.get(GRIDS_URL)

    assert len(response.context["cl"].result_list) == Grid.objects.count()


def test_grid_changelist_search_and_filters(officer_client, tree):
    response = officer_client.get(GRIDS_URL, {"q": tree["micro"].code})
    assert [grid.pk for grid in response.context["cl"].result_list] == [
        tree["micro"].pk
    ]

    response = officer_client.get(GRIDS_URL, {"kind__exact": GridKind.DEDICATED})
    assert [grid.pk for grid in response.context["cl"].result_list] == [
        tree["dedicated"].pk
    ]

    Grid.objects.filter(pk=tree["micro"].pk).update(is_active=False)
    response = officer_client.get(GRIDS_URL, {"is_active__exact": "0"})
    assert [grid.pk for grid in response.context["cl"].result_list] == [
        tree["micro"].pk
    ]


def test_grid_add_creates_grid_through_action(officer_client, tree):
    response = officer_client.post(
        ADD_URL,
        grid_form(
            kind=GridKind.MICRO, code="TR-01-2", name="1-2", parent=tree["general"].pk
        ),
    )

    assert response.status_code == 302
    grid = Grid.objects.get(code="TR-01-2")
    assert grid.parent_id == tree["general"].pk
    assert grid.level == 2
    assert grid_tree_problems() == []
    assert LogEntry.objects.filter(object_id=str(grid.pk)).exists()


def test_grid_add_under_wrong_kind_shows_parent_error(officer_client, tree):
    response = officer_client.post(
        ADD_URL,
        grid_form(kind=GridKind.MICRO, code="BAD", parent=tree["total"].pk),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["parent"]
    assert tree["total"].code in errors["parent"][0]
    assert not Grid.objects.filter(code="BAD").exists()


def test_grid_add_duplicate_code_shows_code_error(officer_client, tree):
    response = officer_client.post(ADD_URL, grid_form(code=tree["total"].code))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert tree["total"].code in errors["code"][0]
    assert Grid.objects.filter(code=tree["total"].code).count() == 1


def test_grid_change_moves_subtree(officer_client, tree):
    other_total = make_grid(GridKind.TOTAL)

    response = officer_client.post(
        change_url(tree["general"]), change_form(tree["general"], parent=other_total.pk)
    )

    assert response.status_code == 302
    assert Grid.objects.get(pk=tree["micro"].pk).tree_id == other_total.tree_id
    assert grid_tree_problems() == []


def test_grid_change_into_own_subtree_shows_parent_error(officer_client, tree):
    response = officer_client.post(
        change_url(tree["general"]),
        change_form(tree["general"], parent=tree["micro"].pk),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert tree["micro"].code in errors["parent"][0]
    assert Grid.objects.get(pk=tree["general"].pk).parent_id == tree["total"].pk


def test_grid_change_deactivate_with_active_child_shows_error(officer_client, tree):
    response = officer_client.post(
        change_url(tree["general"]), change_form(tree["general"], is_active=None)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert tree["micro"].code in errors["is_active"][0]
    assert Grid.objects.get(pk=tree["general"].pk).is_active


def test_clerk_cannot_add_or_delete_grids(client, clerk, tree):
    client.force_login(clerk)

    assert client.get(GRIDS_URL).status_code == 200
    assert client.post(ADD_URL, grid_form(code="X")).status_code == 403
    delete_url = reverse("admin:grids_grid_delete", args=[tree["micro"].pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    response = client.post(
        GRIDS_URL,
        {"action": "delete_selected", "_selected_action": [tree["micro"].pk]},
    )
    assert Grid.objects.filter(pk=tree["micro"].pk).exists()
    assert response.status_code in (200, 302)


def test_grid_delete_view_deletes_unreferenced_grid(officer_client, tree):
    url = reverse("admin:grids_grid_delete", args=[tree["micro"].pk])

    confirmation = officer_client.get(url)
    response = officer_client.post(url, {"post": "yes"})

    assert confirmation.status_code == 200
    assert response.status_code == 302
    assert response.url == GRIDS_URL
    assert not Grid.objects.filter(pk=tree["micro"].pk).exists()
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 1
    assert grid_tree_problems() == []


def test_grid_delete_view_deactivates_referenced_grid(officer_client, tree):
    place = make_place(tree["micro"])
    url = reverse("admin:grids_grid_delete", args=[tree["micro"].pk])

    confirmation = officer_client.get(url)
    response = officer_client.post(url, {"post": "yes"}, follow=True)

    assert place.code.encode() in confirmation.content
    assert Grid.objects.get(pk=tree["micro"].pk).is_active is False
    assert any(tree["micro"].code in text for text in message_texts(response))
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 1
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_grid_delete_view_keeps_grid_with_active_child(officer_client, tree):
    url = reverse("admin:grids_grid_delete", args=[tree["general"].pk])

    response = officer_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert response.url == change_url(tree["general"])
    general = Grid.objects.get(pk=tree["general"].pk)
    assert general.is_active
    assert not LogEntry.objects.exists()


def test_bulk_delete_confirmation_lists_references(officer_client, tree):
    place = make_place(tree["micro"])

    response = officer_client.post(
        GRIDS_URL,
        {
            "action": "delete_selected",
            "_selected_action": [tree["micro"].pk, tree["dedicated"].pk],
        },
    )

    assert response.status_code == 200
    assert place.code.encode() in response.content
    assert Grid.objects.count() == 4


def test_bulk_delete_removes_each_grid_through_action(officer_client, tree):
    make_place(tree["dedicated"])
    spare_micro = make_grid(GridKind.MICRO, tree["general"])
    selected = [tree["general"], tree["micro"], spare_micro, tree["dedicated"]]

    response = officer_client.post(
        GRIDS_URL,
        {
            "action": "delete_selected",
            "_selected_action": [grid.pk for grid in selected],
            "post": "yes",
        },
        follow=True,
    )

    # Children go first, so the general grid is free to go once they are gone.
    remaining = set(Grid.objects.values_list("pk", flat=True))
    assert remaining == {tree["total"].pk, tree["dedicated"].pk}
    assert Grid.objects.get(pk=tree["dedicated"].pk).is_active is False
    texts = message_texts(response)
    assert any(
        tree["dedicated"].code in text and tree["micro"].code not in text
        for text in texts
    )
    assert grid_tree_problems() == []


def test_bulk_delete_reports_kept_parent(officer_client, tree):
    make_place(tree["micro"])

    response = officer_client.post(
        GRIDS_URL,
        {
            "action": "delete_selected",
            "_selected_action": [tree["general"].pk],
            "post": "yes",
        },
        follow=True,
    )

    assert Grid.objects.get(pk=tree["general"].pk).is_active
    assert any(tree["general"].code in text for text in message_texts(response))


def test_place_changelist_queries_constant(
    officer_client, tree, django_assert_num_queries
):
    for _ in range(3):
        make_place(tree["micro"])
    with CaptureQueriesContext(connection) as small:
        assert officer_client.get(PLACES_URL).status_code == 200
    for _ in range(27):
        make_place(tree["dedicated"])

    with django_assert_num_queries(len(small.captured_queries)):
        response = officer_client.get(PLACES_URL)

    assert len(response.context["cl"].result_list) == 30


def test_place_changelist_filters_by_grid_kind(officer_client, tree):
    in_micro = make_place(tree["micro"])
    make_place(tree["dedicated"])

    response = officer_client.get(PLACES_URL, {"grid__kind__exact": GridKind.MICRO})

    assert [place.pk for place in response.context["cl"].result_list] == [in_micro.pk]


def test_place_add_in_general_grid_shows_grid_error(officer_client, tree):
    response = officer_client.post(
        reverse("admin:grids_place_add"),
        {
            "kind": "building",
            "code": "B-1",
            "name": "1 栋",
            "grid": tree["general"].pk,
            "address": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "grid" in response.context["adminform"].form.errors
    assert not Place.objects.exists()


def test_place_add_creates_inactive_place(officer_client, tree):
    response = officer_client.post(
        reverse("admin:grids_place_add"),
        {
            "kind": "building",
            "code": "B-2",
            "name": "2 栋",
            "grid": tree["micro"].pk,
            "address": "",
        },
    )

    assert response.status_code == 302
    assert Place.objects.get(code="B-2").is_active is False


@pytest.mark.parametrize("url_name", ["grid", "place"])
def test_autocomplete_lists_grids(officer_client, tree, url_name):
    field = "parent" if url_name == "grid" else "grid"
    response = officer_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "grids",
            "model_name": url_name,
            "field_name": field,
            "term": "",
        },
    )

    assert response.status_code == 200
    ids = {int(item["id"]) for item in response.json()["results"]}
    if url_name == "place":
        assert ids == {tree["micro"].pk, tree["dedicated"].pk}
    else:
        assert ids == {grid.pk for grid in tree.values()}


def test_place_add_without_name_names_field(officer_client, tree):
    response = officer_client.post(
        reverse("admin:grids_place_add"),
        {
            "kind": "building",
            "code": "B-2",
            "name": "",
            "grid": tree["micro"].pk,
            "address": "",
            "is_active": "on",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    errors = response.context["adminform"].form.errors
    assert response.status_code == 200
    assert errors["name"] == ["Name is required."]
    assert not Place.objects.exists()
