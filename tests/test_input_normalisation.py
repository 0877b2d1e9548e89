"""Typed input stored in one spelling: mobile numbers and plain text.

Personas: Li Na (李娜) reports on the public form from a phone with a Chinese
input method; Sun Li (孙丽), street-office staff, types in a caller's ticket;
Wang Fang (王芳) is a grid member on patrol.
"""

import pytest
from django import forms
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from incidents.actors import Actor
from incidents.forms import (
    PublicInfoForm,
    PublicRatingForm,
    PublicReopenForm,
    PublicReportForm,
)
from incidents.forms_admin import (
    AssignOperationForm,
    CloseOperationForm,
    RejectOperationForm,
    StaffEntryForm,
)
from incidents.forms_mobile import (
    CommentForm,
    ReassignForm,
    ReportForm,
    ResolveForm,
    SendBackForm,
)
from incidents.models import Category, Channel, Incident, IncidentEvent
from incidents.workflow import incident_submit
from members.models import normalize_mobile_number
from tests.incidents.personas import World, world_fixture  # noqa: F401
from tests.incidents.report_form import report_data
from westgarden.forms import (
    MobileNumberField,
    normalize_plain_text,
    normalize_single_line,
)

REPORT_URL = "/report/"
STAFF_ENTRY = reverse("admin:incidents_incident_add")
MEMBER_REPORT = reverse("mobile:report")

# Spellings of 138 1234 5678 that people type or paste.
PHONE_SPELLINGS = [
    "13812345678",
    "１３８１２３４５６７８",
    "138 1234 5678",
    "138-1234-5678",
    "138.1234.5678",
    "+86 138-1234-5678",
    "+8613812345678",
    "008613812345678",
    "0086 138 1234 5678",
    "86 138 1234 5678",
    "8613812345678",
    "＋８６　１３８－１２３４－５６７８",
    " 138 1234 5678 ",
]

CONTROL_TEXT = "abc\x07\x1b[31mred\x08\r\nnext\tline\x00"
CONTROL_TEXT_CLEANED = "abc[31mred\nnext\tline"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with no rate-limit counts, and leave none behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# Mobile numbers


@pytest.mark.parametrize("typed", PHONE_SPELLINGS)
def test_normalize_mobile_number_spellings(typed):
    assert normalize_mobile_number(typed) == "13812345678"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", ""),
        ("12345", "12345"),
        ("+1 555 0100", "+15550100"),
        ("86 1234", "861234"),
        ("138 1234 567", "1381234567"),
        ("1381234567８", "13812345678"),
    ],
)
def test_normalize_mobile_number_leaves_rest(typed, expected):
    assert normalize_mobile_number(typed) == expected


@pytest.fixture
def noise(db):
    return Category.objects.create(
        code="night-works", name="夜间施工噪音", role="mediator"
    )


def post_report(category: Category, **fields):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    return client.post(REPORT_URL, report_data(category, **fields))


@pytest.mark.parametrize("typed", PHONE_SPELLINGS)
def test_report_phone_stored_plain(noise, typed):
    response = post_report(noise, reporter_phone=typed)

    assert response.status_code == 302
    assert Incident.objects.get().reporter_phone == "13812345678"


@pytest.mark.parametrize(
    "typed",
    [
        "138 1234 567",
        "+86 238-1234-5678",
        "+1 555 0100",
        "138x1234x5678",
        # Arabic-Indic digits: Unicode digits, but not what a gateway takes.
        "13٨٠٠١٣٨٠٠٠",
    ],
)
def test_report_bad_phone_names_field_and_value(noise, typed):
    response = post_report(noise, reporter_phone=typed)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["reporter_phone"] == [
        f"Mobile number: {typed} is not an 11-digit mainland mobile number."
    ]
    assert not Incident.objects.exists()


@pytest.fixture
def staff(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.staff.user)
    return client


def entry_data(world: World, **fields) -> dict:
    data = {
        "token": "c" * 32,
        "category": world.category.pk,
        "place": world.place_a.pk,
        "description": "来电反映：3 栋电梯困人",
        "reporter_name": "周女士",
        "reporter_phone": "",
        "hide_name": "on",
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("typed", PHONE_SPELLINGS)
def test_staff_entry_phone_stored_plain(world: World, staff, typed):
    response = staff.post(STAFF_ENTRY, entry_data(world, reporter_phone=typed))

    assert response.status_code == 302
    assert Incident.objects.get().reporter_phone == "13812345678"


def test_staff_entry_bad_phone_names_field_and_value(world: World, staff):
    response = staff.post(
        STAFF_ENTRY, entry_data(world, reporter_phone="+86 238 1234 5678")
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["reporter_phone"] == [
        "Caller's mobile number: +86 238 1234 5678 is not an 11-digit mainland "
        "mobile number."
    ]
    assert not Incident.objects.exists()


def test_phone_fields_share_one_field_class():
    public = PublicReportForm.base_fields["reporter_phone"]
    staff_entry = StaffEntryForm.base_fields["reporter_phone"]

    assert isinstance(public, MobileNumberField)
    assert isinstance(staff_entry, MobileNumberField)


def test_submit_normalizes_phone_for_every_channel(world: World):
    incident = incident_submit(
        category_id=world.category.pk,
        description="楼道灯坏了",
        channel=Channel.API,
        actor=Actor.resident(),
        reporter_phone="+86 138-1234-5678",
    )

    assert incident.reporter_phone == "13812345678"


def test_submit_bad_phone_names_value_as_typed(world: World):
    with pytest.raises(forms.ValidationError) as raised:
        incident_submit(
            category_id=world.category.pk,
            description="楼道灯坏了",
            channel=Channel.API,
            actor=Actor.resident(),
            reporter_phone="+86 238-1234-5678",
        )

    assert "+86 238-1234-5678" in raised.value.message_dict["reporter_phone"][0]
    assert not Incident.objects.exists()


# Plain text


def test_normalize_plain_text_drops_control_characters():
    assert normalize_plain_text(CONTROL_TEXT) == CONTROL_TEXT_CLEANED


def test_normalize_plain_text_turns_lone_cr_into_lf():
    assert normalize_plain_text("one\rtwo\r\n\r\nthree") == "one\ntwo\n\nthree"


def test_normalize_single_line_collapses_whitespace():
    typed = " 电梯\r\n\n困人\t三楼\x07\u3000 北侧 "

    assert normalize_single_line(typed) == "电梯 困人 三楼 北侧"


MULTI_LINE_FIELDS = [
    (PublicReportForm, "description"),
    (PublicInfoForm, "note"),
    (PublicRatingForm, "comment"),
    (PublicReopenForm, "note"),
    (ReportForm, "description"),
    (CommentForm, "note"),
    (ResolveForm, "reply"),
    (SendBackForm, "reason"),
    (ReassignForm, "note"),
    (StaffEntryForm, "description"),
    (AssignOperationForm, "note"),
    (RejectOperationForm, "reason"),
    (CloseOperationForm, "note"),
]

SINGLE_LINE_FIELDS = [
    (PublicReportForm, "subject"),
    (PublicReportForm, "reporter_name"),
    (ReportForm, "subject"),
    (StaffEntryForm, "subject"),
    (StaffEntryForm, "reporter_name"),
]


@pytest.mark.parametrize(("form_class", "name"), MULTI_LINE_FIELDS)
def test_text_field_drops_control_characters(form_class, name):
    field = form_class.base_fields[name]

    assert field.clean(CONTROL_TEXT) == CONTROL_TEXT_CLEANED


@pytest.mark.parametrize(("form_class", "name"), SINGLE_LINE_FIELDS)
def test_single_line_field_collapses_whitespace(form_class, name):
    field = form_class.base_fields[name]

    assert field.clean("电梯\r\n困人\x07\t三楼 ") == "电梯 困人 三楼"


@pytest.mark.parametrize(("form_class", "name"), MULTI_LINE_FIELDS)
def test_text_field_of_controls_only_is_empty(form_class, name):
    field = form_class.base_fields[name]

    if not field.required:
        assert field.clean("\x07\x08 \x1b") == ""
        return
    with pytest.raises(forms.ValidationError) as raised:
        field.clean("\x07\x08 \x1b")
    assert raised.value.code == "required"


def test_report_stores_description_without_controls(noise):
    response = post_report(noise, description=CONTROL_TEXT)

    assert response.status_code == 302
    assert Incident.objects.get().description == CONTROL_TEXT_CLEANED


def test_report_derived_subject_is_one_line(noise):
    description = "电梯困人\r\n\r\n三楼\t北侧\x07，已经半小时"

    response = post_report(noise, description=description)

    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.subject == "电梯困人 三楼 北侧，已经半小时"
    assert incident.description == "电梯困人\n\n三楼\t北侧，已经半小时"


def test_report_typed_subject_is_one_line(noise):
    response = post_report(noise, subject="电梯\r\n困人\x1b[0m")

    assert response.status_code == 302
    assert Incident.objects.get().subject == "电梯 困人[0m"


def test_submit_derives_one_line_subject(world: World):
    incident = incident_submit(
        category_id=world.category.pk,
        description="第一行\n第二行\r\n\t第三行" + "长" * 80,
        channel=Channel.API,
        actor=Actor.resident(),
    )

    assert incident.subject == ("第一行 第二行 第三行" + "长" * 80)[:60]
    assert "\n" not in incident.subject


def test_submit_typed_subject_is_one_line(world: World):
    incident = incident_submit(
        category_id=world.category.pk,
        description="楼道灯坏了",
        subject="  楼道\n灯\x07坏了  ",
        channel=Channel.API,
        actor=Actor.resident(),
    )

    assert incident.subject == "楼道 灯坏了"


def test_submit_description_of_controls_only_rejected(world: World):
    with pytest.raises(forms.ValidationError) as raised:
        incident_submit(
            category_id=world.category.pk,
            description="\x07\x1b\x08",
            channel=Channel.API,
            actor=Actor.resident(),
        )

    assert "description" in raised.value.message_dict
    assert not Incident.objects.exists()
    assert not IncidentEvent.objects.exists()


def test_member_report_stores_text_without_controls(world: World):
    client = world.wang.client()

    response = client.post(
        MEMBER_REPORT,
        {
            "token": "d" * 32,
            "category": world.category.pk,
            "place": world.place_a.pk,
            "subject": "消防\n通道\x07",
            "description": "消防通道\x1b[31m被堵\x08\r\n两辆车",
        },
    )

    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.subject == "消防 通道"
    assert incident.description == "消防通道[31m被堵\n两辆车"
