"""The sweep: escalation up the grid tree, supervision, failures, query counts."""

import datetime
import logging
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import escalation
from incidents.escalation import RETRY_AFTER, sweep
from incidents.models import (
    Category,
    EventKind,
    Incident,
    IncidentEvent,
    Notification,
    NotificationChannel,
    State,
    TimeBasis,
)
from incidents.notifications import notify_for_events
from incidents.workflow import incident_accept
from tests.incidents.tickets import (
    ACCEPTED,
    DISPATCHED,
    SUBMITTED,
    Office,
    build_office,
)

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def office(db) -> Office:
    return build_office()


def _escalations(incident: Incident) -> list[tuple[int, str]]:
    return list(
        incident.events.filter(kind=EventKind.ESCALATED)
        .order_by("pk")
        .values_list("level", "to_state")
    )


def test_unaccepted_ticket_climbs_to_street_office(office):
    incident = office.ticket(DISPATCHED)
    assert incident.grid == office.micro

    first = sweep(now=incident.accept_deadline + MINUTE)
    incident.refresh_from_db()
    assert first.escalated == {1: 1}
    assert incident.escalation_level == 1
    assert incident.grid == office.general
    assert incident.assignee == office.zhou
    assert incident.state == State.DISPATCHED

    second = sweep(now=incident.accept_deadline + MINUTE)
    incident.refresh_from_db()
    assert second.escalated == {2: 1}
    assert incident.grid == office.total
    assert incident.assignee == office.wu

    third = sweep(now=incident.accept_deadline + MINUTE)
    incident.refresh_from_db()
    assert third.escalated == {3: 1}
    assert incident.state == State.SUBMITTED
    assert incident.needs_triage is True
    assert incident.assignee is None
    assert incident.accept_deadline is None
    assert _escalations(incident) == [
        (1, ""),
        (2, ""),
        (3, State.SUBMITTED),
    ]


def test_escalation_waits_for_each_new_deadline(office):
    incident = office.ticket(DISPATCHED)
    first_deadline = incident.accept_deadline

    assert sweep(now=first_deadline - MINUTE).escalated_total == 0
    sweep(now=first_deadline + MINUTE)
    incident.refresh_from_db()
    second_deadline = incident.accept_deadline
    assert second_deadline == first_deadline + MINUTE + datetime.timedelta(hours=1)

    assert sweep(now=second_deadline - MINUTE).escalated_total == 0
    incident.refresh_from_db()
    assert incident.escalation_level == 1
    assert sweep(now=second_deadline).escalated_total == 1


def test_second_sweep_right_after_escalates_nothing(office):
    incident = office.ticket(DISPATCHED)
    now = incident.accept_deadline + MINUTE

    first = sweep(now=now)
    second = sweep(now=now)

    assert first.escalated_total == 1
    assert second.escalated_total == 0
    assert len(_escalations(incident)) == 1


def test_accepted_ticket_is_not_escalated(office):
    incident = office.ticket(ACCEPTED)

    report = sweep(now=incident.accept_deadline + MINUTE)

    assert report.escalated_total == 0
    assert _escalations(incident) == []


def test_escalation_notifies_new_assignee_once(office):
    incident = office.ticket(DISPATCHED)
    now = incident.accept_deadline + MINUTE

    sweep(now=now)
    sweep(now=now)

    event = incident.events.get(kind=EventKind.ESCALATED)
    channels = sorted(
        Notification.objects.filter(
            event=event, recipient_user=office.zhou_user
        ).values_list("channel", flat=True)
    )
    assert channels == [NotificationChannel.EMAIL, NotificationChannel.INBOX]


def test_supervision_when_resolve_deadline_passes_once(office):
    incident = office.ticket(ACCEPTED)
    now = incident.resolve_deadline + MINUTE

    first = sweep(now=now)
    second = sweep(now=now + datetime.timedelta(hours=1))

    assert first.supervised == 1
    assert second.supervised == 0
    incident.refresh_from_db()
    assert incident.is_supervised is True
    assert incident.state == State.ACCEPTED
    assert incident.events.filter(kind=EventKind.SUPERVISED).count() == 1
    # The leader of the parent grid and the staff are notified.
    event = incident.events.get(kind=EventKind.SUPERVISED)
    recipients = set(
        Notification.objects.filter(
            event=event, channel=NotificationChannel.INBOX
        ).values_list("recipient_user__username", flat=True)
    )
    assert recipients == {"zhouqiang", "hejing"}


def test_supervision_waits_for_resolve_deadline(office):
    incident = office.ticket(ACCEPTED)

    report = sweep(now=incident.resolve_deadline - MINUTE)

    assert report.supervised == 0
    incident.refresh_from_db()
    assert incident.is_supervised is False


def test_failed_escalation_is_skipped_and_pushed_out(office, caplog):
    good = office.ticket(DISPATCHED)
    broken_category = Category.objects.create(
        code="test-broken",
        name="配置错误",
        role="mediator",
        accept_minutes=60,
        time_basis=TimeBasis.CALENDAR,
    )
    broken = office.ticket(DISPATCHED)
    Incident.objects.filter(pk=broken.pk).update(
        category=broken_category, accept_deadline=good.accept_deadline
    )
    # A deadline longer than a year cannot be computed, so the category is
    # set past the limit behind the actions' back.
    Category.objects.filter(pk=broken_category.pk).update(accept_minutes=10**7)
    now = good.accept_deadline + MINUTE

    with caplog.at_level(logging.ERROR, logger="incidents.escalation"):
        report = sweep(now=now)

    assert report.escalated_total == 1
    assert report.failed == [broken.pk]
    good.refresh_from_db()
    broken.refresh_from_db()
    assert good.escalation_level == 1
    assert broken.escalation_level == 0
    assert broken.assignee == office.liu
    assert broken.accept_deadline == now + RETRY_AFTER
    assert _escalations(broken) == []
    assert any(f"id={broken.pk}" in record.getMessage() for record in caplog.records)

    again = sweep(now=now)
    assert again.escalated_total == 0
    assert again.failed == []


# Query counts ---------------------------------------------------------------


def _overdue_tickets(office: Office, category: Category, count: int) -> None:
    """Write ``count`` tickets dispatched to the mediator, overdue for a day."""
    due = timezone.now() - datetime.timedelta(days=1)
    Incident.objects.bulk_create(
        Incident(
            category=category,
            description=f"测试工单 {number}",
            place=office.place,
            grid=office.micro,
            channel="form",
            state=State.DISPATCHED,
            assignee=office.liu,
            dispatched_at=due - datetime.timedelta(hours=1),
            accept_deadline=due,
            resolve_deadline=due + datetime.timedelta(days=30),
        )
        for number in range(count)
    )


def _sweep_queries(office: Office, count: int) -> list[str]:
    parent = Category.objects.create(
        code=f"test-parent-{count}",
        name="环境",
        role="mediator",
        accept_minutes=120,
        resolve_minutes=2400,
        time_basis=TimeBasis.WORKING,
    )
    child = Category.objects.create(
        code=f"test-child-{count}", name="垃圾堆放", parent=parent
    )
    _overdue_tickets(office, child, count)

    with CaptureQueriesContext(connection) as context:
        report = sweep(now=timezone.now())

    assert report.escalated_total == count
    return [query["sql"] for query in context.captured_queries]


def test_sweep_reads_same_for_10_and_200_tickets(office):
    few = _sweep_queries(office, 10)
    Incident.objects.all().delete()
    many = _sweep_queries(office, 200)

    def reads(queries: list[str]) -> int:
        return sum(1 for sql in queries if sql.lstrip().upper().startswith("SELECT"))

    assert reads(many) == reads(few)


@pytest.mark.postgres
def test_sweep_queries_same_for_10_and_200_tickets(office):
    # SQLite splits bulk writes into batches of 999 parameters, so only the
    # PostgreSQL run can compare every statement.
    few = _sweep_queries(office, 10)
    Incident.objects.all().delete()
    many = _sweep_queries(office, 200)

    assert len(many) == len(few)


# Notifications ---------------------------------------------------------------


def test_notify_twice_for_same_event_writes_once(office):
    incident = office.ticket(DISPATCHED)
    incident_dispatch_event = incident.events.get(kind=EventKind.DISPATCHED)
    Incident.objects.filter(pk=incident.pk).update(assignee=office.zhou)
    before = Notification.objects.filter(event=incident_dispatch_event).count()

    notify_for_events([incident_dispatch_event])
    notify_for_events([incident_dispatch_event])

    rows = Notification.objects.filter(event=incident_dispatch_event)
    per_recipient = Counter(
        (row.channel, row.recipient_user_id, row.address) for row in rows
    )
    assert rows.count() == before + 2  # Zhou's inbox and e-mail
    assert max(per_recipient.values()) == 1


def test_accept_writes_no_notification(office):
    incident = office.ticket(DISPATCHED)
    before = Notification.objects.count()

    incident_accept(incident_id=incident.pk, actor=office.mediator)

    assert Notification.objects.count() == before


# Concurrency (PostgreSQL) -----------------------------------------------------


def _run_in_threads(count: int, target) -> list:
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = target()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_escalate_each_ticket_once(monkeypatch, caplog):
    office = build_office()
    _overdue_tickets(office, office.noise, 60)
    ids = list(Incident.objects.values_list("pk", flat=True))
    now = timezone.now()

    # Both sweeps wait for each other after reading each batch, so that they
    # overlap however the threads are scheduled. Without row locks both would
    # read the same tickets.
    barrier = threading.Barrier(2, timeout=5)
    read_batch = escalation._locked_batch

    def locked_batch_then_wait(queryset, size):
        batch = read_batch(queryset, size)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return batch

    monkeypatch.setattr(escalation, "_locked_batch", locked_batch_then_wait)

    with caplog.at_level(logging.WARNING, logger="incidents.escalation"):
        reports = _run_in_threads(2, lambda: sweep(now=now))

    per_ticket_level = Counter(
        IncidentEvent.objects.filter(
            kind=EventKind.ESCALATED, incident_id__in=ids
        ).values_list("incident_id", "level")
    )
    assert sorted(per_ticket_level) == sorted((pk, 1) for pk in ids)
    assert set(per_ticket_level.values()) == {1}
    assert sum(report.escalated_total for report in reports) == len(ids)
    assert all(report.failed == [] for report in reports)
    assert set(Incident.objects.values_list("escalation_level", flat=True)) == {1}
    # Neither sweep ran into the other's rows and had to fall back.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_late_routing_failure_sends_ticket_to_triage(office, monkeypatch):
    from incidents import routing

    incident = office.ticket(SUBMITTED)

    def broken_decide(ticket):
        raise ValueError("broken category tree")

    monkeypatch.setattr(routing, "decide", broken_decide)
    report = sweep(now=timezone.now() + datetime.timedelta(hours=1))
    incident.refresh_from_db()

    assert report.failed == [incident.pk]
    assert incident.state == State.SUBMITTED
    assert incident.needs_triage is True
    second = sweep(now=timezone.now() + datetime.timedelta(hours=2))
    assert second.failed == []
