"""Uploading scans in a real browser, against a real ``markbook serve`` whose job runner
reads the pages (one worker).

A class and a worksheet are made through the server's API; the class set is printed by the
server and filled and scanned by ``simulation.classroom`` (font glyphs: no datasets
needed). Then, in the browser: three files chosen at once (the scanned class set as a PDF,
a picture with ink but no markbook code, and a file that is not a scan); each is sent on
its own with its progress; the bad one is refused in Chinese and the others kept; the
class set's job page moves to done by itself (server-sent events); the picture's job page
explains its problem and what to do. A file dropped on the drop zone is uploaded too. Phone
photos of the class set (JPEG turned by its EXIF tag, HEIC, PNG) chosen together are one
upload and one job, in file-name order, beside a PDF sent on its own. With JavaScript off, the form still sends every file in one post and the job page reloads itself
until the job is done.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageDraw

from ocr.ingest import iter_pages
from simulation.classroom import font_glyph_bank, keys_for, scan_class_set
from tests.browser.conftest import (
    UNTRANSLATED,
    VIEWPORT,
    Server,
    assert_translated,
    import_playwright,
    server_api,
)
from tests.support.scans import ROOT, math_ids

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page, Route

pytestmark = pytest.mark.browser
expect = import_playwright().expect

JOB_LIMIT_MS = 240_000  # the first job also starts the worker and loads the models
_run = itertools.count(1)


@dataclass(frozen=True)
class ScannedSheet:
    worksheet_id: int
    title: str
    pdf: bytes


def scanned_sheet(server: Server, students: int = 2) -> ScannedSheet:
    """A class, a one-page worksheet, its printed class set filled in and scanned."""
    tag = f"{os.getpid()}-{next(_run)}"
    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    with server_api(server) as c:
        assert c.post("/api/v1/questions:import", json=bank).status_code == 200
        r = c.post("/api/v1/classes", json={"name": f"上传测试{tag}班", "grade": 3})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = c.post(f"/api/v1/classes/{cid}/students", json=[
            {"student_no": f"U{tag}-{i}", "name": f"上传{i}号"} for i in range(students)])
        assert r.status_code == 201, r.text
        qids = math_ids(4)
        title = f"上传练习{tag}"
        r = c.post("/api/v1/worksheets", json={"title": title, "class_id": cid,
                                               "question_ids": qids})
        assert r.status_code == 201, r.text
        wid = r.json()["id"]
        layout = c.get(f"/api/v1/worksheets/{wid}/layout").json()
        printed = c.get(f"/api/v1/worksheets/{wid}/print.pdf?per_student=true")
        assert printed.status_code == 200
    docs = [q for q in bank["questions"] if q["id"] in qids]
    stack = scan_class_set(printed.content, {wid: layout}, keys_for(docs), seed=7,
                           bank=font_glyph_bank(), handwriting="font")
    return ScannedSheet(wid, title, stack.pdf)


def picture_without_code(text: str) -> bytes:
    """A photo-like page with writing but no markbook code: the reader cannot place it."""
    img = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(img)
    for i in range(12):
        draw.line((120, 200 + 110 * i, 1100, 200 + 110 * i), fill=0, width=4)
    draw.rectangle((120, 1600, 600, 1700), outline=0, width=6)
    draw.text((130, 120), text, fill=0)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def sheet(server: Server) -> ScannedSheet:
    return scanned_sheet(server)


def photos_of(pdf: bytes, tmp: Path) -> list[np.ndarray]:
    """The scanned class set's pages, as a phone would see them (greyscale arrays)."""
    path = tmp / "set.pdf"
    path.write_bytes(pdf)
    return [p.image for p in iter_pages(path)]


def phone_photo(page: np.ndarray, fmt: str) -> bytes:
    """JPEG and HEIC as phones store them: the sensor's pixels sideways and an EXIF
    orientation (6) that turns them upright; PNG upright."""
    out = io.BytesIO()
    if fmt == "PNG":
        Image.fromarray(page).save(out, format="PNG")
        return out.getvalue()
    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = 6
    sensor = Image.fromarray(np.ascontiguousarray(np.rot90(page, 1))).convert("RGB")
    sensor.save(out, format=fmt, exif=exif.tobytes(), quality=90)
    return out.getvalue()


def _file_item(page: Page, name: str) -> Any:
    return page.get_by_test_id("file-item").filter(has_text=name)


def test_upload_several_files_watch_progress_and_see_a_problem_explained(
        teacher: Page, sheet: ScannedSheet, screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    page.goto(f"/uploads?worksheet_id={sheet.worksheet_id}")
    expect(page.get_by_test_id("uploads")).to_be_visible()
    expect(page.get_by_test_id("worksheet-select")).to_have_value(str(sheet.worksheet_id))
    # HEIC photos are read (pillow-heif is a dependency): no "use JPEG" note.
    expect(page.get_by_test_id("heic-note")).to_have_count(0)
    assert_translated(page)
    # "Identify automatically": the picture belongs to no worksheet, the PDF says its own.
    page.get_by_test_id("worksheet-select").select_option("")
    tag = next(_run)
    files: list[FilePayload] = [
        {"name": f"class-set-{tag}.pdf", "mimeType": "application/pdf", "buffer": sheet.pdf},
        {"name": f"photo-{tag}.png", "mimeType": "image/png",
         "buffer": picture_without_code(f"photo {tag}")},
        {"name": f"notes-{tag}.pdf", "mimeType": "application/pdf",
         "buffer": b"minutes of the staff meeting, not a scan"},
    ]
    page.get_by_test_id("file-input").set_input_files(files)
    page.get_by_test_id("upload-submit").click()
    good = _file_item(page, f"class-set-{tag}.pdf")
    photo = _file_item(page, f"photo-{tag}.png")
    bad = _file_item(page, f"notes-{tag}.pdf")
    expect(good).to_have_attribute("data-ok", "true", timeout=30_000)
    expect(photo).to_have_attribute("data-ok", "true", timeout=30_000)
    expect(bad).to_have_attribute("data-ok", "false", timeout=30_000)
    expect(good.get_by_test_id("file-message")).to_contain_text("已收到")
    expect(bad.get_by_test_id("file-message")).to_contain_text("这不是扫描件")
    expect(bad.get_by_test_id("result-job-link")).to_have_count(0)
    # The recent jobs list is fetched again after the batch: both new jobs, not the refused.
    jobs = page.get_by_test_id("jobs")
    expect(jobs.get_by_test_id("job-row").filter(has_text=f"class-set-{tag}.pdf")).to_have_count(1)
    expect(jobs.get_by_test_id("job-row").filter(has_text=f"photo-{tag}.png")).to_have_count(1)
    expect(jobs).not_to_contain_text(f"notes-{tag}.pdf")
    assert_translated(page)
    screenshot(page, "uploads")

    # The class set's job: the bar moves by itself (server-sent events) until done.
    good.get_by_test_id("result-job-link").click()
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_be_visible()
    screenshot(page, "job-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=JOB_LIMIT_MS)
    expect(page.get_by_test_id("job-status")).to_have_text("已完成")
    # Two students' pages, each with its blank back (duplex printing): all read.
    expect(page.get_by_test_id("job-pages")).to_have_text("4/4 页")
    expect(page.get_by_test_id("job-bar")).to_have_attribute("value", "4")
    expect(page.get_by_test_id("no-problems")).to_be_visible()
    assert_translated(page)
    screenshot(page, "job-done")

    # The picture's job: one page, not a markbook worksheet: explained, with what to do.
    page.goto("/uploads")
    row = page.get_by_test_id("job-row").filter(has_text=f"photo-{tag}.png")
    expect(row).to_have_attribute("data-status", re.compile("partially_done|failed|done"),
                                  timeout=JOB_LIMIT_MS)
    row.get_by_test_id("job-link").click()
    problem = page.get_by_test_id("problem")
    expect(problem).to_have_count(1)
    expect(problem).to_have_attribute("data-status", "unidentified")
    expect(problem).to_contain_text("没有找到作业二维码")
    expect(problem).to_contain_text("重新扫描")
    expect(problem.get_by_test_id("problem-review-link")).to_have_attribute(
        "href", "/review?kind=unidentified")
    assert_translated(page)
    screenshot(page, "job-problems")


def test_photos_chosen_together_are_one_job_in_file_name_order(
        teacher: Page, server: Server, sheet: ScannedSheet, tmp_path: Path,
        screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    page.goto("/uploads")
    tag = f"{os.getpid()}-{next(_run)}"
    # A class set of its own: the module's sheet is uploaded by other tests (and by the
    # PDF below), and its pages would come back as duplicates.
    shots = photos_of(scanned_sheet(server).pdf, tmp_path)
    assert len(shots) == 4  # two students, each page with its blank back
    # Chosen in this order; the phone numbered them 2, 9, 10, 11 as they were taken.
    files: list[FilePayload] = [
        {"name": f"IMG_10-{tag}.HEIC", "mimeType": "image/heic",
         "buffer": phone_photo(shots[2], "HEIF")},
        {"name": f"IMG_2-{tag}.jpg", "mimeType": "image/jpeg",
         "buffer": phone_photo(shots[0], "JPEG")},
        {"name": f"class-{tag}.pdf", "mimeType": "application/pdf",
         "buffer": sheet.pdf + f"\n%{tag}\n".encode()},
        {"name": f"IMG_11-{tag}.png", "mimeType": "image/png",
         "buffer": phone_photo(shots[3], "PNG")},
        {"name": f"IMG_9-{tag}.jpg", "mimeType": "image/jpeg",
         "buffer": phone_photo(shots[1], "JPEG")},
    ]
    page.get_by_test_id("file-input").set_input_files(files)
    page.get_by_test_id("upload-submit").click()
    photos = _file_item(page, f"IMG_2-{tag}.jpg +3")
    pdf = _file_item(page, f"class-{tag}.pdf")
    expect(photos).to_have_attribute("data-ok", "true", timeout=60_000)
    expect(photos).to_have_attribute("data-files", "4")
    expect(photos.get_by_test_id("file-message")).to_contain_text("已收到 4 张照片，合成一份作业")
    expect(pdf).to_have_attribute("data-ok", "true", timeout=60_000)
    expect(page.get_by_test_id("file-item")).to_have_count(2)  # two jobs, not five
    rows = page.get_by_test_id("jobs").get_by_test_id("job-row")
    expect(rows.filter(has_text=f"IMG_2-{tag}.jpg +3")).to_have_count(1)
    expect(rows.filter(has_text=f"IMG_10-{tag}")).to_have_count(0)
    assert_translated(page)
    screenshot(page, "uploads-photos")
    # The photos' job reads its four pages, in the order the phone took them.
    photos.get_by_test_id("result-job-link").click()
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=JOB_LIMIT_MS)
    expect(page.get_by_test_id("job-pages")).to_have_text("4/4 页")
    expect(page.get_by_test_id("no-problems")).to_be_visible()
    job_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with server_api(server) as c:
        job = c.get(f"/api/v1/jobs/{job_id}").json()
    assert job["filename"] == f"IMG_2-{tag}.jpg +3"
    assert job["pages_total"] == job["pages_done"] == 4
    assert job["problems"] == []  # every photo read, the sideways JPEG and HEIC included


def test_a_file_dropped_on_the_drop_zone_is_uploaded(teacher: Page) -> None:
    page = teacher
    page.goto("/uploads")
    name = f"dropped-{next(_run)}-{os.getpid()}.png"
    png = base64.b64encode(picture_without_code(name)).decode()
    transfer = page.evaluate_handle(
        """([name, b64]) => {
             const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], name, {type: "image/png"}));
             return dt;
           }""", [name, png])
    page.get_by_test_id("drop-zone").dispatch_event("drop", {"dataTransfer": transfer})
    item = _file_item(page, name)
    expect(item).to_have_attribute("data-ok", "true", timeout=30_000)
    expect(item.get_by_test_id("result-job-link")).to_have_attribute(
        "href", re.compile(r"^/jobs/\d+$"))


def test_without_script_the_form_sends_every_file_and_the_job_page_reloads_itself(
        browser: Browser, server: Server, sheet: ScannedSheet) -> None:
    """Progressive enhancement: with JavaScript off, one form post carries every chosen
    file, the answer lists each file's outcome, and the job page refreshes itself
    (``<noscript>`` meta refresh) until the job is finished."""
    context = browser.new_context(base_url=server.url, java_script_enabled=False,
                                  locale="zh-CN", viewport=VIEWPORT)  # type: ignore[arg-type]
    elsewhere: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", only_the_server)
    try:
        page = context.new_page()
        page.goto("/login")
        page.locator("input[name=username]").fill(server.username)
        page.locator("input[name=password]").fill(server.password)
        page.get_by_test_id("sign-in").click()
        page.goto("/uploads")
        tag = f"nojs-{os.getpid()}-{next(_run)}"
        # The class set (a new copy of its bytes: not a duplicate) goes first, so the
        # picture's job waits in the one-worker queue behind its four pages.
        files: list[FilePayload] = [
            {"name": f"{tag}.pdf", "mimeType": "application/pdf",
             "buffer": sheet.pdf + f"\n%{tag}\n".encode()},
            {"name": f"{tag}.png", "mimeType": "image/png",
             "buffer": picture_without_code(tag)},
            {"name": f"{tag}.txt", "mimeType": "text/plain", "buffer": b"not a scan"},
        ]
        page.get_by_test_id("file-input").set_input_files(files)
        page.get_by_test_id("upload-submit").click()
        results = page.get_by_test_id("file-result")
        expect(results).to_have_count(3)
        for i, ok in enumerate(("true", "true", "false")):
            expect(results.nth(i)).to_have_attribute("data-ok", ok)
        expect(results.nth(1)).to_contain_text("已收到")
        expect(results.nth(2)).to_contain_text("这不是扫描件")
        results.nth(1).get_by_test_id("result-job-link").click()
        expect(page.get_by_test_id("job-running-hint")).to_be_visible()
        # No script runs: only the page's own refresh can bring the finished state.
        expect(page.get_by_test_id("job-problems")).to_be_visible(timeout=JOB_LIMIT_MS)
        expect(page.get_by_test_id("problem")).to_contain_text("没有找到作业二维码")
        assert UNTRANSLATED.search(page.content()) is None
    finally:
        context.close()
    assert not elsewhere, elsewhere
