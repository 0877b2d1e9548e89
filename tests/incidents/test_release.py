"""Open tickets of a member who is no longer active go back to routing.

Persona: Liu Yang (刘洋), the only mediator of micro grid 3-2, leaves her
post. Routing then passes her tickets up to Zhou Qiang (周强), leader of the
general grid above.
"""

import datetime

import pytest
from django.utils import timezone

from incidents.actors import Actor
from incidents.escalation import SweepReport, release_from_inactive, sweep
from incidents.models import EventKind, Incident, State
from incidents.workflow import TransitionError, incident_release
from members.actions import member_update
from tests.incidents.tickets import ACCEPTED, DISPATCHED, RESOLVED, build_office

# After the routing grace period, before the new accept deadline (60 minutes).
AFTER_GRACE = datetime.timedelta(minutes=5)


@pytest.fixture
def office(db):
    return build_office()


def test_sweep_reroutes_open_tickets_of_inactive_member(office):
    dispatched = office.ticket(DISPATCHED)
    accepted = office.ticket(ACCEPTED)
    resolved = office.ticket(RESOLVED)
    member_update(member_id=office.liu.pk, is_active=False)

    report = sweep(now=timezone.now() + AFTER_GRACE)

    assert report.released == 2
    for ticket in (dispatched, accepted):
        ticket.refresh_from_db()
        assert (ticket.state, ticket.assignee_id) == (State.DISPATCHED, office.zhou.pk)
        assert ticket.accepted_at is None
        released = ticket.events.get(kind=EventKind.RELEASED)
        assert released.is_public is False
        assert "刘洋" in released.note
    # A resolved ticket keeps the member who resolved it.
    resolved.refresh_from_db()
    assert (resolved.state, resolved.assignee_id) == (State.RESOLVED, office.liu.pk)


def test_second_sweep_releases_nothing(office):
    office.ticket(DISPATCHED)
    member_update(member_id=office.liu.pk, is_active=False)
    now = timezone.now() + AFTER_GRACE

    sweep(now=now)
    again = sweep(now=now)

    assert again.released == 0
    assert Incident.objects.get().events.filter(kind=EventKind.RELEASED).count() == 1


def test_tickets_of_active_member_stay(office):
    incident = office.ticket(DISPATCHED)

    report = sweep(now=timezone.now() + AFTER_GRACE)

    assert report.released == 0
    incident.refresh_from_db()
    assert incident.assignee_id == office.liu.pk


def test_release_of_reassigned_ticket_changes_nothing(office):
    incident = office.ticket(DISPATCHED)

    with pytest.raises(TransitionError) as caught:
        incident_release(
            incident_id=incident.pk,
            assignee_id=office.zhou.pk,
            actor=Actor.system(),
            reason="test",
        )

    assert "assignee" in caught.value.message_dict
    incident.refresh_from_db()
    assert (incident.state, incident.assignee_id) == (State.DISPATCHED, office.liu.pk)
    assert not incident.events.filter(kind=EventKind.RELEASED).exists()


def test_release_of_resolved_ticket_changes_nothing(office):
    incident = office.ticket(RESOLVED)

    with pytest.raises(TransitionError):
        incident_release(
            incident_id=incident.pk,
            assignee_id=office.liu.pk,
            actor=Actor.system(),
            reason="test",
        )

    incident.refresh_from_db()
    assert incident.state == State.RESOLVED


def test_sweep_with_only_releases_just_those_tickets(office):
    chosen = office.ticket(DISPATCHED)
    other = office.ticket(DISPATCHED)
    member_update(member_id=office.liu.pk, is_active=False)

    report = sweep(now=timezone.now() + AFTER_GRACE, only=[chosen.pk])

    assert report.released == 1
    other.refresh_from_db()
    assert other.assignee_id == office.liu.pk


def test_release_of_active_members_ticket_changes_nothing(office):
    incident = office.ticket(DISPATCHED)

    with pytest.raises(TransitionError) as caught:
        incident_release(
            incident_id=incident.pk,
            assignee_id=office.liu.pk,
            actor=Actor.system(),
            reason="test",
        )

    assert "assignee" in caught.value.message_dict
    incident.refresh_from_db()
    assert (incident.state, incident.assignee_id) == (State.DISPATCHED, office.liu.pk)


def test_release_without_inactive_members_costs_one_query(
    office, django_assert_num_queries
):
    office.ticket(DISPATCHED)
    office.ticket(ACCEPTED)
    report = SweepReport()

    # One query for the inactive members; no ticket is read when there are none.
    with django_assert_num_queries(1):
        release_from_inactive(timezone.now(), report)

    assert report.released == 0
