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


def test_member_login_names_missing_password(client, db):
    response = client.post(
        "/m/login/", {"username": "wang", "password": ""}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["Password is required."]


def test_admin_login_names_missing_username(client, db):
    response = client.post(
        "/admin/login/", {"username": "", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["Username is required."]
