"""The question bank in a real browser: import a bank file with a mistake (the problem is
listed by question and field in Chinese, nothing is imported), then the good file; browse by
knowledge point; every listed question shows its printed preview (a PNG the printing code
drew)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import assert_translated, import_playwright
from tests.support.scans import bank

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect


def _file(doc: dict[str, Any]) -> dict[str, Any]:
    return {"name": "bank.json", "mimeType": "application/json",
            "buffer": json.dumps(doc, ensure_ascii=False).encode()}


def image_loaded(page: Page, testid: str) -> None:
    """Wait until the first image with ``testid`` has loaded with pixels."""
    img = page.get_by_test_id(testid).first
    img.scroll_into_view_if_needed()
    expect(img).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())


def test_import_with_a_mistake_then_browse_by_knowledge_point_with_previews(
        teacher: Page, screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    # Import a bank with a mistake: the problem is named, nothing is imported.
    bad = copy.deepcopy(bank())
    index, broken = next((i, q) for i, q in enumerate(bad["questions"]) if q["kind"] == "numeric")
    broken["key"]["value"] = ""
    page.goto("/bank")
    page.get_by_test_id("import-file").set_input_files(_file(bad))
    page.get_by_test_id("import-submit").click()
    problems = page.get_by_test_id("import-problem")
    expect(problems).to_have_count(1)
    expect(problems.first).to_have_text(
        f"第 {index + 1} 题（id {broken['id']}）：答案 key.value 为空")
    expect(page.get_by_test_id("import-error")).to_contain_text("一道题也没有导入")
    assert_translated(page)
    # The good file imports.
    page.get_by_test_id("import-file").set_input_files(_file(bank()))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-done")).to_be_visible()
    # Browse by knowledge point: 加法 and its sub-points.
    page.get_by_test_id("kp-tree").locator('[data-kp="math.add"]').click()
    expect(page).to_have_url(re.compile(r"/bank\?kp=math\.add$"))
    expect(page.get_by_test_id("kp-tree").locator('[data-kp="math.add"]')).to_have_attribute(
        "aria-current", "true")
    under = [q for q in bank()["questions"]
             if any(k == "math.add" or k.startswith("math.add.") for k in q["knowledge_points"])]
    expect(page.get_by_test_id("question")).to_have_count(min(len(under), 20))
    image_loaded(page, "question-preview")  # rendered by the printing code
    assert_translated(page)
    screenshot(page, "bank")
