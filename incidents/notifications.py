"""Notifications: the recipients of each ticket event, their channels, and delivery.

Rows are written in the same transaction as the event they announce, under a
unique key of event, channel and recipient, so a retried task or a second
sweep never notifies anyone twice. E-mail and SMS go out later through
``deliver_due``; the in-app inbox is the row itself.
"""

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from incidents.calendar import WorkingCalendar, add_working_time
from incidents.categories import CategorySettings, effective_settings
from incidents.models import (
    EventKind,
    Incident,
    IncidentEvent,
    Notification,
    NotificationChannel,
    State,
)
from incidents.sms import get_sms_backend
from members.models import Assignment, Member, Position

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
DELIVERY_BATCH = 200

# Events that tell the assignee that a ticket is waiting for them.
ASSIGNEE_EVENTS = {
    EventKind.DISPATCHED,
    EventKind.REASSIGNED,
    EventKind.REOPENED,
    EventKind.ESCALATED,
    EventKind.INFO,
}


def next_sending_time(
    now: datetime.datetime, is_urgent: bool, *, calendar: WorkingCalendar | None = None
) -> datetime.datetime:
    """Return when a notice created at ``now`` may go out.

    Urgent notices go at once, day or night. Others wait for the start of the
    next working period if ``now`` is outside working hours.
    """
    if is_urgent:
        return now
    return add_working_time(now, 0, calendar=calendar)


class Recipients:
    """Everything notify_for_events reads, fetched once per batch of events."""

    def __init__(
        self,
        incidents: dict[int, Incident],
        now: datetime.datetime,
        previous_assignees: dict[int, int | None] | None = None,
        *,
        category_settings: dict[int, CategorySettings] | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.now = now
        self._previous_ids = previous_assignees or {}
        self._previous: dict[int, Member] | None = None
        self._due_normal: datetime.datetime | None = None
        self._settings: dict[int, CategorySettings] = dict(category_settings or {})
        self._calendar = calendar
        self._staff: list | None = None
        self._leaders: dict[int, list[Member]] | None = None
        self._incidents = incidents

    def due(self, is_urgent: bool) -> datetime.datetime:
        """Return when a notice goes out; reads the calendar only when first needed."""
        if is_urgent:
            return self.now
        if self._due_normal is None:
            if self._calendar is None:
                self._calendar = WorkingCalendar.from_moment(self.now)
            self._due_normal = next_sending_time(
                self.now, False, calendar=self._calendar
            )
        return self._due_normal

    def is_urgent(self, incident: Incident) -> bool:
        if incident.category_id not in self._settings:
            self._settings[incident.category_id] = effective_settings(incident.category)
        return self._settings[incident.category_id].is_urgent

    def previous_assignee(self, incident: Incident) -> Member | None:
        """Return the member who held the ticket before an escalation, if another."""
        member_id = self._previous_ids.get(incident.pk)
        if member_id is None or member_id == incident.assignee_id:
            return None
        if self._previous is None:
            ids = {pk for pk in self._previous_ids.values() if pk is not None}
            self._previous = Member.objects.select_related("user").in_bulk(ids)
        return self._previous.get(member_id)

    def staff(self) -> list:
        if self._staff is None:
            self._staff = list(
                get_user_model()
                .objects.filter(is_staff=True, is_active=True)
                .only("pk", "email")
            )
        return self._staff

    def parent_leaders(self, incident: Incident) -> list[Member]:
        """Return the active leaders of the parent of the ticket's grid."""
        if self._leaders is None:
            parent_ids = {
                item.grid.parent_id
                for item in self._incidents.values()
                if item.grid is not None and item.grid.parent_id
            }
            self._leaders = {}
            assignments = (
                Assignment.objects.active(timezone.localdate())
                .filter(
                    grid_id__in=parent_ids,
                    position=Position.LEADER,
                    member__is_active=True,
                )
                .select_related("member__user")
                .order_by("member_id")
            )
            for assignment in assignments:
                self._leaders.setdefault(assignment.grid_id, []).append(
                    assignment.member
                )
        if incident.grid is None or incident.grid.parent_id is None:
            return []
        return self._leaders.get(incident.grid.parent_id, [])


def member_messages(
    key: str,
    member: Member,
    incident: Incident,
    text: tuple[str, str],
    is_urgent: bool,
    context: Recipients,
    *,
    as_assignee: bool = False,
) -> list[Notification]:
    """Return the member's inbox, e-mail and SMS rows for one message.

    With ``as_assignee``, the e-mail and SMS are withdrawn if the ticket has
    another assignee by the time they are due.
    """
    subject, body = text
    rows = []
    now = context.now
    common = {
        "incident": incident,
        "subject": subject,
        "body": body,
        "is_urgent": is_urgent,
    }
    user = member.user
    if user is not None and user.is_active:
        rows.append(
            Notification(
                key=f"{key}:inbox:u{user.pk}",
                channel=NotificationChannel.INBOX,
                recipient_user=user,
                due_at=now,
                sent_at=now,
                **common,
            )
        )
        if user.email:
            rows.append(
                Notification(
                    key=f"{key}:email:u{user.pk}",
                    channel=NotificationChannel.EMAIL,
                    recipient_user=user,
                    address=user.email,
                    due_at=context.due(is_urgent),
                    for_assignee=member if as_assignee else None,
                    **common,
                )
            )
    # Members without a login read no inbox, so they get an SMS; urgent
    # tickets reach everyone by SMS too.
    if user is None or is_urgent:
        rows.append(
            Notification(
                key=f"{key}:sms:m{member.pk}",
                channel=NotificationChannel.SMS,
                address=member.phone,
                due_at=context.due(is_urgent),
                for_assignee=member if as_assignee else None,
                **common,
            )
        )
    return rows


def _staff_messages(
    key: str,
    incident: Incident,
    text: tuple[str, str],
    is_urgent: bool,
    context: Recipients,
) -> list[Notification]:
    subject, body = text
    return [
        Notification(
            key=f"{key}:inbox:u{user.pk}",
            channel=NotificationChannel.INBOX,
            recipient_user=user,
            incident=incident,
            subject=subject,
            body=body,
            is_urgent=is_urgent,
            due_at=context.now,
            sent_at=context.now,
        )
        for user in context.staff()
    ]


def _reporter_text(incident: Incident) -> tuple[str, str]:
    """Return the subject and body that tell the reporter of an answer or duplicate."""
    code = incident.display_code
    with override(settings.LANGUAGE_CODE):
        if incident.duplicate_of_id is not None:
            # Not the original's code: a code lets its holder act on a ticket.
            subject = _("Your report %(code)s is handled with another report") % {
                "code": code
            }
            body = _(
                "Your report %(code)s describes the same problem as another report, "
                "and both are handled in one ticket. Follow its progress on the "
                "portal with your own tracking code %(code)s."
            ) % {"code": code}
            return subject, body
        subject = _("Your report %(code)s has been answered") % {"code": code}
        body = _(
            "Your report %(code)s has an answer. Look it up with the tracking code "
            "%(code)s on the portal and rate it."
        ) % {"code": code}
    return subject, body


def _reporter_messages(
    key: str, incident: Incident, is_urgent: bool, context: Recipients
) -> list[Notification]:
    subject, body = _reporter_text(incident)
    common = {
        "incident": incident,
        "subject": subject,
        "body": body,
        "is_urgent": is_urgent,
        "due_at": context.due(is_urgent),
    }
    rows = []
    if incident.reporter_email:
        rows.append(
            Notification(
                key=f"{key}:email:reporter",
                channel=NotificationChannel.EMAIL,
                address=incident.reporter_email,
                **common,
            )
        )
    if incident.reporter_phone:
        rows.append(
            Notification(
                key=f"{key}:sms:reporter",
                channel=NotificationChannel.SMS,
                address=incident.reporter_phone,
                **common,
            )
        )
    return rows


def _messages_for(
    event: IncidentEvent, incident: Incident, context: Recipients
) -> list[Notification]:
    is_urgent = context.is_urgent(incident)
    key = f"e{event.pk}"
    with override(settings.LANGUAGE_CODE):
        subject = _("Ticket %(code)s: %(event)s") % {
            "code": incident.display_code,
            "event": event.get_kind_display(),
        }
        body = _("%(subject)s\n\nCategory: %(category)s\n%(note)s") % {
            "subject": incident.subject,
            "category": incident.category.name,
            "note": event.note,
        }
    text = (subject, body)

    rows: list[Notification] = []
    if event.kind in ASSIGNEE_EVENTS and incident.assignee is not None:
        rows += member_messages(
            key, incident.assignee, incident, text, is_urgent, context, as_assignee=True
        )
    previous = context.previous_assignee(incident)
    if event.kind == EventKind.ESCALATED and previous is not None:
        # The member who let the deadline pass learns that the ticket moved on.
        rows += member_messages(
            f"{key}:previous", previous, incident, text, is_urgent, context
        )
    if event.kind == EventKind.ESCALATED and incident.state == State.SUBMITTED:
        rows += _staff_messages(key, incident, text, is_urgent, context)
    if event.kind == EventKind.SUPERVISED:
        for leader in context.parent_leaders(incident):
            rows += member_messages(key, leader, incident, text, is_urgent, context)
        rows += _staff_messages(key, incident, text, is_urgent, context)
    if event.kind in (EventKind.RESOLVED, EventKind.DUPLICATE):
        rows += _reporter_messages(key, incident, is_urgent, context)
    for row in rows:
        row.event = event
    return rows


def notify_for_events(
    events: Sequence[IncidentEvent],
    *,
    previous_assignees: dict[int, int | None] | None = None,
    incidents: dict[int, Incident] | None = None,
    category_settings: dict[int, CategorySettings] | None = None,
    calendar: WorkingCalendar | None = None,
) -> bool:
    """Write the notifications of ``events``.

    Return True if any of them goes out by e-mail or SMS.

    Must run inside the transaction that wrote the events. The number of
    queries does not grow with the number of events. A caller that has loaded
    the tickets (with their category, grid and assignee), the categories'
    settings or the calendar passes them in, so they are not read again.
    """
    if not events:
        return False
    if incidents is None:
        incidents = Incident.objects.select_related(
            "category", "assignee__user", "grid"
        ).in_bulk({event.incident_id for event in events})
    context = Recipients(
        incidents,
        timezone.now(),
        previous_assignees or {},
        category_settings=category_settings,
        calendar=calendar,
    )

    rows: list[Notification] = []
    for event in events:
        rows += _messages_for(event, incidents[event.incident_id], context)
    # The unique key drops rows that an earlier run of the same event wrote.
    # One INSERT per call on PostgreSQL, so the query count of a sweep batch
    # does not depend on how many rows its events produce.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return any(row.channel != NotificationChannel.INBOX for row in rows)


def _send(notification: Notification) -> None:
    if notification.channel == NotificationChannel.EMAIL:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.address],
        )
    elif notification.channel == NotificationChannel.SMS:
        get_sms_backend().send(notification.address, f"{notification.subject}")


# A message not addressed to the assignee, or to the member who is still the assignee.
STILL_ADDRESSED = Q(for_assignee__isnull=True) | Q(for_assignee=F("incident__assignee"))


def withdraw_reassigned(now: datetime.datetime) -> int:
    """Delete due, unsent messages to a ticket's former assignee; return how many.

    A notice that waited for working hours, or a reminder, would otherwise
    reach a member who is no longer the ticket's assignee. The in-app inbox row
    stays as a record of the notice that the member received.
    """
    withdrawn = (
        Notification.objects.filter(
            ~Q(channel=NotificationChannel.INBOX),
            sent_at__isnull=True,
            due_at__lte=now,
        )
        .exclude(STILL_ADDRESSED)
        .delete()[0]
    )
    if withdrawn:
        logger.info("notifications withdrawn count=%s reason=reassigned", withdrawn)
    return withdrawn


def deliver_due(now: datetime.datetime | None = None) -> int:
    """Send the e-mail and SMS notifications that are due; return how many went out.

    Each row is claimed by a conditional UPDATE of ``sent_at`` before it is
    sent, so two workers never send the same row. A worker that dies between
    claim and send loses that message rather than sending it twice.
    """
    now = now or timezone.now()
    withdraw_reassigned(now)
    pending = list(
        Notification.objects.filter(
            ~Q(channel=NotificationChannel.INBOX),
            sent_at__isnull=True,
            due_at__lte=now,
            attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:DELIVERY_BATCH]
    )

    sent = 0
    for notification_id in pending:
        # The claim checks the assignee again: a reassignment while earlier
        # rows were being sent must still stop a message to the old one.
        claimed = (
            Notification.objects.filter(pk=notification_id, sent_at__isnull=True)
            .filter(STILL_ADDRESSED)
            .update(sent_at=now, attempts=F("attempts") + 1)
        )
        if not claimed:
            # Sent by another worker, or withdrawn by the next delivery.
            continue
        notification = Notification.objects.get(pk=notification_id)
        try:
            _send(notification)
        except Exception as error:  # noqa: BLE001 - every gateway error is retried later
            logger.warning(
                "notification failed id=%s channel=%s error=%s",
                notification_id,
                notification.channel,
                type(error).__name__,
            )
            Notification.objects.filter(pk=notification_id).update(
                sent_at=None,
                last_error=type(error).__name__[:200],
                due_at=now + datetime.timedelta(minutes=5 * notification.attempts),
            )
            continue
        sent += 1
    if sent:
        logger.info("notifications delivered count=%s", sent)
    return sent


def inbox_for(user) -> Iterable[Notification]:
    """Return the user's in-app notifications, newest first."""
    return Notification.objects.filter(
        recipient_user=user, channel=NotificationChannel.INBOX
    ).select_related("incident")


def mark_read(*, user, notification_ids: Sequence[int]) -> int:
    """Mark the user's notifications read; return how many changed."""
    with transaction.atomic(durable=True):
        return Notification.objects.filter(
            recipient_user=user, pk__in=notification_ids, read_at__isnull=True
        ).update(read_at=timezone.now())
