"""Admin for street-office staff: members, organizations and rosters.

Members, assignments and party organizations are saved through
members.actions. The assignment inlines check the leader rule in the form,
so an error shows on the position field. The actions check it again under a
row lock on the grid, and that check is the one that holds under concurrent
requests.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from grids.admin import (
    ActionFormMixin,
    ActionRejected,
    GridAdmin,
    OverflowCheckedAdminMixin,
    copy_saved_fields,
    form_values,
    parse_filter_id,
)
from grids.models import Grid, GridKind, Place
from grids.queries import count_subquery
from members.actions import (
    assignment_create,
    assignment_update,
    check_leader_vacancy,
    member_create,
    member_update,
    party_organization_set,
)
from members.models import (
    MULTI_LEADER_KINDS,
    Assignment,
    Member,
    Organization,
    PartyOrganization,
    Position,
    RoleCode,
)
from members.queries import (
    grids_with_member_counts,
    members_in_subtree,
    members_with_active_grids,
    members_with_role,
)
from westgarden.forms import (
    MOBILE_NUMBER_MAX_TYPED_LENGTH,
    MobileNumberField,
    NamedRequiredAdminMixin,
)

# Set on the request when an inline assignment was rejected by its action,
# so the response returns to the change page that shows the error.
INLINE_REJECTED_ATTR = "westgarden_inline_rejected"


class AssignmentFormSet(BaseInlineFormSet):
    """Inline assignments of one member or one grid, checked for the leader rule.

    A general, micro or dedicated grid has at most one leader on any day.
    The check covers the rows stored in the database and the rows of this
    formset, so ending the old leader and appointing the new one in the same
    submission passes when the dates do not overlap.
    """

    def clean(self) -> None:
        super().clean()
        own_ids = [form.instance.pk for form in self.initial_forms if form.instance.pk]
        claims: list[tuple[Grid, Any, Any]] = []
        for form in self.forms:
            claim = self._leader_claim(form)
            if claim is None:
                continue

            grid, start_date, end_date = claim
            if grid.pk is not None:
                try:
                    check_leader_vacancy(
                        grid,
                        start_date=start_date,
                        end_date=end_date,
                        exclude_ids=own_ids,
                    )
                except ValidationError as error:
                    form.add_error("position", error.message_dict["position"])
                    continue
            for other_grid, other_start, other_end in claims:
                if other_grid.pk == grid.pk and _overlap(
                    (start_date, end_date), (other_start, other_end)
                ):
                    form.add_error(
                        "position",
                        _(
                            "%(grid)s is a %(kind)s and admits one leader, but "
                            "two leader assignments here overlap in time."
                        )
                        % {"grid": grid.code, "kind": GridKind(grid.kind).label},
                    )
                    break
            claims.append(claim)

    def _leader_claim(self, form: forms.ModelForm) -> tuple[Grid, Any, Any] | None:
        """Return (grid, start, end) if the form appoints a single leader."""
        if form.errors or not hasattr(form, "cleaned_data"):
            return None
        if not form.instance.pk and not form.has_changed():
            return None
        data = form.cleaned_data
        if data.get("position") != Position.LEADER or not data.get("start_date"):
            return None
        grid = self.instance if self.fk.name == "grid" else data.get("grid")
        if grid is None or grid.kind in MULTI_LEADER_KINDS:
            return None
        return grid, data["start_date"], data.get("end_date")


def _overlap(first: tuple[Any, Any], second: tuple[Any, Any]) -> bool:
    """Return True if two (start, end) date ranges share a day; None is open."""
    first_start, first_end = first
    second_start, second_end = second
    return (second_end is None or first_start <= second_end) and (
        first_end is None or second_start <= first_end
    )


class AssignmentInline(NamedRequiredAdminMixin, admin.TabularInline):
    model = Assignment
    formset = AssignmentFormSet
    extra = 1
    # An assignment that ended stays on record: set its end date instead.
    can_delete = False
    formfield_overrides = {
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
    }

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name in {"duties", "commitment"}:
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 24})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class MemberAssignmentInline(AssignmentInline):
    fk_name = "member"
    fields = [
        "grid",
        "position",
        "roles",
        "title",
        "start_date",
        "end_date",
        "duties",
        "commitment",
    ]
    autocomplete_fields = ["grid"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Assignment]:
        return (
            super()
            .get_queryset(request)
            .select_related("grid")
            .order_by("-start_date", "pk")
        )


class GridAssignmentInline(AssignmentInline):
    fk_name = "grid"
    fields = [
        "member",
        "position",
        "roles",
        "title",
        "start_date",
        "end_date",
        "duties",
        "commitment",
    ]
    autocomplete_fields = ["member"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Assignment]:
        return (
            super()
            .get_queryset(request)
            .select_related("member")
            .order_by("-start_date", "pk")
        )


class AssignmentSaveMixin:
    """Save inline assignments through assignment_create and assignment_update."""

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formset: Any,
        change: bool,
    ) -> None:
        if formset.model is not Assignment:
            super().save_formset(request, form, formset, change)  # type: ignore[misc]
            return

        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            [],
            [],
            [],
        )
        # Existing rows first, as Django's formset does, so that ending the
        # old leader precedes appointing the new one.
        for inline_form in [*formset.initial_forms, *formset.extra_forms]:
            if inline_form.has_changed():
                self._save_assignment_form(request, formset, inline_form)

    def _save_assignment_form(
        self, request: HttpRequest, formset: Any, inline_form: forms.ModelForm
    ) -> None:
        existing = inline_form.instance.pk is not None
        skipped = {formset.fk.name, Assignment._meta.pk.name}
        values = {
            name: value
            for name, value in form_values(inline_form, change=existing).items()
            if name.removesuffix("_id") not in skipped
        }
        if "roles" in values:
            values["roles"] = [role.code for role in values["roles"]]
        values[f"{formset.fk.name}_id"] = formset.instance.pk

        try:
            if existing:
                saved = assignment_update(
                    assignment_id=inline_form.instance.pk, **values
                )
                formset.changed_objects.append((saved, inline_form.changed_data))
            else:
                saved = assignment_create(**values)
                formset.new_objects.append(saved)
        except ValidationError as error:
            setattr(request, INLINE_REJECTED_ATTR, True)
            self.message_user(  # type: ignore[attr-defined]
                request,
                _("An assignment was not saved: %(reason)s")
                % {"reason": " ".join(error.messages)},
                messages.ERROR,
            )

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        if getattr(request, INLINE_REJECTED_ATTR, False):
            return HttpResponseRedirect(self._change_url(obj))
        return super().response_add(  # type: ignore[misc]
            request, obj, post_url_continue
        )

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        if getattr(request, INLINE_REJECTED_ATTR, False):
            return HttpResponseRedirect(self._change_url(obj))
        return super().response_change(request, obj)  # type: ignore[misc]

    def _change_url(self, obj: Any) -> str:
        opts = obj._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=[obj.pk],
            current_app=self.admin_site.name,  # type: ignore[attr-defined]
        )


class GridSubtreeFilter(admin.SimpleListFilter):
    """Members with an active assignment in a total or general grid's subtree."""

    title = gettext_lazy("grid, with the grids below it")
    parameter_name = "grid_subtree"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        grids = Grid.objects.filter(
            kind__in=[GridKind.TOTAL, GridKind.GENERAL]
        ).order_by("tree_id", "lft")
        return [
            (str(grid.pk), f"{'— ' * grid.level}{grid.code} {grid.name}")
            for grid in grids.only("pk", "code", "name", "level")
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Member]
    ) -> QuerySet[Member] | None:
        value = self.value()
        if not value:
            return None
        grid = Grid.objects.filter(
            kind__in=[GridKind.TOTAL, GridKind.GENERAL], pk=parse_filter_id(self)
        ).first()
        if grid is None:
            raise IncorrectLookupParameters(
                _("Grid %(value)s is not a total or general grid.") % {"value": value}
            )
        return members_in_subtree(queryset, grid)


class RoleFilter(admin.SimpleListFilter):
    title = gettext_lazy("role")
    parameter_name = "role"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in RoleCode.choices]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Member]
    ) -> QuerySet[Member] | None:
        value = self.value()
        if not value:
            return None
        if value not in RoleCode.values:
            raise IncorrectLookupParameters(
                _("Unknown role %(value)s.") % {"value": value}
            )
        return members_with_role(queryset, value)


@admin.register(Member)
class MemberAdmin(
    NamedRequiredAdminMixin,
    OverflowCheckedAdminMixin,
    AssignmentSaveMixin,
    ActionFormMixin,
    admin.ModelAdmin,
):
    """Members of the grid system; the phone number is private staff data.

    The list shows it masked, and the change form in full to staff who may
    view members. Search matches the full number or any part of it.
    """

    list_display = [
        "name",
        "masked_phone",
        "is_party_member",
        "organization",
        "active_grids",
        "is_active",
    ]
    list_filter = [
        "is_party_member",
        "organization__kind",
        "is_active",
        GridSubtreeFilter,
        RoleFilter,
    ]
    list_select_related = ["organization"]
    search_fields = ["name", "phone"]
    autocomplete_fields = ["organization"]
    raw_id_fields = ["user"]
    fields = [
        "name",
        "phone",
        "is_party_member",
        "organization",
        "user",
        "is_active",
        "created_at",
    ]
    readonly_fields = ["created_at"]
    inlines = [MemberAssignmentInline]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        # The number as people type it: full-width, with separators or +86.
        if db_field.name == "phone":
            kwargs["form_class"] = MobileNumberField
            kwargs["max_length"] = MOBILE_NUMBER_MAX_TYPED_LENGTH
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Member]:
        return members_with_active_grids(super().get_queryset(request))

    @admin.display(description=gettext_lazy("mobile number"))
    def masked_phone(self, member: Member) -> str:
        return member.masked_phone

    @admin.display(description=gettext_lazy("active in grids"))
    def active_grids(self, member: Member) -> str:
        return ", ".join(
            assignment.grid.code
            for assignment in member.active_assignments  # type: ignore[attr-defined]
        )

    def save_model(
        self, request: HttpRequest, obj: Member, form: forms.ModelForm, change: bool
    ) -> None:
        values = form_values(form, change=change)
        try:
            if change:
                saved = member_update(member_id=obj.pk, **values)
            else:
                saved = member_create(**values)
        except ValidationError as error:
            raise ActionRejected(error) from error
        copy_saved_fields(saved, obj)
        if change and not saved.is_active:
            self._warn_open_tickets(request, saved)

    def _warn_open_tickets(self, request: HttpRequest, member: Member) -> None:
        # The escalation sweep sends these tickets back to routing; staff may
        # want to reassign some of them by hand before it runs.
        from incidents.models import OPEN_STATES, Incident

        count = Incident.objects.filter(assignee=member, state__in=OPEN_STATES).count()
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(member)s still holds %(count)s open ticket; the next sweep, "
                    "within a minute, sends it back to routing.",
                    "%(member)s still holds %(count)s open tickets; the next sweep, "
                    "within a minute, sends them back to routing.",
                    count,
                )
                % {"member": member.name, "count": count},
                messages.WARNING,
            )


@admin.register(Organization)
class OrganizationAdmin(
    NamedRequiredAdminMixin, OverflowCheckedAdminMixin, admin.ModelAdmin
):
    list_display = ["name", "kind", "grid"]
    list_filter = ["kind"]
    list_select_related = ["grid"]
    search_fields = ["name"]
    autocomplete_fields = ["grid"]


@admin.register(PartyOrganization)
class PartyOrganizationAdmin(
    NamedRequiredAdminMixin,
    OverflowCheckedAdminMixin,
    ActionFormMixin,
    admin.ModelAdmin,
):
    """Party branches and groups; the kind follows from the grid's kind."""

    list_display = ["name", "kind", "grid", "secretary"]
    list_filter = ["kind"]
    list_select_related = ["grid", "secretary"]
    search_fields = ["name", "grid__code"]
    autocomplete_fields = ["grid", "secretary"]
    fields = ["grid", "kind", "name", "secretary"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: PartyOrganization | None = None
    ) -> list[str]:
        # party_organization_set() finds the organization by its grid, so a
        # change of grid would create a second one instead of moving this one.
        return ["kind", "grid"] if obj is not None else ["kind"]

    def save_model(
        self,
        request: HttpRequest,
        obj: PartyOrganization,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        secretary = form.cleaned_data.get("secretary")
        try:
            saved = party_organization_set(
                grid_id=obj.grid_id,
                name=form.cleaned_data["name"],
                secretary_id=secretary.pk if secretary else None,
            )
        except ValidationError as error:
            raise ActionRejected(error) from error
        copy_saved_fields(saved, obj)


admin.site.unregister(Grid)


@admin.register(Grid)
class GridRosterAdmin(AssignmentSaveMixin, GridAdmin):
    """The grid admin with each grid's roster: member counts and assignments.

    It lives here because the grids app must not import members.
    """

    list_display = [
        "code",
        "name",
        "kind",
        "is_active",
        "active_member_count",
        "active_place_count",
        "descendant_count",
    ]
    inlines = [GridAssignmentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Grid]:
        return grids_with_member_counts(super().get_queryset(request))

    @admin.display(description=gettext_lazy("active members"))
    def active_member_count(self, grid: Grid) -> int:
        return grid.active_member_count  # type: ignore[attr-defined]

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formsets: Any,
        change: bool,
    ) -> None:
        super().save_related(request, form, formsets, change)
        # After the inlines, so that an assignment ended in the same
        # submission is no longer counted.
        grid = form.instance
        if change and "is_active" in form.changed_data and not grid.is_active:
            self._warn_grid_in_use(request, grid)

    def _warn_grid_in_use(self, request: HttpRequest, grid: Grid) -> None:
        # Places, rosters and tickets keep pointing at an inactive grid, but
        # the public pages skip it, so its places' QR codes return 404.
        from incidents.models import OPEN_STATES, Incident

        places, assignments, tickets = (
            Grid.objects.filter(pk=grid.pk)
            .annotate(
                active_places=count_subquery(Place.objects.filter(is_active=True)),
                active_assignments=count_subquery(
                    Assignment.objects.active().filter(member__is_active=True)
                ),
                open_tickets=count_subquery(
                    Incident.objects.filter(state__in=OPEN_STATES)
                ),
            )
            .values_list("active_places", "active_assignments", "open_tickets")
            .get()
        )
        if not (places or assignments or tickets):
            return

        counts = {
            "places": ngettext(
                "%(count)s active place", "%(count)s active places", places
            )
            % {"count": places},
            "assignments": ngettext(
                "%(count)s active assignment",
                "%(count)s active assignments",
                assignments,
            )
            % {"count": assignments},
            "tickets": ngettext(
                "%(count)s open ticket", "%(count)s open tickets", tickets
            )
            % {"count": tickets},
        }
        self.message_user(
            request,
            _(
                "%(grid)s is now inactive but still has %(places)s, "
                "%(assignments)s and %(tickets)s. The QR codes and report links "
                "of its places do not work until the grid is active again."
            )
            % {"grid": grid, **counts},
            messages.WARNING,
        )
