"""Mobile pages at the edges: expired sessions, moved tickets, deactivated members."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from incidents.escalation import sweep
from incidents.models import EventKind, Incident, Notification, State
from incidents.notifications import inbox_for
from incidents.workflow import incident_accept, incident_reassign
from members.actions import member_update
from tests.incidents.personas import Persona, World, world_fixture  # noqa: F401

PASSWORD = "correct horse battery staple"
LOGIN = reverse("login")
HOME = reverse("mobile-home")
NOTIFICATIONS = reverse("mobile:notifications")
MARK_READ = reverse("mobile:notifications_read")
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start and end with no login counts in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fast_hasher(settings):
    # The default hasher takes a noticeable fraction of a second per login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, incident: Incident) -> str:
    return reverse(f"mobile:{name}", args=[incident.tracking_code])


def flashed_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def give_password(persona: Persona) -> None:
    persona.user.set_password(PASSWORD)
    persona.user.save(update_fields=["password"])


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def deactivate(persona: Persona) -> None:
    member_update(member_id=persona.member.pk, is_active=False)


@pytest.fixture
def assigned(world: World) -> Incident:
    """A ticket dispatched to Wang Fang in micro grid A-1."""
    return world.ticket(world.place_a, world.wang)


# A GET of an action URL -------------------------------------------------------

# Each action, the persona allowed to run it, and the warning's wording.
ACTIONS = [
    ("accept", "wang", "was not accepted"),
    ("comment", "wang", "Your note was not added"),
    ("resolve", "wang", "was not resolved"),
    ("send_back", "wang", "was not sent back"),
    ("reassign", "li", "was not handed over"),
]


@pytest.mark.parametrize(("action", "persona", "wording"), ACTIONS)
def test_action_get_redirects_to_ticket(
    world: World, assigned: Incident, action, persona, wording
):
    client = getattr(world, persona).client()
    events_before = assigned.events.count()

    response = client.get(url(action, assigned), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response.url == url("ticket", assigned)
    texts = flashed_messages(response)
    assert len(texts) == 1
    assert wording in texts[0]
    assert assigned.display_code in texts[0]
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED
    assert assigned.assignee == world.wang.member
    assert assigned.events.count() == events_before


def test_action_get_after_expired_session(world: World, assigned: Incident):
    """The whole path: tap Accept without a session, sign in, land on the ticket."""
    give_password(world.wang)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    tapped = client.post(url("accept", assigned))
    assert tapped.status_code == 302
    assert tapped.url == f"{LOGIN}?next={url('accept', assigned)}"

    signed_in = client.post(
        tapped.url, {"username": "wangfang", "password": PASSWORD}, follow=True
    )

    assert signed_in.redirect_chain == [
        (url("accept", assigned), 302),
        (url("ticket", assigned), 302),
    ]
    assert signed_in.status_code == 200
    html = signed_in.content.decode()
    assert "was not accepted" in html
    assert 'id="action-accept"' in html
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED


def test_action_get_outside_scope_404(world: World, assigned: Incident):
    response = world.zhao.client().get(url("accept", assigned))

    assert response.status_code == 404
    assert flashed_messages(response) == []


def test_action_get_missing_ticket_404(world: World):
    response = world.wang.client().get(reverse("mobile:accept", args=["ZZZZZZZZZZ"]))

    assert response.status_code == 404


def test_action_get_anonymous_to_login(client, assigned: Incident):
    response = client.get(url("accept", assigned))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


@pytest.mark.parametrize("method", ["put", "delete", "head"])
def test_action_other_methods_405(world: World, assigned: Incident, method):
    response = getattr(world.wang.client(), method)(url("accept", assigned))

    assert response.status_code == 405
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED


def test_action_post_still_accepts(world: World, assigned: Incident):
    response = world.wang.client().post(url("accept", assigned))

    assert response.status_code == 302
    assigned.refresh_from_db()
    assert assigned.state == State.ACCEPTED


def test_mark_read_get_redirects_to_list(world: World, assigned: Incident):
    unread_before = inbox_for(world.wang.user).filter(read_at__isnull=True).count()

    response = world.wang.client().get(MARK_READ, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response.url == NOTIFICATIONS
    texts = flashed_messages(response)
    assert len(texts) == 1
    assert "No notice was marked as read" in texts[0]
    assert unread_before == 1
    assert inbox_for(world.wang.user).filter(read_at__isnull=True).count() == 1


# Notices about tickets that moved out of reach ------------------------------------


def escalate(incident: Incident) -> Incident:
    """Let the accept deadline pass and run the sweep once."""
    sweep(now=incident.accept_deadline + MINUTE)
    return Incident.objects.get(pk=incident.pk)


def notices_by_ticket(response) -> dict[int, list[Notification]]:
    grouped: dict[int, list[Notification]] = {}
    for notice in response.context["page"]:
        grouped.setdefault(notice.incident_id, []).append(notice)
    return grouped


def test_notice_escalated_ticket_unlinked(world: World, assigned: Incident):
    staying = world.ticket(world.place_a, world.wang)
    incident_accept(incident_id=staying.pk, actor=world.wang.actor)
    escalated = escalate(assigned)
    assert escalated.grid == world.general_a
    assert escalated.assignee == world.li.member

    response = world.wang.client().get(NOTIFICATIONS, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{url("ticket", assigned)}"' not in html
    assert f'href="{url("ticket", staying)}"' in html
    assert "escalated to a grid above yours" in html
    grouped = notices_by_ticket(response)
    # The dispatch notice and the notice that the ticket moved on.
    assert len(grouped[assigned.pk]) == 2
    assert not any(notice.may_open for notice in grouped[assigned.pk])
    assert all(notice.may_open for notice in grouped[staying.pk])


def test_notice_links_only_openable_tickets(world: World, assigned: Incident):
    """Every link on the list opens a page, and every ticket without one is a 404."""
    escalate(assigned)
    client = world.wang.client()

    response = client.get(NOTIFICATIONS)

    for notice in response.context["page"]:
        ticket_status = client.get(url("ticket", notice.incident)).status_code
        assert ticket_status == (200 if notice.may_open else 404), notice.subject


def test_notice_new_assignee_keeps_link(world: World, assigned: Incident):
    escalate(assigned)

    response = world.li.client().get(NOTIFICATIONS)

    html = response.content.decode()
    assert f'href="{url("ticket", assigned)}"' in html
    assert "ticket-gone" not in html


def test_notice_moved_ticket_explained(world: World):
    far = world.ticket(world.place_b, world.wang)
    incident_reassign(
        incident_id=far.pk, assignee_id=world.zhao.member.pk, actor=world.staff.actor
    )

    response = world.wang.client().get(NOTIFICATIONS, HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert f'href="{url("ticket", far)}"' not in html
    assert "no longer assigned to you or in your grids" in html
    assert "escalated to a grid above yours" not in html


@pytest.mark.parametrize("extra", [0, 12])
def test_notifications_query_count_moved_tickets(
    world: World, assigned: Incident, extra, django_assert_num_queries
):
    # Escalated first, so that the sweep leaves the later tickets with Wang.
    escalate(assigned)
    for _ in range(extra):
        world.ticket(world.place_a, world.wang)
    client = world.wang.client()

    # Session, user, member, count, and the page of notices with their
    # tickets and whether each ticket is in scope.
    with django_assert_num_queries(5):
        response = client.get(NOTIFICATIONS)
    grouped = notices_by_ticket(response)
    assert len(grouped) == extra + 1
    assert not any(notice.may_open for notice in grouped.pop(assigned.pk))
    assert all(notice.may_open for notices in grouped.values() for notice in notices)


def test_notifications_staff_links_every_ticket(world: World, assigned: Incident):
    escalate(assigned)
    Notification.objects.filter(recipient_user=world.wang.user).update(
        recipient_user=world.staff.user
    )

    response = world.staff.client().get(NOTIFICATIONS)

    assert all(notice.may_open for notice in response.context["page"])
    assert "ticket-gone" not in response.content.decode()


# Deactivated members ------------------------------------------------------------


def test_login_rejects_deactivated_member(world: World, fast_hasher):
    give_password(world.wang)
    deactivate(world.wang)
    client = Client()

    response = sign_in(client, "wangfang", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1
    assert "deactivated your grid member account" in errors[0]
    assert "Contact the street office" in errors[0]
    assert "_auth_user_id" not in client.session
    assert client.get(HOME).status_code == 302


def test_login_wrong_password_hides_deactivation(world: World, fast_hasher):
    give_password(world.wang)
    deactivate(world.wang)

    response = sign_in(Client(), "wangfang", "guess", HTTP_ACCEPT_LANGUAGE="en")

    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1
    assert "deactivated" not in errors[0]


def test_login_active_member_allowed(world: World, fast_hasher):
    give_password(world.wang)
    client = Client()

    response = sign_in(client, "wangfang")

    assert response.status_code == 302
    assert response.url == HOME
    assert client.get(HOME).status_code == 200


def test_login_deactivated_staff_allowed(world: World, fast_hasher):
    world.wang.user.is_staff = True
    world.wang.user.save(update_fields=["is_staff"])
    give_password(world.wang)
    deactivate(world.wang)
    client = Client()

    response = sign_in(client, "wangfang")

    assert response.status_code == 302
    assert client.get(HOME).status_code == 200
    assert client.get(reverse("mobile:inbox")).status_code == 200


def test_login_deactivated_member_rate_limited(world: World, fast_hasher, settings):
    settings.WESTGARDEN_LOGIN_RATE = "2/10m"
    give_password(world.wang)
    deactivate(world.wang)
    client = Client()
    for _ in range(2):
        assert sign_in(client, "wangfang").status_code == 200

    response = sign_in(client, "wangfang")

    assert response.status_code == 429
    assert "Retry-After" in response


def deactivated_pages(incident: Incident) -> list[str]:
    return [
        HOME,
        reverse("mobile:inbox"),
        url("ticket", incident),
        reverse("mobile:report"),
        NOTIFICATIONS,
    ]


def test_pages_after_deactivation_explain(world: World, assigned: Incident):
    client = world.wang.client()
    assert client.get(HOME).status_code == 200
    deactivate(world.wang)

    for page in deactivated_pages(assigned):
        response = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
        html = response.content.decode()
        assert response.status_code == 403, page
        assert 'data-reason="deactivated"' in html, page
        assert "deactivated your grid member account" in html, page
        assert 'id="logout"' in html, page


def test_actions_after_deactivation_change_nothing(world: World, assigned: Incident):
    client = world.wang.client()
    deactivate(world.wang)
    events_before = assigned.events.count()

    accept = client.post(url("accept", assigned))
    comment = client.post(
        url("comment", assigned),
        {"comment-note": "看看", "comment-visibility": "internal"},
    )
    mark_read = client.post(MARK_READ, {"notification": "1"})

    for response in (accept, comment, mark_read):
        assert response.status_code == 403
        assert 'data-reason="deactivated"' in response.content.decode()
    assigned.refresh_from_db()
    assert assigned.state == State.DISPATCHED
    assert assigned.events.count() == events_before
    assert not assigned.events.filter(kind=EventKind.NOTE).exists()


def test_report_user_without_member_explained(django_user_model, world: World):
    user = django_user_model.objects.create_user(username="visitor")
    client = Client()
    client.force_login(user)

    response = client.get(reverse("mobile:report"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-reason="no-member"' in html
    assert "visitor is not linked to a grid member" in html
