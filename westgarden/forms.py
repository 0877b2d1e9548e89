"""Form behaviour shared by the member pages and the staff pages."""

import re
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.forms.utils import pretty_name
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import mobile_validator, normalize_mobile_number

# C0 control characters except tab (U+0009) and line feed (U+000A). A CR is
# part of a line break and is turned into LF before this applies.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f]")

# Typed text may carry a country code and separators, as in
# "+86 138-1234-5678" (17 characters), so the limit is above 11.
MOBILE_NUMBER_MAX_TYPED_LENGTH = 30


def normalize_plain_text(text: str) -> str:
    """Return typed text with LF line breaks and without other C0 controls.

    Browsers send a textarea's line breaks as CRLF, and a lone CR counts as
    a line break too. Tab and LF stay. The other characters from U+0000 to
    U+001F are dropped, such as NUL, BEL and the ESC of terminal colour codes.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARACTERS.sub("", text)


def normalize_single_line(text: str) -> str:
    """Return typed text as one line, for subjects and names.

    Control characters are dropped as in ``normalize_plain_text``. Each run
    of whitespace, line breaks and ideographic spaces included, becomes one
    space, and the ends are stripped.
    """
    return " ".join(normalize_plain_text(text).split())


class NamedFileField(forms.FileField):
    """A file field whose "empty" error passes the file name as %(name)s."""

    def to_python(self, data: Any) -> Any:
        try:
            return super().to_python(data)
        except ValidationError as error:
            if error.code != "empty":
                raise
            raise ValidationError(
                error.message, code="empty", params={"name": data.name}
            ) from None


class MobileNumberField(forms.CharField):
    """A mainland mobile number in any spelling that people type, cleaned to 11 digits.

    ``normalize_mobile_number`` lists the spellings. The error shows the
    value as typed, because the person never saw the normalized form.
    """

    default_error_messages = {
        "invalid": gettext_lazy("%(value)s is not an 11-digit mainland mobile number."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MOBILE_NUMBER_MAX_TYPED_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        typed = super().clean(value)
        if typed in self.empty_values:
            return typed

        number = normalize_mobile_number(typed)
        try:
            mobile_validator(number)
        except ValidationError:
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": typed}
            ) from None
        return number


def name_field_errors(field: forms.Field, name: str) -> None:
    """Make Django's default validation errors of ``field`` name the field.

    Django's own messages, such as "This field is required.", do not say which
    field they are about, which matters in an error summary and to a screen
    reader. The errors covered are "required", "invalid_choice",
    "max_length", a NUL character, an invalid e-mail address or mobile
    number, "min_value" and "max_value" of numbers, and an empty file. Most
    also show the value. A field with a message of its own keeps it.
    """
    messages = field.error_messages
    default_required = str(forms.Field.default_error_messages["required"])
    if field.widget.is_hidden:
        # The page filled it in, so its name would mean nothing to the user.
        if str(messages.get("required", "")) == default_required:
            messages["required"] = _("The form has expired; send it again.")
        return

    label = str(field.label or pretty_name(name))
    if str(messages.get("required", "")) == default_required:
        messages["required"] = _("%(field)s is required.") % {"field": label}

    # The label goes in before Django fills in the value and the lengths.
    escaped = label.replace("%", "%%")
    _name_choice_and_length_errors(field, escaped)
    _name_text_errors(field, escaped)
    _name_number_errors(field, escaped)
    _name_file_errors(field, label, escaped)


def _name_choice_and_length_errors(field: forms.Field, escaped: str) -> None:
    messages = field.error_messages
    defaults = (
        forms.ChoiceField.default_error_messages["invalid_choice"],
        forms.ModelChoiceField.default_error_messages["invalid_choice"],
    )
    if str(messages.get("invalid_choice", "")) in {str(item) for item in defaults}:
        messages["invalid_choice"] = _(
            "{field}: %(value)s is not one of the choices."
        ).replace("{field}", escaped)
    limits = [
        item for item in field.validators if getattr(item, "code", None) == "max_length"
    ]
    if limits and "max_length" not in messages:
        messages["max_length"] = _(
            "{field} has %(show_value)d characters; the limit is %(limit_value)d."
        ).replace("{field}", escaped)


def _name_text_errors(field: forms.Field, escaped: str) -> None:
    messages = field.error_messages

    # Django 5.2 translates "Null characters are not allowed." into Chinese
    # as "empty strings are not allowed", so the message names NUL itself.
    codes = {getattr(item, "code", "") for item in field.validators}
    if "null_characters_not_allowed" in codes:
        messages.setdefault(
            "null_characters_not_allowed",
            _("{field} contains a NUL character; remove it.").replace(
                "{field}", escaped
            ),
        )

    is_email = any(isinstance(item, EmailValidator) for item in field.validators)
    if is_email and "invalid" not in messages:
        messages["invalid"] = _(
            "{field}: %(value)s is not a valid e-mail address."
        ).replace("{field}", escaped)

    if isinstance(field, MobileNumberField):
        default_invalid = str(MobileNumberField.default_error_messages["invalid"])
        if str(messages["invalid"]) == default_invalid:
            messages["invalid"] = _(
                "{field}: %(value)s is not an 11-digit mainland mobile number."
            ).replace("{field}", escaped)


def _name_number_errors(field: forms.Field, escaped: str) -> None:
    # FloatField and DecimalField derive from IntegerField. A field without
    # limits gets the messages too, because a ModelForm shows them for the
    # errors of the model field's own MinValueValidator and MaxValueValidator.
    if not isinstance(field, forms.IntegerField):
        return

    messages = field.error_messages
    messages.setdefault(
        "min_value",
        _("{field} is %(value)s; the minimum is %(limit_value)s.").replace(
            "{field}", escaped
        ),
    )
    messages.setdefault(
        "max_value",
        _("{field} is %(value)s; the maximum is %(limit_value)s.").replace(
            "{field}", escaped
        ),
    )


def _name_file_errors(field: forms.Field, label: str, escaped: str) -> None:
    if not isinstance(field, forms.FileField):
        return
    messages = field.error_messages
    if str(messages["empty"]) != str(forms.FileField.default_error_messages["empty"]):
        return

    if isinstance(field, NamedFileField):
        messages["empty"] = _("{field}: the uploaded file %(name)s is empty.").replace(
            "{field}", escaped
        )
    else:
        # Django raises this error without parameters, so nothing fills in
        # a placeholder and the label goes in unescaped.
        messages["empty"] = _("%(field)s: the uploaded file is empty.") % {
            "field": label
        }


class NamedRequiredMixin:
    """Form mixin: a field's default validation errors name the field.

    See ``name_field_errors`` for the errors that do.
    """

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            name_field_errors(field, name)


class NamedRequiredAdminMixin:
    """ModelAdmin and inline mixin: fields made from model fields name themselves.

    See ``name_field_errors`` for the errors that do.
    """

    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(  # type: ignore[misc]
            db_field, request, **kwargs
        )
        if field is not None:
            name_field_errors(field, db_field.name)
        return field


class LoginForm(NamedRequiredMixin, AuthenticationForm):
    """The member pages' login form."""

    def confirm_login_allowed(self, user: Any) -> None:
        """Reject an inactive user, or a deactivated member who is not staff.

        Django calls this only after the password matched, so the message
        reveals nothing to someone guessing passwords.
        """
        from incidents.access import is_deactivated_member

        super().confirm_login_allowed(user)
        if is_deactivated_member(user):
            raise forms.ValidationError(
                _(
                    "The street office has deactivated your grid member account, "
                    "so you cannot sign in. Contact the street office if you "
                    "think this is a mistake."
                ),
                code="deactivated_member",
            )


class AdminLoginForm(NamedRequiredMixin, AdminAuthenticationForm):
    """The staff administration's login form."""
