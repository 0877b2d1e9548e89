"""Admin for street-office staff: the grid tree and its places.

Every save and delete goes through grids.actions, so the tree lock is taken
and rows are re-read there. The actions open durable transactions, which is
why the views below do not wrap them in the admin's usual atomic block.
"""

import re
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters, csrf_protect_m
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    ValidationError,
)
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from mptt.admin import MPTTModelAdmin

from grids.actions import (
    grid_create,
    grid_remove,
    grid_update,
    place_create,
    place_update,
)
from grids.models import Grid, Place
from grids.queries import grids_with_place_counts
from westgarden.forms import NamedRequiredAdminMixin

# The request attribute that carries an action's ValidationError from the
# first pass of the change form to the second one, which renders it.
ACTION_ERROR_ATTR = "westgarden_action_error"

# Ids are BigAutoField, a signed 64-bit integer, so no primary key is larger.
MAX_ID = 2**63 - 1


def parse_filter_id(list_filter: admin.SimpleListFilter) -> int | None:
    """Return the list filter's value as a primary key, or None when it is unset.

    Raise IncorrectLookupParameters, which the admin turns into a redirect
    to ``?e=1``, for a value that is not an integer from 1 to MAX_ID.
    """
    value = list_filter.value()
    if value is None:
        return None

    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_ID:
        raise IncorrectLookupParameters(f"{list_filter.parameter_name}={value!r}")
    return number


INTEGER = re.compile(r"[+-]?\d+")


class OverflowCheckedChangeList(ChangeList):
    """A changelist that treats an integer too large for the database as invalid.

    Django 5.2 still sends such a value to the database in foreign key and
    ``__in`` lookups such as ``?assignee=99999999999999999999999``, where
    SQLite's driver raises OverflowError and PostgreSQL finds nothing.
    Checking the query string first gives the same result on both.
    """

    def get_results(self, request: HttpRequest) -> None:
        for name, values in self.filter_params.items():
            for value in values:
                for part in value.split(","):
                    if INTEGER.fullmatch(part.strip()) and abs(int(part)) > MAX_ID:
                        raise IncorrectLookupParameters(f"{name}={value!r}")
        super().get_results(request)


class OverflowCheckedAdminMixin:
    """ModelAdmin mixin that handles out-of-range ids without a server error.

    The changelist redirects them to ``?e=1``; a bulk action on them changes
    nothing and shows Django's own message for an empty selection.
    """

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return OverflowCheckedChangeList

    def response_action(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if all(_is_id(value) for value in selected):
            return super().response_action(request, queryset)  # type: ignore[misc]

        self.message_user(  # type: ignore[attr-defined]
            request,
            _(
                "Items must be selected in order to perform actions on them. No "
                "items have been changed."
            ),
            messages.WARNING,
        )
        return HttpResponseRedirect(request.get_full_path())


def _is_id(value: str) -> bool:
    return value.isdecimal() and 1 <= int(value) <= MAX_ID


class ActionRejected(Exception):
    """An action raised ValidationError after the admin form had validated."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(error)
        self.error = error


def add_action_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Attach an action's ValidationError to the form fields it names.

    A message that the form's own validation already shows is not repeated.
    """
    by_field: dict[str | None, list[ValidationError]] = {None: [error]}
    if hasattr(error, "error_dict"):
        by_field = {field: list(errors) for field, errors in error.error_dict.items()}
    for field, errors in by_field.items():
        target = field if field in form.fields else None
        key = target or NON_FIELD_ERRORS
        existing_messages = (
            {message for item in form.errors[key].as_data() for message in item}
            if key in form.errors
            else set()
        )
        for item in errors:
            if not set(item) <= existing_messages:
                form.add_error(target, item)


def copy_saved_fields(source: Model, target: Model) -> None:
    """Copy the saved row ``source`` into the admin's own instance ``target``.

    The admin keeps using the instance it built from the form (inline
    formsets hang on it), while the action saved and returned another one.
    """
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def form_values(form: forms.ModelForm, *, change: bool) -> dict[str, Any]:
    """Return the form's data as keyword arguments for an action.

    A change sends only the changed fields, an addition every field. A
    foreign key such as ``grid`` becomes ``grid_id`` holding the primary key.
    """
    names = form.changed_data if change else list(form.fields)
    values: dict[str, Any] = {}
    for name in names:
        field = form.fields[name]
        value = form.cleaned_data.get(name)
        if isinstance(field, forms.ModelChoiceField) and not isinstance(
            field, forms.ModelMultipleChoiceField
        ):
            values[f"{name}_id"] = value.pk if value is not None else None
        else:
            values[name] = value
    return values


class ActionFormMixin:
    """Run the add and change forms of a ModelAdmin through action functions.

    The form validates with the model's own rules, so nearly every error
    shows on its field. An action checks again under its lock and may still
    reject the save, for example when another request took the same code a
    moment before. ``save_model`` then raises ActionRejected, and the form is
    rendered once more with the action's errors on the fields they name.
    """

    @csrf_protect_m
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return self._changeform_view(  # type: ignore[attr-defined]
                request, object_id, form_url, extra_context
            )
        except ActionRejected as rejected:
            setattr(request, ACTION_ERROR_ATTR, rejected.error)
            return self._changeform_view(  # type: ignore[attr-defined]
                request, object_id, form_url, extra_context
            )

    def get_form(
        self,
        request: HttpRequest,
        obj: Any | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        form_class = super().get_form(  # type: ignore[misc]
            request, obj, change, **kwargs
        )
        found = getattr(request, ACTION_ERROR_ATTR, None)
        if not isinstance(found, ValidationError):
            return form_class
        error: ValidationError = found

        class RejectedForm(form_class):  # type: ignore[valid-type,misc]
            def _post_clean(self) -> None:
                super()._post_clean()
                add_action_error(self, error)

        return RejectedForm


class GridForm(forms.ModelForm):
    class Meta:
        model = Grid
        fields = ["kind", "code", "name", "parent", "boundary", "is_active"]


@admin.register(Grid)
class GridAdmin(
    NamedRequiredAdminMixin, OverflowCheckedAdminMixin, ActionFormMixin, MPTTModelAdmin
):
    """The grid tree, indented by level and kept in tree order.

    DraggableMPTTAdmin is not used on purpose: its drag-and-drop moves write
    lft/rght directly, without the grid tree lock and the 3+1 checks.
    """

    form = GridForm
    list_display = [
        "code",
        "name",
        "kind",
        "is_active",
        "active_place_count",
        "descendant_count",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["created_at", "updated_at"]
    # Sorting by a column would scatter the tree that the indentation draws.
    sortable_by: tuple[str, ...] = ()
    list_per_page = 200
    actions = ["delete_selected"]
    delete_confirmation_template = "admin/grids/grid/delete_confirmation.html"
    delete_selected_confirmation_template = (
        "admin/grids/grid/delete_selected_confirmation.html"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Grid]:
        return grids_with_place_counts(super().get_queryset(request))

    @admin.display(description=gettext_lazy("active places"))
    def active_place_count(self, grid: Grid) -> int:
        return grid.active_place_count  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("descendants"))
    def descendant_count(self, grid: Grid) -> int:
        # django-mptt numbers a subtree of n grids with 2n consecutive values.
        return (grid.rght - grid.lft - 1) // 2

    def save_model(
        self, request: HttpRequest, obj: Grid, form: forms.ModelForm, change: bool
    ) -> None:
        values = form_values(form, change=change)
        try:
            if change:
                saved = grid_update(grid_id=obj.pk, **values)
            else:
                saved = grid_create(**values)
        except ValidationError as error:
            raise ActionRejected(error) from error
        copy_saved_fields(saved, obj)

    # Deleting ----------------------------------------------------------------

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Skip MPTTModelAdmin.get_actions, whose bulk delete writes the tree
        # without the lock and deletes referenced grids' rows outright.
        return admin.ModelAdmin.get_actions(self, request)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list, dict, set, list]:
        """Return what a delete would touch, with references as no obstacle.

        Grids that other rows refer to are deactivated instead of deleted,
        so the protected rows go to the confirmation page as information.
        """
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        request.grid_references = protected  # type: ignore[attr-defined]
        return deleted, model_count, perms_needed, []

    @csrf_protect_m
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        return self._delete_view(request, object_id, extra_context)

    def render_delete_form(
        self, request: HttpRequest, context: dict[str, Any]
    ) -> HttpResponse:
        context["references"] = getattr(request, "grid_references", [])
        return super().render_delete_form(request, context)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> None:
        """Log nothing yet: remove_grids() logs each outcome once it is known."""

    def delete_model(self, request: HttpRequest, obj: Grid) -> None:
        request.grid_removal = remove_grids(  # type: ignore[attr-defined]
            self, request, [obj]
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Grid]) -> None:
        remove_grids(self, request, list(queryset))

    def response_delete(
        self, request: HttpRequest, obj_display: str, obj_id: Any
    ) -> HttpResponse:
        # remove_grids() has already sent a message about the outcome.
        removal = getattr(request, "grid_removal", None)
        if removal is not None and not removal.deleted:
            # The grid still exists, deactivated or kept, so go back to it.
            url_name = "change"
            args = [obj_id]
        else:
            url_name = "changelist"
            args = []
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{url_name}",
            args=args,
            current_app=self.admin_site.name,
        )
        return HttpResponseRedirect(url)

    @admin.action(
        permissions=["delete"],
        description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
    )
    def delete_selected(
        self, request: HttpRequest, queryset: QuerySet[Grid]
    ) -> HttpResponse | None:
        """Remove the selected grids after a confirmation page.

        Each grid goes through grid_remove(): deleted if nothing refers to
        it, deactivated otherwise.
        """
        if request.POST.get("post"):
            remove_grids(self, request, list(queryset))
            return None

        deletable, model_count, perms_needed, _protected = self.get_deleted_objects(
            queryset, request
        )
        if perms_needed:
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delete or deactivate grids"),
            "subtitle": None,
            "objects_name": str(model_ngettext(queryset)),
            "deletable_objects": [deletable],
            "model_count": dict(model_count).items(),
            "references": getattr(request, "grid_references", []),
            "queryset": queryset,
            "opts": self.opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, self.delete_selected_confirmation_template, context
        )


class GridRemoval:
    """Outcome of removing grids: which were deleted, deactivated or kept."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.deactivated: list[str] = []
        self.rejected: list[str] = []


def remove_grids(
    model_admin: admin.ModelAdmin, request: HttpRequest, grids: list[Grid]
) -> GridRemoval:
    """Call grid_remove() on each grid, deepest first, and tell the user.

    Children go before their parents, so a parent whose children were all
    deleted is deleted too instead of being kept by references from them.
    """
    from django.contrib.admin.models import CHANGE, DELETION, LogEntry

    removal = GridRemoval()
    for grid in sorted(grids, key=lambda grid: (-grid.level, grid.tree_id, grid.lft)):
        if not model_admin.has_delete_permission(request, grid):
            raise PermissionDenied
        label = str(grid)
        try:
            deleted = grid_remove(grid_id=grid.pk)
        except ValidationError as error:
            removal.rejected.append(label)
            model_admin.message_user(
                request,
                _("%(grid)s was kept: %(reason)s")
                % {"grid": label, "reason": " ".join(error.messages)},
                messages.ERROR,
            )
            continue

        LogEntry.objects.log_actions(
            user_id=cast(int, request.user.pk),
            queryset=[grid],
            action_flag=DELETION if deleted else CHANGE,
            change_message="" if deleted else [{"changed": {"fields": ["active"]}}],
            single_object=True,
        )
        (removal.deleted if deleted else removal.deactivated).append(label)

    if removal.deleted:
        model_admin.message_user(
            request,
            _("Deleted %(count)d grids: %(grids)s.")
            % {"count": len(removal.deleted), "grids": ", ".join(removal.deleted)},
            messages.SUCCESS,
        )
    if removal.deactivated:
        model_admin.message_user(
            request,
            _(
                "Deactivated %(count)d grids instead of deleting them, because "
                "other records refer to them: %(grids)s."
            )
            % {
                "count": len(removal.deactivated),
                "grids": ", ".join(removal.deactivated),
            },
            messages.WARNING,
        )
    return removal


@admin.register(Place)
class PlaceAdmin(
    NamedRequiredAdminMixin,
    OverflowCheckedAdminMixin,
    ActionFormMixin,
    admin.ModelAdmin,
):
    list_display = ["code", "name", "kind", "grid", "address", "is_active"]
    list_filter = ["kind", "grid__kind", "is_active"]
    list_select_related = ["grid"]
    search_fields = ["code", "name", "address", "grid__code"]
    autocomplete_fields = ["grid"]
    fields = ["kind", "code", "name", "grid", "address", "is_active", "created_at"]
    readonly_fields = ["created_at"]

    def save_model(
        self, request: HttpRequest, obj: Place, form: forms.ModelForm, change: bool
    ) -> None:
        values = form_values(form, change=change)
        try:
            if change:
                saved = place_update(place_id=obj.pk, **values)
            else:
                saved = place_create(**values)
        except ValidationError as error:
            raise ActionRejected(error) from error
        copy_saved_fields(saved, obj)
