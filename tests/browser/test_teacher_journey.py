"""A teacher's whole loop in a real browser, from an empty class to the class's error
books, and a student who can open only their own.

Against a real ``markbook serve`` (real job runner, real readers), with the keyboard and
the mouse only, in Chinese: sign in → import the question bank → create a class → import
its roster → build a worksheet → print the class set and a blank copy → (the children
write: the printed PDFs are filled and scanned by ``simulation.classroom``; one child lost
their copy and writes their student number on the blank one) → upload both scans at once →
watch the jobs finish → clear the review queue by keyboard (assigning the anonymous page
from the roster) → see the results → download a student's error book → build the class's
error books → issue a student link and open it in a browser with no session: that child's
page only, nobody else's data reachable.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium
import pytest

from simulation.classroom import font_glyph_bank, keys_for, pdf_pages, scan_class_set
from tests.browser.conftest import (
    Server,
    assert_translated,
    import_playwright,
    server_api,
    sign_in,
    watched_context,
)
from tests.support.samples import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Download, Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

JOB_LIMIT_MS = 240_000  # the first job of a server also starts its worker and models
BUILD_LIMIT_MS = 180_000
_run = itertools.count(1)
# The class: the last child lost their printed copy and writes on a blank one.
# 学号 are 8 digits: the comb on a blank copy has 8 boxes.
ROSTER = [("{tag}01", "陈一鸣"), ("{tag}02", "林小雨"), ("{tag}03", "周子涵"), ("{tag}04", "吴昊然")]
ANONYMOUS = 3


def _download(page: Page, click: Callable[[], None]) -> bytes:
    with page.expect_download() as info:
        click()
    download: Download = info.value
    path = download.path()
    assert path is not None
    return Path(path).read_bytes()


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _create_class(page: Page, name: str, roster_csv: Path) -> int:
    page.goto("/classes")
    page.get_by_test_id("class-name").fill(name)
    page.get_by_test_id("create-class-submit").click()
    expect(page.get_by_test_id("class-roster")).to_be_visible()
    class_id = int(re.search(r"/classes/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    page.get_by_test_id("import-file").set_input_files(str(roster_csv))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("student-row")).to_have_count(len(ROSTER))
    assert_translated(page)
    return class_id


def _build_worksheet(page: Page, title: str, class_id: int, questions: int) -> int:
    page.goto("/worksheets/new")
    page.get_by_test_id("builder-title").fill(title)
    page.get_by_test_id("builder-class").select_option(str(class_id))
    page.get_by_test_id("builder-kind").select_option("arithmetic")
    page.get_by_test_id("builder-filter").click()
    for n in range(1, questions + 1):
        # Each click posts the form (the builder's state is in the URL) and comes back.
        page.get_by_test_id("candidate").get_by_test_id("add-question").first.click()
        expect(page.get_by_test_id("selected-question")).to_have_count(n)
        page.get_by_test_id("builder-title").wait_for()
    page.get_by_test_id("builder-create").click()
    expect(page.get_by_test_id("worksheet-detail")).to_be_visible()
    expect(page.get_by_test_id("worksheet-created")).to_be_visible()
    return int(re.search(r"/worksheets/(\d+)", page.url).group(1))  # type: ignore[union-attr]


def _children_write(server: Server, worksheet_id: int, class_set: bytes, blank: bytes,
                    student_numbers: list[str]) -> tuple[bytes, bytes]:
    """The class fills in the printed papers and the copier scans them: the class set
    without the last child's copy, and that child's blank copy with their number."""
    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    with server_api(server) as api:
        layout = api.get(f"/api/v1/worksheets/{worksheet_id}/layout").json()
        ids = [item["question_id"] for item in
               api.get(f"/api/v1/worksheets/{worksheet_id}").json()["items"]]
    keys = keys_for([q for q in bank["questions"] if q["id"] in ids])
    pages = len(pdfium.PdfDocument(blank))
    handed_in = pdf_pages(class_set, list(range(ANONYMOUS * pages)))
    glyphs = font_glyph_bank()
    stack = scan_class_set(handed_in, {worksheet_id: layout}, keys, seed=11, bank=glyphs,
                           handwriting="font")
    lost = scan_class_set(blank, {worksheet_id: layout}, keys, seed=12, bank=glyphs,
                          handwriting="font", anonymous_numbers=[student_numbers[ANONYMOUS]])
    return stack.pdf, lost.pdf


def _upload(page: Page, worksheet_id: int, files: list[tuple[str, bytes]]) -> list[int]:
    page.goto(f"/uploads?worksheet_id={worksheet_id}")
    page.get_by_test_id("file-input").set_input_files(
        [{"name": name, "mimeType": "application/pdf", "buffer": data} for name, data in files])
    page.get_by_test_id("upload-submit").click()
    jobs = []
    for name, _ in files:
        item = page.get_by_test_id("file-item").filter(has_text=name)
        expect(item).to_have_attribute("data-ok", "true", timeout=60_000)
        jobs.append(int(item.get_attribute("data-job-id") or 0))
    return jobs


def _watch(page: Page, job_id: int) -> None:
    page.goto(f"/jobs/{job_id}")
    progress = page.get_by_test_id("job-progress")
    # The bar moves by itself (server-sent events); the page is never reloaded here.
    expect(progress).to_have_attribute("data-status", re.compile("^(done|partially_done)$"),
                                       timeout=JOB_LIMIT_MS)
    assert_translated(page)


def _clear_review(page: Page, worksheet_id: int, assign_to: str) -> dict[str, int]:
    """Clear the worksheet's queue with the keyboard alone; returns what was pressed."""
    page.goto(f"/review?worksheet_id={worksheet_id}")
    pressed = {"items": 0, "keys": 0, "pages": 0}
    started = time.monotonic()
    while not page.get_by_test_id("review-empty").is_visible():
        assert time.monotonic() - started < 120, "the queue did not empty"
        item = page.get_by_test_id("review-item")
        item.wait_for()
        before = item.get_attribute("data-response-id") or item.get_attribute("data-page-id")
        if item.get_attribute("data-page-id"):
            # A page without a student: type part of the name, Enter assigns the match.
            page.keyboard.type(assign_to[1:])
            page.keyboard.press("Enter")
            pressed["keys"] += len(assign_to) - 1 + 1
            pressed["pages"] += 1
        elif item.get_attribute("data-can-confirm") == "true":
            page.keyboard.press("Enter")
            pressed["keys"] += 1
        else:  # nothing to accept (say, unreadable): the teacher marks it wrong
            page.keyboard.press("3")
            pressed["keys"] += 1
        pressed["items"] += 1
        # The next item (or the empty queue) replaces this one without a page load.
        expect(page.locator(
            f'[data-testid="review-item"][data-response-id="{before}"],'
            f'[data-testid="review-item"][data-page-id="{before}"]')).to_have_count(
            0, timeout=15_000)
    assert_translated(page)
    return pressed


def test_from_an_empty_class_to_error_books_and_a_students_own_page(
        browser: Browser, page: Page, server: Server, tmp_path: Path,
        screenshot: Callable[[Page, str], Any]) -> None:
    tag = f"{(next(_run) * 7919 + int(time.time())) % 1_000_000:06d}"
    roster = [(no.format(tag=tag), name) for no, name in ROSTER]
    names = [name for _, name in roster]
    numbers = [no for no, _ in roster]

    page.goto("/")
    sign_in(page, server)

    # The question bank, imported from its file on the bank page.
    page.goto("/bank")
    page.get_by_test_id("import-file").set_input_files(
        str(ROOT / "sample_scans" / "question_bank.json"))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-done")).to_be_visible()

    # A class and its roster (a CSV as a school's office exports it).
    csv = tmp_path / "roster.csv"
    csv.write_text("学号,姓名\n" + "".join(f"{no},{name}\n" for no, name in roster),
                   encoding="utf-8")
    class_id = _create_class(page, f"三年级旅程{tag}班", csv)

    # A worksheet of four sums, printed: the named class set and one blank copy.
    worksheet_id = _build_worksheet(page, f"加减法旅程{tag}", class_id, 4)
    page.get_by_test_id("print-duplex-off").check()
    class_set = _download(page, page.get_by_test_id("print-class-set").click)
    page.get_by_test_id("print-copies").fill("1")
    blank = _download(page, page.get_by_test_id("print-blank").click)
    per_copy = len(pdfium.PdfDocument(blank))
    assert len(pdfium.PdfDocument(class_set)) == len(roster) * per_copy

    # The children write; the copier scans; both scans go up at once.
    stack, lost = _children_write(server, worksheet_id, class_set, blank, numbers)
    jobs = _upload(page, worksheet_id, [("班级扫描.pdf", stack), ("补交.pdf", lost)])
    for job in jobs:
        _watch(page, job)

    # The review queue, by keyboard: the anonymous copy is assigned to its child from the
    # roster (unless its handwritten number was read surely enough), every doubtful
    # answer decided.
    _clear_review(page, worksheet_id, names[ANONYMOUS])
    expect(page.get_by_test_id("review-empty")).to_be_visible()

    # Results: everyone handed in, the table colour- and symbol-coded, the CSV.
    page.goto(f"/worksheets/{worksheet_id}/results")
    expect(page.get_by_test_id("results-row")).to_have_count(len(roster))
    expect(page.get_by_test_id("missing-student")).to_have_count(0)
    assert_translated(page)
    screenshot(page, "journey-results")
    csv_bytes = _download(page, page.get_by_test_id("download-csv").click)
    exported = csv_bytes.decode("utf-8-sig")
    for name in names:
        assert name in exported

    # One child's page and error book, in one click.
    page.get_by_test_id("results-row").filter(has_text=names[1]).get_by_role(
        "link", name=names[1]).click()
    expect(page.get_by_test_id("student-name")).to_contain_text(names[1])
    book = _download(page, page.get_by_test_id("student-errorbook-pdf").click)
    assert book.startswith(b"%PDF")
    text = _pdf_text(book)
    assert names[1] in text
    assert not any(other in text for other in names if other != names[1])

    # The whole class's error books, built with progress, then downloaded.
    page.goto("/errorbooks")
    card = page.get_by_test_id("errorbooks-class").and_(
        page.locator(f'[data-class-id="{class_id}"]'))
    card.get_by_test_id("build-class").click()
    card = page.get_by_test_id("errorbooks-class").and_(
        page.locator(f'[data-class-id="{class_id}"]'))
    expect(card.get_by_test_id("download-class-books")).to_be_visible(timeout=BUILD_LIMIT_MS)
    books = _download(page, card.get_by_test_id("download-class-books").click)
    assert len(pdfium.PdfDocument(books)) >= len(roster)

    # A student link for 林小雨, opened in a browser that has never signed in.
    page.goto(f"/classes/{class_id}/links")
    student_id = int(page.get_by_test_id("link-row").filter(has_text=names[1])
                     .get_attribute("data-student-id") or 0)
    page.get_by_test_id("link-row").filter(has_text=names[1]).get_by_test_id("issue-one").click()
    link = page.get_by_test_id("slip").get_by_test_id("slip-url").inner_text().strip()
    assert "/s/" in link
    context, watch = watched_context(browser, server)
    try:
        child = context.new_page()
        child.goto(link)
        expect(child.get_by_test_id("learner-name")).to_contain_text(names[1])
        seen = child.content()
        for other in names:
            if other != names[1]:
                assert other not in seen
        assert_translated(child)
        # The book opens in the browser (inline): fetch it as the link's browser would.
        href = child.get_by_test_id("learner-pdf").get_attribute("href") or ""
        got = context.request.get(server.url + href if href.startswith("/") else href)
        assert got.ok, got.status
        assert got.headers["content-type"] == "application/pdf"
        assert names[1] in _pdf_text(got.body())
        # Nothing else opens without signing in: the teacher's pages of this child or of
        # a classmate send the browser to the sign-in page.
        for path in (f"/students/{student_id}", f"/students/{student_id + 1}",
                     f"/worksheets/{worksheet_id}/results", f"/classes/{class_id}"):
            child.goto(path)
            expect(child).to_have_url(re.compile(r"/login(\?|$)"))
        # A made-up link shows the same page as any unknown one.
        child.goto(re.sub(r"/s/[^/]+", "/s/" + "A" * 32, link))
        expect(child.get_by_test_id("error-404")).to_be_visible()
    finally:
        context.close()
    assert not watch.blocked, watch.blocked
    assert not watch.errors, watch.errors
