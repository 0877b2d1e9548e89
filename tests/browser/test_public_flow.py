"""Li Na reports a problem from her phone, follows it by code and rates the reply."""

import importlib
import io
import re

import pytest
from django.core.cache import cache
from PIL import Image
from playwright.sync_api import expect

from incidents.actors import Actor
from incidents.models import Category, Channel, Incident, Rating, State
from incidents.workflow import incident_accept, incident_resolve, incident_submit
from members.models import Role
from tests.browser.conftest import PHONE
from tests.factories import make_assignment, make_member, make_place

pytestmark = pytest.mark.browser

DESCRIPTION = "楼上每天夜里十二点以后还在装修，电钻声很响。"
REPLY = "已协调施工队停止夜间作业。"
ROLES = importlib.import_module("members.migrations.0002_seed_roles").ROLES


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def neighbourhood(tree, settings, tmp_path):
    """Return a public category, a place and Wang Fang, the grid's mediator."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # A live-server test empties every table when it ends, which removes the
    # roles that a data migration writes; routing needs the mediator role.
    for code, name, order in ROLES:
        Role.objects.get_or_create(
            code=code, defaults={"name": name, "sort_order": order}
        )
    category = Category.objects.create(
        code="night-works", name="夜间施工噪音", role="mediator"
    )
    place = make_place(tree["micro"], code="TR-1-1-B3", name="天瑞花园3栋")
    wang_fang = make_member(name="王芳", phone="13911112222")
    make_assignment(wang_fang, tree["micro"], roles=["mediator"])
    return {"category": category, "place": place, "wang_fang": wang_fang}


def png_bytes() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 144, 255)).save(output, format="PNG")
    return output.getvalue()


def test_report_track_and_rate_on_phone(page, neighbourhood):
    page.goto("/report/")
    page.select_option("#id_category", label="夜间施工噪音")
    page.fill("#id_place", "花园")
    page.locator(".place-result").first.click()
    expect(page.locator("#id_place")).to_have_value("TR-1-1-B3")
    expect(page.locator("#chosen-place")).to_contain_text("天瑞花园3栋")
    page.fill("#id_description", DESCRIPTION)
    page.set_input_files(
        "#id_photos",
        files=[{"name": "noise.png", "mimeType": "image/png", "buffer": png_bytes()}],
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#report-submit")

    expect(page).to_have_url(re.compile(r"/report/done/$"))
    incident = Incident.objects.get()
    expect(page.locator("#tracking-code")).to_have_text(incident.display_code)
    assert incident.place == neighbourhood["place"]
    assert incident.photos.count() == 1

    page.click("#open-tracking")
    expect(page).to_have_url(re.compile(rf"/track/{incident.display_code}/$"))
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "dispatched")
    photo = page.locator("#ticket-timeline img").first
    photo.scroll_into_view_if_needed()
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("image => image.naturalWidth") == 64
    expect(page.locator("body")).not_to_contain_text("王芳")

    actor = Actor("member", member=neighbourhood["wang_fang"])
    incident_accept(incident_id=incident.pk, actor=actor)
    incident_resolve(incident_id=incident.pk, actor=actor, reply=REPLY)
    page.reload()
    expect(page.locator("#ticket-reply")).to_contain_text(REPLY)
    page.check("#id_rating-value_0")
    page.fill("#id_rating-comment", "处理很及时")
    page.click("#submit-rating")

    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "closed")
    expect(page.locator("#action-rating")).to_have_count(0)
    rating = Rating.objects.get()
    assert rating.value == "satisfied"
    assert rating.comment == "处理很及时"
    assert Incident.objects.get().state == State.CLOSED


def test_report_without_javascript_by_place_code(chromium, live_server, neighbourhood):
    context = chromium.new_context(
        java_script_enabled=False, locale="zh-CN", base_url=live_server.url, **PHONE
    )
    page = context.new_page()
    try:
        page.goto("/report/?place=TR-1-1-B3")
        expect(page.locator("#chosen-place")).to_contain_text("天瑞花园3栋")
        page.select_option("#id_category", label="夜间施工噪音")
        page.fill("#id_description", DESCRIPTION)
        page.click("#report-submit")

        expect(page).to_have_url(re.compile(r"/report/done/$"))
        incident = Incident.objects.get()
        expect(page.locator("#tracking-code")).to_have_text(incident.display_code)
        assert incident.channel == "qr"
        assert incident.place == neighbourhood["place"]

        page.goto("/track/")
        page.fill("#id_code", incident.tracking_code.lower())
        page.click("#track-submit")
        expect(page.locator("#ticket-code")).to_have_text(incident.display_code)
    finally:
        context.close()


def test_long_unbroken_text_wraps_on_phone(page, neighbourhood):
    address = "https://example.com/" + "a" * 160
    incident = incident_submit(
        category_id=neighbourhood["category"].pk,
        place_id=neighbourhood["place"].pk,
        subject="Noise" + "x" * 120,
        description=f"投诉链接 {address}",
        channel=Channel.PUBLIC_FORM,
        actor=Actor.resident(),
    )

    page.goto(f"/track/{incident.display_code}/")

    expect(page.locator("#ticket-description")).to_contain_text(address)
    assert (
        page.evaluate("document.documentElement.scrollWidth")
        <= PHONE["viewport"]["width"]
    )
