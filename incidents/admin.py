"""Admin of the incidents app: one ModelAdmin per model, each in its own section."""

import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.forms import ModelForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from mptt.admin import MPTTModelAdmin

from grids.admin import (
    ActionFormMixin,
    ActionRejected,
    OverflowCheckedAdminMixin,
    copy_saved_fields,
    form_values,
    parse_filter_id,
)
from grids.models import Grid, GridKind
from incidents.access import is_overdue, overdue_condition
from incidents.actors import Actor
from incidents.calendar import SOURCE_STAFF, missing_calendar_message
from incidents.categories import (
    DEFAULT_ACCEPT_MINUTES,
    DEFAULT_RESOLVE_MINUTES,
    DEFAULT_TIME_BASIS,
)
from incidents.category_actions import category_create, category_update
from incidents.deadlines import calendar_changed
from incidents.forms_admin import OPERATIONS, StaffEntryForm
from incidents.forms_mobile import add_workflow_error, new_form_token
from incidents.models import (
    CalendarDay,
    Category,
    Incident,
    IncidentEvent,
    Notification,
    NotificationChannel,
    Photo,
    Rating,
    State,
    TimeBasis,
    normalize_tracking_code,
)
from incidents.views_mobile import photo_response
from members.models import RoleCode, mask_phone, normalize_mobile_number
from westgarden.forms import NamedRequiredAdminMixin

# A tracking code as staff type it: ten letters and digits, maybe with the dash.
TRACKING_CODE_INPUT = re.compile(r"[A-Za-z0-9]{5}-?[A-Za-z0-9]{5}")
# The first group of a code, or a little more, as read out on the phone.
CODE_START_INPUT = re.compile(r"[A-Za-z0-9]{4,9}-?")
MOBILE_NUMBER_INPUT = re.compile(r"1[3-9][0-9]{9}")

# Holidays and make-up working days ------------------------------------------


class CalendarYearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(day.year), str(day.year)) for day in years]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[CalendarDay]
    ) -> QuerySet[CalendarDay]:
        value = self.value()
        if value is None:
            return queryset
        try:
            year = int(value)
        except ValueError:
            raise IncorrectLookupParameters(f"year={value!r}") from None
        # datetime.date supports years 1 to 9999 only.
        if not 1 <= year <= 9999:
            raise IncorrectLookupParameters(f"year={value!r}")
        return queryset.filter(date__year=year)


@admin.register(CalendarDay)
class CalendarDayAdmin(
    NamedRequiredAdminMixin, OverflowCheckedAdminMixin, admin.ModelAdmin
):
    list_display = ["date", "weekday", "is_workday", "name", "source"]
    list_filter = [CalendarYearFilter, "is_workday", "source"]
    search_fields = ["name"]
    ordering = ["-date"]
    fields = ["date", "is_workday", "name", "source"]
    readonly_fields = ["source"]

    @admin.display(description=_("weekday"), ordering="date")
    def weekday(self, day: CalendarDay) -> str:
        return str(WEEKDAYS[day.date.weekday()])

    def save_model(
        self, request: HttpRequest, obj: CalendarDay, form: ModelForm, change: bool
    ) -> None:
        # A row that staff touched is theirs: sync_calendar never rewrites it.
        obj.source = SOURCE_STAFF
        super().save_model(request, obj, form, change)
        calendar_changed()

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        super().delete_model(request, obj)
        calendar_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)
        calendar_changed()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        warning = missing_calendar_message()
        if warning is not None:
            self.message_user(request, warning, messages.WARNING)
        return super().changelist_view(request, extra_context)


# Tickets ----------------------------------------------------------------------
#
# The admin never saves an Incident or an IncidentEvent itself. The change page
# is read-only, and every change goes through a workflow function: the
# operation pages below, the changelist actions that lead to them, and the
# staff entry form that replaces the add page.


class TopCategoryFilter(admin.SimpleListFilter):
    """A top-level category and all categories below it."""

    title = _("category")
    parameter_name = "category_tree"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, Any]]:
        roots = Category.objects.filter(parent__isnull=True).order_by("tree_id")
        return [(str(pk), name) for pk, name in roots.values_list("pk", "name")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> QuerySet[Incident]:
        root_id = parse_filter_id(self)
        if root_id is None:
            return queryset
        # Each root category numbers its own tree, so one tree_id is the subtree.
        root_tree = Category.objects.filter(pk=root_id).values("tree_id")
        return queryset.filter(category__tree_id=Subquery(root_tree))


class GridSubtreeFilter(admin.SimpleListFilter):
    """A total or general grid and every grid below it, by the tree range."""

    title = _("grid")
    parameter_name = "grid_tree"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, Any]]:
        grids = Grid.objects.filter(kind__in=[GridKind.TOTAL, GridKind.GENERAL])
        rows = grids.order_by("tree_id", "lft").values_list("pk", "level", "name")
        return [(str(pk), "\u2003" * level + name) for pk, level, name in rows]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> QuerySet[Incident]:
        grid_id = parse_filter_id(self)
        if grid_id is None:
            return queryset
        covering = Grid.objects.filter(
            pk=grid_id,
            tree_id=OuterRef("grid__tree_id"),
            lft__lte=OuterRef("grid__lft"),
            rght__gte=OuterRef("grid__rght"),
        )
        return queryset.filter(Exists(covering))


class OverdueFilter(admin.SimpleListFilter):
    """Open tickets whose accept or resolve deadline has passed."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> QuerySet[Incident]:
        condition = overdue_condition(timezone.now())
        if self.value() == "yes":
            return queryset.filter(condition)
        if self.value() == "no":
            return queryset.exclude(condition)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    """Rows of a ticket that are shown on its page and never edited there."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm("incidents.view_incident") or user.has_perm(
            "incidents.change_incident"
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HistoryInline(ReadOnlyInline):
    """The append-only history: shown, never added to, changed or deleted here."""

    model = IncidentEvent
    fields = readonly_fields = (
        "created_at",
        "kind",
        "actor_kind",
        "actor_user",
        "to_state",
        "is_public",
        "note",
        "level",
    )
    verbose_name_plural = _("history")

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentEvent]:
        return super().get_queryset(request).select_related("actor_user")


class PhotoInline(ReadOnlyInline):
    model = Photo
    fields = readonly_fields = (
        "preview",
        "content_type",
        "width",
        "height",
        "size",
        "is_public",
    )
    verbose_name_plural = _("photos")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Photo]:
        return super().get_queryset(request).order_by("pk")

    @admin.display(description=_("photo"))
    def preview(self, photo: Photo) -> str:
        url = reverse(
            "admin:incidents_incident_photo", args=[photo.incident_id, photo.pk]
        )
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">'
            '<img src="{}" alt="" style="max-height:6rem;max-width:8rem"></a>',
            url,
            url,
        )


class RatingInline(ReadOnlyInline):
    model = Rating
    fields = readonly_fields = ("round", "value", "comment", "grid", "created_at")
    verbose_name_plural = _("ratings")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rating]:
        return super().get_queryset(request).select_related("grid")


# Fields of the read-only ticket page, by section.
TICKET_FIELDS = (
    "code",
    "state",
    "subject",
    "description",
    "category",
    "place",
    "grid",
    "channel",
)
HANDLING_FIELDS = (
    "assignee",
    "needs_triage",
    "accept_deadline",
    "resolve_deadline",
    "escalation_level",
    "is_supervised",
    "reply",
    "reject_reason",
    "duplicate_of",
    "resolution_round",
)
REPORTER_FIELDS = (
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "hide_name",
    "reported_by",
)
TIME_FIELDS = (
    "created_at",
    "dispatched_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "updated_at",
)


@admin.register(Incident)
class IncidentAdmin(
    NamedRequiredAdminMixin, OverflowCheckedAdminMixin, admin.ModelAdmin
):
    list_display = [
        "code",
        "subject",
        "category",
        "grid",
        "state",
        "assignee",
        "deadline",
        "overdue",
        "escalation_level",
        "is_supervised",
        "created_at",
    ]
    list_display_links = ["code", "subject"]
    list_filter = [
        "state",
        TopCategoryFilter,
        GridSubtreeFilter,
        "channel",
        OverdueFilter,
        "needs_triage",
        "escalation_level",
        "is_supervised",
    ]
    list_select_related = ["category", "grid", "assignee"]
    search_fields = ["=tracking_code", "subject"]
    search_help_text = _(
        "Tracking code (with or without the dash) or words of the subject."
    )
    ordering = ["-created_at", "-pk"]
    inlines = [HistoryInline, PhotoInline, RatingInline]
    actions = [
        "assign_selected",
        "reject_selected",
        "duplicate_selected",
        "close_selected",
    ]
    change_form_template = "admin/incidents/incident/change_form.html"
    fieldsets = [
        (None, {"fields": TICKET_FIELDS}),
        (_("Handling"), {"fields": HANDLING_FIELDS}),
        (_("Reporter"), {"fields": REPORTER_FIELDS}),
        (_("Times"), {"fields": TIME_FIELDS}),
    ]
    readonly_fields = (
        *TICKET_FIELDS,
        *HANDLING_FIELDS,
        *REPORTER_FIELDS,
        *TIME_FIELDS,
    )

    @admin.display(description=_("tracking code"), ordering="tracking_code")
    def code(self, incident: Incident) -> str:
        return incident.display_code

    @admin.display(description=_("deadline"))
    def deadline(self, incident: Incident) -> Any:
        if incident.state == State.DISPATCHED:
            return incident.accept_deadline
        if incident.state == State.ACCEPTED:
            return incident.resolve_deadline
        return None

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, incident: Incident) -> bool:
        return is_overdue(incident, timezone.now())

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Incident], search_term: str
    ) -> tuple[QuerySet[Incident], bool]:
        """Find tickets by code, the start of a code, subject or reporter's phone.

        Callers read out the code as printed, "ABCDE-FGHJK", or only its first
        group, and often give their phone number instead. Staff may see it.
        """
        term = search_term.strip()
        if TRACKING_CODE_INPUT.fullmatch(term):
            return super().get_search_results(
                request, queryset, normalize_tracking_code(term)
            )

        results, may_have_duplicates = super().get_search_results(
            request, queryset, term
        )
        extra = Q()
        if CODE_START_INPUT.fullmatch(term):
            extra |= Q(tracking_code__startswith=normalize_tracking_code(term))
        phone = normalize_mobile_number(term)
        if MOBILE_NUMBER_INPUT.fullmatch(phone):
            extra |= Q(reporter_phone=phone)
        if extra:
            results = results | queryset.filter(extra)
        return results, may_have_duplicates

    # Permissions: read-only rows, changes only through the workflow.

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_handle_permission(self, request: HttpRequest) -> bool:
        """Return True if the user may run workflow operations on tickets."""
        return request.user.has_perm("incidents.change_incident")

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: Any
    ) -> None:
        raise PermissionDenied("Tickets change only through the workflow functions.")

    # Operations --------------------------------------------------------------

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/operate/<str:operation>/",
                wrap(self.operation_view),
                name="incidents_incident_operate",
            ),
            path(
                "<path:object_id>/photos/<int:photo_id>/",
                wrap(self.photo_view),
                name="incidents_incident_photo",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "operations": (
                [(name, operation.title) for name, operation in OPERATIONS.items()]
                if self.has_handle_permission(request)
                else []
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def operation_view(
        self, request: HttpRequest, object_id: str, operation: str
    ) -> HttpResponse:
        """Run one operation on one ticket, after a form page."""
        if operation not in OPERATIONS:
            raise Http404(f"Unknown operation {operation!r}.")
        if not self.has_handle_permission(request):
            raise PermissionDenied
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404(f"No ticket with id {object_id!r}.")

        response = self._operate(request, operation, [incident], action=None)
        if response is not None:
            return response
        return redirect("admin:incidents_incident_change", incident.pk)

    def _operate(
        self,
        request: HttpRequest,
        name: str,
        incidents: list[Incident],
        action: str | None,
    ) -> HttpResponse | None:
        """Show the operation's form, or apply it; return None when applied.

        Each ticket goes through the workflow on its own, so one illegal
        transition in a selection leaves the others done and is reported by
        its code. For a single ticket the error goes back onto the form.
        """
        operation = OPERATIONS[name]
        form = operation.form_class(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = Actor.for_user(request.user)
            done = []
            for incident in incidents:
                try:
                    form.apply(incident, actor)
                except ValidationError as error:
                    if len(incidents) == 1:
                        add_workflow_error(form, error)
                        break
                    self.message_user(
                        request,
                        _("%(code)s was left unchanged: %(reason)s")
                        % {
                            "code": incident.display_code,
                            "reason": " ".join(error.messages),
                        },
                        messages.ERROR,
                    )
                else:
                    done.append(incident.display_code)
                    self.log_change(request, incident, str(operation.title))
            if done:
                self.message_user(
                    request,
                    operation.done % {"codes": ", ".join(done)},
                    messages.SUCCESS,
                )
            if not form.errors:
                return None

        context = {
            **self.admin_site.each_context(request),
            "title": operation.title,
            "opts": self.opts,
            "form": form,
            "incidents": incidents,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/incidents/incident/operation.html", context
        )

    @admin.action(
        description=_("Assign or reassign to a member…"), permissions=["handle"]
    )
    def assign_selected(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        return self._operate(request, "assign", list(queryset), "assign_selected")

    @admin.action(description=_("Reject with a reason…"), permissions=["handle"])
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        return self._operate(request, "reject", list(queryset), "reject_selected")

    @admin.action(description=_("Mark as duplicate…"), permissions=["handle"])
    def duplicate_selected(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        return self._operate(request, "duplicate", list(queryset), "duplicate_selected")

    @admin.action(description=_("Close…"), permissions=["handle"])
    def close_selected(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        return self._operate(request, "close", list(queryset), "close_selected")

    def photo_view(
        self, request: HttpRequest, object_id: str, photo_id: int
    ) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        # get_object() returns None for an id that is not a number or is out
        # of range, where a plain filter on incident_id would raise.
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404(f"No ticket with id {object_id!r}.")

        photo = Photo.objects.filter(pk=photo_id, incident=incident).first()
        return photo_response(photo)

    # Staff entry of tickets taken by phone ----------------------------------

    def add_view(
        self,
        request: HttpRequest,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """Enter a ticket taken by phone; it goes through incident_submit."""
        if not self.has_add_permission(request):
            raise PermissionDenied

        if request.method == "POST":
            form = StaffEntryForm(
                request.POST, request.FILES, admin_site=self.admin_site
            )
            incident = (
                self._submit_staff_entry(request, form) if form.is_valid() else None
            )
            if incident is not None:
                self.message_user(
                    request,
                    _("Ticket %(code)s was entered; read the code out to the caller.")
                    % {"code": incident.display_code},
                    messages.SUCCESS,
                )
                return redirect("admin:incidents_incident_change", incident.pk)
        else:
            form = StaffEntryForm(
                initial={"token": new_form_token()}, admin_site=self.admin_site
            )

        context = {
            **self.admin_site.each_context(request),
            "title": _("Enter a ticket taken by phone"),
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/incidents/incident/staff_entry.html", context
        )

    def _submit_staff_entry(
        self, request: HttpRequest, form: StaffEntryForm
    ) -> Incident | None:
        try:
            incident = form.submit(request.user)
        except ValidationError as error:
            add_workflow_error(form, error)
            return None
        self.log_addition(request, incident, [{"added": {}}])
        return incident


# Categories -------------------------------------------------------------------


def _nearest(field: str, empty: Q) -> Subquery:
    """Return ``field`` from the nearest category that sets it, the category included.

    The ancestors of a category are the rows of its tree whose lft/rght range
    contains its own. The deepest of them that sets the field wins.
    """
    setters = (
        Category.objects.filter(
            tree_id=OuterRef("tree_id"),
            lft__lte=OuterRef("lft"),
            rght__gte=OuterRef("rght"),
        )
        .exclude(empty)
        .order_by("-lft")
        .values(field)[:1]
    )
    return Subquery(setters)


@admin.register(Category)
class CategoryAdmin(
    NamedRequiredAdminMixin, OverflowCheckedAdminMixin, ActionFormMixin, MPTTModelAdmin
):
    """The category tree; a column marks each value that a child inherits.

    Saves go through incidents.category_actions, which takes the category
    tree lock and recomputes the deadlines of open tickets when they change.
    """

    list_display = [
        "name",
        "code",
        "effective_role",
        "effective_urgent",
        "effective_accept",
        "effective_resolve",
        "effective_time_basis",
        "is_public",
        "is_active",
        "sort_order",
    ]
    list_display_links = ["name", "code"]
    list_filter = ["is_public", "is_active", "role"]
    search_fields = ["code", "name"]
    sortable_by: tuple[str, ...] = ()
    list_per_page = 200
    fieldsets = [
        (None, {"fields": ["code", "name", "parent", "sort_order", "is_active"]}),
        (
            _("Handling; empty fields take the parent category's value"),
            {
                "fields": [
                    "role",
                    "is_urgent",
                    "accept_minutes",
                    "resolve_minutes",
                    "time_basis",
                ]
            },
        ),
        (_("Residents"), {"fields": ["is_public"]}),
    ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "is_urgent" and field is not None:
            # Empty inherits; Django's own label for it is "Unknown".
            field.widget.choices = [
                ("unknown", _("Same as the parent category")),
                ("true", _("Yes")),
                ("false", _("No")),
            ]
        return field

    def save_model(
        self, request: HttpRequest, obj: Category, form: ModelForm, change: bool
    ) -> None:
        values = form_values(form, change=change)
        try:
            if change:
                saved = category_update(category_id=obj.pk, **values)
            else:
                saved = category_create(**values)
        except ValidationError as error:
            raise ActionRejected(error) from error
        copy_saved_fields(saved, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Skip MPTTModelAdmin's bulk delete, which writes the tree without the
        # category tree lock.
        return admin.ModelAdmin.get_actions(self, request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Tickets and their history refer to categories, so staff deactivate
        # a category instead of deleting it.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                inherited_role=_nearest("role", Q(role="")),
                inherited_urgent=_nearest("is_urgent", Q(is_urgent__isnull=True)),
                inherited_accept=_nearest(
                    "accept_minutes", Q(accept_minutes__isnull=True)
                ),
                inherited_resolve=_nearest(
                    "resolve_minutes", Q(resolve_minutes__isnull=True)
                ),
                inherited_basis=_nearest("time_basis", Q(time_basis="")),
            )
        )

    @staticmethod
    def _show(own: Any, inherited: Any, default: Any, label: Any) -> str:
        """Return the effective value's label, marked when the category inherits it."""
        if own not in (None, ""):
            return str(label(own))
        if inherited not in (None, ""):
            return _("%(value)s (inherited)") % {"value": label(inherited)}
        return _("%(value)s (default)") % {"value": label(default)}

    @admin.display(description=_("effective role"))
    def effective_role(self, category: Category) -> str:
        return self._show(
            category.role,
            category.inherited_role,  # type: ignore[attr-defined]
            "",
            lambda code: RoleCode(code).label if code in RoleCode.values else "—",
        )

    @admin.display(description=_("urgent"))
    def effective_urgent(self, category: Category) -> str:
        return self._show(
            category.is_urgent,
            category.inherited_urgent,  # type: ignore[attr-defined]
            False,
            lambda value: _("yes") if value else _("no"),
        )

    @admin.display(description=_("time to accept"))
    def effective_accept(self, category: Category) -> str:
        return self._show(
            category.accept_minutes,
            category.inherited_accept,  # type: ignore[attr-defined]
            DEFAULT_ACCEPT_MINUTES,
            _minutes,
        )

    @admin.display(description=_("time to resolve"))
    def effective_resolve(self, category: Category) -> str:
        return self._show(
            category.resolve_minutes,
            category.inherited_resolve,  # type: ignore[attr-defined]
            DEFAULT_RESOLVE_MINUTES,
            _minutes,
        )

    @admin.display(description=_("deadlines count"))
    def effective_time_basis(self, category: Category) -> str:
        return self._show(
            category.time_basis,
            category.inherited_basis,  # type: ignore[attr-defined]
            DEFAULT_TIME_BASIS,
            lambda value: TimeBasis(value).label,
        )


def _minutes(value: int) -> str:
    if value % 60 == 0:
        return ngettext("%(count)s hour", "%(count)s hours", value // 60) % {
            "count": value // 60
        }
    return ngettext("%(count)s minute", "%(count)s minutes", value) % {"count": value}


# Notifications ----------------------------------------------------------------


class DeliveryFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, Any]]:
        return [
            ("pending", _("waiting to be sent")),
            ("sent", _("sent")),
            ("failed", _("failed at least once")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Notification]
    ) -> QuerySet[Notification]:
        if self.value() == "pending":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "failed":
            return queryset.exclude(last_error="")
        return queryset


@admin.register(Notification)
class NotificationAdmin(
    NamedRequiredAdminMixin, OverflowCheckedAdminMixin, admin.ModelAdmin
):
    """Delivery status of every message; incidents.notifications writes the rows."""

    list_display = [
        "created_at",
        "channel",
        "recipient_user",
        "masked_address",
        "incident",
        "subject",
        "is_urgent",
        "due_at",
        "sent_at",
        "read_at",
        "attempts",
        "last_error",
    ]
    list_filter = ["channel", DeliveryFilter, "is_urgent"]
    list_select_related = ["recipient_user", "incident"]
    search_fields = ["subject"]
    # The full address is left out on purpose, also on the detail page.
    fields = readonly_fields = (
        "key",
        "channel",
        "incident",
        "event",
        "recipient_user",
        "masked_address",
        "for_assignee",
        "subject",
        "body",
        "is_urgent",
        "due_at",
        "sent_at",
        "read_at",
        "attempts",
        "last_error",
        "created_at",
    )

    @admin.display(description=_("address"))
    def masked_address(self, notification: Notification) -> str:
        if notification.channel == NotificationChannel.SMS:
            return mask_phone(notification.address)
        return notification.address

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
