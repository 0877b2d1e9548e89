"""QR codes and A4 posters that open the report form for one place (扫码上报)."""

import io

import pytest
from django.test import Client, RequestFactory, override_settings
from PIL import Image

from grids.actions import place_update
from incidents.qr import qr_png, report_url
from tests.factories import make_place


@pytest.fixture
def place(tree):
    return make_place(tree["micro"], code="TR-1-1.B3", name="天瑞花园3栋")


@override_settings(ALLOWED_HOSTS=["portal.local"])
def test_report_url_uses_request_host(db):
    request = RequestFactory().get("/qr/TR-1.png", HTTP_HOST="portal.local")

    assert report_url("TR-1", request) == "http://portal.local/report/?place=TR-1"


@override_settings(
    WESTGARDEN_PUBLIC_URL="https://wg.example.cn", ALLOWED_HOSTS=["10.0.0.5"]
)
def test_report_url_prefers_public_url(db):
    request = RequestFactory().get("/qr/TR-1.png", HTTP_HOST="10.0.0.5")

    assert report_url("TR-1", request) == "https://wg.example.cn/report/?place=TR-1"


def test_qr_png_is_valid_square_image(client, place):
    response = client.get(f"/qr/{place.code}.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.width == image.height
    assert image.width >= 290
    colors = {color for _, color in image.convert("L").getcolors()}
    assert colors == {0, 255}


def test_qr_png_encodes_report_url(client, place):
    response = client.get(f"/qr/{place.code}.png")

    expected = qr_png("http://testserver/report/?place=TR-1-1.B3")
    assert response.content == expected
    assert response.content != qr_png("http://testserver/report/?place=OTHER")


def test_qr_unknown_place_404(client, db):
    assert client.get("/qr/NO-SUCH.png").status_code == 404
    assert client.get("/qr/NO-SUCH/poster/").status_code == 404


def test_qr_inactive_place_404(client, place):
    place_update(place_id=place.pk, is_active=False)

    assert client.get(f"/qr/{place.code}.png").status_code == 404
    assert client.get(f"/qr/{place.code}/poster/").status_code == 404


def test_poster_renders_in_chinese_for_a4(place):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    response = client.get(f"/qr/{place.code}/poster/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "扫码上报" in body
    assert "天瑞花园3栋" in body
    assert "1-1 微网格" in body
    assert 'src="/qr/TR-1-1.B3.png"' in body
    assert "size: A4" in body
    assert "http://testserver/report/?place=TR-1-1.B3" in body
