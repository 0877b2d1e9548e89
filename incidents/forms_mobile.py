"""Forms of the grid members' mobile pages; the staff admin reuses the field types."""

import secrets
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from grids.models import Place
from incidents.models import DESCRIPTION_MAX_LENGTH, Category, State
from incidents.photos import MAX_PHOTOS
from members.models import Assignment
from westgarden.forms import (
    NamedFileField,
    NamedRequiredMixin,
    normalize_plain_text,
    normalize_single_line,
)


def add_workflow_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Attach a workflow ValidationError to the fields it names, or to the form.

    Errors on fields the form lacks, such as ``state`` or ``assignee``, go to
    the top of the form. Their messages name the ticket and its state.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        target = field if field in form.fields else None
        for item in errors:
            form.add_error(target, item)


def new_form_token() -> str:
    """Return a random token that makes a resubmitted form create nothing twice."""
    return secrets.token_hex(16)


class PlainTextField(forms.CharField):
    """Multi-line plain text, cleaned by ``normalize_plain_text``.

    Browsers send a textarea's line breaks as CRLF but count each as one
    character against maxlength, so the text is normalized to LF before the
    length is checked. Control characters other than tab and LF are dropped.
    """

    widget = forms.Textarea

    def to_python(self, value: Any) -> str:
        if value not in self.empty_values:
            value = normalize_plain_text(str(value))
        return str(super().to_python(value))


class SingleLineTextField(forms.CharField):
    """One line of plain text, such as a subject, cleaned by ``normalize_single_line``.

    A program can send line breaks and control characters in a text input.
    They are dropped or become spaces before the length is checked.
    """

    def to_python(self, value: Any) -> str:
        if value not in self.empty_values:
            value = normalize_single_line(str(value))
        return str(super().to_python(value))


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(NamedFileField):
    """Up to MAX_PHOTOS image uploads; ``prepare_photos`` decodes and checks them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", MultiplePhotoInput(attrs={"accept": "image/*", "multiple": True})
        )
        kwargs.setdefault(
            "help_text",
            format_lazy(_("Up to {count} JPEG, PNG or WebP photos."), count=MAX_PHOTOS),
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(item, initial) for item in data]
        if data in self.empty_values:
            return []
        return [clean_one(data, initial)]


class AssignmentChoiceField(forms.ModelChoiceField):
    """A member together with the grid they serve in, e.g. "1-1 微网格 · 张伟"."""

    def label_from_instance(self, obj: Assignment) -> str:
        return f"{obj.grid.name} · {obj.member.name} ({obj.get_position_display()})"


class CategoryChoiceField(forms.ModelChoiceField):
    """Categories in tree order, indented by their level."""

    def label_from_instance(self, obj: Category) -> str:
        return "\u3000" * obj.level + obj.name


def active_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True).order_by("tree_id", "lft")


class StateFilterForm(NamedRequiredMixin, forms.Form):
    """Filters of the mobile inbox; every field is optional."""

    OPEN = "open"

    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), (OPEN, _("Open")), *State.choices],
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class AcceptForm(NamedRequiredMixin, forms.Form):
    """Accept (签收) has no input; the form exists for its non-field errors."""

    prefix = "accept"


class CommentForm(NamedRequiredMixin, forms.Form):
    prefix = "comment"

    PUBLIC = "public"
    INTERNAL = "internal"

    note = PlainTextField(
        label=_("Text"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    visibility = forms.ChoiceField(
        label=_("Who sees it"),
        choices=[
            (PUBLIC, _("Reply to the reporter (public)")),
            (INTERNAL, _("Internal note (staff and grid members only)")),
        ],
        # A note meant for colleagues must never reach the resident because
        # the member did not change the choice.
        initial=INTERNAL,
        widget=forms.RadioSelect,
    )
    photos = MultiplePhotoField(label=_("Photos"))


class ResolveForm(NamedRequiredMixin, forms.Form):
    prefix = "resolve"

    reply = PlainTextField(
        label=_("Reply to the reporter"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What was done; the reporter reads it and rates it."),
    )
    photos = MultiplePhotoField(label=_("Photos"))


class SendBackForm(NamedRequiredMixin, forms.Form):
    prefix = "send_back"

    reason = PlainTextField(
        label=_("Reason"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why this grid does not own the ticket; staff route it again."),
    )


class ReassignForm(NamedRequiredMixin, forms.Form):
    prefix = "reassign"

    assignment = AssignmentChoiceField(
        label=_("Hand over to"), queryset=Assignment.objects.none()
    )
    note = PlainTextField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, choices: QuerySet[Assignment], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignment"]).queryset = choices


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Place) -> str:
        return f"{obj.grid.name} · {obj.name}"


class ReportForm(NamedRequiredMixin, forms.Form):
    """A ticket reported by a grid member on patrol."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=32)
    category = CategoryChoiceField(
        label=_("Category"), queryset=Category.objects.none()
    )
    place = PlaceChoiceField(label=_("Place"), queryset=Place.objects.none())
    subject = SingleLineTextField(
        label=_("Subject"),
        required=False,
        max_length=120,
        help_text=_("Optional; the start of the description is used otherwise."),
    )
    description = PlainTextField(
        label=_("Description"),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    photos = MultiplePhotoField(label=_("Photos"))

    def __init__(self, *args: Any, places: QuerySet[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(
            forms.ModelChoiceField, self.fields["category"]
        ).queryset = active_categories()
        cast(forms.ModelChoiceField, self.fields["place"]).queryset = places
