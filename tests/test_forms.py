"""Required-field errors that name their field."""

import pytest
from django import forms
from django.core.cache import cache
from django.utils import translation

from westgarden.forms import NamedRequiredMixin


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start and end with no login counts in the cache."""
    cache.clear()
    yield
    cache.clear()


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


def test_member_login_limited_per_username(client, db, settings):
    settings.WESTGARDEN_LOGIN_RATE = "3/10m"
    for number in range(3):
        response = client.post(
            "/m/login/",
            {"username": "wang", "password": f"guess-{number}"},
            REMOTE_ADDR=f"10.0.0.{number + 1}",
        )
        assert response.status_code == 200

    # A fourth address, the same username.
    response = client.post(
        "/m/login/", {"username": "wang", "password": "guess-3"}, REMOTE_ADDR="10.0.0.9"
    )

    assert response.status_code == 429
    assert "Retry-After" in response
    assert response.context["login_name"] is True


def test_successful_logins_do_not_count(client, db, settings):
    from django.contrib.auth import get_user_model

    settings.WESTGARDEN_LOGIN_RATE = "2/10m"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_user(username="wang", password="right-password")
    for _ in range(3):
        response = client.post(
            "/m/login/", {"username": "wang", "password": "right-password"}
        )
        assert response.status_code == 302
        client.logout()

    # Two failures reach the limit; the third attempt waits.
    for _ in range(2):
        client.post("/m/login/", {"username": "wang", "password": "wrong"})
    response = client.post(
        "/m/login/", {"username": "wang", "password": "right-password"}
    )

    assert response.status_code == 429


def test_admin_login_limited_per_address(client, db, settings):
    settings.WESTGARDEN_LOGIN_RATE = "2/10m"
    for name in ("a", "b"):
        client.post("/admin/login/", {"username": name, "password": "x"})

    response = client.post("/admin/login/", {"username": "c", "password": "x"})

    assert response.status_code == 429


class ChoiceForm(NamedRequiredMixin, forms.Form):
    colour = forms.ChoiceField(label="Colour", choices=[("red", "Red")])
    note = forms.CharField(label="Note", max_length=5)


def test_invalid_choice_names_field_and_value():
    with translation.override("en"):
        form = ChoiceForm({"colour": "blue", "note": "ok"})

        assert form.errors["colour"] == ["Colour: blue is not one of the choices."]


def test_too_long_names_field_and_lengths():
    with translation.override("en"):
        form = ChoiceForm({"colour": "red", "note": "abcdefg"})

        assert form.errors["note"] == ["Note has 7 characters; the limit is 5."]


def test_too_long_message_in_chinese():
    with translation.override("zh-hans"):
        form = ChoiceForm({"colour": "red", "note": "abcdefg"})

        assert form.errors["note"] == ["“Note”有 7 个字符，上限为 5 个。"]
