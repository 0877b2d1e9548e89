"""Who sees which ticket: the scope of incidents.access and the 404s it gives."""

import datetime
import io

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from incidents.access import (
    access_incident,
    can_reassign,
    inbox_incidents,
    reassign_choices,
    visible_incidents,
)
from incidents.models import Photo, State
from incidents.photos import prepare_photo
from incidents.workflow import incident_comment
from members.actions import assignment_update
from members.models import Assignment
from tests.incidents.personas import World, world_fixture  # noqa: F401


def jpeg_photo():
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(output, format="JPEG")
    output.seek(0)
    return prepare_photo(output)


@pytest.fixture
def tickets(world: World) -> dict:
    """A ticket for Wang under grid A, one unassigned under A, one under B."""
    return {
        "wang": world.ticket(world.place_a, world.wang),
        "unassigned": world.ticket(world.place_a),
        "other": world.ticket(world.place_b, world.zhao),
    }


def test_scope_member_sees_own_grid(world: World, tickets: dict):
    visible = set(visible_incidents(world.wang.user))

    assert tickets["wang"] in visible
    assert tickets["unassigned"] in visible
    assert tickets["other"] not in visible


def test_scope_leader_sees_subtree(world: World, tickets: dict):
    visible = set(visible_incidents(world.li.user))

    assert visible == {tickets["wang"], tickets["unassigned"]}


def test_scope_other_leader_sees_only_own_subtree(world: World, tickets: dict):
    visible = set(visible_incidents(world.zhao.user))

    assert visible == {tickets["other"]}


def test_scope_includes_assigned_outside_grid(world: World, tickets: dict):
    far = world.ticket(world.place_b, world.wang)

    assert far in set(visible_incidents(world.wang.user))
    assert far not in set(visible_incidents(world.li.user))


def test_scope_staff_sees_all(world: World, tickets: dict):
    assert set(visible_incidents(world.staff.user)) == set(tickets.values())


def test_scope_ended_assignment_sees_nothing(world: World, tickets: dict):
    today = timezone.localdate()
    assignment = Assignment.objects.get(member=world.zhao.member)
    assignment_update(
        assignment_id=assignment.pk,
        start_date=today - datetime.timedelta(days=30),
        end_date=today - datetime.timedelta(days=1),
    )

    assert list(visible_incidents(world.zhao.user)) == [tickets["other"]]
    assert list(inbox_incidents(world.zhao.user)) == [tickets["other"]]
    # Zhao keeps the ticket assigned to him, nothing else from grid B.
    unassigned_b = world.ticket(world.place_b)
    assert unassigned_b not in set(visible_incidents(world.zhao.user))


def test_scope_user_without_member_sees_nothing(
    world: World, tickets, django_user_model
):
    user = django_user_model.objects.create_user(username="visitor")

    assert list(visible_incidents(user)) == []


def test_scope_is_one_query(world: World, tickets: dict, django_assert_num_queries):
    user = world.li.user
    user.member  # noqa: B018 - load the linked member before counting

    with django_assert_num_queries(1):
        assert len(list(visible_incidents(user))) == 2


def test_access_incident_accepts_display_code(world: World, tickets: dict):
    incident = tickets["wang"]
    typed = incident.display_code.lower()

    assert access_incident(world.wang.user, typed) == incident
    assert access_incident(world.wang.user, incident.pk) == incident


def test_access_incident_hides_other_subtree(world: World, tickets: dict):
    with pytest.raises(Http404):
        access_incident(world.zhao.user, tickets["wang"].tracking_code)
    with pytest.raises(Http404):
        access_incident(world.zhao.user, tickets["wang"].pk)


def test_access_incident_same_404_for_missing(world: World, tickets: dict, client):
    zhao = world.zhao.client()
    hidden = zhao.get(reverse("mobile:ticket", args=[tickets["wang"].tracking_code]))
    missing = zhao.get(reverse("mobile:ticket", args=["ZZZZZZZZZZ"]))

    assert hidden.status_code == 404
    assert missing.status_code == 404
    assert hidden.content == missing.content


def test_reassign_only_leader_of_subtree(world: World, tickets: dict):
    assert can_reassign(world.li.user, tickets["wang"])
    assert can_reassign(world.staff.user, tickets["wang"])
    assert not can_reassign(world.wang.user, tickets["wang"])
    assert not can_reassign(world.zhao.user, tickets["wang"])


def test_reassign_choices_stay_in_subtree(world: World):
    members = {choice.member for choice in reassign_choices(world.li.user)}

    assert members == {world.wang.member, world.chen.member, world.li.member}
    assert list(reassign_choices(world.wang.user)) == []


class TestOtherSubtreeLeader:
    """Zhao Min leads general grid B and must learn nothing about grid A."""

    def test_ticket_page_404(self, world: World, tickets: dict):
        url = reverse("mobile:ticket", args=[tickets["wang"].tracking_code])

        assert world.zhao.client().get(url).status_code == 404

    def test_accept_post_404_changes_nothing(self, world: World, tickets: dict):
        incident = tickets["wang"]
        url = reverse("mobile:accept", args=[incident.tracking_code])

        response = world.zhao.client().post(url)

        assert response.status_code == 404
        incident.refresh_from_db()
        assert incident.state == State.DISPATCHED
        assert not incident.events.filter(kind="accepted").exists()

    def test_other_actions_404(self, world: World, tickets: dict):
        code = tickets["wang"].tracking_code
        zhao = world.zhao.client()
        posts = {
            "mobile:comment": {
                "comment-note": "看看",
                "comment-visibility": "internal",
            },
            "mobile:resolve": {"resolve-reply": "已修好"},
            "mobile:send_back": {"send_back-reason": "不是我们的"},
            "mobile:reassign": {"reassign-assignment": "1"},
        }
        for name, data in posts.items():
            response = zhao.post(reverse(name, args=[code]), data)
            assert response.status_code == 404, name
        assert tickets["wang"].events.count() == 2

    def test_photo_404(self, world: World, tickets: dict, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        incident = tickets["wang"]
        incident_comment(
            incident_id=incident.pk,
            actor=world.wang.actor,
            note="现场照片",
            is_public=False,
            photos=[jpeg_photo()],
        )
        photo = Photo.objects.get(incident=incident)
        url = reverse("mobile:photo", args=[incident.tracking_code, photo.pk])

        assert world.zhao.client().get(url).status_code == 404
        assert world.li.client().get(url).status_code == 200

    def test_inbox_empty(self, world: World):
        wang_ticket = world.ticket(world.place_a, world.wang)
        world.ticket(world.place_a)

        response = world.zhao.client().get(reverse("mobile:inbox"))

        assert response.status_code == 200
        assert list(response.context["page"]) == []
        assert wang_ticket.display_code not in response.content.decode()
        assert 'id="inbox-empty"' in response.content.decode()
