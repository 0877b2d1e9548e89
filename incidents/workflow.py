"""The ticket life cycle: one function per transition.

Each function opens its own durable transaction, locks the ticket row, checks
that the transition is legal from the current state, writes the change and
one history event, and queues side effects with ``transaction.on_commit``.
An illegal transition raises ``TransitionError`` and changes nothing.
"""

import datetime
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid, Place
from incidents import hooks
from incidents.actors import Actor
from incidents.calendar import WorkingCalendar, deadline_after
from incidents.categories import CategorySettings, effective_settings
from incidents.models import (
    DESCRIPTION_MAX_LENGTH,
    OPEN_STATES,
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
from incidents.notifications import notify_for_events
from incidents.photos import PreparedPhoto
from members.models import Member, mobile_validator, normalize_mobile_number
from westgarden.forms import normalize_plain_text, normalize_single_line

logger = logging.getLogger(__name__)

# Channels where the reporter is the public, who may only pick public categories.
PUBLIC_CHANNELS = (Channel.PUBLIC_FORM, Channel.QR_CODE, Channel.API, Channel.OPEN311)


class TransitionError(ValidationError):
    """A transition that the ticket's current state does not allow."""


def _check_state(incident: Incident, action: str, allowed: Sequence[str]) -> None:
    if incident.state not in allowed:
        raise TransitionError(
            {
                "state": _("Cannot %(action)s ticket %(code)s because it is %(state)s.")
                % {
                    "action": action,
                    "code": incident.display_code,
                    "state": incident.get_state_display(),
                }
            }
        )


def _lock(incident_id: int) -> Incident:
    try:
        return Incident.objects.select_for_update().get(pk=incident_id)
    except Incident.DoesNotExist:
        raise ValidationError(
            {"incident": _("Ticket %(id)s does not exist.") % {"id": incident_id}}
        ) from None


def _event(
    incident: Incident,
    kind: str,
    actor: Actor,
    *,
    from_state: str = "",
    note: str = "",
    is_public: bool = True,
    level: int | None = None,
) -> IncidentEvent:
    """Build an unsaved history event; ``from_state`` counts only if the state moved."""
    to_state = incident.state if from_state and from_state != incident.state else ""
    return IncidentEvent(
        incident=incident,
        kind=kind,
        actor_kind=actor.kind,
        actor_user=actor.user if actor.user and actor.user.pk else None,
        from_state=from_state if to_state else "",
        to_state=to_state,
        note=note,
        is_public=is_public,
        level=level,
    )


def _record(
    incident: Incident, kind: str, actor: Actor, **fields: Any
) -> IncidentEvent:
    """Save and return one history event; ``fields`` as for ``_event``."""
    event = _event(incident, kind, actor, **fields)
    event.save()
    return event


def _require_text(value: str, field: str, label: str, limit: int = 4000) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("%(label)s is required.") % {"label": label}})
    if len(value) > limit:
        raise ValidationError(
            {
                field: _("%(label)s has %(count)s characters; the limit is %(limit)s.")
                % {"label": label, "count": len(value), "limit": limit}
            }
        )
    return value


def _require_handler(incident: Incident, actor: Actor, action: str) -> None:
    """Raise unless the actor is staff or the ticket's assignee."""
    if actor.is_staff or actor.kind == "system":
        return
    if actor.member is not None and actor.member.pk == incident.assignee_id:
        return
    raise ValidationError(
        {
            "assignee": _("Only the assignee or staff may %(action)s ticket %(code)s.")
            % {"action": action, "code": incident.display_code}
        }
    )


def _save_photos(
    incident: Incident, event: IncidentEvent | None, photos: Sequence[PreparedPhoto]
) -> None:
    now = timezone.now()
    for prepared in photos:
        photo = Photo(
            incident=incident,
            event=event,
            content_type=prepared.content_type,
            width=prepared.width,
            height=prepared.height,
            size=len(prepared.content),
            is_public=event.is_public if event else True,
            created_at=now,
        )
        # NOTE: a rollback after this point leaves the file behind in storage
        # without a row; the name is random, so nothing ever serves it.
        photo.image.save("upload", ContentFile(prepared.content), save=False)
        photo.save()


def _on_commit(callback: Callable[[], None]) -> None:
    transaction.on_commit(callback)


def _notify(event: IncidentEvent, **loaded: Any) -> None:
    """Write the event's notifications now and deliver them after commit.

    ``loaded`` passes what the caller has read already on to
    ``notify_for_events``.
    """
    if notify_for_events([event], **loaded):
        _on_commit(hooks.deliver_notifications)


def _set_deadlines(
    incident: Incident,
    start: datetime.datetime,
    category_settings: CategorySettings | None = None,
    calendar: WorkingCalendar | None = None,
) -> None:
    settings = category_settings or effective_settings(incident.category)
    calendar = calendar or WorkingCalendar.from_moment(start)
    incident.accept_deadline = deadline_after(
        start, settings.accept_minutes, settings.time_basis, calendar=calendar
    )
    incident.resolve_deadline = deadline_after(
        start, settings.resolve_minutes, settings.time_basis, calendar=calendar
    )


# Submission ---------------------------------------------------------------


def incident_submit(
    *,
    category_id: int,
    description: str,
    channel: str,
    actor: Actor,
    subject: str = "",
    place_id: int | None = None,
    grid_id: int | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    reporter_email: str = "",
    hide_name: bool = True,
    photos: Sequence[PreparedPhoto] = (),
    idempotency_key: str | None = None,
) -> Incident:
    """Create a ticket in state submitted and queue its routing.

    Raise ValidationError naming the field for bad input. With an
    ``idempotency_key`` that was used before, return the ticket it created
    instead of creating a second one, even if the ticket could not be
    created from this input now (say staff hid its category since). The
    key's unique constraint or a failed check finds a repeat, so a first
    submission costs no extra query.
    """
    try:
        with transaction.atomic(durable=True):
            incident = _build_incident(
                category_id=category_id,
                description=description,
                channel=channel,
                actor=actor,
                subject=subject,
                place_id=place_id,
                grid_id=grid_id,
                reporter_name=reporter_name,
                reporter_phone=reporter_phone,
                reporter_email=reporter_email,
                hide_name=hide_name,
                idempotency_key=idempotency_key or None,
            )
            incident.save()
            event = _record(incident, EventKind.SUBMITTED, actor)
            _save_photos(incident, event, photos)
            _on_commit(lambda: hooks.incident_submitted(incident.pk))
    except (ValidationError, IntegrityError):
        # The key was used before, or two requests with it raced.
        existing = _submitted_with_key(idempotency_key)
        if existing is not None:
            return existing
        raise

    logger.info("incident submitted id=%s channel=%s", incident.pk, channel)
    return incident


def _submitted_with_key(idempotency_key: str | None) -> Incident | None:
    if not idempotency_key:
        return None
    return Incident.objects.filter(idempotency_key=idempotency_key).first()


def _build_incident(
    *,
    category_id: int,
    description: str,
    channel: str,
    actor: Actor,
    subject: str,
    place_id: int | None,
    grid_id: int | None,
    reporter_name: str,
    reporter_phone: str,
    reporter_email: str,
    hide_name: bool,
    idempotency_key: str | None,
) -> Incident:
    # Channels without a form, such as the API, get the forms' text cleaning.
    description = _require_text(
        normalize_plain_text(description or ""),
        "description",
        _("Description"),
        DESCRIPTION_MAX_LENGTH,
    )
    category = Category.objects.filter(pk=category_id, is_active=True).first()
    if category is None:
        raise ValidationError(
            {
                "category": _(
                    "Category %(id)s does not exist or is no longer in use; "
                    "choose another."
                )
                % {"id": category_id}
            }
        )
    if channel in PUBLIC_CHANNELS and not category.is_public:
        raise ValidationError(
            {
                "category": _("Residents cannot report in category %(name)s.")
                % {"name": category.name}
            }
        )

    place, grid = _place_and_grid(place_id, grid_id)

    incident = Incident(
        category=category,
        subject=_subject_line(subject, description),
        description=description,
        place=place,
        grid=grid,
        channel=channel,
        reporter_name=normalize_single_line(reporter_name or ""),
        reporter_phone=_reporter_phone(reporter_phone),
        reporter_email=(reporter_email or "").strip(),
        hide_name=hide_name,
        reported_by=actor.member if actor.is_member else None,
        idempotency_key=idempotency_key,
    )
    # The category, place and grid were read above as active rows, so
    # full_clean need not check again that they exist.
    incident.full_clean(
        exclude=["tracking_code", "idempotency_key", "category", "place", "grid"]
    )
    return incident


def _subject_line(subject: str, description: str) -> str:
    """Return the typed subject, or the start of the description, as one line."""
    typed = normalize_single_line(subject or "")[:120].rstrip()
    return typed or normalize_single_line(description)[:60].rstrip()


def _place_and_grid(
    place_id: int | None, grid_id: int | None
) -> tuple[Place | None, Grid | None]:
    """Return the active place and the grid that a new ticket is filed in.

    A ticket with a place is filed in the place's grid. A grid given as well
    must be that grid or one of its ancestors. Otherwise the two disagree,
    and the ValidationError names both.
    """
    place = None
    if place_id is not None:
        place = (
            Place.objects.select_related("grid")
            .filter(pk=place_id, is_active=True)
            .first()
        )
        if place is None:
            raise ValidationError(
                {"place": _("Place %(id)s does not exist.") % {"id": place_id}}
            )
    if grid_id is None:
        return place, place.grid if place else None

    grid = Grid.objects.filter(pk=grid_id, is_active=True).first()
    if grid is None:
        raise ValidationError(
            {"grid": _("Grid %(id)s does not exist.") % {"id": grid_id}}
        )
    if place is None:
        return None, grid

    if not place.grid.is_descendant_of(grid, include_self=True):
        raise ValidationError(
            {
                "grid": _(
                    "Place %(place)s is in grid %(place_grid)s, which is not grid "
                    "%(grid)s or below it. Correct the place or the grid, or leave "
                    "the grid empty."
                )
                % {
                    "place": place.code,
                    "place_grid": place.grid.code,
                    "grid": grid.code,
                }
            }
        )
    return place, place.grid


def _reporter_phone(typed: str) -> str:
    """Return the reporter's mobile number as 11 digits, or "" if none was given.

    Raise ValidationError that shows the number as typed if it is invalid.
    """
    typed = (typed or "").strip()
    if not typed:
        return ""

    phone = normalize_mobile_number(typed)
    try:
        mobile_validator(phone)
    except ValidationError:
        raise ValidationError(
            {
                "reporter_phone": _(
                    "%(value)s is not an 11-digit mainland mobile number."
                )
                % {"value": typed}
            }
        ) from None
    return phone


# Dispatch and handling -----------------------------------------------------


def incident_dispatch(
    *,
    incident_id: int,
    assignee_id: int,
    actor: Actor,
    note: str = "",
    internal_note: str = "",
    grid_id: int | None = None,
    only_untriaged: bool = False,
) -> Incident:
    """Hand a submitted ticket to a member and start its deadlines.

    ``internal_note`` records why, for staff and members only. Routing passes
    ``only_untriaged`` so that it never takes a ticket back from the staff
    triage queue.
    """
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("dispatch"), [State.SUBMITTED])
        if only_untriaged and incident.needs_triage:
            raise TransitionError(
                {
                    "state": _("Ticket %(code)s waits for staff to route it.")
                    % {"code": incident.display_code}
                }
            )
        member = _active_member(assignee_id)
        grid = _existing_grid(grid_id) if grid_id is not None else None
        dispatch_locked(
            incident, member, grid, actor=actor, note=note, internal_note=internal_note
        )

    logger.info("incident dispatched id=%s assignee=%s", incident.pk, assignee_id)
    return incident


def dispatch_locked(
    incident: Incident,
    member: Member,
    grid: Grid | None,
    *,
    actor: Actor,
    note: str = "",
    internal_note: str = "",
    category_settings: CategorySettings | None = None,
) -> None:
    """Dispatch a ticket that the caller has locked and found submitted.

    ``member`` must be active and should come with its user loaded, because
    the notification reads it.
    """
    from_state = incident.state
    now = timezone.now()
    incident.assignee = member
    if grid is not None:
        incident.grid = grid
    incident.state = State.DISPATCHED
    incident.needs_triage = False
    incident.dispatched_at = now
    category_settings = category_settings or effective_settings(incident.category)
    calendar = WorkingCalendar.from_moment(now)
    _set_deadlines(incident, now, category_settings, calendar)
    incident.save(
        update_fields=[
            "assignee",
            "grid",
            "state",
            "needs_triage",
            "dispatched_at",
            "accept_deadline",
            "resolve_deadline",
            "updated_at",
        ]
    )

    # Both events in one INSERT; the routing reason comes first.
    events = []
    if internal_note:
        events.append(
            _event(
                incident, EventKind.ROUTED, actor, note=internal_note, is_public=False
            )
        )
    dispatched = _event(
        incident, EventKind.DISPATCHED, actor, from_state=from_state, note=note
    )
    events.append(dispatched)
    IncidentEvent.objects.bulk_create(events)
    _notify(
        dispatched,
        incidents={incident.pk: incident},
        category_settings={incident.category_id: category_settings},
        calendar=calendar,
    )


def incident_triage(*, incident_id: int, reason: str) -> Incident:
    """Put a submitted ticket in the staff triage queue (待分拨) with the reason."""
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("send to triage"), [State.SUBMITTED])
        if incident.needs_triage:
            raise TransitionError(
                {
                    "state": _("Ticket %(code)s is already waiting for staff.")
                    % {"code": incident.display_code}
                }
            )
        triage_locked(incident, reason)

    logger.info("incident sent to triage id=%s", incident.pk)
    return incident


def triage_locked(incident: Incident, reason: str) -> None:
    """Queue a locked, submitted ticket for staff; the reason is an internal note."""
    incident.needs_triage = True
    incident.save(update_fields=["needs_triage", "updated_at"])
    _record(incident, EventKind.ROUTED, Actor.system(), note=reason, is_public=False)


def _active_member(member_id: int) -> Member:
    member = (
        Member.objects.select_related("user")
        .filter(pk=member_id, is_active=True)
        .first()
    )
    if member is None:
        raise ValidationError(
            {
                "assignee": _("Member %(id)s does not exist or is inactive.")
                % {"id": member_id}
            }
        )
    return member


def _existing_grid(grid_id: int) -> Grid:
    grid = Grid.objects.filter(pk=grid_id).first()
    if grid is None:
        raise ValidationError(
            {"grid": _("Grid %(id)s does not exist.") % {"id": grid_id}}
        )
    return grid


def _assign(incident: Incident, assignee_id: int, grid_id: int | None) -> None:
    incident.assignee = _active_member(assignee_id)
    if grid_id is not None:
        incident.grid = _existing_grid(grid_id)


def incident_reassign(
    *,
    incident_id: int,
    assignee_id: int,
    actor: Actor,
    note: str = "",
    grid_id: int | None = None,
) -> Incident:
    """Give a dispatched or accepted ticket to another member, who must accept it."""
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("reassign"), [State.DISPATCHED, State.ACCEPTED])
        from_state = incident.state
        _assign(incident, assignee_id, grid_id)
        now = timezone.now()
        incident.state = State.DISPATCHED
        incident.dispatched_at = now
        incident.accepted_at = None
        _set_deadlines(incident, now)
        incident.save()
        event = _record(
            incident,
            EventKind.REASSIGNED,
            actor,
            from_state=from_state,
            note=note,
            is_public=False,
        )
        _notify(event)

    logger.info("incident reassigned id=%s assignee=%s", incident.pk, assignee_id)
    return incident


def incident_accept(*, incident_id: int, actor: Actor) -> Incident:
    """Record that the assignee has taken up the ticket (签收)."""
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("accept"), [State.DISPATCHED])
        _require_handler(incident, actor, _("accept"))
        incident.state = State.ACCEPTED
        incident.accepted_at = timezone.now()
        incident.save()
        _record(incident, EventKind.ACCEPTED, actor, from_state=State.DISPATCHED)

    logger.info("incident accepted id=%s", incident.pk)
    return incident


def incident_resolve(
    *, incident_id: int, actor: Actor, reply: str, photos: Sequence[PreparedPhoto] = ()
) -> Incident:
    """Write the handler's reply and mark the ticket resolved (办结)."""
    reply = _require_text(reply, "reply", _("Reply"))

    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("resolve"), [State.ACCEPTED])
        _require_handler(incident, actor, _("resolve"))
        incident.state = State.RESOLVED
        incident.reply = reply
        incident.resolved_at = timezone.now()
        incident.resolution_round += 1
        incident.save()
        event = _record(
            incident, EventKind.RESOLVED, actor, from_state=State.ACCEPTED, note=reply
        )
        _save_photos(incident, event, photos)
        _notify(event)

    logger.info("incident resolved id=%s", incident.pk)
    return incident


def incident_close(*, incident_id: int, actor: Actor, note: str = "") -> Incident:
    """Close a resolved ticket (结案)."""
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("close"), [State.RESOLVED])
        _close(incident, actor, note)

    logger.info("incident closed id=%s", incident.pk)
    return incident


def _close(incident: Incident, actor: Actor, note: str) -> None:
    incident.state = State.CLOSED
    incident.closed_at = timezone.now()
    incident.save()
    _record(incident, EventKind.CLOSED, actor, from_state=State.RESOLVED, note=note)


def incident_reject(*, incident_id: int, actor: Actor, reason: str) -> Incident:
    """Refuse a ticket as spam or out of scope (不予受理), with a public reason."""
    reason = _require_text(reason, "reason", _("Reason"))
    if not actor.is_staff:
        raise ValidationError(
            {"actor": _("Only street-office staff may reject a ticket.")}
        )

    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("reject"), [State.SUBMITTED, State.DISPATCHED])
        from_state = incident.state
        incident.state = State.REJECTED
        incident.reject_reason = reason
        incident.closed_at = timezone.now()
        incident.save()
        _record(incident, EventKind.REJECTED, actor, from_state=from_state, note=reason)

    logger.info("incident rejected id=%s", incident.pk)
    return incident


def _unassign(
    incident: Incident, kind: str, actor: Actor, reason: str, *, needs_triage: bool
) -> None:
    """Put a locked ticket back to submitted, without assignee or deadlines.

    The reason becomes an internal event of ``kind``. With ``needs_triage``
    the ticket waits for staff, else for routing.
    """
    from_state = incident.state
    incident.state = State.SUBMITTED
    incident.needs_triage = needs_triage
    incident.assignee = None
    incident.accept_deadline = None
    incident.resolve_deadline = None
    incident.accepted_at = None
    incident.save()
    _record(incident, kind, actor, from_state=from_state, note=reason, is_public=False)


def incident_send_back(*, incident_id: int, actor: Actor, reason: str) -> Incident:
    """Return a ticket that the assignee's grid does not own to staff for routing."""
    reason = _require_text(reason, "reason", _("Reason"))

    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("send back"), [State.DISPATCHED, State.ACCEPTED])
        _require_handler(incident, actor, _("send back"))
        _unassign(incident, EventKind.SENT_BACK, actor, reason, needs_triage=True)

    logger.info("incident sent back id=%s", incident.pk)
    return incident


def incident_release(
    *, incident_id: int, assignee_id: int, actor: Actor, reason: str
) -> Incident:
    """Take an open ticket from ``assignee_id``, a member who is no longer active.

    The ticket waits for routing as a new one does, and the sweep's late
    routing takes it up; the reason is an internal note. Raise
    TransitionError, changing nothing, if the ticket is not dispatched or
    accepted, has another assignee by now, or the member is active again.
    """
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(
            incident, _("return for routing"), [State.DISPATCHED, State.ACCEPTED]
        )
        if incident.assignee_id != assignee_id:
            raise TransitionError(
                {
                    "assignee": _(
                        "Ticket %(code)s has another assignee by now; nothing changed."
                    )
                    % {"code": incident.display_code}
                }
            )
        if Member.objects.filter(pk=assignee_id, is_active=True).exists():
            raise TransitionError(
                {
                    "assignee": _(
                        "The assignee of ticket %(code)s is active again; nothing "
                        "changed."
                    )
                    % {"code": incident.display_code}
                }
            )
        _unassign(incident, EventKind.RELEASED, actor, reason, needs_triage=False)

    logger.info("incident returned for routing id=%s", incident.pk)
    return incident


def incident_mark_duplicate(
    *, incident_id: int, original_id: int, actor: Actor
) -> Incident:
    """Close an open ticket as a duplicate; its reporter follows the original."""
    if incident_id == original_id:
        raise ValidationError({"duplicate_of": _("A ticket cannot duplicate itself.")})
    if not (actor.is_staff or actor.is_member):
        raise ValidationError(
            {"actor": _("Only staff or grid members may mark duplicates.")}
        )

    with transaction.atomic(durable=True):
        # Both rows in primary-key order, so that two opposite requests
        # cannot deadlock.
        rows = {
            row.pk: row
            for row in Incident.objects.select_for_update()
            .filter(pk__in=[incident_id, original_id])
            .order_by("pk")
        }
        if original_id not in rows:
            raise ValidationError(
                {
                    "duplicate_of": _("Ticket %(id)s does not exist.")
                    % {"id": original_id}
                }
            )
        if incident_id not in rows:
            raise ValidationError(
                {"incident": _("Ticket %(id)s does not exist.") % {"id": incident_id}}
            )
        incident, original = rows[incident_id], rows[original_id]
        _check_state(incident, _("mark as duplicate"), OPEN_STATES)
        if original.state not in OPEN_STATES:
            raise ValidationError(
                {
                    "duplicate_of": _("Ticket %(code)s is %(state)s, not open.")
                    % {
                        "code": original.display_code,
                        "state": original.get_state_display(),
                    }
                }
            )
        from_state = incident.state
        incident.state = State.DUPLICATE
        incident.duplicate_of = original
        incident.closed_at = timezone.now()
        incident.save()
        # Earlier duplicates of this ticket follow the original too, so that
        # no page points at a ticket that is itself a duplicate.
        Incident.objects.filter(duplicate_of=incident).update(duplicate_of=original)
        # No note: the event is public, and the original's code stays private.
        event = _record(incident, EventKind.DUPLICATE, actor, from_state=from_state)
        _notify(event)

    logger.info("incident duplicate id=%s original=%s", incident.pk, original_id)
    return incident


# Comments, resident information and ratings ---------------------------------


def incident_comment(
    *,
    incident_id: int,
    actor: Actor,
    note: str,
    is_public: bool,
    photos: Sequence[PreparedPhoto] = (),
) -> IncidentEvent:
    """Add a comment (public) or an internal note to a ticket's history."""
    note = _require_text(note, "note", _("Note"))
    if not (actor.is_staff or actor.is_member):
        raise ValidationError({"actor": _("Only staff or grid members may comment.")})

    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        kind = EventKind.COMMENT if is_public else EventKind.NOTE
        event = _record(incident, kind, actor, note=note, is_public=is_public)
        _save_photos(incident, event, photos)
        incident.save(update_fields=["updated_at"])

    logger.info("incident commented id=%s public=%s", incident.pk, is_public)
    return event


def incident_add_info(
    *, incident_id: int, note: str, photos: Sequence[PreparedPhoto] = ()
) -> IncidentEvent:
    """Add information from the reporter to a ticket that is not finished yet."""
    note = _require_text(note, "note", _("Information"))

    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("add information to"), [*OPEN_STATES, State.RESOLVED])
        event = _record(incident, EventKind.INFO, Actor.resident(), note=note)
        _save_photos(incident, event, photos)
        incident.save(update_fields=["updated_at"])
        _notify(event)

    logger.info("incident info added id=%s", incident.pk)
    return event


def incident_rate(*, incident_id: int, value: str, comment: str = "") -> Rating:
    """Record the reporter's rating; any rating but dissatisfied closes the ticket."""
    if value not in RatingValue.values:
        raise ValidationError(
            {
                "value": _("%(value)s is not a rating; use one of %(known)s.")
                % {"value": value, "known": ", ".join(RatingValue.values)}
            }
        )
    comment = (comment or "").strip()

    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("rate"), [State.RESOLVED])
        if Rating.objects.filter(
            incident=incident, round=incident.resolution_round
        ).exists():
            raise ValidationError(
                {
                    "value": _("Ticket %(code)s has already been rated.")
                    % {"code": incident.display_code}
                }
            )
        rating = Rating(
            incident=incident,
            round=incident.resolution_round,
            value=value,
            comment=comment,
            grid=incident.grid,
        )
        rating.full_clean()
        rating.save()
        _record(
            incident,
            EventKind.RATED,
            Actor.resident(),
            note=f"{rating.get_value_display()}" + (f": {comment}" if comment else ""),
        )
        if value != RatingValue.DISSATISFIED:
            _close(incident, Actor.system(), "")

    logger.info("incident rated id=%s value=%s", incident.pk, value)
    return rating


def incident_reopen(*, incident_id: int, note: str = "") -> Incident:
    """Send a resolved ticket back to its handler after a dissatisfied rating."""
    with transaction.atomic(durable=True):
        incident = _lock(incident_id)
        _check_state(incident, _("reopen"), [State.RESOLVED])
        rating = Rating.objects.filter(
            incident=incident, round=incident.resolution_round
        ).first()
        if rating is None or rating.value != RatingValue.DISSATISFIED:
            raise TransitionError(
                {"state": _("Only a ticket rated dissatisfied can be reopened.")}
            )
        # A handler who has left since goes to staff like a ticket without one.
        if incident.assignee is None or not incident.assignee.is_active:
            incident.state = State.SUBMITTED
            incident.needs_triage = True
            incident.assignee = None
            # The first round's deadlines would mark it overdue in triage.
            incident.accept_deadline = None
            incident.resolve_deadline = None
            incident.accepted_at = None
        else:
            now = timezone.now()
            incident.state = State.DISPATCHED
            incident.dispatched_at = now
            incident.accepted_at = None
            _set_deadlines(incident, now)
        incident.resolved_at = None
        incident.save()
        event = _record(
            incident,
            EventKind.REOPENED,
            Actor.resident(),
            from_state=State.RESOLVED,
            note=(note or "").strip()[:1000],
        )
        _notify(event)

    logger.info("incident reopened id=%s", incident.pk)
    return incident
