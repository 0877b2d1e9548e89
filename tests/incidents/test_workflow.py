"""The ticket life cycle: every transition from every state, bad input, history."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError

from incidents.actors import Actor
from incidents.models import (
    DESCRIPTION_MAX_LENGTH,
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
from incidents.workflow import (
    TransitionError,
    incident_accept,
    incident_add_info,
    incident_close,
    incident_comment,
    incident_dispatch,
    incident_mark_duplicate,
    incident_rate,
    incident_reassign,
    incident_reject,
    incident_reopen,
    incident_resolve,
    incident_send_back,
    incident_triage,
)
from members.models import Member
from tests.incidents.tickets import (
    ACCEPTED,
    ALL_STATES,
    CLOSED,
    DISPATCHED,
    DUPLICATE,
    RATED_DISSATISFIED,
    REJECTED,
    RESOLVED,
    SUBMITTED,
    TRIAGE,
    Office,
    build_office,
)


@pytest.fixture
def office(db) -> Office:
    return build_office()


@dataclass(frozen=True)
class Transition:
    name: str
    allowed: tuple[str, ...]
    call: Callable[[Office, Incident], object]
    # The state after a legal call, and whether the ticket waits for staff.
    expected_state: str | None
    expected_triage: bool | None = None
    # States that the call rejects with another error, tested on their own.
    rejected_otherwise: tuple[str, ...] = ()


def _duplicate(office: Office, incident: Incident) -> object:
    original = office.submit()
    return incident_mark_duplicate(
        incident_id=incident.pk, original_id=original.pk, actor=office.staff
    )


OPEN = (SUBMITTED, TRIAGE, DISPATCHED, ACCEPTED)

TRANSITIONS = [
    Transition(
        "dispatch",
        (SUBMITTED, TRIAGE),
        lambda o, i: incident_dispatch(
            incident_id=i.pk, assignee_id=o.liu.pk, actor=o.staff
        ),
        State.DISPATCHED,
        False,
    ),
    Transition(
        "triage",
        (SUBMITTED,),
        lambda o, i: incident_triage(incident_id=i.pk, reason="无人负责"),
        State.SUBMITTED,
        True,
    ),
    Transition(
        "reassign",
        (DISPATCHED, ACCEPTED),
        lambda o, i: incident_reassign(
            incident_id=i.pk, assignee_id=o.zhou.pk, actor=o.staff
        ),
        State.DISPATCHED,
    ),
    Transition(
        "accept",
        (DISPATCHED,),
        lambda o, i: incident_accept(incident_id=i.pk, actor=o.mediator),
        State.ACCEPTED,
    ),
    Transition(
        "resolve",
        (ACCEPTED,),
        lambda o, i: incident_resolve(
            incident_id=i.pk, actor=o.mediator, reply="已协调整改"
        ),
        State.RESOLVED,
    ),
    Transition(
        "close",
        (RESOLVED, RATED_DISSATISFIED),
        lambda o, i: incident_close(incident_id=i.pk, actor=o.staff),
        State.CLOSED,
    ),
    Transition(
        "reject",
        (SUBMITTED, TRIAGE, DISPATCHED),
        lambda o, i: incident_reject(incident_id=i.pk, actor=o.staff, reason="广告"),
        State.REJECTED,
    ),
    Transition(
        "send back",
        (DISPATCHED, ACCEPTED),
        lambda o, i: incident_send_back(
            incident_id=i.pk, actor=o.staff, reason="不属于本网格"
        ),
        State.SUBMITTED,
        True,
    ),
    Transition("mark duplicate", OPEN, _duplicate, State.DUPLICATE),
    Transition(
        "add info",
        (*OPEN, RESOLVED, RATED_DISSATISFIED),
        lambda o, i: incident_add_info(incident_id=i.pk, note="晚上十点后更吵"),
        None,
    ),
    Transition(
        "rate",
        (RESOLVED,),
        lambda o, i: incident_rate(incident_id=i.pk, value=RatingValue.SATISFIED),
        State.CLOSED,
        rejected_otherwise=(RATED_DISSATISFIED,),
    ),
    Transition(
        "reopen",
        (RATED_DISSATISFIED,),
        lambda o, i: incident_reopen(incident_id=i.pk, note="还是很吵"),
        State.DISPATCHED,
    ),
    Transition(
        "comment",
        ALL_STATES,
        lambda o, i: incident_comment(
            incident_id=i.pk, actor=o.staff, note="已电话联系", is_public=False
        ),
        None,
    ),
]

LEGAL = [
    pytest.param(transition, state, id=f"{transition.name} from {state}")
    for transition in TRANSITIONS
    for state in transition.allowed
]
ILLEGAL = [
    pytest.param(transition, state, id=f"{transition.name} from {state}")
    for transition in TRANSITIONS
    for state in ALL_STATES
    if state not in transition.allowed + transition.rejected_otherwise
]


@pytest.mark.parametrize(("transition", "state"), LEGAL)
def test_transition_legal_from_state(office, transition, state):
    incident = office.ticket(state)
    events_before = incident.events.count()

    transition.call(office, incident)

    after = Incident.objects.get(pk=incident.pk)
    expected = transition.expected_state or incident.state
    assert after.state == expected
    if transition.expected_triage is not None:
        assert after.needs_triage is transition.expected_triage
    assert after.events.count() > events_before


@pytest.mark.parametrize(("transition", "state"), ILLEGAL)
def test_transition_illegal_from_state_changes_nothing(office, transition, state):
    incident = office.ticket(state)
    events_before = incident.events.count()
    ratings_before = Rating.objects.filter(incident=incident).count()

    with pytest.raises(TransitionError) as caught:
        transition.call(office, incident)

    assert "state" in caught.value.message_dict
    after = Incident.objects.get(pk=incident.pk)
    assert after.state == incident.state
    assert after.needs_triage == incident.needs_triage
    assert after.assignee_id == incident.assignee_id
    assert after.updated_at == incident.updated_at
    assert after.events.count() == events_before
    assert Rating.objects.filter(incident=incident).count() == ratings_before


def test_dispatch_sets_deadlines_from_category(office):
    incident = office.ticket(SUBMITTED)

    dispatched = incident_dispatch(
        incident_id=incident.pk, assignee_id=office.liu.pk, actor=office.staff
    )

    assert dispatched.assignee == office.liu
    assert (dispatched.accept_deadline - dispatched.dispatched_at).total_seconds() == (
        60 * 60
    )
    assert (dispatched.resolve_deadline - dispatched.dispatched_at).total_seconds() == (
        600 * 60
    )


def test_send_back_clears_assignee_and_deadlines(office):
    incident = office.ticket(ACCEPTED)

    sent_back = incident_send_back(
        incident_id=incident.pk, actor=office.mediator, reason="不属于本网格"
    )

    assert sent_back.assignee_id is None
    assert sent_back.accept_deadline is None
    assert sent_back.resolve_deadline is None
    event = sent_back.events.order_by("-pk").first()
    assert event.kind == EventKind.SENT_BACK
    assert event.is_public is False


def test_accept_by_other_member_rejected(office):
    incident = office.ticket(DISPATCHED)
    outsider = Actor("member", member=office.wu)

    with pytest.raises(ValidationError) as caught:
        incident_accept(incident_id=incident.pk, actor=outsider)

    assert "assignee" in caught.value.message_dict
    assert Incident.objects.get(pk=incident.pk).state == State.DISPATCHED


def test_reject_by_member_rejected(office):
    incident = office.ticket(SUBMITTED)

    with pytest.raises(ValidationError) as caught:
        incident_reject(incident_id=incident.pk, actor=office.mediator, reason="广告")

    assert "actor" in caught.value.message_dict
    assert Incident.objects.get(pk=incident.pk).state == State.SUBMITTED


def test_transition_on_missing_ticket_names_incident(office):
    with pytest.raises(ValidationError) as caught:
        incident_accept(incident_id=987654, actor=office.mediator)

    assert "incident" in caught.value.message_dict


# Submission ----------------------------------------------------------------


@pytest.fixture
def staff_only(db) -> Category:
    return Category.objects.create(
        code="test-internal", name="内部巡查", role="inspector", is_public=False
    )


BAD_INPUT = [
    pytest.param({"description": ""}, "description", id="empty description"),
    pytest.param({"description": "   \n "}, "description", id="blank description"),
    pytest.param(
        {"description": "噪" * (DESCRIPTION_MAX_LENGTH + 1)},
        "description",
        id="4001-character description",
    ),
    pytest.param({"place_id": 987654}, "place", id="unknown place"),
    pytest.param({"category_id": 987654}, "category", id="unknown category"),
    pytest.param({"reporter_phone": "12345"}, "reporter_phone", id="short phone"),
    pytest.param(
        {"reporter_phone": "23800000000"}, "reporter_phone", id="phone not mobile"
    ),
    pytest.param(
        {"reporter_email": "not-an-address"}, "reporter_email", id="invalid e-mail"
    ),
]


@pytest.mark.parametrize(("fields", "field"), BAD_INPUT)
def test_submit_bad_input_names_field_writes_nothing(office, fields, field):
    with pytest.raises(ValidationError) as caught:
        office.submit(**fields)

    assert list(caught.value.message_dict) == [field]
    assert Incident.objects.count() == 0
    assert IncidentEvent.objects.count() == 0
    assert Photo.objects.count() == 0


@pytest.mark.parametrize("channel", [Channel.PUBLIC_FORM, Channel.QR_CODE, Channel.API])
def test_submit_internal_category_publicly_rejected(office, staff_only, channel):
    with pytest.raises(ValidationError) as caught:
        office.submit(category_id=staff_only.pk, channel=channel)

    assert list(caught.value.message_dict) == ["category"]
    assert staff_only.name in caught.value.message_dict["category"][0]
    assert Incident.objects.count() == 0


def test_submit_internal_category_by_staff_accepted(office, staff_only):
    incident = office.submit(
        category_id=staff_only.pk, channel=Channel.STAFF, actor=office.staff
    )

    assert incident.category == staff_only


def test_submit_description_at_limit_accepted(office):
    incident = office.submit(description="噪" * DESCRIPTION_MAX_LENGTH)

    assert len(incident.description) == DESCRIPTION_MAX_LENGTH


def test_submit_records_one_event(office):
    incident = office.submit(reporter_phone="13812345678")

    assert incident.state == State.SUBMITTED
    assert incident.grid == office.micro
    assert list(incident.events.values_list("kind", flat=True)) == [EventKind.SUBMITTED]


def test_submit_queues_routing_after_commit(office, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = office.submit()

    routed = Incident.objects.get(pk=incident.pk)
    assert routed.state == State.DISPATCHED
    assert routed.assignee == office.liu


def test_submit_idempotency_key_returns_same_ticket(
    office, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = office.submit(idempotency_key="form-7f3a")
        second = office.submit(idempotency_key="form-7f3a", description="另一份描述")

    assert second.pk == first.pk
    assert second.description == first.description
    assert Incident.objects.count() == 1
    assert IncidentEvent.objects.count() == 1
    assert len(callbacks) == 1


def test_submit_different_keys_create_two_tickets(office):
    first = office.submit(idempotency_key="form-1")
    second = office.submit(idempotency_key="form-2")

    assert first.pk != second.pk


# Ratings -------------------------------------------------------------------


def test_rate_twice_in_one_round_rejected(office):
    incident = office.ticket(RATED_DISSATISFIED)

    with pytest.raises(ValidationError) as caught:
        incident_rate(incident_id=incident.pk, value=RatingValue.SATISFIED)

    assert "value" in caught.value.message_dict
    assert Rating.objects.filter(incident=incident).count() == 1
    assert Incident.objects.get(pk=incident.pk).state == State.RESOLVED


def test_rate_unknown_value_rejected(office):
    incident = office.ticket(RESOLVED)

    with pytest.raises(ValidationError) as caught:
        incident_rate(incident_id=incident.pk, value="great")

    assert "value" in caught.value.message_dict
    assert not Rating.objects.filter(incident=incident).exists()


def test_reopen_after_dissatisfied_then_rate_again(office):
    incident = office.ticket(RATED_DISSATISFIED)

    reopened = incident_reopen(incident_id=incident.pk, note="还是很吵")
    assert reopened.state == State.DISPATCHED
    assert reopened.assignee == office.liu
    incident_accept(incident_id=incident.pk, actor=office.mediator)
    resolved = incident_resolve(
        incident_id=incident.pk, actor=office.mediator, reply="已第二次上门"
    )
    assert resolved.resolution_round == 2
    incident_rate(incident_id=incident.pk, value=RatingValue.BASICALLY)

    after = Incident.objects.get(pk=incident.pk)
    assert after.state == State.CLOSED
    rounds = list(
        Rating.objects.filter(incident=incident)
        .order_by("round")
        .values_list("round", "value")
    )
    assert rounds == [(1, RatingValue.DISSATISFIED), (2, RatingValue.BASICALLY)]


def test_reopen_without_assignee_goes_to_triage(office):
    incident = office.ticket(RATED_DISSATISFIED)
    Incident.objects.filter(pk=incident.pk).update(assignee=None)

    reopened = incident_reopen(incident_id=incident.pk)

    assert reopened.state == State.SUBMITTED
    assert reopened.needs_triage is True


def test_reopen_with_inactive_assignee_goes_to_triage(office):
    incident = office.ticket(RATED_DISSATISFIED)
    Member.objects.filter(pk=office.liu.pk).update(is_active=False)

    reopened = incident_reopen(incident_id=incident.pk)

    assert reopened.state == State.SUBMITTED
    assert reopened.needs_triage is True
    assert reopened.assignee is None
    # Staff set new deadlines when they assign it; the old ones are past.
    assert (reopened.accept_deadline, reopened.resolve_deadline) == (None, None)


def test_rating_records_grid(office):
    incident = office.ticket(RESOLVED)

    rating = incident_rate(incident_id=incident.pk, value=RatingValue.SATISFIED)

    assert rating.grid == office.micro
    assert rating.round == 1


# Duplicates ----------------------------------------------------------------


def test_mark_duplicate_links_original(office):
    original = office.ticket(DISPATCHED)
    copy = office.ticket(SUBMITTED)

    marked = incident_mark_duplicate(
        incident_id=copy.pk, original_id=original.pk, actor=office.mediator
    )

    assert marked.state == State.DUPLICATE
    assert marked.duplicate_of == original
    assert marked.closed_at is not None
    event = marked.events.order_by("-pk").first()
    assert event.kind == EventKind.DUPLICATE
    # The event is public, and the original's code must stay private.
    assert event.is_public
    assert original.tracking_code not in event.note
    assert original.display_code not in event.note


def test_mark_duplicate_of_itself_rejected(office):
    incident = office.ticket(SUBMITTED)

    with pytest.raises(ValidationError) as caught:
        incident_mark_duplicate(
            incident_id=incident.pk, original_id=incident.pk, actor=office.staff
        )

    assert "duplicate_of" in caught.value.message_dict


@pytest.mark.parametrize("original_state", [CLOSED, REJECTED, DUPLICATE])
def test_mark_duplicate_of_finished_ticket_rejected(office, original_state):
    original = office.ticket(original_state)
    copy = office.ticket(SUBMITTED)

    with pytest.raises(ValidationError) as caught:
        incident_mark_duplicate(
            incident_id=copy.pk, original_id=original.pk, actor=office.staff
        )

    assert "duplicate_of" in caught.value.message_dict
    assert Incident.objects.get(pk=copy.pk).state == State.SUBMITTED


def test_mark_duplicate_by_resident_rejected(office):
    original = office.ticket(SUBMITTED)
    copy = office.ticket(SUBMITTED)

    with pytest.raises(ValidationError) as caught:
        incident_mark_duplicate(
            incident_id=copy.pk, original_id=original.pk, actor=Actor.resident()
        )

    assert "actor" in caught.value.message_dict


# History -------------------------------------------------------------------


def test_history_event_cannot_be_saved_again(office):
    incident = office.ticket(ACCEPTED)
    event = incident.events.order_by("pk").first()
    event.note = "改写的历史"

    with pytest.raises(ValidationError):
        event.save()

    assert IncidentEvent.objects.get(pk=event.pk).note == ""


def test_history_records_each_transition_in_order(office):
    incident = office.ticket(RESOLVED)

    kinds = list(incident.events.order_by("pk").values_list("kind", flat=True))

    assert kinds == [
        EventKind.SUBMITTED,
        EventKind.DISPATCHED,
        EventKind.ACCEPTED,
        EventKind.RESOLVED,
    ]
    resolved = incident.events.get(kind=EventKind.RESOLVED)
    assert resolved.from_state == State.ACCEPTED
    assert resolved.to_state == State.RESOLVED
    assert resolved.note == "已上门调解"
