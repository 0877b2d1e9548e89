"""How a ticket event reads where the admin shows it as a whole row or value."""

import datetime

from django.urls import reverse
from django.utils import translation

from incidents.models import (
    EventKind,
    IncidentEvent,
    Notification,
    Rating,
    RatingValue,
)
from tests.incidents.personas import World, world_fixture  # noqa: F401

# 06:30 UTC is 14:30 in Asia/Shanghai, the project's TIME_ZONE.
MOMENT = datetime.datetime(2026, 3, 5, 6, 30, tzinfo=datetime.UTC)


def submitted_event(world: World) -> IncidentEvent:
    incident = world.ticket()
    event = incident.events.get(kind=EventKind.SUBMITTED)
    # save() rejects changes to history, so the test moves the time in SQL.
    IncidentEvent.objects.filter(pk=event.pk).update(created_at=MOMENT)
    event.refresh_from_db()
    return event


def test_event_str_english_label_and_local_time(world: World):
    event = submitted_event(world)

    with translation.override("en"):
        text = str(event)

    assert text == "submitted at 03/05/2026 2:30 p.m."


def test_event_str_chinese_label_and_local_time(world: World):
    event = submitted_event(world)

    with translation.override("zh-hans"):
        text = str(event)

    assert text.startswith("已上报")
    assert "2026年3月5日 14:30" in text


def test_unsaved_event_str_is_label():
    event = IncidentEvent(kind=EventKind.NOTE)

    with translation.override("en"):
        assert str(event) == "internal note"


def test_history_inline_rows_read_as_labels(world: World):
    incident = world.ticket(world.place_a, world.wang)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])

    response = world.staff.client().get(url, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert "submitted at " in html
    assert "dispatched at " in html
    assert f"{incident.pk} submitted" not in html


def test_notification_page_event_reads_as_label(world: World):
    world.ticket(world.place_a, world.wang)
    notification = Notification.objects.exclude(event=None).first()
    url = reverse("admin:incidents_notification_change", args=[notification.pk])

    response = world.staff.client().get(url, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert notification.event.kind == EventKind.DISPATCHED
    assert response.status_code == 200
    assert "dispatched at " in html
    assert f"{notification.incident_id} dispatched" not in html


def test_rating_str_reads_as_value_and_round():
    rating = Rating(value=RatingValue.DISSATISFIED, round=2)

    with translation.override("en"):
        assert str(rating) == "dissatisfied, round 2"
