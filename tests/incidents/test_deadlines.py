"""Recomputing open tickets' deadlines after categories or holidays change."""

import datetime
import logging
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from incidents.categories import effective_settings
from incidents.category_actions import category_create, category_update
from incidents.deadlines import (
    calendar_changed,
    recompute_deadlines,
    settings_by_category,
)
from incidents.escalation import sweep
from incidents.models import (
    CalendarDay,
    Category,
    EventKind,
    Incident,
    State,
    TimeBasis,
)
from incidents.tasks import recompute_deadlines_task
from tests.incidents.tickets import (
    ACCEPTED,
    CLOSED,
    DISPATCHED,
    SUBMITTED,
    Office,
    build_office,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# An ordinary Monday; with the default working hours (08:30-12:00,
# 13:30-17:30) a working day has 450 minutes.
MONDAY_0900 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
MONDAY_1100 = datetime.datetime(2026, 3, 2, 11, 0, tzinfo=SHANGHAI)
TUESDAY_0900 = datetime.datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
WEDNESDAY_0900 = datetime.datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI)
STALE = datetime.datetime(2030, 1, 1, tzinfo=SHANGHAI)


@pytest.fixture
def office(db) -> Office:
    return build_office()


@pytest.fixture
def repairs(db) -> Category:
    return category_create(
        code="test-repairs",
        name="楼道报修",
        role="mediator",
        accept_minutes=120,
        resolve_minutes=450,
        time_basis=TimeBasis.WORKING,
    )


def _stale_ticket(office: Office, category: Category, state: str) -> Incident:
    """Return a ticket in ``state``, dispatched Monday 09:00, with wrong deadlines."""
    incident = office.ticket(state)
    Incident.objects.filter(pk=incident.pk).update(
        category=category,
        dispatched_at=MONDAY_0900,
        accept_deadline=STALE,
        resolve_deadline=STALE,
    )
    return Incident.objects.get(pk=incident.pk)


def test_settings_by_category_matches_effective_settings(db):
    root = category_create(code="test-root", name="根", accept_minutes=300)
    middle = category_create(
        code="test-middle",
        name="中",
        parent_id=root.pk,
        role="inspector",
        time_basis=TimeBasis.CALENDAR,
        resolve_minutes=900,
    )
    leaf = category_create(
        code="test-leaf", name="叶", parent_id=middle.pk, is_urgent=True
    )
    category_create(code="test-other-leaf", name="叶二", parent_id=middle.pk)

    computed = settings_by_category()

    for category in Category.objects.all():
        assert computed[category.pk] == effective_settings(category), category.code
    assert computed[leaf.pk].role == "inspector"
    assert computed[leaf.pk].accept_minutes == 300
    assert computed[leaf.pk].is_urgent is True


def test_settings_by_category_reads_once(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        settings_by_category()


def test_recompute_dispatched_ticket_sets_both(office, repairs):
    incident = _stale_ticket(office, repairs, DISPATCHED)

    changed = recompute_deadlines([repairs.pk])

    incident.refresh_from_db()
    assert changed == 1
    assert incident.accept_deadline == MONDAY_1100
    assert incident.resolve_deadline == TUESDAY_0900


def test_recompute_accepted_ticket_keeps_accept_deadline(office, repairs):
    incident = _stale_ticket(office, repairs, ACCEPTED)

    recompute_deadlines([repairs.pk])

    incident.refresh_from_db()
    assert incident.accept_deadline == STALE
    assert incident.resolve_deadline == TUESDAY_0900


@pytest.mark.parametrize("state", [SUBMITTED, CLOSED])
def test_recompute_leaves_other_states_alone(office, repairs, state):
    incident = _stale_ticket(office, repairs, state)

    assert recompute_deadlines([repairs.pk]) == 0

    incident.refresh_from_db()
    assert incident.accept_deadline == STALE
    assert incident.resolve_deadline == STALE


def test_recompute_leaves_other_categories_alone(office, repairs):
    incident = _stale_ticket(office, office.noise, DISPATCHED)

    assert recompute_deadlines([repairs.pk]) == 0

    incident.refresh_from_db()
    assert incident.accept_deadline == STALE


def test_recompute_again_changes_nothing(office, repairs):
    incident = _stale_ticket(office, repairs, DISPATCHED)
    recompute_deadlines([repairs.pk])
    updated_at = Incident.objects.get(pk=incident.pk).updated_at

    assert recompute_deadlines([repairs.pk]) == 0
    assert Incident.objects.get(pk=incident.pk).updated_at == updated_at


def test_recompute_in_batches_reaches_every_ticket(office, repairs):
    tickets = [_stale_ticket(office, repairs, DISPATCHED) for _ in range(5)]

    changed = recompute_deadlines([repairs.pk], batch_size=2)

    assert changed == 5
    for incident in tickets:
        incident.refresh_from_db()
        assert incident.resolve_deadline == TUESDAY_0900


def test_recompute_queries_do_not_grow_with_tickets(office, repairs):
    def count_queries(tickets: int) -> int:
        Incident.objects.all().delete()
        for _ in range(tickets):
            _stale_ticket(office, repairs, DISPATCHED)
        with CaptureQueriesContext(connection) as context:
            assert recompute_deadlines([repairs.pk]) == tickets
        return len(context.captured_queries)

    assert count_queries(3) == count_queries(12)


def test_recompute_skips_ticket_it_cannot_compute(office, repairs, caplog):
    broken = category_create(code="test-broken", name="错误配置")
    good = _stale_ticket(office, repairs, DISPATCHED)
    bad = _stale_ticket(office, broken, DISPATCHED)
    # Past the limit of 366 days, written behind the actions' back.
    Category.objects.filter(pk=broken.pk).update(resolve_minutes=10**7)

    with caplog.at_level(logging.ERROR, logger="incidents.deadlines"):
        changed = recompute_deadlines([repairs.pk, broken.pk])

    assert changed == 1
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.resolve_deadline == TUESDAY_0900
    assert bad.resolve_deadline == STALE
    assert any(f"id={bad.pk}" in record.getMessage() for record in caplog.records)


def test_recompute_escalated_ticket_resolves_from_assignment(office):
    incident = office.ticket(DISPATCHED)
    dispatched = incident.events.get(kind=EventKind.DISPATCHED).created_at
    sweep(now=incident.accept_deadline + datetime.timedelta(minutes=5))
    escalated = Incident.objects.get(pk=incident.pk)
    assert escalated.escalation_level == 1

    recompute_deadlines([office.noise.pk])

    after = Incident.objects.get(pk=incident.pk)
    assert after.resolve_deadline == dispatched + datetime.timedelta(minutes=600)
    assert after.accept_deadline == escalated.dispatched_at + datetime.timedelta(
        minutes=60
    )


def test_category_update_recomputes_after_commit(
    office, repairs, django_capture_on_commit_callbacks
):
    incident = _stale_ticket(office, repairs, DISPATCHED)

    with django_capture_on_commit_callbacks(execute=True):
        category_update(category_id=repairs.pk, resolve_minutes=900)

    incident.refresh_from_db()
    assert incident.accept_deadline == MONDAY_1100
    assert incident.resolve_deadline == WEDNESDAY_0900


def test_category_update_rolled_back_recomputes_nothing(
    office, repairs, django_capture_on_commit_callbacks
):
    incident = _stale_ticket(office, repairs, DISPATCHED)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError) as caught:
            category_update(category_id=repairs.pk, resolve_minutes=-5)

    assert "resolve_minutes" in caught.value.message_dict
    assert callbacks == []
    incident.refresh_from_db()
    assert incident.resolve_deadline == STALE


def test_calendar_changed_moves_working_time_deadlines(
    office, repairs, django_capture_on_commit_callbacks
):
    working = _stale_ticket(office, repairs, DISPATCHED)
    recompute_deadlines([repairs.pk])
    calendar_ticket = _stale_ticket(office, office.noise, DISPATCHED)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            CalendarDay.objects.create(
                date=TUESDAY_0900.date(), is_workday=False, name="测试假日"
            )
            calendar_changed()

    assert len(callbacks) == 1
    working.refresh_from_db()
    calendar_ticket.refresh_from_db()
    assert working.accept_deadline == MONDAY_1100
    assert working.resolve_deadline == WEDNESDAY_0900
    assert calendar_ticket.resolve_deadline == STALE


def test_recompute_task_recomputes_given_categories(office, repairs):
    incident = _stale_ticket(office, repairs, DISPATCHED)

    result = recompute_deadlines_task.delay([repairs.pk])

    assert result.get() == 1
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHED
    assert incident.resolve_deadline == TUESDAY_0900


def test_calendar_admin_save_queues_recompute(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/incidents/calendarday/add/",
            {"date": "2026-12-07", "is_workday": "", "name": "临时放假"},
        )

    assert response.status_code == 302
    assert len(callbacks) == 1
