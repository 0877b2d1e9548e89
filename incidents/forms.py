"""Forms of the public pages: report a problem, look it up, add to it, rate it.

The forms check the shape of the input and turn photos into PreparedPhoto
objects; incidents.workflow checks the rules again when the view calls it.
"""

import re
import secrets
from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from grids.models import Place
from incidents.forms_mobile import (
    MultiplePhotoField,
    PlainTextField,
    SingleLineTextField,
)
from incidents.models import (
    DESCRIPTION_MAX_LENGTH,
    Category,
    Channel,
    RatingValue,
    normalize_tracking_code,
)
from incidents.photos import PreparedPhoto, prepare_photos
from incidents.queries import is_tracking_code, places_for_text, public_categories
from westgarden.forms import MobileNumberField, NamedRequiredMixin

IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
INFO_MAX_LENGTH = 4000
COMMENT_MAX_LENGTH = 1000


def new_idempotency_key() -> str:
    """Return a random key that makes a resubmitted report create one ticket."""
    return secrets.token_urlsafe(24)


def _length_errors(too_long: Any, required: Any = None) -> dict[str, Any]:
    # Django fills in %(show_value)s and %(limit_value)s of max_length.
    messages = {"max_length": too_long}
    if required is not None:
        messages["required"] = required
    return messages


def _prepare(uploads: Sequence[Any]) -> list[PreparedPhoto]:
    try:
        return prepare_photos(list(uploads))
    except ValidationError as error:
        raise ValidationError(error.messages) from None


def category_choices(categories: Sequence[Category]) -> list[tuple[Any, Any]]:
    """Return select choices: the leaf categories, grouped under their top category.

    A top category without children is a choice of its own. Below the top,
    a leaf's label names its parent too, as in "Parking · Blocked exit".
    """
    by_pk = {category.pk: category for category in categories}
    parent_pks = {category.parent_id for category in categories}
    tops = [category for category in categories if category.parent_id not in by_pk]

    def label(leaf: Category, top: Category) -> str:
        names = [leaf.name]
        node = by_pk.get(leaf.parent_id)
        while node is not None and node.pk != top.pk:
            names.insert(0, node.name)
            node = by_pk.get(node.parent_id)
        return " · ".join(names)

    choices: list[tuple[Any, Any]] = [("", _("Choose a category"))]
    for top in tops:
        leaves = [
            category
            for category in categories
            if category.tree_id == top.tree_id
            and top.lft < category.lft < top.rght
            and category.pk not in parent_pks
        ]
        if leaves:
            choices.append((top.name, [(leaf.pk, label(leaf, top)) for leaf in leaves]))
        else:
            choices.append((top.pk, top.name))
    return choices


class PublicReportForm(NamedRequiredMixin, forms.Form):
    """The resident's report form (no login), on /report/."""

    # The view reads it before validation. CSS hides the field from people,
    # so only a program that fills in every field fills it.
    HONEYPOT_FIELD = "website"

    idempotency_key = forms.CharField(widget=forms.HiddenInput)
    via = forms.ChoiceField(
        widget=forms.HiddenInput,
        choices=[(Channel.PUBLIC_FORM, ""), (Channel.QR_CODE, "")],
        initial=Channel.PUBLIC_FORM,
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    category = forms.TypedChoiceField(
        label=_("Category"),
        coerce=int,
        error_messages={
            "required": _("Choose a category."),
            "invalid_choice": _(
                "Category %(value)s cannot be chosen here; pick one from the list."
            ),
        },
    )
    place = forms.CharField(
        label=_("Place"),
        required=False,
        max_length=100,
        help_text=_(
            "Type the place code from the QR poster, or search by building, "
            "shop or street name. Leave it empty if you cannot find the place."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    subject = SingleLineTextField(
        label=_("Subject"),
        required=False,
        max_length=120,
        help_text=_("Optional; the start of the description is used otherwise."),
        error_messages=_length_errors(
            _(
                "The subject has %(show_value)s characters; "
                "the limit is %(limit_value)s."
            )
        ),
    )
    description = PlainTextField(
        label=_("Description"),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What is wrong, where exactly, and since when."),
        error_messages=_length_errors(
            _(
                "The description has %(show_value)s characters; "
                "the limit is %(limit_value)s."
            ),
            required=_("Describe the problem."),
        ),
    )
    photos = MultiplePhotoField(label=_("Photos"))
    reporter_name = SingleLineTextField(
        label=_("Your name"),
        required=False,
        max_length=50,
        error_messages=_length_errors(
            _("The name has %(show_value)s characters; the limit is %(limit_value)s.")
        ),
    )
    reporter_phone = MobileNumberField(
        label=_("Mobile number"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("Optional; staff may call you back. Grid members never see it."),
    )
    reporter_email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Optional; we write to you when your report is answered."),
    )
    hide_name = forms.BooleanField(
        label=_("Hide my name from grid members"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category_field = cast(forms.TypedChoiceField, self.fields["category"])
        category_field.choices = category_choices(public_categories())
        self.chosen_place: Place | None = None
        self.prepared_photos: list[PreparedPhoto] = []

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.data.get(self.add_prefix(self.HONEYPOT_FIELD), "").strip())

    def clean_idempotency_key(self) -> str:
        key = self.cleaned_data["idempotency_key"]
        if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
            raise ValidationError(_("The form has expired; send it again."))
        return key

    def clean_place(self) -> str:
        text = self.cleaned_data["place"]
        if not text:
            return text

        places = places_for_text(text)
        if not places:
            raise ValidationError(
                _("No place has the code or name %(value)s.") % {"value": text}
            )
        if len(places) > 1:
            raise ValidationError(
                _("%(value)s names several places (%(codes)s); type one of the codes.")
                % {"value": text, "codes": ", ".join(place.code for place in places)}
            )
        self.chosen_place = places[0]
        return text

    def clean_photos(self) -> list[Any]:
        uploads = self.cleaned_data["photos"]
        self.prepared_photos = _prepare(uploads)
        return uploads

    def submission(self) -> dict[str, Any]:
        """Return the keyword arguments of incident_submit for this valid form."""
        data = self.cleaned_data
        return {
            "category_id": data["category"],
            "description": data["description"],
            "channel": data["via"],
            "subject": data["subject"],
            "place_id": self.chosen_place.pk if self.chosen_place else None,
            "reporter_name": data["reporter_name"],
            "reporter_phone": data["reporter_phone"],
            "reporter_email": data["reporter_email"],
            "hide_name": data["hide_name"],
            "photos": self.prepared_photos,
            "idempotency_key": data["idempotency_key"],
        }


class TrackingLookupForm(NamedRequiredMixin, forms.Form):
    """The tracking-code lookup on /track/."""

    code = forms.CharField(
        label=_("Tracking code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "ABCDE-FGH23",
            }
        ),
        error_messages={"required": _("Enter your tracking code.")},
    )

    def clean_code(self) -> str:
        raw = self.cleaned_data["code"]
        code = normalize_tracking_code(raw)
        if not is_tracking_code(code):
            raise ValidationError(
                _(
                    "%(value)s is not a tracking code; a code has 10 letters and "
                    "digits, such as ABCDE-FGH23."
                )
                % {"value": raw}
            )
        return code


class PublicInfoForm(NamedRequiredMixin, forms.Form):
    """More information and photos from the reporter, on the tracking page."""

    prefix = "info"

    note = PlainTextField(
        label=_("Information"),
        max_length=INFO_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_length_errors(
            _(
                "The information has %(show_value)s characters; "
                "the limit is %(limit_value)s."
            ),
            required=_("Write the information to add."),
        ),
    )
    photos = MultiplePhotoField(label=_("Photos"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared_photos: list[PreparedPhoto] = []

    def clean_photos(self) -> list[Any]:
        uploads = self.cleaned_data["photos"]
        self.prepared_photos = _prepare(uploads)
        return uploads


class PublicRatingForm(NamedRequiredMixin, forms.Form):
    """The reporter's rating of the handler's reply (公开评效)."""

    prefix = "rating"

    value = forms.ChoiceField(
        label=_("How satisfied are you with the answer?"),
        choices=RatingValue.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating."),
            "invalid_choice": _("%(value)s is not a rating; choose one of the list."),
        },
    )
    comment = PlainTextField(
        label=_("Comment"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_length_errors(
            _(
                "The comment has %(show_value)s characters; "
                "the limit is %(limit_value)s."
            )
        ),
    )


class PublicReopenForm(NamedRequiredMixin, forms.Form):
    """The request to reopen a ticket rated dissatisfied, with an optional reason."""

    prefix = "reopen"

    note = PlainTextField(
        label=_("What is still wrong?"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_length_errors(
            _("The text has %(show_value)s characters; the limit is %(limit_value)s.")
        ),
    )
