"""The mobile ticket page and every action on it, each through a POST."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from incidents.models import EventKind, Incident, Photo, State
from incidents.workflow import incident_accept, incident_comment
from members.models import Assignment
from tests.incidents.personas import World, world_fixture  # noqa: F401


def url(name: str, incident: Incident) -> str:
    return reverse(f"mobile:{name}", args=[incident.tracking_code])


def upload(name: str = "scene.jpg", fmt: str = "JPEG") -> SimpleUploadedFile:
    output = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(output, format=fmt)
    return SimpleUploadedFile(name, output.getvalue(), content_type="image/jpeg")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def assigned(world: World) -> Incident:
    """A ticket dispatched to Wang Fang, with the reporter's contact details."""
    return world.ticket(
        world.place_a,
        world.wang,
        reporter_name="刘先生",
        reporter_phone="13812345678",
    )


def history(incident: Incident) -> list[str]:
    return list(incident.events.values_list("kind", flat=True))


# Page ------------------------------------------------------------------------


def test_ticket_page_shows_details(world: World, assigned: Incident):
    response = world.wang.client().get(url("ticket", assigned))

    html = response.content.decode()
    assert response.status_code == 200
    assert assigned.display_code in html
    assert assigned.description in html
    assert world.place_a.name in html
    assert 'id="form-accept"' in html


def test_ticket_page_code_in_any_spelling(world: World, assigned: Incident):
    typed = assigned.display_code.lower()

    response = world.wang.client().get(reverse("mobile:ticket", args=[typed]))

    assert response.status_code == 200


def test_ticket_page_hides_name_masks_phone(world: World, assigned: Incident):
    html = world.wang.client().get(url("ticket", assigned)).content.decode()

    assert "刘先生" not in html
    assert "13812345678" not in html
    assert "138****5678" in html


def test_ticket_page_shows_name_when_allowed(world: World):
    incident = world.ticket(
        world.place_a,
        world.wang,
        reporter_name="刘先生",
        reporter_phone="13812345678",
        hide_name=False,
    )

    html = world.wang.client().get(url("ticket", incident)).content.decode()

    # The report form promises that grid members never see the phone number.
    assert "刘先生" in html
    assert "13812345678" not in html
    assert "138****5678" in html


def test_ticket_page_unnamed_reporter_dash(world: World):
    incident = world.ticket(world.place_a, world.wang, description="楼道灯\n坏了三天")

    html = (
        world.wang.client()
        .get(url("ticket", incident), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )

    assert 'id="ticket-reporter">—' in html
    assert "name hidden" not in html
    # The subject was made from the description, so it is not shown twice.
    assert "<h2>楼道灯 坏了三天</h2>" not in html
    assert incident.subject_repeats_description


def test_ticket_page_shows_typed_subject(world: World):
    incident = world.ticket(world.place_a, world.wang)
    Incident.objects.filter(pk=incident.pk).update(subject="楼道照明")

    html = world.wang.client().get(url("ticket", incident)).content.decode()

    assert "<h2>楼道照明</h2>" in html


def test_ticket_page_shows_internal_notes(world: World, assigned: Incident):
    incident_comment(
        incident_id=assigned.pk,
        actor=world.li.actor,
        note="注意：住户情绪激动",
        is_public=False,
    )

    html = world.wang.client().get(url("ticket", assigned)).content.decode()

    assert "注意：住户情绪激动" in html
    assert "李强" in html


def test_ticket_page_actions_follow_role(world: World, assigned: Incident):
    wang = world.wang.client().get(url("ticket", assigned)).context
    li = world.li.client().get(url("ticket", assigned)).context
    chen = world.chen.client().get(url("ticket", assigned)).context

    assert wang["can_accept"]
    assert not wang["can_reassign"]
    assert li["can_reassign"]
    assert not li["can_accept"]
    assert not chen["can_accept"]
    assert not chen["can_reassign"]


@pytest.mark.parametrize("events", [0, 10])
def test_ticket_page_query_count_constant(
    world: World, assigned: Incident, events, django_assert_num_queries
):
    for number in range(events):
        incident_comment(
            incident_id=assigned.pk,
            actor=world.wang.actor,
            note=f"第{number}次走访",
            is_public=bool(number % 2),
        )
    client = world.li.client()

    # Session, user, member, ticket, events, their photos, loose photos,
    # leader check, hand-over choices, ratings.
    with django_assert_num_queries(10):
        client.get(url("ticket", assigned))


# Accept ----------------------------------------------------------------------


def test_accept_by_assignee(world: World, assigned: Incident):
    response = world.wang.client().post(url("accept", assigned))

    assert response.status_code == 302
    assert response.url == url("ticket", assigned)
    assigned.refresh_from_db()
    assert assigned.state == State.ACCEPTED
    assert history(assigned)[-1] == EventKind.ACCEPTED


def test_accept_by_other_member_rejected(world: World, assigned: Incident):
    response = world.chen.client().post(url("accept", assigned))

    assert response.status_code == 200
    errors = response.context["forms"]["accept"].non_field_errors()
    assert len(errors) == 1
    assert assigned.display_code in errors[0]
    assert errors[0] in response.content.decode()
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED
    assert history(assigned) == [EventKind.SUBMITTED, EventKind.DISPATCHED]


def test_accept_by_leader_rejected(world: World, assigned: Incident):
    response = world.li.client().post(url("accept", assigned))

    assert response.status_code == 200
    assert response.context["forms"]["accept"].errors
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED


def test_accept_twice_shows_error(world: World, assigned: Incident):
    client = world.wang.client()
    client.post(url("accept", assigned))

    response = client.post(url("accept", assigned))

    assert response.status_code == 200
    errors = response.context["forms"]["accept"].non_field_errors()
    assert assigned.display_code in errors[0]
    assert history(assigned).count(EventKind.ACCEPTED) == 1


def test_accept_get_changes_nothing(world: World, assigned: Incident):
    response = world.wang.client().get(url("accept", assigned))

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED


def test_resident_cannot_post(client, assigned: Incident):
    response = client.post(url("accept", assigned))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED


# Comment and internal note ----------------------------------------------------


def test_comment_public(world: World, assigned: Incident):
    response = world.wang.client().post(
        url("comment", assigned),
        {"comment-note": "已联系物业", "comment-visibility": "public"},
    )

    assert response.status_code == 302
    event = assigned.events.last()
    assert event.kind == EventKind.COMMENT
    assert event.is_public
    assert event.note == "已联系物业"


def test_internal_note_with_photo(world: World, assigned: Incident, media):
    response = world.chen.client().post(
        url("comment", assigned),
        {
            "comment-note": "现场照片",
            "comment-visibility": "internal",
            "comment-photos": [upload(), upload("second.png", "PNG")],
        },
    )

    assert response.status_code == 302
    event = assigned.events.last()
    assert event.kind == EventKind.NOTE
    assert not event.is_public
    photos = list(Photo.objects.filter(event=event).order_by("pk"))
    assert [photo.content_type for photo in photos] == ["image/jpeg", "image/png"]
    assert all(not photo.is_public for photo in photos)


def test_comment_bad_photo_shows_error(world: World, assigned: Incident, media):
    fake = SimpleUploadedFile("x.jpg", b"<script>alert(1)</script>", "image/jpeg")

    response = world.wang.client().post(
        url("comment", assigned),
        {
            "comment-note": "照片",
            "comment-visibility": "public",
            "comment-photos": fake,
        },
    )

    assert response.status_code == 200
    assert response.context["forms"]["comment"].errors["photos"]
    assert history(assigned) == [EventKind.SUBMITTED, EventKind.DISPATCHED]


def test_comment_empty_note_shows_error(world: World, assigned: Incident):
    response = world.wang.client().post(
        url("comment", assigned), {"comment-note": "  ", "comment-visibility": "public"}
    )

    assert response.status_code == 200
    assert "note" in response.context["forms"]["comment"].errors
    assert len(history(assigned)) == 2


# Resolve -----------------------------------------------------------------------


def test_resolve_after_accept(world: World, assigned: Incident, media):
    client = world.wang.client()
    client.post(url("accept", assigned))

    response = client.post(
        url("resolve", assigned),
        {"resolve-reply": "已更换灯泡", "resolve-photos": upload()},
    )

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.state == State.RESOLVED
    assert assigned.reply == "已更换灯泡"
    assert Photo.objects.filter(event=assigned.events.last()).count() == 1


def test_resolve_before_accept_changes_nothing(world: World, assigned: Incident):
    response = world.wang.client().post(
        url("resolve", assigned), {"resolve-reply": "已更换灯泡"}
    )

    assert response.status_code == 200
    errors = response.context["forms"]["resolve"].non_field_errors()
    assert assigned.display_code in errors[0]
    assert 'id="form-resolve"' in response.content.decode()
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED
    assert assigned.reply == ""
    assert history(assigned) == [EventKind.SUBMITTED, EventKind.DISPATCHED]


def test_resolve_counts_crlf_as_one_character(world: World, assigned: Incident):
    incident_accept(incident_id=assigned.pk, actor=world.wang.actor)
    # 40 lines of 99 characters: 4,000 characters as the browser counts them.
    reply = "\r\n".join(["处" * 99] * 40) + "\r\n"

    response = world.wang.client().post(
        url("resolve", assigned), {"resolve-reply": reply}
    )

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.state == State.RESOLVED
    assert len(assigned.reply) <= 4000
    assert "\r" not in assigned.reply


def test_resolve_without_reply_names_field(world: World, assigned: Incident):
    incident_accept(incident_id=assigned.pk, actor=world.wang.actor)

    response = world.wang.client().post(url("resolve", assigned), {"resolve-reply": ""})

    assert response.status_code == 200
    errors = response.context["forms"]["resolve"].errors
    assert errors["reply"] == ["“答复反映人”为必填项。"]
    assigned.refresh_from_db()
    assert assigned.state == State.ACCEPTED


# Send back ----------------------------------------------------------------------


def test_send_back_with_reason(world: World, assigned: Incident):
    response = world.wang.client().post(
        url("send_back", assigned), {"send_back-reason": "不属于本网格"}
    )

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.state == State.SUBMITTED
    assert assigned.needs_triage
    assert assigned.assignee is None
    assert assigned.events.last().note == "不属于本网格"


def test_send_back_then_page_still_visible(world: World, assigned: Incident):
    client = world.wang.client()
    client.post(url("send_back", assigned), {"send_back-reason": "不属于本网格"})

    # The ticket's grid is still Wang's micro grid, so the redirect target loads.
    assert client.get(url("ticket", assigned)).status_code == 200


def test_send_back_without_reason_names_field(world: World, assigned: Incident):
    response = world.wang.client().post(
        url("send_back", assigned), {"send_back-reason": ""}
    )

    assert "reason" in response.context["forms"]["send_back"].errors
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED


# Reassign ------------------------------------------------------------------------


def chen_assignment(world: World) -> Assignment:
    return Assignment.objects.get(member=world.chen.member)


def test_reassign_by_leader(world: World, assigned: Incident):
    response = world.li.client().post(
        url("reassign", assigned),
        {"reassign-assignment": chen_assignment(world).pk, "reassign-note": "陈杰熟悉"},
    )

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.assignee == world.chen.member
    assert assigned.grid == world.micro_a
    assert assigned.state == State.DISPATCHED
    assert assigned.events.last().kind == EventKind.REASSIGNED


def test_reassign_by_plain_member_forbidden(world: World, assigned: Incident):
    response = world.wang.client().post(
        url("reassign", assigned), {"reassign-assignment": chen_assignment(world).pk}
    )

    assert response.status_code == 403
    assigned.refresh_from_db()
    assert assigned.assignee == world.wang.member


def test_reassign_outside_subtree_rejected(world: World, assigned: Incident):
    zhao_assignment = Assignment.objects.get(member=world.zhao.member)

    response = world.li.client().post(
        url("reassign", assigned), {"reassign-assignment": zhao_assignment.pk}
    )

    assert response.status_code == 200
    assert "assignment" in response.context["forms"]["reassign"].errors
    assigned.refresh_from_db()
    assert assigned.assignee == world.wang.member


def test_reassign_closed_ticket_changes_nothing(world: World, assigned: Incident):
    Incident.objects.filter(pk=assigned.pk).update(state=State.CLOSED)

    response = world.li.client().post(
        url("reassign", assigned), {"reassign-assignment": chen_assignment(world).pk}
    )

    assert response.status_code == 200
    assert response.context["forms"]["reassign"].non_field_errors()
    # The card is hidden for a closed ticket, but the error must still show.
    assert 'id="action-reassign"' in response.content.decode()
    assigned.refresh_from_db()
    assert assigned.assignee == world.wang.member
    assert assigned.state == State.CLOSED


# Photos --------------------------------------------------------------------------


def test_photo_served_with_safe_headers(world: World, assigned: Incident, media):
    world.wang.client().post(
        url("comment", assigned),
        {
            "comment-note": "现场",
            "comment-visibility": "internal",
            "comment-photos": upload(),
        },
    )
    photo = Photo.objects.get(incident=assigned)
    photo_url = reverse("mobile:photo", args=[assigned.tracking_code, photo.pk])

    response = world.li.client().get(photo_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_photo_of_other_ticket_404(world: World, assigned: Incident, media):
    other = world.ticket(world.place_a, world.wang)
    incident_comment(
        incident_id=other.pk, actor=world.wang.actor, note="x", is_public=True
    )
    world.wang.client().post(
        url("comment", other),
        {
            "comment-note": "现场",
            "comment-visibility": "public",
            "comment-photos": upload(),
        },
    )
    photo = Photo.objects.get(incident=other)

    # The photo id belongs to another ticket than the code in the URL.
    wrong = reverse("mobile:photo", args=[assigned.tracking_code, photo.pk])

    assert world.wang.client().get(wrong).status_code == 404


def test_photo_resident_redirected_to_login(client, world: World, assigned, media):
    response = client.get(reverse("mobile:photo", args=[assigned.tracking_code, 1]))

    assert response.status_code == 302


def test_comment_form_starts_as_internal_note(world: World, assigned: Incident):
    body = world.wang.client().get(url("ticket", assigned)).content.decode()

    checked = re.search(r'<input[^>]*name="comment-visibility"[^>]*checked[^>]*>', body)
    assert checked is not None
    assert 'value="internal"' in checked.group(0)
