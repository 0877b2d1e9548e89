"""Validation errors that name their field: NUL characters, e-mail, files, numbers.

Personas: Li Na (李娜) reports a problem on the public form; Sun Li (孙丽),
street-office staff, edits the category tree in the admin.
"""

import pytest
from django import forms
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from incidents.models import Category, Incident
from tests.incidents.personas import World, world_fixture  # noqa: F401
from tests.incidents.report_form import report_data
from westgarden.forms import NamedFileField, NamedRequiredMixin

REPORT_URL = "/report/"
CATEGORY_ADD = reverse("admin:incidents_category_add")


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with no rate-limit counts, and leave none behind."""
    cache.clear()
    yield
    cache.clear()


class SampleForm(NamedRequiredMixin, forms.Form):
    name = forms.CharField(label="Name", required=False)
    email = forms.EmailField(label="E-mail", required=False)
    count = forms.IntegerField(label="Count", required=False, min_value=1, max_value=10)
    share = forms.DecimalField(label="Share", required=False, max_value=1)
    attachment = forms.FileField(label="Attachment", required=False)
    scan = NamedFileField(label="Scan", required=False)
    own = forms.IntegerField(
        label="Own", required=False, min_value=1, error_messages={"min_value": "Low."}
    )


def sample_errors(data: dict, files: dict | None = None) -> dict:
    with translation.override("en"):
        form = SampleForm(data, files)
        return {name: list(errors) for name, errors in form.errors.items()}


def test_nul_character_names_field():
    errors = sample_errors({"name": "abc\x00def"})

    assert errors["name"] == ["Name contains a NUL character; remove it."]


def test_invalid_email_names_field_and_value():
    errors = sample_errors({"email": "lina-at-example"})

    assert errors["email"] == ["E-mail: lina-at-example is not a valid e-mail address."]


def test_too_long_email_names_field_and_lengths():
    address = "a" * 320 + "@example.com"

    errors = sample_errors({"email": address})

    assert "E-mail has 332 characters; the limit is 320." in errors["email"]


def test_number_below_minimum_names_field_and_value():
    errors = sample_errors({"count": "0"})

    assert errors["count"] == ["Count is 0; the minimum is 1."]


def test_number_above_maximum_names_field_and_value():
    errors = sample_errors({"count": "11", "share": "1.5"})

    assert errors["count"] == ["Count is 11; the maximum is 10."]
    assert errors["share"] == ["Share is 1.5; the maximum is 1."]


def test_number_keeps_own_message():
    errors = sample_errors({"own": "0"})

    assert errors["own"] == ["Low."]


def test_empty_file_names_field():
    empty = SimpleUploadedFile("notes.txt", b"", content_type="text/plain")

    errors = sample_errors({}, {"attachment": empty})

    assert errors["attachment"] == ["Attachment: the uploaded file is empty."]


def test_empty_file_names_field_and_file():
    empty = SimpleUploadedFile("scan.pdf", b"", content_type="application/pdf")

    errors = sample_errors({}, {"scan": empty})

    assert errors["scan"] == ["Scan: the uploaded file scan.pdf is empty."]


def test_percent_in_label_kept():
    class PercentForm(NamedRequiredMixin, forms.Form):
        rate = forms.IntegerField(label="Rate %", max_value=100)
        note = forms.CharField(label="Note %")
        attachment = forms.FileField(label="File %")

    empty = SimpleUploadedFile("a.txt", b"", content_type="text/plain")
    with translation.override("en"):
        form = PercentForm({"rate": "101", "note": "a\x00"}, {"attachment": empty})

        assert form.errors["rate"] == ["Rate % is 101; the maximum is 100."]
        assert form.errors["note"] == ["Note % contains a NUL character; remove it."]
        assert form.errors["attachment"] == ["File %: the uploaded file is empty."]


# The public report form


@pytest.fixture
def noise(db):
    return Category.objects.create(
        code="night-works", name="夜间施工噪音", role="mediator"
    )


def post_report(category: Category, files: dict | None = None, **fields):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    return client.post(REPORT_URL, {**report_data(category, **fields), **(files or {})})


def test_report_nul_in_place_names_field(noise):
    response = post_report(noise, place="TR\x00-1")

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["place"] == ["Place contains a NUL character; remove it."]
    assert not Incident.objects.exists()


def test_report_invalid_email_names_field(noise):
    response = post_report(noise, reporter_email="lina@@example.com")

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["reporter_email"] == [
        "E-mail: lina@@example.com is not a valid e-mail address."
    ]
    assert not Incident.objects.exists()


def test_report_too_long_email_names_field(noise):
    address = "l" * 320 + "@example.com"

    response = post_report(noise, reporter_email=address)

    assert response.status_code == 200
    errors = response.context["form"].errors["reporter_email"]
    assert "E-mail has 332 characters; the limit is 320." in errors
    assert not Incident.objects.exists()


def test_report_empty_photo_names_field_and_file(noise):
    empty = SimpleUploadedFile("lift.jpg", b"", content_type="image/jpeg")

    response = post_report(noise, files={"photos": empty})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["photos"] == ["Photos: the uploaded file lift.jpg is empty."]
    assert not Incident.objects.exists()


# The admin, through NamedRequiredAdminMixin


def category_data(**fields) -> dict:
    data = {
        "code": "smoke",
        "name": "烟雾",
        "parent": "",
        "sort_order": 0,
        "is_active": "on",
        "is_public": "on",
        "role": "",
        "is_urgent": "unknown",
        "accept_minutes": "",
        "resolve_minutes": "",
        "time_basis": "",
    }
    data.update(fields)
    return data


@pytest.fixture
def staff(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.staff.user)
    return client


def test_category_admin_zero_minutes_names_field(world: World, staff):
    response = staff.post(CATEGORY_ADD, category_data(accept_minutes="0"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["accept_minutes"] == [
        "Time to accept (minutes) is 0; the minimum is 1."
    ]
    assert not Category.objects.filter(code="smoke").exists()


def test_category_admin_nul_in_name_names_field(world: World, staff):
    response = staff.post(CATEGORY_ADD, category_data(name="烟\x00雾"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["name"] == ["Name contains a NUL character; remove it."]
    assert not Category.objects.filter(code="smoke").exists()
