"""Notifications to the people an escalation or a duplicate concerns."""

import datetime

from incidents.escalation import sweep
from incidents.models import Notification, NotificationChannel
from incidents.workflow import incident_mark_duplicate
from tests.incidents.tickets import DISPATCHED, build_office

MINUTE = datetime.timedelta(minutes=1)


def test_escalation_tells_previous_assignee(db):
    office = build_office()
    incident = office.ticket(DISPATCHED)

    sweep(now=incident.accept_deadline + MINUTE)

    told = Notification.objects.filter(key__contains=":previous:")
    # Liu Yang, who let the deadline pass, has no login: the notice goes by SMS.
    assert [(row.channel, row.address) for row in told] == [
        (NotificationChannel.SMS, office.liu.phone)
    ]
    assert Notification.objects.filter(
        recipient_user=office.zhou_user, channel=NotificationChannel.INBOX
    ).exists()


def test_duplicate_tells_reporter_own_code_only(db):
    office = build_office()
    original = office.submit()
    duplicate = office.submit(reporter_email="resident@example.com")

    incident_mark_duplicate(
        incident_id=duplicate.pk, original_id=original.pk, actor=office.staff
    )

    mail = Notification.objects.get(
        incident=duplicate, channel=NotificationChannel.EMAIL
    )
    assert mail.address == "resident@example.com"
    assert duplicate.display_code in mail.subject
    assert duplicate.display_code in mail.body
    # A holder of the original's code could rate or reopen it.
    assert original.display_code not in mail.subject + mail.body
