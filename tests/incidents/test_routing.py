"""Routing: which member a new ticket goes to, and the reason in its history."""

import datetime

import pytest

from grids.models import GridKind
from incidents.actors import Actor
from incidents.models import Category, Channel, EventKind, Incident, State
from incidents.routing import decide, incident_route
from incidents.workflow import incident_submit
from members.models import Position, RoleCode
from tests.factories import (
    make_assignment,
    make_grid,
    make_member,
    make_place,
    make_tree,
)
from tests.incidents.tickets import Office, build_office


@pytest.fixture
def office(db) -> Office:
    return build_office()


def _give_open_tickets(office: Office, member, count: int, state=State.DISPATCHED):
    for _ in range(count):
        incident = office.submit()
        Incident.objects.filter(pk=incident.pk).update(state=state, assignee=member)


def _routed_event(incident: Incident):
    return incident.events.get(kind=EventKind.ROUTED)


def test_route_picks_role_holder_with_fewest_open_tickets(office):
    busy = office.liu
    idle = make_member(name="林静")
    make_assignment(idle, office.micro, roles=["mediator"])
    _give_open_tickets(office, busy, 2)
    _give_open_tickets(office, idle, 1)
    incident = office.submit()

    routed = incident_route(incident_id=incident.pk)

    assert routed.state == State.DISPATCHED
    assert routed.assignee == idle
    assert routed.grid == office.micro


def test_route_ignores_finished_tickets_in_load(office):
    other = make_member(name="林静")
    make_assignment(other, office.micro, roles=["mediator"])
    _give_open_tickets(office, office.liu, 3, state=State.CLOSED)
    _give_open_tickets(office, other, 1)
    incident = office.submit()

    routed = incident_route(incident_id=incident.pk)

    assert routed.assignee == office.liu


def test_route_skips_inactive_and_ended_role_holders(office):
    office.liu.is_active = False
    office.liu.save()
    former = make_member(name="林静")
    make_assignment(
        former,
        office.micro,
        roles=["mediator"],
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2021, 1, 1),
    )
    leader = make_member(name="郑伟")
    make_assignment(leader, office.micro, position=Position.LEADER)
    incident = office.submit()

    routed = incident_route(incident_id=incident.pk)

    assert routed.assignee == leader


def test_route_without_role_holder_goes_to_grid_leader(office):
    category = Category.objects.create(
        code="test-hazard", name="消防通道堵塞", role="inspector"
    )
    leader = make_member(name="郑伟")
    make_assignment(leader, office.micro, position=Position.LEADER)
    incident = office.submit(category_id=category.pk)

    routed = incident_route(incident_id=incident.pk)

    assert routed.assignee == leader
    assert routed.grid == office.micro
    note = _routed_event(routed).note
    assert office.micro.name in note
    assert leader.name in note
    assert str(RoleCode.INSPECTOR.label) in note


def test_route_empty_grid_goes_to_parent_leader(office):
    lonely = make_grid(GridKind.MICRO, office.general, name="3-9 微网格")
    place = make_place(lonely, name="99 栋")
    incident = office.submit(place_id=place.pk)

    routed = incident_route(incident_id=incident.pk)

    assert routed.assignee == office.zhou
    assert routed.grid == office.general
    note = _routed_event(routed).note
    assert lonely.name in note
    assert office.general.name in note
    assert office.zhou.name in note


def test_route_reason_names_grid_role_and_member(office):
    incident = office.submit()

    routed = incident_route(incident_id=incident.pk)

    event = _routed_event(routed)
    assert event.is_public is False
    assert office.micro.name in event.note
    assert str(RoleCode.MEDIATOR.label) in event.note
    assert office.liu.name in event.note
    assert office.noise.name in event.note
    dispatched = routed.events.get(kind=EventKind.DISPATCHED)
    assert office.liu.name not in dispatched.note


def test_route_category_role_inherited_from_parent(office):
    parent = Category.objects.create(code="test-dispute", name="纠纷", role="mediator")
    child = Category.objects.create(code="test-parking", name="车位纠纷", parent=parent)
    incident = office.submit(category_id=child.pk)

    routed = incident_route(incident_id=incident.pk)

    assert routed.assignee == office.liu


def test_route_nobody_anywhere_sends_to_triage(db):
    tree = make_tree()
    place = make_place(tree["micro"])
    category = Category.objects.create(code="test-noise", name="噪音", role="mediator")
    incident = incident_submit(
        category_id=category.pk,
        description="深夜广场舞",
        channel=Channel.PUBLIC_FORM,
        place_id=place.pk,
        actor=Actor.resident(),
    )

    routed = incident_route(incident_id=incident.pk)

    assert routed.state == State.SUBMITTED
    assert routed.needs_triage is True
    assert routed.assignee is None
    event = _routed_event(routed)
    assert event.is_public is False
    for grid in ("micro", "general", "total"):
        assert tree[grid].name in event.note


def test_route_without_place_or_grid_sends_to_triage(office):
    incident = office.submit(place_id=None)

    routed = incident_route(incident_id=incident.pk)

    assert routed.needs_triage is True
    assert _routed_event(routed).note


def test_route_twice_changes_nothing(office):
    incident = office.submit()
    first = incident_route(incident_id=incident.pk)
    events = first.events.count()

    second = incident_route(incident_id=incident.pk)

    assert second is None
    after = Incident.objects.get(pk=incident.pk)
    assert after.assignee == office.liu
    assert after.updated_at == first.updated_at
    assert after.events.count() == events


def test_route_leaves_triaged_ticket_to_staff(office):
    incident = office.submit()
    incident_route(incident_id=incident.pk)  # dispatches
    Incident.objects.filter(pk=incident.pk).update(
        state=State.SUBMITTED, needs_triage=True, assignee=None
    )

    assert incident_route(incident_id=incident.pk) is None
    assert Incident.objects.get(pk=incident.pk).needs_triage is True


def test_decide_writes_nothing(office, django_assert_max_num_queries):
    incident = Incident.objects.select_related("category", "place__grid", "grid").get(
        pk=office.submit().pk
    )
    updated_at = incident.updated_at

    with django_assert_max_num_queries(10):
        decision = decide(incident)

    assert decision.member == office.liu
    after = Incident.objects.get(pk=incident.pk)
    assert after.updated_at == updated_at
    assert after.events.count() == 1


def test_route_query_count_constant(office, django_assert_num_queries):
    # Five more members serve in the micro grid, each with open tickets.
    for number in range(5):
        member = make_member(name=f"成员{number}")
        make_assignment(member, office.micro, roles=["mediator"])
        _give_open_tickets(office, member, 2)
    incident = office.submit()

    # Lock with the category chain, grid chain with candidates, calendar,
    # UPDATE, the two events in one INSERT, the notification INSERT; two
    # savepoint statements, because the test runs inside a transaction.
    with django_assert_num_queries(8):
        routed = incident_route(incident_id=incident.pk)

    assert routed.state == State.DISPATCHED
    assert routed.assignee == office.liu


def test_route_task_goes_to_routing_queue():
    from westgarden.celery import app

    route = app.amqp.router.route({}, "incidents.tasks.route_incident_task")
    assert route["queue"].name == "routing"
    other = app.amqp.router.route({}, "incidents.tasks.sweep_task")
    assert other["queue"].name == "celery"
