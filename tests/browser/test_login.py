"""With a token, the browser logs in through the form and then gets live data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from logmonitor.api import Server, serve

from ..api.conftest import TOKEN, MemoryBackend, make_alert


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(120_000)  # a hang guard only
    yield opened
    context.close()


@pytest.fixture
def locked() -> Iterator[tuple[Server, MemoryBackend]]:
    backend = MemoryBackend()
    backend.add(make_alert(1, score=0.9))
    with serve(backend, port=0, token=TOKEN) as server:  # type: ignore[arg-type]
        yield server, backend


def test_the_login_form_opens_the_live_dashboard(
    page: Page, locked: tuple[Server, MemoryBackend]
) -> None:
    server, backend = locked
    page.goto(server.url)
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("wrong")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator('#feed li[data-id="1"]')).to_be_visible()
    backend.add(make_alert(2, score=0.6))  # pushed over the cookie-authenticated stream
    expect(page.locator('#feed li[data-id="2"]')).to_be_visible()
    page.locator('#feed li[data-id="2"]').click()
    page.locator("#btn-ack").click()  # a write with the cookie and the write header
    expect(page.locator("#a-status")).to_have_text("acked by dashboard")
    view = backend.alert(2)
    assert view is not None
    assert view.status == "acked"
