"""Required-field errors that name their field."""

from django import forms
from django.utils import translation

from westgarden.forms import NamedRequiredMixin


class NoteForm(NamedRequiredMixin, forms.Form):
    note = forms.CharField(label="Note")
    reason = forms.CharField(error_messages={"required": "Give a reason."})
    code_name = forms.CharField(label="")


def test_required_error_names_label():
    with translation.override("en"):
        form = NoteForm({})

        assert form.errors["note"] == ["Note is required."]


def test_required_error_keeps_own_message():
    with translation.override("en"):
        form = NoteForm({})

        assert form.errors["reason"] == ["Give a reason."]


def test_required_error_without_label_uses_name():
    with translation.override("en"):
        form = NoteForm({})

        assert form.errors["code_name"] == ["Code name is required."]
