"""Making an answer sheet (答题卡) in a real browser: pick choice questions in the builder,
tick 「只印答题卡」, preview the printed page, create it and find it tagged in the list."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import Server, assert_translated, import_playwright, server_api
from tests.browser.test_bank import image_loaded
from tests.support.scans import bank

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect


@pytest.fixture
def class_id(server: Server) -> Iterator[int]:
    """A class on the server, with the sample bank imported."""
    with server_api(server) as c:
        r = c.post("/api/v1/classes", json={"name": f"答题卡班 {secrets.token_hex(3)}"})
        assert r.status_code == 201, r.text
        assert c.post("/api/v1/questions:import", json=bank()).status_code == 200
        yield r.json()["id"]


def test_builder_makes_an_answer_sheet(teacher: Page, class_id: int,
                                       screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    page.goto("/worksheets/new")
    title = f"第一单元答题卡 {secrets.token_hex(3)}"
    page.get_by_test_id("builder-title").fill(title)
    page.get_by_test_id("builder-class").select_option(str(class_id))
    page.get_by_test_id("builder-kind").select_option("choice")
    page.get_by_test_id("builder-filter").click()
    for n in range(1, 5):
        page.get_by_test_id("add-question").first.click()
        expect(page.get_by_test_id("selected-question")).to_have_count(n)
    page.get_by_test_id("builder-answer-sheet").check()
    page.get_by_test_id("builder-preview").click()
    expect(page.get_by_test_id("builder-answer-sheet")).to_be_checked()  # kept in the URL
    expect(page.get_by_test_id("preview-page").first).to_be_visible()
    image_loaded(page, "preview-page")
    assert_translated(page)
    screenshot(page, "answer-sheet-builder")
    page.get_by_test_id("builder-create").click()
    expect(page.get_by_test_id("worksheet-created")).to_be_visible()
    page.goto("/worksheets")
    row = page.locator("[data-testid=worksheet-row]", has_text=title)
    expect(row.get_by_test_id("answer-sheet-tag")).to_have_text("答题卡")
