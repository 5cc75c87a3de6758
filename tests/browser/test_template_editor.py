"""A teacher's own worksheet made into a template in a real browser: the blank uploaded
from the worksheets page, the places found on it shown over it, the class line deleted with
the keyboard, the name and 学号 lines marked, a missed place drawn by dragging, a save with
no answers refused on its regions, the answers typed (Enter goes to the next), saved, and
the assignment's page ready for uploads. Also laid out at a tablet's width."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.browser.conftest import Server, assert_translated, import_playwright, server_api
from tests.support.scans import bank

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload, Page, ViewportSize

pytestmark = pytest.mark.browser
expect = import_playwright().expect
KP = "math.add.carry"
TABLET: ViewportSize = {"width": 820, "height": 1180}
OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"
SELECTED = re.compile(r"(^|\s)is-selected(\s|$)")


def _blank_png() -> bytes:
    from simulation.teacher_sheets import teacher_sheet

    out = io.BytesIO()
    Image.fromarray(teacher_sheet(11).image).save(out, format="PNG", dpi=(200, 200))
    return out.getvalue()


def _drag(page: Page, box: tuple[float, float, float, float]) -> None:
    """Drag with the mouse over the page image from one corner of ``box`` (points) to the
    other."""
    stage = page.locator("#tpl-stage img").bounding_box()
    assert stage is not None
    k = stage["width"] / 595.0
    page.evaluate("y => window.scrollBy(0, y)", stage["y"] + box[1] * k - 200)
    stage = page.locator("#tpl-stage img").bounding_box()
    assert stage is not None
    x0, y0, x1, y1 = (stage["x"] + box[0] * k, stage["y"] + box[1] * k,
                      stage["x"] + box[2] * k, stage["y"] + box[3] * k)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()


def test_make_a_template_from_an_uploaded_blank(
        teacher: Page, server: Server, screenshot: Callable[..., Any]) -> None:
    page = teacher
    tag = secrets.token_hex(3)
    with server_api(server) as c:
        r = c.post("/api/v1/questions:import", json=bank())
        assert r.status_code in (200, 201), r.text
        cid = c.post("/api/v1/classes", json={"name": f"自制班 {tag}"}).json()["id"]

    page.goto("/worksheets")
    page.get_by_test_id("new-template").click()
    blank: FilePayload = {"name": "blank.png", "mimeType": "image/png", "buffer": _blank_png()}
    page.get_by_test_id("template-file").set_input_files([blank])
    assert_translated(page)
    screenshot(page, "template-upload")
    page.get_by_test_id("template-upload-submit").click()
    expect(page.get_by_test_id("template-editor")).to_be_visible()
    rows = page.get_by_test_id("template-regions").locator(".tpl-item")
    expect(rows.first).to_be_visible()
    found = rows.count()
    assert found >= 15
    assert page.locator(".tpl-overlay .tpl-region").count() == found
    # 竖式 work areas are shown but start as not graded.
    assert page.locator(".tpl-overlay .tpl-region.kind-skip").count() >= 1
    page.get_by_test_id("template-title").fill(f"第10周课堂练习 {tag}")
    page.get_by_test_id("template-class").select_option(str(cid))
    page.get_by_test_id("template-kp-default").select_option(KP)

    # The class line of the title block is no answer: select it from the list, press Delete.
    rows.first.focus()
    expect(rows.first).to_have_class(SELECTED)
    page.keyboard.press("Delete")
    expect(rows).to_have_count(found - 1)
    # Shift+arrow moves the selected region (2 pt a press), the row keeps the focus.
    box = page.locator(".tpl-overlay .is-selected .tpl-box")
    x = float(box.get_attribute("x") or "nan")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowRight")
    expect(box).to_have_attribute("x", re.compile("^" + re.escape(f"{round(x + 2, 2):g}")))
    expect(rows.first).to_be_focused()
    # The name and 学号 lines are marked as such.
    rows.nth(0).locator(".tpl-item-kind").click()
    page.get_by_test_id("template-kind").select_option("name")
    rows.nth(1).locator(".tpl-item-kind").click()
    page.get_by_test_id("template-kind").select_option("student_number")
    expect(page.locator(".tpl-overlay .kind-name")).to_have_count(1)
    expect(page.locator(".tpl-overlay .kind-student_number")).to_have_count(1)
    # A place the proposal missed: drawn by dragging on an empty part of the page.
    answers = page.get_by_test_id("template-answer")
    before = answers.count()
    _drag(page, (420, 760, 500, 790))
    expect(answers).to_have_count(before + 1)
    expect(page.get_by_test_id("template-detail").locator("#tpl-kind")).to_have_value("written")

    # Saving with no answers is refused; each region says why and is outlined in red.
    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("template-problems")).to_be_visible()
    assert_translated(page)
    expect(page.locator(".tpl-item.has-problem")).to_have_count(before + 1)
    screenshot(page, "template-editor-problems", full_page=False)
    assert page.locator(".tpl-overlay .has-problem").count() == before + 1
    # What the teacher did came back: the marked lines and the drawn box are still there.
    expect(page.locator(".tpl-overlay .kind-name")).to_have_count(1)
    expect(answers).to_have_count(before + 1)
    page.locator(".tpl-goto").first.click()
    expect(page.locator(".tpl-item.is-selected")).to_have_count(1)

    # Type every answer: Enter goes to the next question's answer.
    answers.first.click()
    for i in range(before + 1):
        page.keyboard.type(str(11 + i))
        page.keyboard.press("Enter")
    expect(answers.nth(before)).to_have_value(str(11 + before))
    expect(page.locator(".tpl-item.has-problem")).to_have_count(0)
    expect(page.get_by_test_id("template-problems")).to_be_hidden()  # all fixed
    # The drawn place becomes a row of three choice bubbles, answered B.
    rows.last.locator(".tpl-item-kind").click()
    page.get_by_test_id("template-kind").select_option("bubbles")
    page.get_by_test_id("template-options").fill("3")
    page.get_by_test_id("template-options").press("Tab")
    expect(page.locator(".tpl-overlay .is-selected .tpl-bubble")).to_have_count(3)
    rows.last.get_by_test_id("template-answer").select_option("B")
    answers.nth(2).click()
    screenshot(page, "template-editor")
    page.set_viewport_size(TABLET)
    stage = page.locator("#tpl-stage").bounding_box()
    side = page.locator(".tpl-side").bounding_box()
    assert stage is not None
    assert side is not None
    assert stage["x"] + stage["width"] <= side["x"]  # side by side, not overlapping
    assert side["x"] + side["width"] <= TABLET["width"]
    assert page.evaluate(OVERFLOW_JS) <= 0  # nothing wider than the screen
    screenshot(page, "template-editor-tablet", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(OVERFLOW_JS) <= 0  # a phone: one column
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("template-upload-card")).to_be_visible()
    expect(page.get_by_test_id("worksheet-created")).to_be_visible()
    expect(page.get_by_test_id("print-card")).to_have_count(0)
    expect(page.get_by_test_id("template-page")).to_be_visible()
    # The page as graded: the blank with its regions, drawn by the server.
    page.wait_for_function("() => document.querySelector('[data-testid=template-page]')"
                           ".naturalWidth > 0")
    assert_translated(page)
    screenshot(page, "template-worksheet")
    wid = int(page.url.split("/worksheets/")[1].split("?")[0])
    with server_api(server) as c:
        ws = c.get(f"/api/v1/worksheets/{wid}").json()
        layout = c.get(f"/api/v1/worksheets/{wid}/layout").json()
    assert ws["kind"] == "template"
    assert len(ws["items"]) == before + 1
    regions = layout["pages"][0]["regions"]
    assert [r["number"] for r in regions] == list(range(1, before + 2))
    assert [b["label"] for b in regions[-1]["bubbles"]] == ["A", "B", "C"]
