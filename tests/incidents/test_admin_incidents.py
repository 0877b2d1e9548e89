"""Staff admin of tickets: list, filters, read-only history, workflow operations."""

import datetime
import io

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from incidents.models import (
    CalendarDay,
    Category,
    Channel,
    EventKind,
    Incident,
    IncidentEvent,
    Photo,
    State,
)
from incidents.workflow import incident_accept, incident_resolve, incident_triage
from members.models import Assignment
from tests.incidents.personas import World, world_fixture  # noqa: F401

CHANGELIST = reverse("admin:incidents_incident_changelist")
ADD = reverse("admin:incidents_incident_add")


def change_url(incident: Incident) -> str:
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def operate_url(incident: Incident, operation: str) -> str:
    return reverse("admin:incidents_incident_operate", args=[incident.pk, operation])


def listed(response) -> set[Incident]:
    return set(response.context["cl"].result_list)


@pytest.fixture
def staff(world: World):
    return world.staff.client()


# Changelist ---------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_changelist_query_count_constant(
    world: World, staff, count, django_assert_num_queries
):
    for number in range(count):
        world.ticket(world.place_a if number % 2 else world.place_b, world.wang)

    # Session, user, two counts, one page with its related rows, and the
    # choices of the category, grid and escalation-level filters.
    with django_assert_num_queries(8):
        response = staff.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count


def test_changelist_filter_state(world: World, staff):
    waiting = world.ticket(world.place_a, world.wang)
    submitted = world.ticket(world.place_a)

    assert listed(staff.get(CHANGELIST, {"state__exact": "dispatched"})) == {waiting}
    assert listed(staff.get(CHANGELIST, {"state__exact": "submitted"})) == {submitted}


def test_changelist_filter_top_category(world: World, staff):
    noise = Category.objects.create(code="noise", name="噪音")
    night = Category.objects.create(code="night", name="夜间噪音", parent=noise)
    in_tree = world.ticket(world.place_a)
    Incident.objects.filter(pk=in_tree.pk).update(category=night)
    world.ticket(world.place_a)

    response = staff.get(CHANGELIST, {"category_tree": noise.pk})

    assert listed(response) == {in_tree}
    choices = [
        choice[0] for choice in response.context["cl"].filter_specs[1].lookup_choices
    ]
    assert str(night.pk) not in choices


def test_changelist_filter_grid_subtree(world: World, staff):
    under_a = world.ticket(world.place_a)
    under_b = world.ticket(world.place_b)
    client = staff

    assert listed(client.get(CHANGELIST, {"grid_tree": world.general_a.pk})) == {
        under_a
    }
    assert listed(client.get(CHANGELIST, {"grid_tree": world.general_b.pk})) == {
        under_b
    }
    assert listed(client.get(CHANGELIST, {"grid_tree": world.total.pk})) == {
        under_a,
        under_b,
    }


def test_changelist_grid_choices_total_and_general(world: World, staff):
    response = staff.get(CHANGELIST)
    grid_filter = response.context["cl"].filter_specs[2]

    values = {int(value) for value, _label in grid_filter.lookup_choices}
    assert values == {world.total.pk, world.general_a.pk, world.general_b.pk}


def test_changelist_bad_filter_value(world: World, staff):
    response = staff.get(CHANGELIST, {"grid_tree": "abc"})

    # The admin turns IncorrectLookupParameters into a redirect with e=1.
    assert response.status_code == 302
    assert "e=1" in response.url


def test_changelist_filter_overdue(world: World, staff):
    late = world.ticket(world.place_a, world.wang)
    on_time = world.ticket(world.place_a, world.wang)
    past = timezone.now() - datetime.timedelta(minutes=5)
    Incident.objects.filter(pk=late.pk).update(accept_deadline=past)

    assert listed(staff.get(CHANGELIST, {"overdue": "yes"})) == {late}
    assert listed(staff.get(CHANGELIST, {"overdue": "no"})) == {on_time}


def test_changelist_filter_triage_channel_level(world: World, staff):
    waiting = world.ticket(world.place_a)
    incident_triage(incident_id=waiting.pk, reason="找不到负责人")
    escalated = world.ticket(world.place_a, world.wang)
    Incident.objects.filter(pk=escalated.pk).update(
        escalation_level=1, is_supervised=True
    )

    assert listed(staff.get(CHANGELIST, {"needs_triage__exact": "1"})) == {waiting}
    assert listed(staff.get(CHANGELIST, {"escalation_level": "1"})) == {escalated}
    assert listed(staff.get(CHANGELIST, {"is_supervised__exact": "1"})) == {escalated}
    assert len(listed(staff.get(CHANGELIST, {"channel__exact": "form"}))) == 2
    assert listed(staff.get(CHANGELIST, {"channel__exact": "staff"})) == set()


def test_changelist_search_by_printed_code(world: World, staff):
    incident = world.ticket(world.place_a)
    world.ticket(world.place_a)

    response = staff.get(CHANGELIST, {"q": incident.display_code.lower()})

    assert listed(response) == {incident}


def test_changelist_search_by_subject(world: World, staff):
    lamp = world.ticket(world.place_a, description="路灯不亮")
    world.ticket(world.place_a, description="垃圾满了")

    assert listed(staff.get(CHANGELIST, {"q": "路灯"})) == {lamp}


def test_changelist_search_by_first_group_of_code(world: World, staff):
    incident = world.ticket(world.place_a)
    other = world.ticket(world.place_a)
    while other.tracking_code[:5] == incident.tracking_code[:5]:
        other = world.ticket(world.place_a)

    response = staff.get(CHANGELIST, {"q": incident.display_code[:6].lower()})

    assert listed(response) == {incident}


def test_changelist_search_by_reporter_phone_as_typed(world: World, staff):
    caller = world.ticket(world.place_a, reporter_phone="13812345678")
    world.ticket(world.place_a, reporter_phone="13900000000")

    response = staff.get(CHANGELIST, {"q": "138-1234-5678"})

    assert listed(response) == {caller}


# Change page -------------------------------------------------------------------


def test_change_page_is_read_only(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)

    response = staff.get(change_url(incident))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert 'name="_save"' not in response.content.decode()


def test_change_page_post_forbidden(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)

    response = staff.post(change_url(incident), {"subject": "改掉"})

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.subject != "改掉"


def test_history_inline_read_only(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)

    response = staff.get(change_url(incident))

    history = next(
        formset
        for formset in response.context["inline_admin_formsets"]
        if formset.formset.model is IncidentEvent
    )
    assert not history.has_add_permission
    assert not history.has_change_permission
    assert not history.has_delete_permission
    assert len(history.formset.forms) == 2


def test_history_cannot_be_changed_through_post(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)
    event = incident.events.first()
    before = event.note

    staff.post(
        change_url(incident),
        {
            "events-TOTAL_FORMS": "1",
            "events-INITIAL_FORMS": "1",
            "events-0-id": event.pk,
            "events-0-note": "篡改",
        },
    )

    event.refresh_from_db()
    assert event.note == before


def test_change_page_links_operations(world: World, staff):
    incident = world.ticket(world.place_a)

    html = staff.get(change_url(incident)).content.decode()

    for name in ("assign", "reject", "duplicate", "close"):
        assert operate_url(incident, name) in html


def test_delete_not_offered(world: World, staff):
    incident = world.ticket(world.place_a)
    delete_url = reverse("admin:incidents_incident_delete", args=[incident.pk])

    assert staff.post(delete_url, {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


# Operations --------------------------------------------------------------------


def wang_assignment(world: World) -> Assignment:
    return Assignment.objects.get(member=world.wang.member)


def test_assign_submitted_ticket_dispatches(world: World, staff):
    incident = world.ticket(world.place_a)
    incident_triage(incident_id=incident.pk, reason="找不到负责人")

    response = staff.post(
        operate_url(incident, "assign"),
        {"confirm": "yes", "assignment": wang_assignment(world).pk, "note": "请处理"},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHED
    assert incident.assignee == world.wang.member
    assert not incident.needs_triage
    assert incident.events.last().kind == EventKind.DISPATCHED
    assert incident.events.last().actor_user == world.staff.user


def test_assign_dispatched_ticket_reassigns(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)
    chen = Assignment.objects.get(member=world.chen.member)

    staff.post(
        operate_url(incident, "assign"), {"confirm": "yes", "assignment": chen.pk}
    )

    incident.refresh_from_db()
    assert incident.assignee == world.chen.member
    assert incident.events.last().kind == EventKind.REASSIGNED


def test_assign_form_shown_first(world: World, staff):
    incident = world.ticket(world.place_a)

    response = staff.get(operate_url(incident, "assign"))

    assert response.status_code == 200
    assert "assignment" in response.context["form"].fields
    incident.refresh_from_db()
    assert incident.state == State.SUBMITTED


def test_assign_closed_ticket_shows_error(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)
    incident_accept(incident_id=incident.pk, actor=world.wang.actor)
    incident_resolve(incident_id=incident.pk, actor=world.wang.actor, reply="好了")

    response = staff.post(
        operate_url(incident, "assign"),
        {"confirm": "yes", "assignment": wang_assignment(world).pk},
    )

    assert response.status_code == 200
    assert incident.display_code in response.context["form"].non_field_errors()[0]
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED


def test_assign_action_on_selection(world: World, staff):
    first = world.ticket(world.place_a)
    second = world.ticket(world.place_a)
    data = {
        "action": "assign_selected",
        helpers.ACTION_CHECKBOX_NAME: [first.pk, second.pk],
    }

    page = staff.post(CHANGELIST, data)
    done = staff.post(
        CHANGELIST,
        {**data, "confirm": "yes", "assignment": wang_assignment(world).pk},
    )

    assert page.status_code == 200
    assert page.context["form"].fields["assignment"]
    assert done.status_code == 302
    for incident in (first, second):
        incident.refresh_from_db()
        assert incident.state == State.DISPATCHED
        assert incident.assignee == world.wang.member


def test_action_skips_illegal_ticket(world: World, staff):
    open_ticket = world.ticket(world.place_a, world.wang)
    closed = world.ticket(world.place_a)
    Incident.objects.filter(pk=closed.pk).update(state=State.CLOSED)

    response = staff.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            helpers.ACTION_CHECKBOX_NAME: [open_ticket.pk, closed.pk],
            "confirm": "yes",
            "reason": "重复来电",
        },
        follow=True,
    )

    open_ticket.refresh_from_db()
    closed.refresh_from_db()
    assert open_ticket.state == State.REJECTED
    assert closed.state == State.CLOSED
    texts = [str(message) for message in response.context["messages"]]
    assert any(closed.display_code in text for text in texts)


def test_reject_requires_reason(world: World, staff):
    incident = world.ticket(world.place_a)

    response = staff.post(operate_url(incident, "reject"), {"confirm": "yes"})

    assert "reason" in response.context["form"].errors
    incident.refresh_from_db()
    assert incident.state == State.SUBMITTED


def test_reject_with_reason(world: World, staff):
    incident = world.ticket(world.place_a)

    staff.post(
        operate_url(incident, "reject"), {"confirm": "yes", "reason": "不属于本街道"}
    )

    incident.refresh_from_db()
    assert incident.state == State.REJECTED
    assert incident.reject_reason == "不属于本街道"


def test_mark_duplicate_by_printed_code(world: World, staff):
    original = world.ticket(world.place_a, world.wang)
    copy = world.ticket(world.place_a)

    staff.post(
        operate_url(copy, "duplicate"),
        {"confirm": "yes", "original": original.display_code.lower()},
    )

    copy.refresh_from_db()
    assert copy.state == State.DUPLICATE
    assert copy.duplicate_of == original


def test_mark_duplicate_unknown_code(world: World, staff):
    copy = world.ticket(world.place_a)

    response = staff.post(
        operate_url(copy, "duplicate"), {"confirm": "yes", "original": "ZZZZZ-ZZZZZ"}
    )

    assert "original" in response.context["form"].errors
    copy.refresh_from_db()
    assert copy.state == State.SUBMITTED


def test_close_resolved_ticket(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)
    incident_accept(incident_id=incident.pk, actor=world.wang.actor)
    incident_resolve(incident_id=incident.pk, actor=world.wang.actor, reply="好了")

    staff.post(operate_url(incident, "close"), {"confirm": "yes", "note": "电话回访"})

    incident.refresh_from_db()
    assert incident.state == State.CLOSED
    assert incident.events.last().note == "电话回访"


def test_close_open_ticket_changes_nothing(world: World, staff):
    incident = world.ticket(world.place_a, world.wang)

    response = staff.post(operate_url(incident, "close"), {"confirm": "yes"})

    assert response.context["form"].non_field_errors()
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHED


def test_unknown_operation_404(world: World, staff):
    incident = world.ticket(world.place_a)

    assert staff.get(operate_url(incident, "delete")).status_code == 404


def test_operations_need_change_permission(world: World, django_user_model, client):
    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)
    incident = world.ticket(world.place_a)

    response = client.post(
        operate_url(incident, "reject"), {"confirm": "yes", "reason": "x"}
    )

    assert response.status_code == 403
    assert client.get(change_url(incident)).status_code == 200
    incident.refresh_from_db()
    assert incident.state == State.SUBMITTED


def test_member_cannot_open_admin(world: World):
    response = world.li.client().get(CHANGELIST)

    assert response.status_code == 302
    assert "login" in response.url


# Staff phone entry ---------------------------------------------------------------


def entry_data(world: World, **fields) -> dict:
    data = {
        "token": "b" * 32,
        "category": world.category.pk,
        "place": world.place_a.pk,
        "description": "来电反映：3 栋电梯困人",
        "reporter_name": "周女士",
        "reporter_phone": "13712345678",
        "hide_name": "on",
    }
    data.update(fields)
    return data


def test_staff_entry_form_shown(world: World, staff):
    response = staff.get(ADD)

    assert response.status_code == 200
    assert "reporter_phone" in response.context["form"].fields


def test_staff_entry_creates_staff_ticket(world: World, staff):
    response = staff.post(ADD, entry_data(world))

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response.url == change_url(incident)
    assert incident.channel == Channel.STAFF
    assert incident.reporter_name == "周女士"
    assert incident.reporter_phone == "13712345678"
    assert incident.place == world.place_a
    assert incident.grid == world.micro_a
    event = incident.events.get()
    assert event.kind == EventKind.SUBMITTED
    assert event.actor_user == world.staff.user


def test_staff_entry_by_grid_only(world: World, staff):
    staff.post(ADD, entry_data(world, place="", grid=world.general_b.pk))

    incident = Incident.objects.get()
    assert incident.place is None
    assert incident.grid == world.general_b


@pytest.mark.parametrize("field", ["place", "grid"])
def test_staff_entry_non_numeric_choice_names_value(world: World, staff, field):
    response = staff.post(ADD, entry_data(world, **{field: "abc"}))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Incident.objects.exists()


def test_calendar_admin_impossible_year_is_rejected(world: World, staff):
    # The year filter shows only when the table has a row.
    CalendarDay.objects.create(date=datetime.date(2026, 10, 1), is_workday=False)

    # Before the year was checked, this overflowed in the database (500).
    response = staff.get("/admin/incidents/calendarday/?year=" + "9" * 20)

    assert response.status_code in (200, 302)


def test_staff_entry_anonymous_caller(world: World, staff):
    staff.post(ADD, entry_data(world, reporter_name="", reporter_phone=""))

    incident = Incident.objects.get()
    assert incident.reporter_name == ""
    assert incident.channel == Channel.STAFF


def test_staff_entry_with_photo(world: World, staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    output = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(output, format="PNG")
    photo = SimpleUploadedFile("wx.png", output.getvalue(), content_type="image/png")

    staff.post(ADD, {**entry_data(world), "photos": photo})

    stored = Photo.objects.get()
    url = reverse(
        "admin:incidents_incident_photo", args=[stored.incident_id, stored.pk]
    )
    response = staff.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert world.li.client().get(url).status_code == 302


def test_staff_entry_bad_phone_names_field(world: World, staff):
    response = staff.post(ADD, entry_data(world, reporter_phone="12345"))

    assert response.status_code == 200
    assert "reporter_phone" in response.context["form"].errors
    assert not Incident.objects.exists()


def test_staff_entry_resubmit_creates_one(world: World, staff):
    staff.post(ADD, entry_data(world))
    staff.post(ADD, entry_data(world))

    assert Incident.objects.count() == 1


def test_staff_entry_place_autocomplete(world: World, staff):
    response = staff.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": "place",
            "term": world.place_b.code,
        },
    )

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [str(world.place_b.pk)]


def test_staff_entry_needs_add_permission(world: World, django_user_model, client):
    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)

    assert client.post(ADD, entry_data(world)).status_code == 403
    assert not Incident.objects.exists()
