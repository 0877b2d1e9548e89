"""Delivery of e-mail and SMS notices: when they go, retries, and withdrawal.

Persona: Liu Yang (刘洋), mediator of micro grid 3-2, has no login, so her
notices go by SMS; Zhou Qiang (周强), leader of the general grid above, has a
login with an e-mail address.
"""

import datetime
import logging

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from incidents import notifications
from incidents.escalation import sweep
from incidents.models import Notification, NotificationChannel
from incidents.notifications import deliver_due
from incidents.reminders import remind_upcoming
from incidents.workflow import incident_reassign
from tests.incidents.tickets import DISPATCHED, build_office

# Later than any notice held back for working hours.
LATER = datetime.timedelta(days=4)
MINUTE = datetime.timedelta(minutes=1)


class FailingSmsBackend:
    def send(self, phone: str, text: str) -> None:
        raise ConnectionError("gateway down")


def _pending(**filters) -> list[Notification]:
    return list(
        Notification.objects.filter(sent_at__isnull=True, **filters).exclude(
            channel=NotificationChannel.INBOX
        )
    )


@pytest.fixture
def office(db):
    return build_office()


def test_due_notices_go_out_once(office):
    incident = office.ticket(DISPATCHED)
    incident_reassign(
        incident_id=incident.pk, assignee_id=office.zhou.pk, actor=office.staff
    )
    now = timezone.now() + LATER

    first = deliver_due(now)
    second = deliver_due(now)

    # Zhou's e-mail about the reassignment; Liu's SMS is withdrawn (below).
    assert first == 1
    assert second == 0
    assert [message.to for message in mail.outbox] == [["zhou@example.com"]]
    assert _pending() == []


def test_notice_waits_until_due(office, caplog):
    incident = office.ticket(DISPATCHED)
    sms = Notification.objects.get(incident=incident, channel=NotificationChannel.SMS)

    assert deliver_due(sms.due_at - MINUTE) == 0
    with caplog.at_level(logging.INFO, logger="incidents.sms"):
        assert deliver_due(sms.due_at) == 1

    sms.refresh_from_db()
    assert sms.sent_at == sms.due_at
    # The logging backend masks the number.
    assert f"sms to={office.liu.phone[:3]}****" in caplog.text
    assert office.liu.phone not in caplog.text


@override_settings(
    WESTGARDEN_SMS_BACKEND="tests.incidents.test_delivery.FailingSmsBackend"
)
def test_refused_sms_is_tried_again_later(office):
    incident = office.ticket(DISPATCHED)
    now = timezone.now() + LATER

    assert deliver_due(now) == 0

    sms = Notification.objects.get(incident=incident, channel=NotificationChannel.SMS)
    assert sms.sent_at is None
    assert sms.attempts == 1
    assert sms.last_error == "ConnectionError"
    assert sms.due_at == now + datetime.timedelta(minutes=5)
    # Not before its new time.
    assert deliver_due(now + MINUTE) == 0
    assert Notification.objects.get(pk=sms.pk).attempts == 1


def test_reassigned_ticket_withdraws_notice_to_former_assignee(office, caplog):
    incident = office.ticket(DISPATCHED)
    liu_sms = Notification.objects.get(
        incident=incident, channel=NotificationChannel.SMS, address=office.liu.phone
    )
    assert liu_sms.for_assignee_id == office.liu.pk

    incident_reassign(
        incident_id=incident.pk, assignee_id=office.zhou.pk, actor=office.staff
    )
    with caplog.at_level(logging.INFO, logger="incidents.sms"):
        sent = deliver_due(timezone.now() + LATER)

    assert sent == 1
    assert not Notification.objects.filter(pk=liu_sms.pk).exists()
    # No SMS reached Liu; Zhou has his e-mail and his inbox row.
    assert "sms to=" not in caplog.text
    assert [message.to for message in mail.outbox] == [["zhou@example.com"]]
    assert Notification.objects.filter(
        incident=incident,
        recipient_user=office.zhou_user,
        channel=NotificationChannel.INBOX,
    ).exists()


def test_notice_sent_when_ticket_returns(office):
    incident = office.ticket(DISPATCHED)
    incident_reassign(
        incident_id=incident.pk, assignee_id=office.zhou.pk, actor=office.staff
    )
    incident_reassign(
        incident_id=incident.pk, assignee_id=office.liu.pk, actor=office.staff
    )

    deliver_due(timezone.now() + LATER)

    # Liu is the assignee again, so her SMS about each hand-over to her goes out.
    assert _pending() == []
    assert (
        Notification.objects.filter(
            incident=incident, address=office.liu.phone, sent_at__isnull=False
        ).count()
        == 2
    )


def test_reminder_to_former_assignee_is_withdrawn(office):
    incident = office.ticket(DISPATCHED)
    remind_upcoming(incident.accept_deadline - MINUTE)
    reminders = Notification.objects.filter(key__startswith="remind:accept:")
    assert {row.for_assignee_id for row in reminders.all()} == {office.liu.pk}

    incident_reassign(
        incident_id=incident.pk, assignee_id=office.zhou.pk, actor=office.staff
    )
    deliver_due(timezone.now() + LATER)

    assert not reminders.all().exists()


def test_escalation_withdraws_old_notice_but_tells_previous_assignee(office):
    incident = office.ticket(DISPATCHED)
    dispatched_sms = Notification.objects.get(
        incident=incident, channel=NotificationChannel.SMS
    )

    sweep(now=incident.accept_deadline + MINUTE)
    deliver_due(timezone.now() + LATER)

    assert not Notification.objects.filter(pk=dispatched_sms.pk).exists()
    previous = Notification.objects.get(key__contains=":previous:")
    assert previous.address == office.liu.phone
    assert previous.sent_at is not None


def test_reassignment_during_delivery_stops_later_notice(office, monkeypatch):
    first = office.ticket(DISPATCHED)
    second = office.ticket(DISPATCHED)
    sent_to: list[tuple[int, str]] = []
    send = notifications._send

    def slow_gateway(notification: Notification) -> None:
        # Staff reassign the second ticket while the first SMS is on its way.
        sent_to.append((notification.incident_id, notification.address))
        if notification.incident_id == first.pk:
            incident_reassign(
                incident_id=second.pk, assignee_id=office.zhou.pk, actor=office.staff
            )
        send(notification)

    monkeypatch.setattr(notifications, "_send", slow_gateway)
    deliver_due(timezone.now() + LATER)

    assert (first.pk, office.liu.phone) in sent_to
    assert (second.pk, office.liu.phone) not in sent_to
