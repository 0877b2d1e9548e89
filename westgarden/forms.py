"""Form behaviour shared by the member pages and the staff pages."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.forms.utils import pretty_name
from django.utils.translation import gettext as _


def name_field_errors(field: forms.Field, name: str) -> None:
    """Make the "required", "invalid_choice" and "max_length" errors name ``field``.

    Django's own messages, such as "This field is required.", do not say which
    field they are about, which matters in an error summary and to a screen
    reader. A field with a message of its own keeps it.
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


class NamedRequiredMixin:
    """Form mixin: a field's required, choice and length errors name the field."""

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


class AdminLoginForm(NamedRequiredMixin, AdminAuthenticationForm):
    """The staff administration's login form."""
