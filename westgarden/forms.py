"""Form behaviour shared by the member pages and the staff pages."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.forms.utils import pretty_name
from django.utils.translation import gettext as _


def name_required_error(field: forms.Field, name: str) -> None:
    """Give ``field`` a "required" error that names it, unless it has its own.

    Django's own message, "This field is required.", does not say which field
    it is about, which matters in an error summary and to a screen reader.
    """
    default = str(forms.Field.default_error_messages["required"])
    if str(field.error_messages.get("required", "")) != default:
        return
    if field.widget.is_hidden:
        # The page filled it in, so its name would mean nothing to the user.
        field.error_messages["required"] = _("The form has expired; send it again.")
        return
    label = field.label or pretty_name(name)
    field.error_messages["required"] = _("%(field)s is required.") % {"field": label}


class NamedRequiredMixin:
    """Form mixin: each required field's error names the field."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            name_required_error(field, name)


class NamedRequiredAdminMixin:
    """ModelAdmin and inline mixin: the form fields made for model fields name
    themselves in their "required" error."""

    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(  # type: ignore[misc]
            db_field, request, **kwargs
        )
        if field is not None:
            name_required_error(field, db_field.name)
        return field


class LoginForm(NamedRequiredMixin, AuthenticationForm):
    """The member pages' login form."""


class AdminLoginForm(NamedRequiredMixin, AdminAuthenticationForm):
    """The staff administration's login form."""
