"""The public report form on /report/: validation, photos and abuse protection.

Personas: Li Na (李娜) is a resident who reports a problem from her phone. A
spam program fills in every field of every form it finds.
"""

import io
import logging
import threading

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from PIL import ExifTags, Image

from grids.actions import place_update
from incidents import queries
from incidents.category_actions import category_update
from incidents.forms import category_choices
from incidents.models import Category, Channel, Incident, IncidentEvent, Photo
from incidents.queries import public_categories
from incidents.views_public import LAST_REPORT_COOKIE
from tests.factories import make_place
from tests.incidents.report_form import report_data as base_report_data

REPORT_URL = "/report/"


@pytest.fixture
def client():
    """Return a test client whose browser requests English pages."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with no rate-limit counts, and leave none behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def noise(db):
    return Category.objects.create(
        code="night-works", name="夜间施工噪音", role="mediator"
    )


@pytest.fixture
def staff_only(db):
    return Category.objects.create(
        code="patrol", name="巡查记录", is_public=False, role="inspector"
    )


@pytest.fixture
def place(tree):
    return make_place(tree["micro"], code="TR-1-1-B3", name="天瑞花园3栋")


def counts() -> tuple[int, int, int]:
    return (
        Incident.objects.count(),
        IncidentEvent.objects.count(),
        Photo.objects.count(),
    )


def report_data(category: Category, **fields) -> dict:
    """Return Li Na's report, with her phone number and e-mail address."""
    contact = {"reporter_phone": "13700001111", "reporter_email": "lina@example.com"}
    return base_report_data(category, **{**contact, **fields})


def image_bytes(format: str = "JPEG", size: tuple[int, int] = (40, 20)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(output, format=format)
    return output.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg_with_gps_and_orientation() -> bytes:
    """Return a 40x20 JPEG, red left and blue right, tagged "rotate 90° clockwise"."""
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 18.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 37.0, 15.0)
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif, quality=95)
    return output.getvalue()


# The form page


def test_report_form_lists_only_public_categories(client, noise, staff_only):
    Category.objects.create(code="old", name="已停用分类", is_active=False)

    response = client.get(REPORT_URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "夜间施工噪音" in body
    assert "巡查记录" not in body
    assert "已停用分类" not in body
    assert 'name="csrfmiddlewaretoken"' in body


def _choice_values(response) -> set[str]:
    field = response.context["form"]["category"]
    return {str(value) for value, _label in field.field.choices}


def test_report_form_sees_category_changes_after_commit(
    client, noise, django_capture_on_commit_callbacks
):
    assert str(noise.pk) in _choice_values(client.get(REPORT_URL))

    with django_capture_on_commit_callbacks(execute=True):
        added = Category.objects.create(code="lift", name="电梯故障", role="liaison")
        noise.is_public = False
        noise.save()
    values = _choice_values(client.get(REPORT_URL))

    assert str(added.pk) in values
    assert str(noise.pk) not in values


def test_category_choices_group_leaves_under_top(db):
    safety = Category.objects.create(code="safety", name="安全隐患")
    fire = Category.objects.create(code="fire", name="消防", parent=safety)
    exit_blocked = Category.objects.create(code="exit", name="通道堵塞", parent=fire)
    gas = Category.objects.create(code="gas", name="燃气", parent=safety)
    noise = Category.objects.create(code="noise", name="夜间施工噪音")
    ours = {"safety", "fire", "exit", "gas", "noise"}
    categories = [item for item in public_categories() if item.code in ours]

    choices = category_choices(categories)

    # Siblings, roots included, are ordered by sort order, then code.
    assert choices[1:] == [
        (noise.pk, "夜间施工噪音"),
        ("安全隐患", [(exit_blocked.pk, "消防 · 通道堵塞"), (gas.pk, "燃气")]),
    ]


def test_report_form_renders_new_idempotency_key_each_time(client, noise):
    first = client.get(REPORT_URL).context["form"].initial["idempotency_key"]
    second = client.get(REPORT_URL).context["form"].initial["idempotency_key"]

    assert len(first) >= 20
    assert first != second


def test_report_qr_link_prefills_place_and_channel(client, noise, place):
    response = client.get(REPORT_URL, {"place": place.code})

    form = response.context["form"]
    assert form.initial["place"] == place.code
    assert form.initial["via"] == Channel.QR_CODE
    assert "天瑞花园3栋" in response.content.decode()


def test_report_qr_link_unknown_place_shows_notice(client, noise):
    response = client.get(REPORT_URL, {"place": "NO-SUCH"})

    assert response.status_code == 200
    assert response.context["missing_place"] == "NO-SUCH"
    assert "place" not in response.context["form"].initial


# Submitting


def test_report_creates_ticket_and_redirects(client, noise, place):
    data = report_data(noise, place=place.code, via=Channel.QR_CODE)

    response = client.post(REPORT_URL, data)

    assert response.status_code == 302
    assert response["Location"] == reverse("public:report-done")
    incident = Incident.objects.get()
    assert incident.category == noise
    assert incident.place == place
    assert incident.grid == place.grid
    assert incident.channel == Channel.QR_CODE
    assert incident.reporter_name == "李娜"
    assert incident.reporter_phone == "13700001111"
    assert incident.reporter_email == "lina@example.com"
    assert incident.hide_name is True
    assert incident.idempotency_key == data["idempotency_key"]


def test_report_confirmation_shows_code_in_groups(client, noise):
    client.post(REPORT_URL, report_data(noise))
    incident = Incident.objects.get()

    response = client.get(reverse("public:report-done"))

    body = response.content.decode()
    code = incident.tracking_code
    assert response.status_code == 200
    assert response.context["code"] == f"{code[:5]}-{code[5:]}"
    assert f"<span>{code[:5]}</span>" in body
    assert f"<span>{code[5:]}</span>" in body
    assert reverse("public:track-detail", args=[incident.display_code]) in body
    assert "no-cache" in response["Cache-Control"]


def test_report_confirmation_without_report_redirects(client, db):
    response = client.get(reverse("public:report-done"))

    assert response.status_code == 302
    assert response["Location"] == reverse("public:track")


def test_report_confirmation_rejects_changed_cookie(client, noise):
    client.post(REPORT_URL, report_data(noise))
    Client(HTTP_ACCEPT_LANGUAGE="en").post(REPORT_URL, report_data(noise))
    other = Incident.objects.order_by("-pk").first()
    signed = client.cookies[LAST_REPORT_COOKIE].value
    # Keep the signature and put in the other ticket's id.
    client.cookies[LAST_REPORT_COOKIE] = str(other.pk) + signed[signed.index(":") :]

    response = client.get(reverse("public:report-done"))

    assert response.status_code == 302
    assert response["Location"] == reverse("public:track")


def test_report_confirmation_cookie_stays_on_its_page(client, noise):
    response = client.post(REPORT_URL, report_data(noise))

    cookie = response.cookies[LAST_REPORT_COOKIE]
    assert cookie["path"] == reverse("public:report-done")
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert "sessionid" not in response.cookies


def test_report_unchecked_hide_name_is_stored(client, noise):
    data = report_data(noise)
    del data["hide_name"]

    client.post(REPORT_URL, data)

    assert Incident.objects.get().hide_name is False


def test_report_accepts_spaced_phone_number(client, noise):
    client.post(REPORT_URL, report_data(noise, reporter_phone="137 0000 1111"))

    assert Incident.objects.get().reporter_phone == "13700001111"


def test_report_place_by_full_name_works_without_script(client, noise, place):
    client.post(REPORT_URL, report_data(noise, place="天瑞花园3栋"))

    assert Incident.objects.get().place == place


def test_report_place_code_in_other_case_works(client, noise, place):
    client.post(REPORT_URL, report_data(noise, place="tr-1-1-b3"))

    assert Incident.objects.get().place == place


def test_report_ambiguous_place_name_lists_codes(client, noise, place, tree):
    make_place(tree["micro"], code="TR-9-B3", name="天瑞花园3栋")

    response = client.post(REPORT_URL, report_data(noise, place="天瑞花园3栋"))

    errors = response.context["form"].errors["place"]
    assert "TR-1-1-B3" in errors[0]
    assert "TR-9-B3" in errors[0]
    assert counts() == (0, 0, 0)


# Bad input writes nothing


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("description", "", "Describe the problem."),
        ("description", "   ", "Describe the problem."),
        ("description", "x" * 4001, "4001"),
        ("place", "NO-SUCH-PLACE", "NO-SUCH-PLACE"),
        ("reporter_phone", "12345", "12345"),
        ("reporter_phone", "23800001111", "23800001111"),
        ("reporter_email", "lina-at-example", "e-mail"),
        ("subject", "s" * 121, "121"),
    ],
)
def test_report_bad_field_names_value(client, noise, field, value, expected):
    response = client.post(REPORT_URL, report_data(noise, **{field: value}))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert expected in errors[field][0]
    assert counts() == (0, 0, 0)
    assert 'id="form-errors"' in response.content.decode()


def test_report_description_counts_crlf_as_one(client, noise):
    # 5,999 characters as sent, 4,000 once each CRLF counts as one.
    description = "a\r\n" * 1999 + "aa"

    response = client.post(REPORT_URL, report_data(noise, description=description))

    assert response.status_code == 302
    assert len(Incident.objects.get().description) == 4000


def test_report_non_public_category_rejected(client, noise, staff_only):
    response = client.post(REPORT_URL, report_data(staff_only))

    errors = response.context["form"].errors
    assert list(errors) == ["category"]
    assert str(staff_only.pk) in errors["category"][0]
    assert counts() == (0, 0, 0)


def test_report_inactive_place_rejected(client, noise, place):
    place_update(place_id=place.pk, is_active=False)

    response = client.post(REPORT_URL, report_data(noise, place=place.code))

    assert list(response.context["form"].errors) == ["place"]
    assert counts() == (0, 0, 0)


# Photos


def test_report_png_photo_accepted(client, noise):
    png = upload("screen.png", image_bytes("PNG"), "image/png")

    response = client.post(REPORT_URL, {**report_data(noise), "photos": [png]})

    assert response.status_code == 302
    photo = Photo.objects.get()
    assert photo.content_type == "image/png"
    assert photo.is_public is True
    assert photo.event.kind == "submitted"


def test_report_photo_loses_gps_and_is_rotated(client, noise):
    original = jpeg_with_gps_and_orientation()
    source_exif = Image.open(io.BytesIO(original)).getexif()
    assert source_exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert source_exif[ExifTags.Base.Orientation] == 6

    client.post(
        REPORT_URL, {**report_data(noise), "photos": [upload("gps.jpg", original)]}
    )

    photo = Photo.objects.get()
    with photo.image.open("rb") as handle:
        stored_bytes = handle.read()
    stored = Image.open(io.BytesIO(stored_bytes))
    assert stored.format == "JPEG"
    assert len(stored.getexif()) == 0
    assert "exif" not in stored.info
    assert b"Exif" not in stored_bytes
    assert stored.size == (20, 40)
    assert (photo.width, photo.height) == (20, 40)
    top_red, _, top_blue = stored.convert("RGB").getpixel((10, 5))
    bottom_red, _, bottom_blue = stored.convert("RGB").getpixel((10, 35))
    assert top_red > 200
    assert top_blue < 60
    assert bottom_blue > 200
    assert bottom_red < 60


def test_report_html_named_jpg_rejected(client, noise):
    fake = upload("photo.jpg", b"<html><script>alert(1)</script></html>")

    response = client.post(REPORT_URL, {**report_data(noise), "photos": [fake]})

    errors = response.context["form"].errors
    assert list(errors) == ["photos"]
    assert "photo.jpg" in errors["photos"][0]
    assert counts() == (0, 0, 0)


@override_settings(WESTGARDEN_PHOTO_MAX_BYTES=1024)
def test_report_oversized_photo_rejected(client, noise):
    large = upload("large.png", image_bytes("PNG", (400, 400)) + b"\0" * 2048)

    response = client.post(REPORT_URL, {**report_data(noise), "photos": [large]})

    errors = response.context["form"].errors
    assert list(errors) == ["photos"]
    assert "large.png" in errors["photos"][0]
    assert counts() == (0, 0, 0)


def test_report_fifth_photo_rejected(client, noise):
    photos = [upload(f"p{index}.jpg", image_bytes()) for index in range(5)]

    response = client.post(REPORT_URL, {**report_data(noise), "photos": photos})

    errors = response.context["form"].errors
    assert list(errors) == ["photos"]
    assert "5" in errors["photos"][0]
    assert counts() == (0, 0, 0)


def test_report_four_photos_accepted(client, noise):
    photos = [upload(f"p{index}.jpg", image_bytes()) for index in range(4)]

    client.post(REPORT_URL, {**report_data(noise), "photos": photos})

    assert Photo.objects.count() == 4


# Abuse protection


def test_report_honeypot_writes_nothing(client, noise, caplog):
    data = report_data(noise, website="http://spam.example")

    with caplog.at_level(logging.WARNING, logger="incidents.views_public"):
        response = client.post(REPORT_URL, data)

    assert response.status_code == 200
    assert counts() == (0, 0, 0)
    form = response.context["form"]
    assert form.non_field_errors()
    assert form["website"].value() == ""
    assert "honeypot" in caplog.text


def test_report_double_submit_creates_one_ticket(client, noise):
    data = report_data(noise)

    first = client.post(REPORT_URL, data)
    first_page = client.get(reverse("public:report-done"))
    second = client.post(REPORT_URL, data)
    second_page = client.get(reverse("public:report-done"))

    assert Incident.objects.count() == 1
    assert first["Location"] == second["Location"] == reverse("public:report-done")
    assert first_page.context["code"] == second_page.context["code"]
    assert first_page.context["code"] == Incident.objects.get().display_code


def test_report_malformed_key_gets_new_one(client, noise):
    response = client.post(REPORT_URL, report_data(noise, idempotency_key="short"))

    form = response.context["form"]
    assert list(form.errors) == ["idempotency_key"]
    assert len(form["idempotency_key"].value()) >= 20
    assert counts() == (0, 0, 0)


def test_report_without_csrf_token_forbidden(noise):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")

    response = client.post(REPORT_URL, report_data(noise))

    assert response.status_code == 403
    assert counts() == (0, 0, 0)


@override_settings(WESTGARDEN_REPORT_RATE="2/h")
def test_report_rate_limit_answers_429(client, noise):
    client.post(REPORT_URL, report_data(noise))
    client.post(REPORT_URL, report_data(noise))

    response = client.post(REPORT_URL, report_data(noise))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert 'id="rate-limited"' in response.content.decode()
    assert Incident.objects.count() == 2


@override_settings(WESTGARDEN_REPORT_RATE="1/h")
def test_report_rate_limit_is_per_ip(noise):
    first_ip = Client(REMOTE_ADDR="10.0.0.1")
    second_ip = Client(REMOTE_ADDR="10.0.0.2")
    first_ip.post(REPORT_URL, report_data(noise))

    assert first_ip.post(REPORT_URL, report_data(noise)).status_code == 429
    assert second_ip.post(REPORT_URL, report_data(noise)).status_code == 302
    assert first_ip.get(REPORT_URL).status_code == 200


# Place search


def test_place_search_returns_code_name_grid_only(client, place, tree):
    response = client.get(reverse("public:report-places"), {"q": "花园"})

    assert response.status_code == 200
    assert response.json() == {
        "results": [{"code": "TR-1-1-B3", "name": "天瑞花园3栋", "grid": "1-1 微网格"}]
    }


def test_place_search_limits_to_20_active(client, tree):
    for number in range(25):
        make_place(tree["micro"], code=f"A-{number:02d}", name=f"宿舍{number}号楼")
    inactive = make_place(tree["micro"], code="A-OLD", name="宿舍旧楼")
    place_update(place_id=inactive.pk, is_active=False)

    results = client.get(reverse("public:report-places"), {"q": "宿舍"}).json()[
        "results"
    ]

    assert len(results) == 20
    assert "A-OLD" not in {result["code"] for result in results}


def test_place_search_ranks_code_prefix_first(client, tree):
    make_place(tree["micro"], code="ZZ-1", name="B7 商铺旁")
    make_place(tree["micro"], code="B7", name="七号楼")

    results = client.get(reverse("public:report-places"), {"q": "b7"}).json()["results"]

    assert [result["code"] for result in results] == ["B7", "ZZ-1"]


def test_place_search_empty_query_returns_nothing(client, place):
    response = client.get(reverse("public:report-places"), {"q": "  "})

    assert response.json() == {"results": []}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_report_concurrent_double_tap_one_ticket(noise):
    data = report_data(noise)
    barrier = threading.Barrier(2)
    locations: list[str] = []

    def tap() -> None:
        tap_client = Client(HTTP_ACCEPT_LANGUAGE="en")
        try:
            barrier.wait(timeout=10)
            response = tap_client.post(REPORT_URL, data)
            locations.append(response["Location"])
            locations.append(tap_client.get(response["Location"]).context["code"])
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    code = Incident.objects.get().display_code
    assert sorted(locations) == sorted([reverse("public:report-done"), code] * 2)


# A form sent again, hidden fields, a racing category write


def test_repeat_key_after_hiding_returns_ticket(noise):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    data = report_data(noise)
    client.post(REPORT_URL, data)
    category_update(category_id=noise.pk, is_public=False)

    second = client.post(REPORT_URL, data)

    assert Incident.objects.count() == 1
    assert second.status_code == 302
    assert second["Location"] == reverse("public:report-done")


def test_hidden_field_errors_hide_names(noise):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    data = report_data(noise)
    del data["idempotency_key"]
    del data["via"]

    form = client.post(REPORT_URL, data).context["form"]

    assert form.errors["idempotency_key"] == ["表单已过期，请重新提交。"]
    assert form.errors["via"] == ["表单已过期，请重新提交。"]
    assert not Incident.objects.exists()


class RacingCache:
    """The Django cache, with a category write committed by another request
    between the database read and the cache.set of public_categories()."""

    def __init__(self, write) -> None:
        self.write = write

    def get(self, key):
        return cache.get(key)

    def delete(self, key):
        return cache.delete(key)

    def set(self, key, value, timeout=None):
        self.write()
        return cache.set(key, value, timeout)


def test_public_categories_racing_write_clears(
    noise, monkeypatch, django_capture_on_commit_callbacks
):
    def hide_noise() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            category_update(category_id=noise.pk, is_public=False)

    monkeypatch.setattr(queries, "cache", RacingCache(hide_noise))
    public_categories()
    monkeypatch.undo()

    listed = [category.pk for category in public_categories()]

    assert noise.pk not in listed
