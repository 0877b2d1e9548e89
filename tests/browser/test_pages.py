"""The public home page, language switch and member sign-in in a phone browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_member

pytestmark = pytest.mark.browser

PASSWORD = "grid-Member-2024"


@pytest.fixture
def member_user(django_user_model):
    """Return a login user, Zhang Wei, who is linked to a grid member."""
    user = django_user_model.objects.create_user(username="zhangwei", password=PASSWORD)
    make_member(name="张伟", phone="13912345678", user_id=user.pk)
    return user


def test_home_shows_three_surfaces(page):
    page.goto("/")

    expect(page.locator("h1")).to_have_text("网格治理门户")
    expect(page.locator("#residents h2")).to_have_text("居民和产业员工")
    expect(page.locator("#link-report")).to_have_attribute("href", "/report/")
    expect(page.locator("#link-track")).to_have_attribute("href", "/track/")
    expect(page.locator("#members a.button")).to_have_attribute("href", "/m/")
    expect(page.locator("#staff a.button")).to_have_attribute("href", "/admin/")


def test_home_links_open_their_pages(page):
    page.goto("/")
    page.locator("#link-report").click()
    expect(page).to_have_url(re.compile(r"/report/$"))
    expect(page.locator("h1")).to_have_text("反映问题")

    page.goto("/")
    page.locator("#members a.button").click()
    expect(page).to_have_url(re.compile(r"/m/login/\?next=/m/$"))
    expect(page.locator("#login-submit")).to_be_visible()

    page.goto("/")
    page.locator("#staff a.button").click()
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))


def test_language_switch_to_english_and_back(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    page.locator("form.lang select").select_option("en")
    expect(page.locator("h1")).to_have_text("Grid governance portal")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#members a.button")).to_have_text("Member sign-in")

    page.locator("form.lang select").select_option("zh-hans")
    expect(page.locator("h1")).to_have_text("网格治理门户")
    expect(page.locator("#members a.button")).to_have_text("网格员登录")


def test_member_login_and_logout(page, member_user):
    page.goto("/m/login/")
    page.fill("#id_username", "zhangwei")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")

    expect(page).to_have_url(re.compile(r"/m/$"))
    expect(page.locator("#member-card")).to_contain_text("张伟")

    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/m/")
    expect(page).to_have_url(re.compile(r"/m/login/\?next=/m/$"))


def test_login_wrong_password_shows_error(page, member_user):
    page.goto("/m/login/")
    page.fill("#id_username", "zhangwei")
    page.fill("#id_password", "not-the-password")
    page.click("#login-submit")

    expect(page).to_have_url(re.compile(r"/m/login/$"))
    expect(page.locator(".errorlist")).to_contain_text("请输入一个正确的")
    expect(page.locator("#member-card")).to_have_count(0)
