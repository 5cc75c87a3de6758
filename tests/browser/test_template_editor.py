"""A teacher's own worksheet made into a template in a real browser: the blank uploaded
from the worksheets page, the places found on it shown over it (the title block's 姓名 and
学号 lines already marked, its 班级 line left out), a region moved and deleted with the
keyboard, a missed place drawn by dragging, a save with no answers refused on its regions,
the answers typed (Enter goes to the next); a second page uploaded from the editor and
answered, the first page's regions still there after switching back; a third page, a
school's bubble answer sheet, laid out from its OMRChecker template.json (a broken file
first refused in Chinese, with its code) and keyed; saved as one three-page template, and
the assignment's page ready for uploads. Also laid out at a tablet's width."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from pathlib import Path
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


OMR_LAYOUT = Path(__file__).parents[1] / "ocr" / "data" / "omr" / "school_sheet.json"


def _blank_png(seed: int = 11) -> bytes:
    from simulation.teacher_sheets import teacher_sheet

    out = io.BytesIO()
    Image.fromarray(teacher_sheet(seed).image).save(out, format="PNG", dpi=(200, 200))
    return out.getvalue()


def _sheet_png() -> bytes:
    """The school's bubble answer sheet drawn from its OMRChecker layout (as the OMR
    service test draws it)."""
    from tests.service.test_omr_sheets import _blank

    out = io.BytesIO()
    Image.fromarray(_blank()).save(out, format="PNG", dpi=(200, 200))
    return out.getvalue()


def _file(name: str, mime: str, buffer: bytes) -> list[FilePayload]:
    return [{"name": name, "mimeType": mime, "buffer": buffer}]


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
    # The title block: its 姓名 and 学号 lines are marked as such (read from their printed
    # labels); its 班级 line is no region at all.
    expect(page.locator(".tpl-overlay .kind-name")).to_have_count(1)
    expect(page.locator(".tpl-overlay .kind-student_number")).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("姓名栏")
    expect(rows.nth(1)).to_contain_text("学号栏 · ")
    page.get_by_test_id("template-title").fill(f"第10周课堂练习 {tag}")
    page.get_by_test_id("template-class").select_option(str(cid))
    page.get_by_test_id("template-kp-default").select_option(KP)

    # Shift+arrow moves the selected region (2 pt a press), the row keeps the focus.
    rows.first.focus()
    expect(rows.first).to_have_class(SELECTED)
    box = page.locator(".tpl-overlay .is-selected .tpl-box")
    x = float(box.get_attribute("x") or "nan")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowRight")
    expect(box).to_have_attribute("x", re.compile("^" + re.escape(f"{round(x + 2, 2):g}")))
    expect(rows.first).to_be_focused()
    # A place that is no answer (the last 竖式 work area): select it, press Delete.
    rows.last.focus()
    expect(rows.last).to_have_class(SELECTED)
    page.keyboard.press("Delete")
    expect(rows).to_have_count(found - 1)
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
    page_one = rows.count()

    # A second page: uploaded from the editor, its places shown, answered; questions go
    # on numbering from page 1's.
    tabs = page.get_by_test_id("template-pages").get_by_role("tab")
    expect(tabs).to_have_count(1)
    page.get_by_test_id("template-page-file").set_input_files(
        _file("page2.png", "image/png", _blank_png(12)))
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("template-page-status")).to_contain_text("已添加第2页")
    expect(page.get_by_test_id("template-image")).to_have_attribute(
        "src", re.compile(r"/worksheets/templates/\d+/image.png"))
    expect(page.locator(".tpl-overlay .kind-name")).to_have_count(1)
    page_two = rows.count()
    assert page_two >= 10
    two = page.get_by_test_id("template-answer")
    expect(two.first).to_have_attribute("aria-label", f"第{before + 2}题的答案")
    two.first.click()
    for i in range(two.count()):
        page.keyboard.type(str(40 + i))
        page.keyboard.press("Enter")
    answered_two = two.count()
    # Back on page 1 its regions and answers are as they were.
    tabs.first.click()
    expect(rows).to_have_count(page_one)
    expect(answers.first).to_have_value("11")

    # A third page: the school's bubble answer sheet, laid out from its template.json.
    page.get_by_test_id("template-page-file").set_input_files(
        _file("sheet.png", "image/png", _sheet_png()))
    expect(tabs).to_have_count(3)
    page.locator("[data-testid=template-omr] summary").click()
    omr_file = page.get_by_test_id("template-omr-file")
    omr_file.set_input_files(_file("template.json", "application/json",
                                    b'{"pageDimensions": [1500, 2000'))
    error = page.get_by_test_id("template-omr-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("OMRChecker 的答题卡模板")
    expect(error.get_by_test_id("template-error-code")).to_contain_text("bad_omr_template")
    expect(omr_file).to_have_attribute("aria-invalid", "true")
    assert_translated(page)
    screenshot(page, "template-omr-refused", full_page=False)
    omr_file.set_input_files(_file("template.json", "application/json",
                                    OMR_LAYOUT.read_bytes()))
    expect(page.get_by_test_id("template-omr-status")).to_contain_text("已导入 25 道题的填涂圆圈和学号填涂区")
    expect(error).to_be_hidden()
    expect(page.locator(".tpl-overlay .kind-bubbles")).to_have_count(25)
    expect(page.locator(".tpl-overlay .kind-number_grid")).to_have_count(1)
    expect(page.locator(".tpl-overlay .kind-number_grid .tpl-bubble")).to_have_count(60)
    # Keyed as usual: each row's answer picked in the list (the first option that is one).
    sheet_answers = page.get_by_test_id("template-answer")
    expect(sheet_answers).to_have_count(25)
    # In the sheet's own order (q1-q10 down the left column first), its field names shown;
    # the sheet's 姓名 line is kept as the name, the proposed bubble rows are gone.
    sheet_rows = rows.filter(has=page.get_by_test_id("template-answer"))
    expect(sheet_rows.nth(0)).to_contain_text("（q1）")
    expect(sheet_rows.nth(1)).to_contain_text("（q2）")
    expect(sheet_rows.nth(20)).to_contain_text("（tf1）")
    expect(page.locator(".tpl-overlay .kind-name")).to_have_count(1)
    expect(rows).to_have_count(27)
    for i in range(25):
        sheet_answers.nth(i).select_option(index=1)
    screenshot(page, "template-editor-omr")
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
    expect(page.get_by_test_id("template-page")).to_have_count(3)
    expect(page.get_by_test_id("template-page").first).to_be_visible()
    # Each page as graded: its blank with its regions, drawn by the server.
    page.wait_for_function("() => Array.from(document.querySelectorAll("
                           "'[data-testid=template-page]')).every(i => i.naturalWidth > 0)")
    assert_translated(page)
    screenshot(page, "template-worksheet")
    wid = int(page.url.split("/worksheets/")[1].split("?")[0])
    with server_api(server) as c:
        ws = c.get(f"/api/v1/worksheets/{wid}").json()
        layout = c.get(f"/api/v1/worksheets/{wid}/layout").json()
    assert ws["kind"] == "template"
    assert len(layout["pages"]) == 3
    regions = layout["pages"][0]["regions"]
    assert [r["number"] for r in regions] == list(range(1, before + 2))
    assert [b["label"] for b in regions[-1]["bubbles"]] == ["A", "B", "C"]
    second = layout["pages"][1]["regions"]
    assert [r["number"] for r in second] == list(range(before + 2, before + 2 + answered_two))
    third = layout["pages"][2]
    assert len(third["regions"]) == 25
    assert len(third["seat_bubbles"]) == 60
    assert len(ws["items"]) == before + 1 + answered_two + 25
