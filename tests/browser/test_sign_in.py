"""Signing in and out in a real browser: a signed-out visitor lands on the sign-in page,
signs in with the keyboard, reaches home, switches the pages to English and signs out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import Server, assert_translated, import_playwright

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

AT_LOGIN = re.compile(r"/login(\?|$)")


def _sign_in(page: Page, username: str, password: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")


def _switch_language(page: Page, name: str) -> None:
    page.get_by_test_id("lang-switch").get_by_role("button", name=name, exact=True).click()


def test_sign_in_switch_language_sign_out(page: Page, server: Server,
                                          screenshot: Callable[[Page, str], Any]) -> None:
    page.goto("/")
    expect(page).to_have_url(AT_LOGIN)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("login").locator("input[name=csrf_token]")).to_be_attached()
    assert_translated(page)
    screenshot(page, "sign-in")

    _sign_in(page, server.username, server.password)
    home = page.get_by_test_id("home")
    expect(home).to_be_visible()
    expect(page).to_have_url(f"{server.url}/")
    assert_translated(page)
    screenshot(page, "home")
    chinese = page.locator("body").inner_text()

    _switch_language(page, "English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(home).to_be_visible()
    assert_translated(page)
    assert page.locator("body").inner_text() != chinese
    screenshot(page, "home-en")

    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(AT_LOGIN)
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the choice is kept
    # Signed out for real: home sends the browser back to the sign-in page.
    page.goto("/")
    expect(page).to_have_url(AT_LOGIN)

    _switch_language(page, "中文")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_wrong_password_stays_on_sign_in(page: Page, server: Server) -> None:
    page.goto("/login")
    _sign_in(page, server.username, server.password + "x")
    expect(page).to_have_url(AT_LOGIN)
    expect(page.locator("input[name=username]")).to_have_value(server.username)
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("home")).to_have_count(0)
    assert_translated(page)
