"""The public tracking pages: lookup, ticket page, information, rating, photos.

Personas: Li Na (李娜) reported night-time construction noise and has the
tracking code. Wang Fang (王芳) is the mediator of the micro grid who handles
it. A guesser tries codes that do not exist.
"""

import io
import logging

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from PIL import Image

from incidents.actors import Actor
from incidents.models import (
    Category,
    Channel,
    EventKind,
    Incident,
    IncidentEvent,
    Photo,
    Rating,
    RatingValue,
    State,
)
from incidents.photos import prepare_photo
from incidents.routing import incident_route
from incidents.workflow import (
    incident_accept,
    incident_comment,
    incident_mark_duplicate,
    incident_resolve,
    incident_send_back,
    incident_submit,
)
from tests.factories import make_assignment, make_member, make_place

REPORTER_NAME = "李娜"
REPORTER_PHONE = "13700001111"
REPORTER_EMAIL = "lina@example.com"
MEDIATOR_NAME = "王芳"
MEDIATOR_PHONE = "13911112222"
INTERNAL_NOTE = "内部备注：施工方负责人是老赵"


@pytest.fixture
def client():
    """Return a test client whose browser requests English pages."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with no rate-limit counts, and leave none behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def png_photo(color: tuple[int, int, int] = (10, 120, 200)):
    output = io.BytesIO()
    Image.new("RGB", (30, 30), color).save(output, format="PNG")
    return prepare_photo(io.BytesIO(output.getvalue()))


@pytest.fixture
def noise(db):
    return Category.objects.create(
        code="night-works", name="夜间施工噪音", role="mediator"
    )


@pytest.fixture
def place(tree):
    return make_place(tree["micro"], code="TR-1-1-B3", name="天瑞花园3栋")


@pytest.fixture
def wang_fang(tree):
    """Return Wang Fang, the micro grid's mediator."""
    member = make_member(name=MEDIATOR_NAME, phone=MEDIATOR_PHONE)
    make_assignment(member, tree["micro"], roles=["mediator"])
    return member


def submit(category: Category, place=None, **fields) -> Incident:
    """Submit Li Na's report and route it as the Celery task would."""
    fields.setdefault("description", "楼上夜里十二点以后还在装修，电钻声很响。")
    incident = incident_submit(
        category_id=category.pk,
        channel=Channel.PUBLIC_FORM,
        actor=Actor.resident(),
        place_id=place.pk if place else None,
        reporter_name=REPORTER_NAME,
        reporter_phone=REPORTER_PHONE,
        reporter_email=REPORTER_EMAIL,
        photos=[png_photo()],
        **fields,
    )
    incident_route(incident_id=incident.pk)
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def ticket(noise, place, wang_fang) -> Incident:
    """Return Li Na's dispatched ticket, which carries one internal note."""
    incident = submit(noise, place)
    incident_comment(
        incident_id=incident.pk,
        actor=Actor("member", member=wang_fang),
        note=INTERNAL_NOTE,
        is_public=False,
        photos=[png_photo((200, 0, 0))],
    )
    return incident


def resolve(incident: Incident, member) -> Incident:
    actor = Actor("member", member=member)
    incident_accept(incident_id=incident.pk, actor=actor)
    return incident_resolve(
        incident_id=incident.pk, actor=actor, reply="已协调施工队停止夜间作业。"
    )


def page_url(incident: Incident) -> str:
    return f"/track/{incident.display_code}/"


# Ticket page


def test_ticket_page_shows_state_category_place(client, ticket):
    response = client.get(page_url(ticket))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-state="dispatched"' in body
    assert "夜间施工噪音" in body
    assert "天瑞花园3栋" in body
    assert "1-1 微网格" in body
    assert "139****2222" in body
    assert "noindex" in body
    assert "no-store" in response["Cache-Control"]


def test_ticket_page_hides_reporter_and_member_data(client, ticket):
    body = client.get(page_url(ticket)).content.decode()

    assert REPORTER_NAME not in body
    assert REPORTER_PHONE not in body
    assert REPORTER_EMAIL not in body
    assert MEDIATOR_NAME not in body
    assert MEDIATOR_PHONE not in body
    assert INTERNAL_NOTE not in body


def test_ticket_page_lists_public_events_only(client, ticket):
    response = client.get(page_url(ticket))

    kinds = [item.event.kind for item in response.context["events"]]
    assert kinds == [EventKind.SUBMITTED, EventKind.DISPATCHED]
    hidden = IncidentEvent.objects.filter(incident=ticket, is_public=False)
    assert set(hidden.values_list("kind", flat=True)) == {
        EventKind.ROUTED,
        EventKind.NOTE,
    }


def test_ticket_page_masks_phone_in_public_text(client, ticket, wang_fang):
    incident_comment(
        incident_id=ticket.pk,
        actor=Actor("member", member=wang_fang),
        note="已联系物业，电话 139 5555 6666。",
        is_public=True,
    )

    body = client.get(page_url(ticket)).content.decode()

    assert "139****6666" in body
    assert "5555" not in body


def test_ticket_page_escapes_description(client, noise, place, wang_fang):
    incident = submit(noise, place, description="<script>alert('x')</script> 噪音")

    body = client.get(page_url(incident)).content.decode()

    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body


@pytest.mark.parametrize("extra_events", [0, 18])
def test_ticket_page_query_count_constant(
    client, ticket, wang_fang, extra_events, django_assert_num_queries
):
    for number in range(extra_events):
        incident_comment(
            incident_id=ticket.pk,
            actor=Actor("member", member=wang_fang),
            note=f"进展 {number}",
            is_public=True,
            photos=[png_photo()] if number % 6 == 0 else [],
        )
    public_events = IncidentEvent.objects.filter(incident=ticket, is_public=True)
    assert public_events.count() == 2 + extra_events

    # The ticket with its relations, its public events, its public photos.
    with django_assert_num_queries(3):
        response = client.get(page_url(ticket))

    assert response.status_code == 200
    assert len(response.context["events"]) == 2 + extra_events


def test_ticket_page_redirects_to_canonical_code(client, ticket):
    typed = ticket.tracking_code.lower()

    response = client.get(f"/track/{typed}/")

    assert response.status_code == 302
    assert response["Location"] == page_url(ticket)


# Lookup


def test_lookup_accepts_any_case_and_spaces(client, ticket):
    code = ticket.tracking_code
    typed = f" {code[:5].lower()} {code[5:]} "

    response = client.post("/track/", {"code": typed})

    assert response.status_code == 302
    assert response["Location"] == page_url(ticket)


def test_lookup_wrong_code_says_not_found(client, ticket):
    response = client.post("/track/", {"code": "ABCDE-FGH23"})

    assert response.status_code == 200
    errors = response.context["form"].errors["code"]
    assert errors == ["No ticket has the code ABCDE-FGH23."]


def test_lookup_malformed_code_names_value(client, db):
    response = client.post("/track/", {"code": "12-34"})

    errors = response.context["form"].errors["code"]
    assert "12-34" in errors[0]


def test_ticket_page_unknown_code_404(client, db):
    response = client.get("/track/ABCDE-FGH23/")

    assert response.status_code == 404
    assert 'id="not-found"' in response.content.decode()


@override_settings(WESTGARDEN_TRACK_RATE="3/10m")
def test_lookup_rate_limit_counts_wrong_codes(client, ticket):
    for guess in ["ABCDE-FGH23", "BCDEF-GH234", "CDEFG-H2345"]:
        assert client.post("/track/", {"code": guess}).status_code == 200

    blocked = client.post("/track/", {"code": ticket.display_code})

    assert blocked.status_code == 429
    assert 'id="rate-limited"' in blocked.content.decode()
    assert client.get(page_url(ticket)).status_code == 429
    assert client.get("/track/DEFGH-23456/").status_code == 429


@override_settings(WESTGARDEN_TRACK_RATE="3/10m")
def test_ticket_page_reloads_do_not_count(client, ticket):
    for _ in range(5):
        assert client.get(page_url(ticket)).status_code == 200

    for guess in ["ABCDE-FGH23", "BCDEF-GH234", "CDEFG-H2345"]:
        assert client.get(f"/track/{guess}/").status_code == 404
    assert client.get(page_url(ticket)).status_code == 429


# Adding information


def test_add_info_with_photo(client, ticket):
    png = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 200, 0)).save(png, format="PNG")
    upload = SimpleUploadedFile("more.png", png.getvalue(), content_type="image/png")

    response = client.post(
        f"{page_url(ticket)}info/",
        {"info-note": "今晚十一点又开始了。", "info-photos": [upload]},
    )

    assert response.status_code == 302
    event = IncidentEvent.objects.get(incident=ticket, kind=EventKind.INFO)
    assert event.note == "今晚十一点又开始了。"
    assert event.is_public is True
    assert event.photos.count() == 1
    page = client.get(page_url(ticket)).content.decode()
    assert "今晚十一点又开始了。" in page
    assert "Your information was added to the ticket." in page


def test_add_info_empty_note_rejected(client, ticket):
    events_before = IncidentEvent.objects.count()

    response = client.post(f"{page_url(ticket)}info/", {"info-note": " "})

    assert response.status_code == 200
    assert response.context["forms"]["info"].errors["note"]
    assert IncidentEvent.objects.count() == events_before


def test_add_info_closed_ticket_rejected(client, ticket, wang_fang):
    resolve(ticket, wang_fang)
    client.post(f"{page_url(ticket)}rate/", {"rating-value": RatingValue.SATISFIED})
    events_before = IncidentEvent.objects.count()

    response = client.post(f"{page_url(ticket)}info/", {"info-note": "补充"})

    form = response.context["forms"]["info"]
    assert "closed" in form.non_field_errors()[0]
    assert IncidentEvent.objects.count() == events_before


# Rating and reopening


def test_rating_form_only_when_resolved(client, ticket, wang_fang):
    assert 'id="action-rating"' not in client.get(page_url(ticket)).content.decode()

    resolve(ticket, wang_fang)
    body = client.get(page_url(ticket)).content.decode()

    assert 'id="action-rating"' in body
    assert "已协调施工队停止夜间作业。" in body


def test_rating_satisfied_closes_ticket(client, ticket, wang_fang):
    resolve(ticket, wang_fang)

    response = client.post(
        f"{page_url(ticket)}rate/",
        {"rating-value": RatingValue.SATISFIED, "rating-comment": "很及时"},
    )

    assert response.status_code == 302
    rating = Rating.objects.get(incident=ticket)
    assert rating.value == RatingValue.SATISFIED
    assert rating.comment == "很及时"
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    body = client.get(page_url(ticket)).content.decode()
    assert 'id="action-rating"' not in body
    assert 'id="action-info"' not in body


def test_rating_twice_rejected(client, ticket, wang_fang):
    resolve(ticket, wang_fang)
    client.post(f"{page_url(ticket)}rate/", {"rating-value": RatingValue.DISSATISFIED})

    response = client.post(
        f"{page_url(ticket)}rate/", {"rating-value": RatingValue.SATISFIED}
    )

    assert response.status_code == 200
    errors = response.context["forms"]["rating"].errors["value"]
    assert "already been rated" in errors[0]
    assert Rating.objects.filter(incident=ticket).count() == 1


def test_rating_unresolved_ticket_rejected(client, ticket):
    response = client.post(
        f"{page_url(ticket)}rate/", {"rating-value": RatingValue.SATISFIED}
    )

    assert response.status_code == 200
    errors = response.context["forms"]["rating"].non_field_errors()
    assert "dispatched" in errors[0]
    assert not Rating.objects.exists()


def test_rating_unknown_value_rejected(client, ticket, wang_fang):
    resolve(ticket, wang_fang)

    response = client.post(f"{page_url(ticket)}rate/", {"rating-value": "great"})

    errors = response.context["forms"]["rating"].errors["value"]
    assert "great" in errors[0]
    assert not Rating.objects.exists()


def test_reopen_after_dissatisfied_rating(client, ticket, wang_fang):
    resolve(ticket, wang_fang)
    client.post(f"{page_url(ticket)}rate/", {"rating-value": RatingValue.DISSATISFIED})
    assert 'id="action-reopen"' in client.get(page_url(ticket)).content.decode()

    response = client.post(
        f"{page_url(ticket)}reopen/", {"reopen-note": "晚上还是很吵"}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == State.DISPATCHED
    assert ticket.assignee == wang_fang
    event = IncidentEvent.objects.get(incident=ticket, kind=EventKind.REOPENED)
    assert event.note == "晚上还是很吵"
    assert event.is_public is True


def test_reopen_without_dissatisfied_rating_rejected(client, ticket, wang_fang):
    resolve(ticket, wang_fang)
    assert 'id="action-reopen"' not in client.get(page_url(ticket)).content.decode()

    response = client.post(f"{page_url(ticket)}reopen/", {"reopen-note": ""})

    assert response.status_code == 200
    assert response.context["forms"]["reopen"].non_field_errors()
    ticket.refresh_from_db()
    assert ticket.state == State.RESOLVED


@override_settings(WESTGARDEN_REPORT_RATE="2/h")
def test_ticket_actions_share_write_limit(client, ticket):
    for number in range(2):
        client.post(f"{page_url(ticket)}info/", {"info-note": f"补充 {number}"})

    response = client.post(f"{page_url(ticket)}info/", {"info-note": "再补充"})

    assert response.status_code == 429
    assert IncidentEvent.objects.filter(kind=EventKind.INFO).count() == 2


# Duplicates


def test_duplicate_page_shows_original_progress_not_its_code(
    client, noise, place, wang_fang
):
    original = submit(noise, place, description="楼上装修，联系人王先生")
    duplicate = submit(noise, place, description="3栋楼上夜间装修很吵")
    incident_mark_duplicate(
        incident_id=duplicate.pk,
        original_id=original.pk,
        actor=Actor("member", member=wang_fang),
    )
    incident_accept(incident_id=original.pk, actor=Actor("member", member=wang_fang))
    incident_resolve(
        incident_id=original.pk,
        actor=Actor("member", member=wang_fang),
        reply="已要求施工队晚上十点后停工",
    )

    body = client.get(page_url(duplicate)).content.decode()

    assert 'id="duplicate-notice"' in body
    assert 'id="original-progress"' in body
    assert "已要求施工队晚上十点后停工" in body
    assert 'data-kind="resolved"' in body
    # Nothing that would let this reporter act on the original, or read
    # what its reporter wrote.
    for hidden in (original.tracking_code, original.display_code, "王先生"):
        assert hidden not in body
    for action in ("action-info", "action-rating", "action-reopen"):
        assert f'id="{action}"' not in body


def test_duplicate_page_hides_old_note_code(client, noise, place, wang_fang):
    original = submit(noise, place)
    duplicate = submit(noise, place, description="3栋楼上夜间装修很吵")
    incident_mark_duplicate(
        incident_id=duplicate.pk,
        original_id=original.pk,
        actor=Actor("member", member=wang_fang),
    )
    # Duplicate events once carried the original's code in their note.
    IncidentEvent.objects.filter(incident=duplicate, kind=EventKind.DUPLICATE).update(
        note=f"请跟进事件 {original.display_code}。"
    )

    body = client.get(page_url(duplicate)).content.decode()

    assert 'data-kind="duplicate"' in body
    assert original.display_code not in body


def test_duplicate_of_a_duplicate_follows_the_last_original(
    client, noise, place, wang_fang
):
    actor = Actor("member", member=wang_fang)
    first = submit(noise, place, description="3栋楼上夜间装修很吵")
    second = submit(noise, place, description="楼上每晚装修")
    final = submit(noise, place, description="3栋装修噪音")
    incident_mark_duplicate(incident_id=first.pk, original_id=second.pk, actor=actor)

    incident_mark_duplicate(incident_id=second.pk, original_id=final.pk, actor=actor)

    first.refresh_from_db()
    assert first.duplicate_of_id == final.pk


@pytest.mark.parametrize("action", ["info", "rate", "reopen"])
def test_action_url_get_leads_to_ticket_page(client, ticket, action):
    # After a form error the address bar shows the action URL; a language
    # switch or a reload then sends a GET to it.
    response = client.get(f"{page_url(ticket)}{action}/")

    assert response.status_code == 302
    assert response.url == page_url(ticket)
    assert not IncidentEvent.objects.filter(
        incident=ticket, kind__in=[EventKind.INFO, EventKind.RATED, EventKind.REOPENED]
    ).exists()


def test_sent_back_page_shows_passed_on(client, ticket, wang_fang):
    fresh = client.get(page_url(ticket)).content.decode()
    incident_send_back(
        incident_id=ticket.pk,
        actor=Actor("member", member=wang_fang),
        reason="不属于本网格",
    )

    body = client.get(page_url(ticket)).content.decode()

    assert 'id="passed-on-notice"' not in fresh
    assert 'id="passed-on-notice"' in body
    # The reason is internal.
    assert "不属于本网格" not in body


# Photos


def test_photo_view_serves_public_photo(client, ticket):
    photo = Photo.objects.get(incident=ticket, is_public=True)

    response = client.get(f"{page_url(ticket)}photos/{photo.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    content = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(content)).format == "PNG"


def test_photo_view_hides_internal_photo(client, ticket):
    internal = Photo.objects.get(incident=ticket, is_public=False)

    response = client.get(f"{page_url(ticket)}photos/{internal.pk}/")

    assert response.status_code == 404
    body = client.get(page_url(ticket)).content.decode()
    assert f"/photos/{internal.pk}/" not in body


def test_photo_view_wrong_code_404(client, ticket):
    photo = Photo.objects.get(incident=ticket, is_public=True)

    response = client.get(f"/track/ABCDE-FGH23/photos/{photo.pk}/")

    assert response.status_code == 404


def test_photo_view_other_tickets_code_404(client, ticket, noise, place):
    other = submit(noise, place, description="另一个问题")
    photo = Photo.objects.get(incident=ticket, is_public=True)

    response = client.get(f"{page_url(other)}photos/{photo.pk}/")

    assert response.status_code == 404


# Logs


@override_settings(WESTGARDEN_TRACK_RATE="2/10m")
def test_tracking_code_never_logged(client, noise, place, wang_fang, caplog):
    with caplog.at_level(logging.INFO):
        incident = submit(noise, place)
        internal = Photo.objects.create(
            incident=incident,
            content_type="image/png",
            width=1,
            height=1,
            size=1,
            is_public=False,
            created_at=incident.created_at,
        )
        client.get(page_url(incident))
        client.post(f"{page_url(incident)}rate/", {"rating-value": "satisfied"})
        client.get(f"{page_url(incident)}photos/{internal.pk}/")
        client.get(f"{page_url(incident)}photos/{internal.pk}/")
        assert client.get(page_url(incident)).status_code == 429

    assert caplog.records
    for record in caplog.records:
        message = record.getMessage()
        assert incident.tracking_code not in message
        assert incident.display_code not in message


def test_ticket_page_forms_follow_language(ticket):
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(page_url(ticket))
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(page_url(ticket))
    english_again = Client(HTTP_ACCEPT_LANGUAGE="en").get(page_url(ticket))

    assert "Information" in english.content.decode()
    assert "补充信息" in chinese.content.decode()
    assert "Information" not in chinese.content.decode()
    assert english_again.content.decode().count('name="info-note"') == 1


def test_ticket_page_keeps_errors_of_bound_form(client, ticket):
    response = client.post(page_url(ticket) + "info/", {"info-note": ""})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Write the information to add." in body
