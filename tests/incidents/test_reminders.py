"""Reminders before accept and resolve deadlines."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from incidents.escalation import sweep
from incidents.models import Notification, NotificationChannel
from tests.incidents.tickets import ACCEPTED, DISPATCHED, Office, build_office
from westgarden.env import env_int_list

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def office(db, settings) -> Office:
    # Both offsets fall after dispatch for the 60-minute accept deadline.
    settings.WESTGARDEN_REMINDER_MINUTES = [40, 15]
    return build_office()


def reminder_keys() -> list[str]:
    return sorted(
        Notification.objects.filter(key__startswith="remind:").values_list(
            "key", flat=True
        )
    )


def test_reminder_once_per_offset(office):
    incident = office.ticket(DISPATCHED)
    deadline = incident.accept_deadline

    first = sweep(now=deadline - 30 * MINUTE)
    again = sweep(now=deadline - 29 * MINUTE)

    assert first.reminded == 1
    assert again.reminded == 0
    keys = reminder_keys()
    assert len(keys) == 1
    assert keys[0].startswith(f"remind:accept:40:{incident.pk}:")
    reminder = Notification.objects.get(key=keys[0])
    # Liu Yang has no login, so the reminder goes out by SMS.
    assert reminder.channel == NotificationChannel.SMS
    assert reminder.address == office.liu.phone
    assert incident.display_code in reminder.subject


def test_second_reminder_at_smaller_offset(office):
    incident = office.ticket(DISPATCHED)
    deadline = incident.accept_deadline

    sweep(now=deadline - 30 * MINUTE)
    later = sweep(now=deadline - 10 * MINUTE)

    assert later.reminded == 1
    assert [key.split(":")[2] for key in reminder_keys()] == ["15", "40"]


def test_accepted_ticket_reminded_of_resolve_only(office):
    incident = office.ticket(ACCEPTED)

    report = sweep(now=incident.resolve_deadline - 5 * MINUTE)

    assert report.reminded == 2
    assert all(key.startswith("remind:resolve:") for key in reminder_keys())


def test_no_reminder_due_before_dispatch(office, settings):
    # A 60-minute reminder for a 60-minute deadline would come with the
    # dispatch notice; only the 15-minute one goes.
    settings.WESTGARDEN_REMINDER_MINUTES = [60, 15]
    incident = office.ticket(DISPATCHED)
    deadline = incident.accept_deadline

    first = sweep(now=incident.dispatched_at + MINUTE)
    later = sweep(now=deadline - 10 * MINUTE)

    assert first.reminded == 0
    assert later.reminded == 1
    assert [key.split(":")[2] for key in reminder_keys()] == ["15"]


def test_no_reminder_outside_window(office):
    incident = office.ticket(DISPATCHED)

    report = sweep(now=incident.accept_deadline - 41 * MINUTE)

    assert report.reminded == 0
    assert reminder_keys() == []


@pytest.mark.parametrize("raw", ["60,abc", "0", "-5", "15;60"])
def test_reminder_setting_rejects_bad_value(monkeypatch, raw):
    monkeypatch.setenv("WESTGARDEN_REMINDER_MINUTES", raw)

    with pytest.raises(ImproperlyConfigured) as caught:
        env_int_list("WESTGARDEN_REMINDER_MINUTES", [60])
    assert repr(raw) in str(caught.value)
