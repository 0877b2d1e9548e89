"""People who serve in the grid system, where they serve and in which roles."""

import datetime
import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Grid, GridKind

# Mainland China mobile numbers: 11 digits, 1 then 3-9, no country code.
mobile_validator = RegexValidator(
    # [0-9], not \d: \d also takes Arabic-Indic and other digits.
    r"^1[3-9][0-9]{9}$",
    _(
        "%(value)s is not a mainland mobile number; enter 11 digits "
        "such as 13800000000."
    ),
)


# Spaces, dashes and dots that people type between the groups of a number.
PHONE_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015]")
# The country code of mainland China, as +86 or 0086 or bare 86.
COUNTRY_CODE = re.compile(r"^(?:\+86|0086|86(?=\d{11}$))")


def normalize_mobile_number(typed: str) -> str:
    """Return a typed mobile number without separators and country code.

    NFKC turns the full-width digits and signs of Chinese input methods
    (１３８, ＋, －) into ASCII first. A bare 86 counts as the country code
    only in front of 11 more digits. The result is not validated, so pass it
    to ``mobile_validator``.
    """
    text = unicodedata.normalize("NFKC", typed)
    text = PHONE_SEPARATORS.sub("", text)
    return COUNTRY_CODE.sub("", text)


def mask_phone(phone: str) -> str:
    """Return a phone number with its middle four digits hidden: 138****0000."""
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[7:]}"


class OrganizationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("enterprise")
    PROPERTY = "property", _("property company")
    POLICE = "police", _("police station")
    HEALTH = "health", _("community health center")
    SOCIAL = "social", _("social organization")
    MERCHANT = "merchant", _("merchant")
    COMMUNITY = "community", _("community or street office")


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganizationKind.choices)
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
        help_text=_("The dedicated grid of an enterprise, if it has one."),
    )

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
    )
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(
        _("mobile number"),
        max_length=11,
        unique=True,
        validators=[mobile_validator],
        help_text=_("Private; the public sees it masked as 138****0000."),
    )
    is_party_member = models.BooleanField(_("party member"), default=False)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Role(models.Model):
    """One of the six roles (六员) a micro-grid member can take on."""

    code = models.CharField(_("code"), max_length=16, primary_key=True)
    name = models.CharField(_("name"), max_length=40)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["sort_order"]

    def __str__(self) -> str:
        try:
            return str(RoleCode(self.code).label)
        except ValueError:
            return self.name


class RoleCode(models.TextChoices):
    PUBLICIST = "publicist", _("publicist")
    COLLECTOR = "collector", _("collector")
    LIAISON = "liaison", _("liaison")
    COORDINATOR = "coordinator", _("coordinator")
    INSPECTOR = "inspector", _("inspector")
    MEDIATOR = "mediator", _("mediator")


class Position(models.TextChoices):
    LEADER = "leader", _("leader")
    MEMBER = "member", _("member")


class HeadTitle(models.TextChoices):
    """The "three heads" (三长) recorded as members."""

    NONE = "", _("none")
    PARTY_GROUP = "party_group", _("party group leader")
    BUILDING = "building", _("building leader")
    RESIDENT_GROUP = "resident_group", _("resident group leader")
    VILLAGER_GROUP = "villager_group", _("villager group leader")


# Grids that may have more than one active leader at a time.
MULTI_LEADER_KINDS = (GridKind.TOTAL,)


def active_on(day: datetime.date) -> Q:
    """Return the filter for assignments active on ``day``."""
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gte=day))


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def active(self, day: datetime.date | None = None) -> "AssignmentQuerySet":
        return self.filter(active_on(day or timezone.localdate()))


class Assignment(models.Model):
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    position = models.CharField(
        _("position"), max_length=16, choices=Position.choices, default=Position.MEMBER
    )
    roles = models.ManyToManyField(
        Role, verbose_name=_("roles"), blank=True, related_name="assignments"
    )
    title = models.CharField(
        _("three-heads title"),
        max_length=20,
        choices=HeadTitle.choices,
        blank=True,
        default=HeadTitle.NONE,
    )
    duties = models.TextField(_("duties"), blank=True)
    commitment = models.TextField(
        _("public commitment"),
        blank=True,
        help_text=_("Shown to the residents of the grid."),
    )
    start_date = models.DateField(_("start date"), default=timezone.localdate)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="assignment_end_after_start",
                violation_error_message=_(
                    "The end date must not precede the start date."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["grid", "position", "end_date"], name="assignment_grid_pos"
            ),
            models.Index(fields=["member", "end_date"], name="assignment_member_end"),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.grid.code} ({self.get_position_display()})"

    def is_active_on(self, day: datetime.date) -> bool:
        return self.start_date <= day and (
            self.end_date is None or self.end_date >= day
        )

    def clean(self) -> None:
        super().clean()
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError(
                {"end_date": _("The end date must not precede the start date.")}
            )


class PartyOrganizationKind(models.TextChoices):
    BRANCH = "branch", _("party branch")
    GROUP = "group", _("party group")


# Party organization follows the grids: which kind each grid kind hosts.
PARTY_KIND_FOR_GRID = {
    GridKind.GENERAL: PartyOrganizationKind.BRANCH,
    GridKind.DEDICATED: PartyOrganizationKind.BRANCH,
    GridKind.MICRO: PartyOrganizationKind.GROUP,
}


class PartyOrganization(models.Model):
    grid = models.OneToOneField(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="party_organization",
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=PartyOrganizationKind.choices
    )
    name = models.CharField(_("name"), max_length=100)
    secretary = models.ForeignKey(
        Member,
        verbose_name=_("secretary"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="party_organizations",
    )

    class Meta:
        verbose_name = _("party organization")
        verbose_name_plural = _("party organizations")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.grid_id is None:
            return
        grid = Grid.objects.filter(pk=self.grid_id).first()
        if grid is None:
            # A missing grid is reported by clean_fields() on the grid field.
            return
        expected = PARTY_KIND_FOR_GRID.get(grid.kind)
        if expected is None:
            raise ValidationError(
                {
                    "grid": _(
                        "%(grid)s is a %(kind)s; party branches sit on general or "
                        "dedicated grids and party groups on micro grids."
                    )
                    % {"grid": grid.code, "kind": GridKind(grid.kind).label}
                }
            )
        if self.kind and self.kind != expected:
            raise ValidationError(
                {
                    "kind": _("A %(grid_kind)s hosts a %(expected)s, not a %(kind)s.")
                    % {
                        "grid_kind": GridKind(grid.kind).label,
                        "expected": PartyOrganizationKind(expected).label,
                        "kind": PartyOrganizationKind(self.kind).label,
                    }
                }
            )
