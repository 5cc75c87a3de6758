"""The API reference pages render in a real browser with nothing fetched from elsewhere,
and the page fixture's offline and translation checks catch what they are there for."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import Server, assert_translated, import_playwright, watched_context

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect


def test_swagger_ui_renders_offline(page: Page, screenshot: Callable[[Page, str], Any]) -> None:
    page.goto("/docs")
    ui = page.locator("#swagger-ui")
    expect(ui.locator(".info .title")).to_contain_text("markbook")
    # The operations come from /openapi.json (OpenAPI 3.1): Swagger UI read and drew them.
    expect(ui.locator(".opblock-summary-path", has_text="/api/v1/classes").first).to_be_visible()
    expect(ui.get_by_role("button", name="Authorize")).to_be_visible()
    screenshot(page, "api-docs", full_page=False)


def test_redoc_renders_offline(page: Page) -> None:
    page.goto("/redoc")
    expect(page.locator("h1").first).to_contain_text("markbook")
    expect(page.get_by_text("/api/v1/classes", exact=False).first).to_be_attached()


def test_other_hosts_and_message_keys_are_caught(browser: Browser, server: Server) -> None:
    context, watch = watched_context(browser, server)
    # A page of the server's that shows a message key and asks another host for a script.
    context.route(f"{server.url}/untranslated", lambda route: route.fulfill(
        content_type="text/html",
        body='<p title="[[nav.help]]">[[home.title]]</p><script src="http://192.0.2.1/t.js">'
             "</script>"))
    try:
        p = context.new_page()
        p.goto("/untranslated")
        p.evaluate("fetch('https://192.0.2.2/beacon').catch(() => null)")
        p.evaluate("document.body.insertAdjacentHTML('beforeend', '<p>[[home.later]]</p>')")
        with pytest.raises(AssertionError, match=r"\[\[home\.later\]\]"):
            assert_translated(p)
    finally:
        context.close()
    assert watch.blocked == ["http://192.0.2.1/t.js", "https://192.0.2.2/beacon"]
    # Reported when the page loaded, before the test looked: text and attributes alike.
    assert watch.untranslated == [f"{server.url}/untranslated: ['[[home.title]]', '[[nav.help]]']"]
