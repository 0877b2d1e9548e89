"""A grid member handles a ticket on a phone: sign in, inbox, accept, resolve."""

import re

import pytest
from playwright.sync_api import expect

from incidents.models import EventKind, Incident, State
from tests.incidents.personas import World, world_fixture  # noqa: F401

pytestmark = pytest.mark.browser

PASSWORD = "Wang-Fang-2024"


@pytest.fixture
def wang_ticket(world: World) -> Incident:
    """A ticket dispatched to Wang Fang, whose login now has a password."""
    world.wang.user.set_password(PASSWORD)
    world.wang.user.save()
    return world.ticket(world.place_a, world.wang, description="3 栋楼道灯不亮")


def sign_in(page, username: str) -> None:
    page.goto("/m/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/m/$"))


def test_member_accepts_and_resolves(page, world: World, wang_ticket: Incident):
    sign_in(page, "wangfang")

    page.click("#link-inbox")
    row = page.locator(f'.ticket-row[data-code="{wang_ticket.tracking_code}"]')
    expect(row).to_contain_text(wang_ticket.display_code)
    expect(row).to_contain_text(world.place_a.name)
    row.locator("a").click()

    expect(page.locator("#ticket-description")).to_contain_text("3 栋楼道灯不亮")
    page.click("#submit-accept")
    expect(page.locator("#form-accept")).to_have_count(0)
    expect(page.locator("#form-resolve")).to_be_visible()

    page.fill("#id_resolve-reply", "已更换灯泡，楼道恢复照明")
    page.click("#submit-resolve")
    expect(page.locator('.event[data-kind="resolved"]')).to_contain_text(
        "已更换灯泡，楼道恢复照明"
    )
    expect(page.locator("#form-resolve")).to_have_count(0)

    wang_ticket.refresh_from_db()
    assert wang_ticket.state == State.RESOLVED
    assert wang_ticket.reply == "已更换灯泡，楼道恢复照明"
    kinds = list(wang_ticket.events.values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.ACCEPTED, EventKind.RESOLVED]


def test_member_pages_fit_phone_width(page, world: World, wang_ticket: Incident):
    sign_in(page, "wangfang")

    for path in [
        "/m/tickets/",
        f"/m/tickets/{wang_ticket.tracking_code}/",
        "/m/report/",
    ]:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, path
