"""The mobile inbox: what each persona sees, filters, order, pages and query counts."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, State
from incidents.workflow import incident_accept
from tests.incidents.personas import World, world_fixture  # noqa: F401

INBOX = reverse("mobile:inbox")


def codes(response) -> list[str]:
    return [incident.tracking_code for incident in response.context["page"]]


def make_overdue(incident: Incident) -> None:
    """Move the ticket's deadlines into the past, as time passing would."""
    past = timezone.now() - datetime.timedelta(hours=1)
    Incident.objects.filter(pk=incident.pk).update(
        accept_deadline=past, resolve_deadline=past + datetime.timedelta(minutes=30)
    )


def test_inbox_requires_login(client):
    response = client.get(INBOX)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_inbox_member_sees_assigned_only(world: World):
    mine = world.ticket(world.place_a, world.wang)
    world.ticket(world.place_a, world.chen)
    world.ticket(world.place_a)

    response = world.wang.client().get(INBOX)

    assert codes(response) == [mine.tracking_code]


def test_inbox_leader_sees_open_subtree(world: World):
    wang_ticket = world.ticket(world.place_a, world.wang)
    unrouted = world.ticket(world.place_a)
    world.ticket(world.place_b, world.zhao)

    response = world.li.client().get(INBOX)

    assert codes(response) == [unrouted.tracking_code, wang_ticket.tracking_code]


def test_inbox_leader_skips_closed_subtree_tickets(world: World):
    ticket = world.ticket(world.place_a, world.wang)
    Incident.objects.filter(pk=ticket.pk).update(state=State.CLOSED)

    assert codes(world.li.client().get(INBOX)) == []
    assert codes(world.wang.client().get(INBOX)) == [ticket.tracking_code]


def test_inbox_newest_first(world: World):
    tickets = [world.ticket(world.place_a, world.wang) for _ in range(3)]
    base = timezone.now() - datetime.timedelta(days=1)
    for hours, incident in zip([5, 1, 3], tickets, strict=True):
        Incident.objects.filter(pk=incident.pk).update(
            created_at=base + datetime.timedelta(hours=hours)
        )

    response = world.wang.client().get(INBOX)

    assert codes(response) == [
        tickets[0].tracking_code,
        tickets[2].tracking_code,
        tickets[1].tracking_code,
    ]


def test_inbox_filter_by_state(world: World):
    waiting = world.ticket(world.place_a, world.wang)
    accepted = world.ticket(world.place_a, world.wang)
    incident_accept(incident_id=accepted.pk, actor=world.wang.actor)
    client = world.wang.client()

    assert codes(client.get(INBOX, {"state": "accepted"})) == [accepted.tracking_code]
    assert codes(client.get(INBOX, {"state": "dispatched"})) == [waiting.tracking_code]
    assert len(codes(client.get(INBOX, {"state": "open"}))) == 2


def test_inbox_filter_overdue(world: World):
    late = world.ticket(world.place_a, world.wang)
    world.ticket(world.place_a, world.wang)
    make_overdue(late)

    response = world.wang.client().get(INBOX, {"overdue": "on"})

    assert codes(response) == [late.tracking_code]
    assert "badge overdue" in response.content.decode()


def test_inbox_overdue_ignores_accept_deadline_once_accepted(world: World):
    ticket = world.ticket(world.place_a, world.wang)
    incident_accept(incident_id=ticket.pk, actor=world.wang.actor)
    past = timezone.now() - datetime.timedelta(hours=1)
    Incident.objects.filter(pk=ticket.pk).update(accept_deadline=past)

    response = world.wang.client().get(INBOX, {"overdue": "on"})

    assert codes(response) == []


def test_inbox_bad_filter_shows_everything(world: World):
    ticket = world.ticket(world.place_a, world.wang)

    response = world.wang.client().get(INBOX, {"state": "nonsense"})

    assert response.status_code == 200
    assert codes(response) == [ticket.tracking_code]


def test_inbox_row_shows_fields_not_reporter(world: World):
    ticket = world.ticket(
        world.place_a,
        world.wang,
        reporter_name="刘先生",
        reporter_phone="13812345678",
        hide_name=False,
    )

    html = world.wang.client().get(INBOX).content.decode()

    assert ticket.display_code in html
    assert world.category.name in html
    assert world.place_a.name in html
    assert "已派遣" in html or "dispatched" in html
    assert "刘先生" not in html
    assert "13812345678" not in html
    assert "5678" not in html


def test_inbox_paginates(world: World):
    for _ in range(25):
        world.ticket(world.place_a, world.wang)
    client = world.wang.client()

    first = client.get(INBOX)
    second = client.get(INBOX, {"page": 2})

    assert len(codes(first)) == 20
    assert len(codes(second)) == 5
    assert set(codes(first)).isdisjoint(codes(second))
    assert "page=2" in first.content.decode()


@pytest.mark.parametrize("count", [3, 30])
def test_inbox_query_count_constant(world: World, count, django_assert_num_queries):
    for _ in range(count):
        world.ticket(world.place_a, world.wang)
    client = world.li.client()

    # Session, user, member, count, page of tickets with category/place/grid.
    with django_assert_num_queries(5):
        response = client.get(INBOX)
    assert len(codes(response)) == min(count, 20)
