"""Forms of the staff admin for tickets: the workflow operations and phone entry.

Each operation form has ``apply(incident, actor)``, which calls one workflow
function and lets its ValidationError through to the admin view.
"""

from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from grids.models import Grid, Place
from incidents.actors import Actor
from incidents.forms_mobile import (
    AssignmentChoiceField,
    CategoryChoiceField,
    MultiplePhotoField,
    PlainTextField,
    SingleLineTextField,
    active_categories,
)
from incidents.models import (
    DESCRIPTION_MAX_LENGTH,
    Category,
    Channel,
    Incident,
    State,
    normalize_tracking_code,
)
from incidents.photos import prepare_photos
from incidents.workflow import (
    incident_close,
    incident_dispatch,
    incident_mark_duplicate,
    incident_reassign,
    incident_reject,
    incident_submit,
)
from members.models import Assignment
from westgarden.forms import MobileNumberField, NamedRequiredMixin


class OperationForm(NamedRequiredMixin, forms.Form):
    """The input of one workflow operation, applied to each chosen ticket."""

    def apply(self, incident: Incident, actor: Actor) -> None:
        """Call the workflow function; raise its ValidationError unchanged."""
        raise NotImplementedError


class AssignOperationForm(OperationForm):
    assignment = AssignmentChoiceField(
        label=_("Member"),
        queryset=Assignment.objects.none(),
        help_text=_("The ticket moves to the grid this member serves in."),
    )
    note = PlainTextField(
        label=_("Note"), required=False, max_length=1000, widget=forms.Textarea
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Staff may pick any active member in any grid.
        cast(forms.ModelChoiceField, self.fields["assignment"]).queryset = (
            Assignment.objects.active(timezone.localdate())
            .filter(member__is_active=True)
            .select_related("member", "grid")
            .order_by("grid__tree_id", "grid__lft", "position", "member__name")
        )

    def apply(self, incident: Incident, actor: Actor) -> None:
        """Dispatch a submitted ticket, or reassign one already dispatched."""
        assignment = self.cleaned_data["assignment"]
        arguments = {
            "incident_id": incident.pk,
            "assignee_id": assignment.member_id,
            "grid_id": assignment.grid_id,
            "actor": actor,
            "note": self.cleaned_data["note"],
        }
        if incident.state == State.SUBMITTED:
            incident_dispatch(**arguments)
        else:
            incident_reassign(**arguments)


class RejectOperationForm(OperationForm):
    reason = PlainTextField(
        label=_("Reason"),
        max_length=4000,
        widget=forms.Textarea,
        help_text=_("Shown to the reporter on the tracking page."),
    )

    def apply(self, incident: Incident, actor: Actor) -> None:
        incident_reject(
            incident_id=incident.pk, actor=actor, reason=self.cleaned_data["reason"]
        )


class DuplicateOperationForm(OperationForm):
    original = forms.CharField(
        label=_("Tracking code of the original ticket"), max_length=20
    )

    def clean_original(self) -> Incident:
        code = normalize_tracking_code(self.cleaned_data["original"])
        original = Incident.objects.filter(tracking_code=code).first()
        if original is None:
            raise ValidationError(
                _("No ticket has the tracking code %(code)s.")
                % {"code": self.cleaned_data["original"]}
            )
        return original

    def apply(self, incident: Incident, actor: Actor) -> None:
        incident_mark_duplicate(
            incident_id=incident.pk,
            original_id=self.cleaned_data["original"].pk,
            actor=actor,
        )


class CloseOperationForm(OperationForm):
    note = PlainTextField(
        label=_("Note"), required=False, max_length=1000, widget=forms.Textarea
    )

    def apply(self, incident: Incident, actor: Actor) -> None:
        incident_close(
            incident_id=incident.pk, actor=actor, note=self.cleaned_data["note"]
        )


@dataclass(frozen=True)
class Operation:
    title: str | Promise
    form_class: type[OperationForm]
    # Message after success, with %(codes)s for the tickets changed.
    done: str | Promise


OPERATIONS = {
    "assign": Operation(
        _("Assign or reassign to a member"),
        AssignOperationForm,
        _("Assigned: %(codes)s."),
    ),
    "reject": Operation(
        _("Reject with a reason"), RejectOperationForm, _("Rejected: %(codes)s.")
    ),
    "duplicate": Operation(
        _("Mark as duplicate"),
        DuplicateOperationForm,
        _("Marked as duplicates: %(codes)s."),
    ),
    "close": Operation(_("Close"), CloseOperationForm, _("Closed: %(codes)s.")),
}


class NumericAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that ignores a submitted value that is not an id.

    Django's widget looks the value up to show it again, and a value such as
    ``abc`` would make that lookup fail with a server error. The field itself
    reports the value as an invalid choice.
    """

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        # int() rejects digits such as "²" that isdigit() accepts, hence
        # isdecimal(). Eighteen digits stay below the 64-bit id range.
        ids = [item for item in value if str(item).isdecimal() and len(str(item)) <= 18]
        return super().optgroups(name, ids, attr)


class StaffEntryForm(NamedRequiredMixin, forms.Form):
    """A ticket taken by phone and typed in by street-office staff."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=32)
    category = CategoryChoiceField(
        label=_("Category"), queryset=Category.objects.none()
    )
    place = forms.ModelChoiceField(
        label=_("Place"), queryset=Place.objects.filter(is_active=True), required=False
    )
    grid = forms.ModelChoiceField(
        label=_("Grid"),
        queryset=Grid.objects.filter(is_active=True),
        required=False,
        help_text=_("Only when the caller names no known place."),
    )
    subject = SingleLineTextField(label=_("Subject"), max_length=120, required=False)
    description = PlainTextField(
        label=_("Description"), max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea
    )
    reporter_name = SingleLineTextField(
        label=_("Caller's name"),
        max_length=50,
        required=False,
        help_text=_("Leave empty when the caller gives no name."),
    )
    reporter_phone = MobileNumberField(
        label=_("Caller's mobile number"), required=False
    )
    hide_name = forms.BooleanField(
        label=_("Hide the caller's name from grid members"),
        required=False,
        initial=True,
    )
    photos = MultiplePhotoField(label=_("Photos"))

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(
            forms.ModelChoiceField, self.fields["category"]
        ).queryset = active_categories()
        # Thousands of places and grids: search as you type, not one long list.
        for name in ("place", "grid"):
            field = cast(forms.ModelChoiceField, self.fields[name])
            model_field = Incident._meta.get_field(name)
            field.widget = NumericAutocompleteSelect(model_field, admin_site)
            field.widget.choices = field.choices

    def submit(self, user: Any) -> Incident:
        """Create the ticket through incident_submit as entered by staff ``user``.

        The token makes a resubmitted form return the ticket it created.
        """
        data = self.cleaned_data
        return incident_submit(
            category_id=data["category"].pk,
            description=data["description"],
            subject=data["subject"],
            place_id=data["place"].pk if data["place"] else None,
            grid_id=data["grid"].pk if data["grid"] else None,
            channel=Channel.STAFF,
            actor=Actor.for_user(user),
            reporter_name=data["reporter_name"],
            reporter_phone=data["reporter_phone"],
            hide_name=data["hide_name"],
            photos=prepare_photos(data["photos"], field="photos"),
            idempotency_key=f"s{user.pk}:{data['token']}",
        )
