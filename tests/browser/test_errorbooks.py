"""Error books in a real browser: one click builds the class's set in the background, the
page shows it building and then offers the PDF (and the teacher's key), which downloads
as a real PDF; each student's own book is linked beside their name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium
import pytest

from tests.browser.conftest import assert_translated, import_playwright
from tests.browser.test_results import Graded, graded

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["graded"]  # the fixture: a graded class on the server

pytestmark = pytest.mark.browser
expect = import_playwright().expect


def test_build_the_class_books_and_download_them(teacher: Page, graded: Graded,
                                                 screenshot: Callable[[Page, str], Any]
                                                 ) -> None:
    cid = graded.sheet.class_id
    teacher.get_by_test_id("nav").get_by_role("link", name="错题本", exact=True).click()
    expect(teacher.get_by_test_id("errorbooks")).to_be_visible()
    mine = teacher.locator(f'[data-testid="errorbooks-class"][data-class-id="{cid}"]')
    expect(mine).to_have_attribute("data-state", "none")
    expect(mine.get_by_test_id("errorbooks-student")).to_have_count(4)
    li = graded.sheet.students[graded.names["李华"]]
    expect(mine.locator(f'[data-student-id="{li}"] [data-testid="student-book-pdf"]')
           ).to_have_attribute("href", f"/students/{li}/errorbook.pdf")
    assert_translated(teacher)

    # Two-sided by default; the teacher prints one-sided this time.
    expect(mine.get_by_test_id("build-duplex-on")).to_be_checked()
    mine.get_by_test_id("build-duplex-off").check()
    mine.get_by_test_id("build-class").click()
    # Building (the page reloads itself until it is done), then the download link.
    link = mine.get_by_test_id("download-class-books")
    expect(link).to_be_visible(timeout=120_000)
    expect(mine).to_have_attribute("data-state", "done")
    expect(mine.get_by_test_id("build-duplex-off")).to_be_checked()  # the last choice
    expect(mine.get_by_test_id("download-class-key")).to_be_visible()
    assert_translated(teacher)
    screenshot(teacher, "errorbooks")

    with teacher.expect_download(timeout=60_000) as info:
        link.click()
    path = info.value.path()
    assert path is not None
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 10_000
    doc = pdfium.PdfDocument(data)
    try:  # one-sided: no padding page
        assert not any("本页空白" in doc[i].get_textpage().get_text_range()
                       for i in range(len(doc)))
    finally:
        doc.close()
