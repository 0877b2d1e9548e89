"""Reminders to the assignee before a ticket's accept or resolve deadline."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from incidents import hooks
from incidents.models import Incident, Notification, State
from incidents.notifications import Recipients, member_messages

logger = logging.getLogger(__name__)

# Which deadline, the states in which it still matters, and the message.
DEADLINES = {
    "accept": ("accept_deadline", (State.DISPATCHED,)),
    "resolve": ("resolve_deadline", (State.DISPATCHED, State.ACCEPTED)),
}


def _text(
    incident: Incident, which: str, deadline: datetime.datetime
) -> tuple[str, str]:
    local = timezone.localtime(deadline)
    with override(settings.LANGUAGE_CODE):
        if which == "accept":
            subject = _("Ticket %(code)s: accept it by %(time)s") % {
                "code": incident.display_code,
                "time": f"{local:%m-%d %H:%M}",
            }
        else:
            subject = _("Ticket %(code)s: resolve it by %(time)s") % {
                "code": incident.display_code,
                "time": f"{local:%m-%d %H:%M}",
            }
    return subject, incident.subject


def remind_upcoming(now: datetime.datetime) -> int:
    """Write reminders for deadlines that fall within a reminder offset of ``now``.

    Each offset in settings.WESTGARDEN_REMINDER_MINUTES gives one reminder
    per ticket, deadline and assignee. The key includes the deadline, so a
    recomputed or new deadline gets reminders of its own. Return how many rows were
    written. Query count grows with the number of offsets, not of tickets.
    """
    written = 0
    for offset in sorted(set(settings.WESTGARDEN_REMINDER_MINUTES)):
        for which, (field, states) in DEADLINES.items():
            written += _remind(now, offset, which, field, states)
    if written:
        transaction.on_commit(hooks.deliver_notifications)
        logger.info("reminders written count=%s", written)
    return written


def _remind(now, offset: int, which: str, field: str, states) -> int:
    window_end = now + datetime.timedelta(minutes=offset)
    incidents = list(
        Incident.objects.filter(
            state__in=states,
            assignee__isnull=False,
            # A ticket is supervised only after its resolve deadline has
            # passed; the condition lets the resolve-deadline partial index
            # serve this query.
            is_supervised=False,
            **{f"{field}__gt": now, f"{field}__lte": window_end},
        )
        # A reminder due before the dispatch would arrive with the dispatch
        # notice, as a 60-minute one for a 30-minute deadline. Nearer
        # reminders still go.
        .filter(
            **{f"{field}__gt": F("dispatched_at") + datetime.timedelta(minutes=offset)}
        )
        .select_related("category", "assignee__user", "grid")
    )
    if not incidents:
        return 0

    context = Recipients({incident.pk: incident for incident in incidents}, now)
    rows: list[Notification] = []
    for incident in incidents:
        if incident.assignee is None:
            continue
        deadline = getattr(incident, field)
        key = f"remind:{which}:{offset}:{incident.pk}:{int(deadline.timestamp())}"
        rows += member_messages(
            key,
            incident.assignee,
            incident,
            _text(incident, which, deadline),
            context.is_urgent(incident),
            context,
            as_assignee=True,
        )
    existing = set(
        Notification.objects.filter(key__in=[row.key for row in rows]).values_list(
            "key", flat=True
        )
    )
    new_rows = [row for row in rows if row.key not in existing]
    # A concurrent sweep may write the same keys; the unique key keeps one.
    Notification.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=500)
    return len(new_rows)
