"""Playwright fixtures that drive Debian's Chromium at a phone's size.

When Chromium or the playwright package is missing, the tests skip, unless
WESTGARDEN_REQUIRE_SERVICES is set (as in CI), where they fail instead.
"""

import os
from collections.abc import Iterator

import pytest

CHROMIUM_PATH = os.environ.get("WESTGARDEN_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags, Chromium keeps trying to reach Google's
# services, which a closed network refuses at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The CSS viewport of an iPhone 12 to 15.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def _unavailable(reason: str) -> None:
    if os.environ.get("WESTGARDEN_REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (WESTGARDEN_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """Start Chromium once for this folder and stop it after its last test.

    Playwright's sync API keeps an asyncio event loop running in the main
    thread while it is started, and Django raises SynchronousOnlyOperation on
    database calls from a thread with a running loop unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. The
    variable is set only while the browser runs, so tests outside this
    folder keep Django's check.
    """
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not os.access(CHROMIUM_PATH, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM_PATH}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
            )
        except Error as error:
            playwright.stop()
            _unavailable(f"Chromium at {CHROMIUM_PATH} failed to start: {error}")

        yield browser

        browser.close()
        playwright.stop()


@pytest.fixture
def page(chromium, live_server):
    """Return a fresh phone-sized page whose browser prefers Simplified Chinese."""
    context = chromium.new_context(locale="zh-CN", base_url=live_server.url, **PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
