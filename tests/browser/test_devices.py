"""Copiers and scanners in a real browser: create a device key (shown once), prove it
uploads to ``/api/v1/scans`` with HTTP Basic as the page says, revoke it after the
confirmation, and prove it is refused (401) from then on. The admin's webhook page too."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from tests.browser.conftest import Server, assert_translated, import_playwright

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

_run = itertools.count(1)


def _png(seed: int) -> bytes:
    img = Image.new("L", (80, 80), 255)
    img.putpixel((seed % 80, (seed // 80) % 80), 0)
    img.putpixel((1, 1), os.getpid() % 256)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _upload(server: Server, key: str, seed: int) -> httpx.Response:
    # What the page tells a copier to do: POST the file, HTTP Basic, the key as password.
    return httpx.post(f"{server.url}/api/v1/scans", auth=("scanner", key), timeout=30,
                      files={"file": ("scan.png", _png(seed), "image/png")})


def test_create_a_device_key_use_it_and_revoke_it(
        teacher: Page, server: Server, screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    page.goto("/devices")
    expect(page.get_by_test_id("devices")).to_be_visible()
    expect(page.get_by_test_id("scan-url")).to_have_text(f"{server.url}/api/v1/scans")
    expect(page.get_by_test_id("paperless-url")).to_have_text(
        f"{server.url}/api/v1/documents/post_document/")
    expect(page.get_by_test_id("watch-command")).to_contain_text(f"--url {server.url}")
    assert_translated(page)

    name = f"三楼复印机-{os.getpid()}-{next(_run)}"
    page.get_by_test_id("device-name").fill(name)
    page.get_by_test_id("create-device").click()
    expect(page.get_by_test_id("device-created")).to_be_visible()
    expect(page.get_by_test_id("key-once")).to_contain_text("只显示这一次")
    key = page.get_by_test_id("device-key").input_value()
    assert key.startswith("mbk_")
    expect(page.get_by_test_id("created-curl")).to_contain_text(f"scanner:{key}")
    assert_translated(page)
    screenshot(page, "device-created")

    first = _upload(server, key, next(_run))
    assert first.status_code == 202, first.text
    assert first.json()["job_id"] > 0

    page.get_by_test_id("back-to-devices").click()
    row = page.get_by_test_id("device-row").filter(has_text=name)
    expect(row).to_have_attribute("data-revoked", "false")
    expect(page.locator("main")).not_to_contain_text(key)  # never shown again
    screenshot(page, "devices")
    row.get_by_test_id("revoke-link").click()
    expect(page.get_by_test_id("device-revoke")).to_contain_text(name)
    assert_translated(page)
    page.get_by_test_id("confirm-revoke").click()
    expect(page.get_by_test_id("revoked-notice")).to_be_visible()
    expect(page.get_by_test_id("device-row").filter(has_text=name)).to_have_attribute(
        "data-revoked", "true")

    refused = _upload(server, key, next(_run))
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_token"


def test_admin_sets_the_school_webhook(teacher: Page,
                                       screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher  # the server's admin
    page.goto("/devices")
    page.get_by_test_id("webhook-link").click()
    expect(page.get_by_test_id("webhook")).to_be_visible()
    page.get_by_test_id("webhook-url").fill("http://127.0.0.1:9/markbook-hook")
    page.get_by_test_id("webhook-save").click()
    secret = page.get_by_test_id("webhook-secret").input_value()
    assert len(secret) >= 32
    expect(page.get_by_test_id("webhook-state")).to_contain_text("已启用")
    assert_translated(page)
    screenshot(page, "webhook")
    page.get_by_test_id("webhook-remove").click()
    expect(page.get_by_test_id("webhook-removed")).to_be_visible()
    expect(page.get_by_test_id("webhook-state")).to_contain_text("未启用")
