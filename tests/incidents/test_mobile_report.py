"""Reporting a ticket from a patrol, and the notifications inbox."""

import pytest
from django.urls import reverse

from incidents.models import Category, Channel, Incident, Notification, State
from incidents.notifications import inbox_for
from incidents.workflow import incident_reassign
from tests.incidents.personas import World, world_fixture  # noqa: F401

REPORT = reverse("mobile:report")
NOTIFICATIONS = reverse("mobile:notifications")
MARK_READ = reverse("mobile:notifications_read")


@pytest.fixture
def staff_only_category(world: World) -> Category:
    return Category.objects.create(
        code="hazard", name="安全隐患", role="inspector", is_public=False
    )


def report_data(world: World, category: Category, **fields) -> dict:
    data = {
        "token": "a" * 32,
        "category": category.pk,
        "place": world.place_a.pk,
        "description": "消防通道被电动车堵住",
    }
    data.update(fields)
    return data


def test_report_form_lists_scope_and_all_categories(world, staff_only_category):
    form = world.wang.client().get(REPORT).context["form"]

    assert set(form.fields["place"].queryset) == {world.place_a}
    assert staff_only_category in form.fields["category"].queryset
    assert world.category in form.fields["category"].queryset
    assert len(form.initial["token"]) == 32


def test_report_leader_places_cover_subtree(world: World):
    form = world.li.client().get(REPORT).context["form"]

    assert set(form.fields["place"].queryset) == {world.place_a}
    assert world.place_b not in form.fields["place"].queryset


def test_report_creates_member_ticket(world: World, staff_only_category):
    response = world.wang.client().post(REPORT, report_data(world, staff_only_category))

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("mobile:ticket", args=[incident.tracking_code])
    assert incident.channel == Channel.MEMBER
    assert incident.category == staff_only_category
    assert incident.reported_by == world.wang.member
    assert incident.place == world.place_a
    assert incident.state == State.SUBMITTED


def test_report_double_tap_creates_one(world: World):
    client = world.wang.client()
    data = report_data(world, world.category)

    first = client.post(REPORT, data)
    second = client.post(REPORT, data)

    assert Incident.objects.count() == 1
    assert first.url == second.url


def test_report_token_is_per_user(world: World):
    data = report_data(world, world.category)
    world.wang.client().post(REPORT, data)

    world.li.client().post(REPORT, data)

    assert Incident.objects.count() == 2


def test_report_place_outside_scope_rejected(world: World):
    response = world.wang.client().post(
        REPORT, report_data(world, world.category, place=world.place_b.pk)
    )

    assert response.status_code == 200
    assert "place" in response.context["form"].errors
    assert not Incident.objects.exists()


def test_report_missing_description_names_field(world: World):
    response = world.wang.client().post(
        REPORT, report_data(world, world.category, description="")
    )

    assert "description" in response.context["form"].errors
    assert not Incident.objects.exists()


def test_report_inactive_category_rejected(world: World):
    Category.objects.filter(pk=world.category.pk).update(is_active=False)

    response = world.wang.client().post(REPORT, report_data(world, world.category))

    assert "category" in response.context["form"].errors
    assert not Incident.objects.exists()


def test_report_user_without_member_forbidden(django_user_model, client, world):
    user = django_user_model.objects.create_user(username="visitor")
    client.force_login(user)

    assert client.get(REPORT).status_code == 403


# Notifications -------------------------------------------------------------------


@pytest.fixture
def notified(world: World) -> list[Notification]:
    """Two inbox notices for Wang: one dispatch and one reassignment."""
    first = world.ticket(world.place_a, world.chen)
    world.ticket(world.place_a, world.wang)
    incident_reassign(
        incident_id=first.pk, assignee_id=world.wang.member.pk, actor=world.li.actor
    )
    return list(inbox_for(world.wang.user))


def test_notifications_list_own(world: World, notified):
    response = world.wang.client().get(NOTIFICATIONS)

    assert [notice.pk for notice in response.context["page"]] == [
        notice.pk for notice in notified
    ]
    assert len(notified) == 2
    assert sorted(response.context["unread_ids"]) == sorted(n.pk for n in notified)


def test_notifications_mark_one_read(world: World, notified):
    target = notified[0]

    response = world.wang.client().post(MARK_READ, {"notification": target.pk})

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.read_at is not None
    assert Notification.objects.get(pk=notified[1].pk).read_at is None


def test_notifications_mark_other_users_row_ignored(world: World, notified):
    world.chen.client().post(MARK_READ, {"notification": notified[0].pk})

    notified[0].refresh_from_db()
    assert notified[0].read_at is None


def test_notifications_mark_huge_id_ignored(world: World, notified):
    response = world.wang.client().post(
        MARK_READ, {"notification": "9" * 20, "page": "1"}
    )

    assert response.status_code == 302
    assert inbox_for(world.wang.user).filter(read_at__isnull=True).count() == 2


def test_notifications_mark_page_read(world: World, notified):
    world.wang.client().post(
        MARK_READ, {"notification": [notice.pk for notice in notified], "page": "1"}
    )

    assert not inbox_for(world.wang.user).filter(read_at__isnull=True).exists()


@pytest.mark.parametrize("extra", [0, 10])
def test_notifications_query_count_constant(
    world: World, notified, extra, django_assert_num_queries
):
    for _ in range(extra):
        world.ticket(world.place_a, world.wang)
    client = world.wang.client()

    # Session, user, member record (is it still active?), count, page of
    # notices with their tickets and whether each may be opened.
    with django_assert_num_queries(5):
        client.get(NOTIFICATIONS)
