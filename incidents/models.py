"""Categories, tickets, their history, photos and ratings."""

import secrets
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from grids.models import Grid, Place, code_validator
from members.models import Member, RoleCode

# Letters and digits that cannot be confused when read aloud or typed on a
# phone: no 0/O, 1/I/L, and no U (read as "you").
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_LENGTH = 10  # 30**10 is about 5.9e14, out of reach of guessing
DESCRIPTION_MAX_LENGTH = 4000


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def normalize_tracking_code(raw: str) -> str:
    """Return the stored form of a code typed by a person: upper case, no separators.

    NFKC turns the full-width letters and digits of Chinese phone keyboards
    (ＡＢ１２) into ASCII first.
    """
    ascii_form = unicodedata.normalize("NFKC", raw).upper()
    return "".join(ch for ch in ascii_form if ch.isascii() and ch.isalnum())


def format_tracking_code(code: str) -> str:
    """Return the code in two groups of five, the way it is printed and read out."""
    return f"{code[:5]}-{code[5:]}" if len(code) == TRACKING_LENGTH else code


class TimeBasis(models.TextChoices):
    WORKING = "working", _("working time")
    CALENDAR = "calendar", _("calendar time")


class Category(MPTTModel):
    code = models.CharField(
        _("code"), max_length=40, unique=True, validators=[code_validator]
    )
    name = models.CharField(_("name"), max_length=100)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    role = models.CharField(
        _("handling role"),
        max_length=16,
        choices=RoleCode.choices,
        blank=True,
        help_text=_("Empty means the parent category's role."),
    )
    is_urgent = models.BooleanField(
        _("urgent"),
        null=True,
        blank=True,
        help_text=_("Empty means the parent category's setting."),
    )
    accept_minutes = models.PositiveIntegerField(
        _("time to accept (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty means the parent category's deadline."),
    )
    resolve_minutes = models.PositiveIntegerField(
        _("time to resolve (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty means the parent category's deadline."),
    )
    time_basis = models.CharField(
        _("deadlines count"),
        max_length=16,
        choices=TimeBasis.choices,
        blank=True,
        help_text=_("Empty means the parent category's setting."),
    )
    is_public = models.BooleanField(
        _("residents can pick it"),
        default=True,
        help_text=_("Off for categories only staff and grid members may use."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class MPTTMeta:
        order_insertion_by = ["sort_order", "code"]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    PUBLIC_FORM = "form", _("public form")
    QR_CODE = "qr", _("QR code")
    MEMBER = "member", _("grid member")
    STAFF = "staff", _("phone call entered by staff")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311")


class State(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    DISPATCHED = "dispatched", _("dispatched")
    ACCEPTED = "accepted", _("accepted")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    DUPLICATE = "duplicate", _("duplicate")


OPEN_STATES = (State.SUBMITTED, State.DISPATCHED, State.ACCEPTED)
FINAL_STATES = (State.CLOSED, State.REJECTED, State.DUPLICATE)


class RatingValue(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")
    BASICALLY = "basic", _("basically satisfied")
    DISSATISFIED = "dissatisfied", _("dissatisfied")


class Incident(models.Model):
    tracking_code = models.CharField(
        _("tracking code"),
        max_length=TRACKING_LENGTH,
        unique=True,
        default=new_tracking_code,
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="incidents",
    )
    subject = models.CharField(_("subject"), max_length=120, blank=True)
    description = models.TextField(
        _("description"), validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    place = models.ForeignKey(
        Place,
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
    )
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        help_text=_("The grid responsible now; set from the place or by staff."),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    reporter_name = models.CharField(_("reporter name"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=11, blank=True)
    reporter_email = models.EmailField(_("reporter e-mail"), blank=True)
    hide_name = models.BooleanField(
        _("hide the reporter's name from grid members"), default=True
    )
    reported_by = models.ForeignKey(
        Member,
        verbose_name=_("reported by member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_incidents",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.SUBMITTED
    )
    needs_triage = models.BooleanField(
        _("waiting for staff to route"),
        default=False,
        help_text=_("Set when routing found nobody or a grid sent the ticket back."),
    )
    assignee = models.ForeignKey(
        Member,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_incidents",
    )
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"), default=0
    )
    is_supervised = models.BooleanField(_("under supervision"), default=False)
    accept_deadline = models.DateTimeField(_("accept by"), null=True, blank=True)
    resolve_deadline = models.DateTimeField(_("resolve by"), null=True, blank=True)
    reply = models.TextField(
        _("handler's reply"), blank=True, validators=[MaxLengthValidator(4000)]
    )
    reject_reason = models.TextField(_("reason for rejection"), blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    resolution_round = models.PositiveSmallIntegerField(
        _("resolution round"),
        default=0,
        help_text=_("Counts resolutions; a reopened ticket is rated again."),
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(
        _("submitted at"), auto_now_add=True, db_index=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Member inbox: my tickets by state, newest first.
            models.Index(
                fields=["assignee", "state", "-created_at"], name="incident_inbox"
            ),
            # Leader and staff lists: a grid's tickets by state.
            models.Index(
                fields=["grid", "state", "-created_at"], name="incident_grid_state"
            ),
            models.Index(fields=["state", "-created_at"], name="incident_state"),
            models.Index(fields=["category", "state"], name="incident_category"),
            # The escalation sweep reads only overdue open tickets.
            models.Index(
                fields=["accept_deadline"],
                name="incident_accept_due",
                condition=Q(state="dispatched"),
            ),
            models.Index(
                fields=["resolve_deadline"],
                name="incident_resolve_due",
                condition=Q(state__in=["dispatched", "accepted"], is_supervised=False),
            ),
            models.Index(
                fields=["created_at"],
                name="incident_unrouted",
                condition=Q(state="submitted", needs_triage=False),
            ),
        ]

    def __str__(self) -> str:
        return format_tracking_code(self.tracking_code)

    @property
    def display_code(self) -> str:
        return format_tracking_code(self.tracking_code)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def subject_repeats_description(self) -> bool:
        """Return True if the subject is the start of the description.

        The workflow makes the subject from the description's first words,
        on one line, when none was typed; pages then show only the description.
        """
        return " ".join(self.description.split()).startswith(self.subject)


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ROUTED = "routed", _("routed")
    DISPATCHED = "dispatched", _("dispatched")
    ACCEPTED = "accepted", _("accepted")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    SENT_BACK = "sent_back", _("sent back")
    RELEASED = "released", _("returned for routing")
    DUPLICATE = "duplicate", _("marked as duplicate")
    REOPENED = "reopened", _("reopened")
    REASSIGNED = "reassigned", _("reassigned")
    ESCALATED = "escalated", _("escalated")
    SUPERVISED = "supervised", _("put under supervision")
    COMMENT = "comment", _("comment")
    NOTE = "note", _("internal note")
    INFO = "info", _("information added by the reporter")
    RATED = "rated", _("rated")


class ActorKind(models.TextChoices):
    RESIDENT = "resident", _("resident")
    MEMBER = "member", _("grid member")
    STAFF = "staff", _("street-office staff")
    SYSTEM = "system", _("system")


class IncidentEvent(models.Model):
    """One entry of a ticket's append-only history."""

    incident = models.ForeignKey(
        Incident,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    actor_kind = models.CharField(
        _("actor kind"), max_length=16, choices=ActorKind.choices
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    from_state = models.CharField(
        _("from state"), max_length=16, choices=State.choices, blank=True
    )
    to_state = models.CharField(
        _("to state"), max_length=16, choices=State.choices, blank=True
    )
    is_public = models.BooleanField(
        _("shown to the reporter"),
        default=True,
        help_text=_("Internal notes and routing details stay off the tracking page."),
    )
    note = models.TextField(_("note"), blank=True)
    level = models.PositiveSmallIntegerField(
        _("escalation level"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["incident", "created_at"], name="event_incident")
        ]
        constraints = [
            # One escalation per ticket and level, however many sweeps race.
            models.UniqueConstraint(
                fields=["incident", "level"],
                condition=Q(kind="escalated"),
                name="event_one_escalation_per_level",
            ),
        ]

    def __str__(self) -> str:
        kind = self.get_kind_display()
        if self.created_at is None:
            return kind

        time = formats.date_format(
            timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT"
        )
        return _("%(kind)s at %(time)s") % {"kind": kind, "time": time}

    def save(self, *args, **kwargs) -> None:
        # History is append-only: an existing event is never rewritten.
        if self.pk is not None and not self._state.adding:
            raise ValidationError(_("Ticket history cannot be changed."))
        super().save(*args, **kwargs)


def photo_upload_to(instance: "Photo", filename: str) -> str:
    # The stored name is generated, never the client's file name.
    folder = f"photos/{instance.created_at:%Y/%m}"
    return f"{folder}/{secrets.token_hex(16)}.{instance.extension}"


class Photo(models.Model):
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="photos",
    )
    event = models.ForeignKey(
        IncidentEvent,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
    )
    image = models.FileField(_("image"), upload_to=photo_upload_to, max_length=200)
    content_type = models.CharField(_("content type"), max_length=20)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("size in bytes"))
    is_public = models.BooleanField(_("shown to the reporter"), default=True)
    created_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.image.name

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[
            self.content_type
        ]


class Rating(models.Model):
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="ratings",
    )
    round = models.PositiveSmallIntegerField(_("resolution round"))
    value = models.CharField(_("rating"), max_length=16, choices=RatingValue.choices)
    comment = models.TextField(
        _("comment"), blank=True, validators=[MaxLengthValidator(1000)]
    )
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ratings",
        help_text=_("The grid that handled the ticket, for the public statistics."),
    )
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "round"], name="rating_once_per_round"
            ),
        ]
        indexes = [models.Index(fields=["grid", "value"], name="rating_grid_value")]

    def __str__(self) -> str:
        # Shown as the row's title in the ticket's ratings list in the admin.
        return _("%(value)s, round %(round)s") % {
            "value": self.get_value_display(),
            "round": self.round,
        }


class CalendarDay(models.Model):
    """A date whose working status differs from the plain Monday-to-Friday week.

    Public holidays are days off; make-up working days (调休) are weekend days
    that are worked. Dates not in the table follow the weekday rule.
    """

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(
        _("source"),
        max_length=40,
        blank=True,
        help_text=_("Where the entry came from: a calendar package or staff."),
    )

    class Meta:
        verbose_name = _("holiday or make-up working day")
        verbose_name_plural = _("holidays and make-up working days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class NotificationChannel(models.TextChoices):
    INBOX = "inbox", _("in-app inbox")
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")


class Notification(models.Model):
    """One message to one recipient on one channel, written before it is sent."""

    key = models.CharField(
        _("deduplication key"),
        max_length=120,
        unique=True,
        help_text=_(
            "Event or reminder, channel and recipient; makes sending idempotent."
        ),
    )
    channel = models.CharField(
        _("channel"), max_length=8, choices=NotificationChannel.choices
    )
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    event = models.ForeignKey(
        IncidentEvent,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    address = models.CharField(
        _("address"),
        max_length=254,
        blank=True,
        help_text=_("E-mail address or phone number for e-mail and SMS; private."),
    )
    for_assignee = models.ForeignKey(
        Member,
        verbose_name=_("for the assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "Set on an e-mail or SMS to the ticket's assignee; it is withdrawn "
            "unsent if the ticket has another assignee when it is due."
        ),
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    is_urgent = models.BooleanField(_("urgent"), default=False)
    due_at = models.DateTimeField(
        _("send at"),
        help_text=_("Non-urgent notices due at night wait for working hours."),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="notification_pending",
                condition=Q(sent_at__isnull=True) & ~Q(channel="inbox"),
            ),
            models.Index(
                fields=["recipient_user", "read_at", "-created_at"],
                name="notification_inbox",
            ),
        ]

    def __str__(self) -> str:
        return self.subject
