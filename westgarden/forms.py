"""Form behaviour shared by the member pages and the staff pages."""

from typing import Any

from django import forms
from django.forms.utils import pretty_name
from django.utils.translation import gettext as _


class NamedRequiredMixin:
    """Name the field in its "required" error, as in "Reply is required."

    Django's own message does not say which field it is about, which matters
    in an error summary and to a screen reader. Fields with a message of
    their own keep it.
    """

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = str(forms.Field.default_error_messages["required"])
        for name, field in self.fields.items():
            if str(field.error_messages.get("required", "")) != default:
                continue
            label = field.label or pretty_name(name)
            field.error_messages["required"] = _("%(field)s is required.") % {
                "field": label
            }
