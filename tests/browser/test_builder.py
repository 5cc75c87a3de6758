"""The worksheet builder in a real browser: build a worksheet of three questions picked by
knowledge point, reorder them in place (a button, Alt+arrow, drag and drop), preview the
printed page, create it, and download the blank copies and the class set with and without
duplex padding, checking they are PDFs with the right page counts (pypdfium2)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium
import pytest

from tests.browser.conftest import Server, assert_translated, import_playwright, server_api
from tests.browser.test_bank import image_loaded
from tests.support.scans import bank

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

STUDENTS = ("王小明", "李华", "张三")


@pytest.fixture
def class_id(server: Server) -> Iterator[tuple[int, str]]:
    """A class of three students on the server, made through its API: (id, name)."""
    with server_api(server) as c:
        name = f"组卷班 {secrets.token_hex(3)}"
        r = c.post("/api/v1/classes", json={"name": name})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = c.post(f"/api/v1/classes/{cid}/students", json=[
            {"student_no": f"B{cid:03d}{i}", "name": f"{n}{cid}"} for i, n in enumerate(STUDENTS)])
        assert r.status_code == 201, r.text
        # The sample bank (importing it again changes nothing).
        r = c.post("/api/v1/questions:import", json=bank())
        assert r.status_code == 200, r.text
        yield cid, name


def _order(page: Page) -> list[str]:
    items = page.get_by_test_id("selected-question")
    return [items.nth(i).get_attribute("data-question-id") or "" for i in range(items.count())]


def _download(page: Page, testid: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    path = info.value.path()
    assert path is not None
    return Path(path).read_bytes()


def _pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF-")
    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def test_build_reorder_preview_create_and_print(
        teacher: Page, class_id: tuple[int, str], screenshot: Callable[[Page, str], Any]
) -> None:
    page = teacher
    cid, class_name = class_id
    # Build: title, class, three questions of 加法, each added by a button.
    page.goto("/worksheets/new")
    title = f"进位加法练习 {secrets.token_hex(3)}"
    page.get_by_test_id("builder-title").fill(title)
    page.get_by_test_id("builder-class").select_option(str(cid))
    page.get_by_test_id("builder-kp").select_option("math.add")
    page.get_by_test_id("builder-filter").click()
    expect(page.get_by_test_id("builder-kp")).to_have_value("math.add")
    chosen: list[str] = []
    for _ in range(3):
        button = page.get_by_test_id("add-question").first
        chosen.append(button.get_attribute("value").removeprefix("add:"))  # type: ignore[union-attr]
        button.click()
        expect(page.get_by_test_id("selected-question")).to_have_count(len(chosen))
    assert _order(page) == chosen
    expect(page.get_by_test_id("builder-title")).to_have_value(title)  # kept across posts
    a, b, c = chosen
    # Reorder in place (the script): a button, then Alt+ArrowUp on a focused question.
    url = page.url
    page.get_by_test_id("selected-question").nth(0).get_by_test_id("move-down").click()
    assert _order(page) == [b, a, c]
    page.get_by_test_id("selected-question").nth(2).focus()
    page.keyboard.press("Alt+ArrowUp")
    assert _order(page) == [b, c, a]
    # ... and drag the first below the last.
    items = page.get_by_test_id("selected-question")
    box = items.nth(2).bounding_box()
    assert box is not None
    items.nth(0).drag_to(items.nth(2), target_position={"x": 20, "y": box["height"] - 3})
    assert _order(page) == [c, a, b]
    assert page.url == url  # no round trip
    expect(page.get_by_test_id("selected-question").nth(0).get_by_test_id("move-up")
           ).to_be_disabled()
    # Preview: the form posts the new order; the printed page comes back as an image.
    page.get_by_test_id("builder-preview").click()
    expect(page.get_by_test_id("preview-page").first).to_be_visible()
    assert _order(page) == [c, a, b]
    image_loaded(page, "preview-page")
    assert_translated(page)
    screenshot(page, "worksheet-builder")

    # Create, through the same service function as POST /api/v1/worksheets.
    page.get_by_test_id("builder-create").click()
    expect(page.get_by_test_id("worksheet-created")).to_be_visible()
    expect(page.get_by_test_id("worksheet-title")).to_have_text(title)
    expect(page.get_by_test_id("worksheet-class")).to_have_text(class_name)
    questions = page.get_by_test_id("worksheet-question")
    assert [questions.nth(i).get_attribute("data-question-id") for i in range(3)] == [c, a, b]
    printed = int(page.get_by_test_id("worksheet-pages").inner_text())
    expect(page.get_by_test_id("preview-page")).to_have_count(printed)
    image_loaded(page, "preview-page")
    assert_translated(page)
    screenshot(page, "worksheet-detail")

    # Print: blank copies and the class set, with duplex padding, then without.
    padded = printed + printed % 2
    page.get_by_test_id("print-copies").fill("2")
    assert _pages(_download(page, "print-blank")) == 2 * padded
    assert _pages(_download(page, "print-class-set")) == len(STUDENTS) * padded
    page.get_by_test_id("print-duplex-off").check()
    assert _pages(_download(page, "print-class-set")) == len(STUDENTS) * printed
    assert _pages(_download(page, "print-blank")) == 2 * printed

    # The list links the worksheet to printing, uploads, review and results.
    page.goto("/worksheets")
    row = page.locator("[data-testid=worksheet-row]", has_text=title)
    expect(row).to_have_count(1)
    wid = row.get_attribute("data-worksheet-id")
    expect(row.get_by_test_id("worksheet-upload")).to_have_attribute(
        "href", f"/uploads?worksheet_id={wid}")
    expect(row.get_by_test_id("worksheet-review")).to_have_attribute(
        "href", f"/review?worksheet_id={wid}")
    expect(row.get_by_test_id("worksheet-results")).to_have_attribute(
        "href", f"/worksheets/{wid}/results")
    assert_translated(page)
