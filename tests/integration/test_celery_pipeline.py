"""End-to-end runs with a real Celery worker and beat on Redis and PostgreSQL."""

import datetime
import threading
import time

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from incidents.actors import Actor
from incidents.models import (
    Channel,
    EventKind,
    Incident,
    IncidentEvent,
    Notification,
    NotificationChannel,
    State,
)
from incidents.tasks import sweep_task
from incidents.workflow import incident_submit
from tests.integration.conftest import wait_until
from tests.integration.http_client import Client, submit_report
from tests.integration.scenario import build_scenario

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def submit(scenario, text: str = "楼上噪音") -> Incident:
    return incident_submit(
        category_id=scenario.category.pk,
        description=text,
        channel=Channel.PUBLIC_FORM,
        place_id=scenario.place.pk,
        actor=Actor.resident(),
    )


def state_of(incident_id: int) -> Incident:
    return Incident.objects.get(pk=incident_id)


def make_overdue(incident_id: int) -> None:
    Incident.objects.filter(pk=incident_id).update(
        accept_deadline=timezone.now() - datetime.timedelta(seconds=1)
    )


def test_unaccepted_ticket_climbs_to_street_office(processes):
    scenario = build_scenario()
    processes.worker()
    incident = submit(scenario)
    wait_until(
        lambda: state_of(incident.pk).assignee_id == scenario.mediator.pk, 30, "routing"
    )

    climb = [
        (1, scenario.general_leader.pk, State.DISPATCHED),
        (2, scenario.total_leader.pk, State.DISPATCHED),
        (3, None, State.SUBMITTED),
    ]
    for level, assignee_id, state in climb:
        make_overdue(incident.pk)
        wait_until(
            lambda level=level: state_of(incident.pk).escalation_level == level,
            30,
            f"escalation to level {level}",
        )
        current = state_of(incident.pk)
        assert current.assignee_id == assignee_id
        assert current.state == state

    assert state_of(incident.pk).needs_triage is True
    levels = list(
        IncidentEvent.objects.filter(incident=incident, kind=EventKind.ESCALATED)
        .order_by("level")
        .values_list("level", flat=True)
    )
    assert levels == [1, 2, 3]


def test_two_sweeps_at_once_escalate_once(processes):
    scenario = build_scenario()
    tickets = [submit(scenario, f"噪音 {number}") for number in range(60)]
    # Route in-process so that only the sweeps run in the workers.
    from incidents.routing import incident_route

    for ticket in tickets:
        incident_route(incident_id=ticket.pk)
    Incident.objects.filter(pk__in=[t.pk for t in tickets]).update(
        accept_deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    processes.worker("sweeper-a", beat=False)
    processes.worker("sweeper-b", beat=False)

    results = [sweep_task.delay(), sweep_task.delay()]
    assert len(results) == 2
    wait_until(
        lambda: IncidentEvent.objects.filter(kind=EventKind.ESCALATED).count() >= 60,
        60,
        "both sweeps",
    )
    wait_until(
        lambda: (
            "succeeded" in processes.log("sweeper-a")
            and "succeeded" in processes.log("sweeper-b")
        ),
        30,
        "both workers to finish a sweep",
    )

    per_ticket = (
        IncidentEvent.objects.filter(kind=EventKind.ESCALATED)
        .values("incident_id", "level")
        .annotate(times=Count("pk"))
    )
    assert len(per_ticket) == 60
    assert {row["times"] for row in per_ticket} == {1}
    assert {row["level"] for row in per_ticket} == {1}
    assert "IntegrityError" not in processes.log("sweeper-a")
    assert "IntegrityError" not in processes.log("sweeper-b")


def test_killed_worker_loses_no_ticket(processes):
    scenario = build_scenario()
    worker = processes.worker(beat=False)

    # Submit from several threads so that the worker is busy when it dies.
    ids: list[int] = []
    lock = threading.Lock()

    def submit_some(count: int) -> None:
        try:
            for number in range(count):
                incident = submit(scenario, f"噪音 {number}")
                with lock:
                    ids.append(incident.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_some, args=(15,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_until(
        lambda: Incident.objects.filter(state=State.DISPATCHED).exists(),
        30,
        "the first routed ticket",
    )
    processes.kill(worker)
    for thread in threads:
        thread.join(timeout=60)

    assert len(ids) == 30
    unrouted_after_kill = Incident.objects.filter(state=State.SUBMITTED).count()
    processes.worker("restarted")
    wait_until(
        lambda: not Incident.objects.filter(pk__in=ids, state=State.SUBMITTED).exists(),
        60,
        "every ticket to be routed after the restart",
    )
    assert Incident.objects.filter(pk__in=ids, state=State.DISPATCHED).count() == 30
    # The kill really interrupted work: some tickets were still waiting.
    assert unrouted_after_kill > 0


def test_http_report_routed_and_notified(processes):
    scenario = build_scenario()
    processes.worker()
    client = Client(processes.web())

    submit_report(
        client,
        category_id=scenario.category.pk,
        place_code=scenario.place.code,
        text="楼上每晚十二点后拖动家具",
    )

    incident = Incident.objects.get()
    assert incident.channel == Channel.QR_CODE
    wait_until(
        lambda: state_of(incident.pk).state == State.DISPATCHED,
        30,
        "routing by the worker",
    )
    assert state_of(incident.pk).assignee_id == scenario.mediator.pk
    wait_until(
        lambda: Notification.objects.filter(
            incident=incident,
            recipient_user=scenario.mediator.user,
            channel=NotificationChannel.INBOX,
        ).exists(),
        30,
        "the mediator's inbox notification",
    )


def test_redis_outage_loses_no_ticket(processes, redis_server):
    scenario = build_scenario()
    processes.broker_url = redis_server.url
    processes.worker()
    client = Client(processes.web())

    redis_server.stop()
    for number in range(5):
        submit_report(
            client,
            category_id=scenario.category.pk,
            place_code=scenario.place.code,
            text=f"断网期间的上报 {number}",
        )
    assert Incident.objects.filter(state=State.SUBMITTED).count() == 5
    redis_server.start()

    wait_until(
        lambda: Incident.objects.filter(state=State.DISPATCHED).count() == 5,
        90,
        "every ticket to be routed once Redis is back",
    )
    assert "routing not queued" in processes.log("web")


def _sessions_opened() -> int:
    """Return how many sessions PostgreSQL has opened on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def test_worker_keeps_its_database_connection(processes):
    scenario = build_scenario()
    processes.worker(beat=False)
    first = submit(scenario, "第一张")
    wait_until(lambda: state_of(first.pk).state == State.DISPATCHED, 30, "routing")
    # A backend reports its session to pg_stat_database when it exits or
    # after its transaction, at most once a second.
    time.sleep(1.5)
    before = _sessions_opened()

    tickets = [submit(scenario, f"噪音 {number}") for number in range(10)]
    wait_until(
        lambda: all(state_of(t.pk).state == State.DISPATCHED for t in tickets),
        30,
        "routing of 10 tickets",
    )

    # Celery's own default opens a connection for each task; ten tasks
    # would add ten sessions or more.
    time.sleep(1.5)
    assert _sessions_opened() - before <= 2
