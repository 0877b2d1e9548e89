"""Admin of the category tree with inherited values, and of notifications."""

import pytest
from django.urls import reverse

from incidents.models import Category, Notification, NotificationChannel, TimeBasis
from incidents.workflow import incident_reassign
from tests.incidents.personas import World, world_fixture  # noqa: F401

CATEGORIES = reverse("admin:incidents_category_changelist")
NOTIFICATIONS = reverse("admin:incidents_notification_changelist")


@pytest.fixture
def category_tree(world: World) -> dict[str, Category]:
    """Safety sets role, urgency and deadlines; its child Fire sets only the basis."""
    safety = Category.objects.create(
        code="safety",
        name="安全隐患",
        role="inspector",
        is_urgent=True,
        accept_minutes=30,
        resolve_minutes=8 * 60,
        time_basis=TimeBasis.WORKING,
    )
    fire = Category.objects.create(
        code="fire", name="消防", parent=safety, time_basis=TimeBasis.CALENDAR
    )
    exits = Category.objects.create(code="exits", name="消防通道", parent=fire)
    return {"safety": safety, "fire": fire, "exits": exits}


def row_for(response, category: Category):
    return next(row for row in response.context["cl"].result_list if row == category)


def test_category_effective_values_inherited(world: World, category_tree):
    client = world.staff.client()
    response = client.get(CATEGORIES)
    model_admin = response.context["cl"].model_admin

    exits = row_for(response, category_tree["exits"])
    fire = row_for(response, category_tree["fire"])
    safety = row_for(response, category_tree["safety"])

    assert exits.inherited_role == "inspector"
    assert exits.inherited_accept == 30
    assert exits.inherited_basis == TimeBasis.CALENDAR
    assert fire.inherited_basis == TimeBasis.CALENDAR
    assert safety.inherited_resolve == 8 * 60
    assert "(" not in model_admin.effective_role(safety)
    assert str(TimeBasis.CALENDAR.label) in model_admin.effective_time_basis(exits)
    assert model_admin.effective_role(exits) != model_admin.effective_role(safety)


def test_category_default_when_nothing_set(world: World):
    response = world.staff.client().get(CATEGORIES)
    model_admin = response.context["cl"].model_admin

    row = row_for(response, world.category)

    assert row.inherited_accept is None
    assert model_admin.effective_accept(row).startswith("4")


@pytest.mark.parametrize("extra", [0, 20])
def test_category_list_query_count_constant(
    world: World, category_tree, extra, django_assert_num_queries
):
    for number in range(extra):
        Category.objects.create(
            code=f"sub{number}", name=f"子类{number}", parent=category_tree["fire"]
        )
    client = world.staff.client()

    # Session, user, two counts, one page with the inherited values.
    with django_assert_num_queries(5):
        response = client.get(CATEGORIES)
    assert response.status_code == 200


def test_category_urgent_choice_says_it_inherits(world: World):
    response = world.staff.client().get(
        reverse("admin:incidents_category_add"), HTTP_ACCEPT_LANGUAGE="en"
    )

    option = '<option value="unknown" selected>Same as the parent category</option>'
    assert option in response.content.decode()


def test_category_add_through_admin(world: World, category_tree):
    response = world.staff.client().post(
        reverse("admin:incidents_category_add"),
        {
            "code": "smoke",
            "name": "烟雾",
            "parent": category_tree["fire"].pk,
            "sort_order": 0,
            "is_active": "on",
            "is_public": "on",
            "role": "",
            "is_urgent": "unknown",
            "time_basis": "",
        },
    )

    assert response.status_code == 302
    smoke = Category.objects.get(code="smoke")
    assert smoke.parent == category_tree["fire"]
    assert smoke.is_urgent is None


# Notifications ----------------------------------------------------------------------


@pytest.fixture
def notices(world: World) -> list[Notification]:
    """An SMS to Chen, who has no e-mail, and an inbox row for Wang."""
    world.chen.user.delete()
    world.chen.member.refresh_from_db()
    incident = world.ticket(world.place_a, world.wang)
    incident_reassign(
        incident_id=incident.pk, assignee_id=world.chen.member.pk, actor=world.li.actor
    )
    return list(Notification.objects.all())


def test_notification_list_masks_phone(world: World, notices):
    sms = Notification.objects.get(channel=NotificationChannel.SMS)

    html = world.staff.client().get(NOTIFICATIONS).content.decode()

    assert sms.address not in html
    assert f"{sms.address[:3]}****{sms.address[7:]}" in html


def test_notification_detail_masks_phone(world: World, notices):
    sms = Notification.objects.get(channel=NotificationChannel.SMS)
    url = reverse("admin:incidents_notification_change", args=[sms.pk])

    response = world.staff.client().get(url)

    assert response.status_code == 200
    assert sms.address not in response.content.decode()


def test_notification_admin_read_only(world: World, notices):
    client = world.staff.client()
    notice = notices[0]
    change = reverse("admin:incidents_notification_change", args=[notice.pk])
    delete = reverse("admin:incidents_notification_delete", args=[notice.pk])

    assert client.get(reverse("admin:incidents_notification_add")).status_code == 403
    assert client.post(change, {"subject": "x"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=notice.pk).exists()


def test_notification_filter_delivery(world: World, notices):
    client = world.staff.client()

    pending = client.get(NOTIFICATIONS, {"delivery": "pending"}).context["cl"]
    sent = client.get(NOTIFICATIONS, {"delivery": "sent"}).context["cl"]

    assert {row.channel for row in pending.result_list} == {NotificationChannel.SMS}
    assert NotificationChannel.INBOX in {row.channel for row in sent.result_list}


@pytest.mark.parametrize("extra", [0, 10])
def test_notification_list_query_count_constant(
    world: World, notices, extra, django_assert_num_queries
):
    for _ in range(extra):
        world.ticket(world.place_a, world.wang)
    client = world.staff.client()

    # Session, user, two counts, one page with recipients and tickets.
    with django_assert_num_queries(5):
        client.get(NOTIFICATIONS)


def test_category_change_goes_through_actions(world: World, category_tree):
    fire = category_tree["fire"]
    url = reverse("admin:incidents_category_change", args=[fire.pk])
    data = {
        "code": "fire",
        "name": "消防安全",
        "parent": category_tree["safety"].pk,
        "sort_order": 0,
        "is_active": "on",
        "is_public": "on",
        "role": "",
        "is_urgent": "unknown",
        "accept_minutes": 600,
        "resolve_minutes": 60,
        "time_basis": "calendar",
    }

    response = world.staff.client().post(url, data)

    # category_update() rejects an accept deadline after the resolve deadline.
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    fire.refresh_from_db()
    assert fire.name == "消防"
    assert fire.accept_minutes is None


def test_category_delete_not_offered(world: World, category_tree):
    safety = category_tree["safety"]
    url = reverse("admin:incidents_category_delete", args=[safety.pk])

    assert world.staff.client().post(url, {"post": "yes"}).status_code == 403
    assert Category.objects.filter(pk=safety.pk).exists()
