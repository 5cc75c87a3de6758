"""An answer sheet's student-number grid (学号填涂) read back by the seat reader on
simulated copier pages: whole and shorter numbers, a blank grid, a skipped column, a copy
printed without the grid."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageCode, PageLayout, WorksheetLayout, format_page_code
from errorbook.printing.answer_sheet import layout_answer_sheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.align import Alignment, align_with_features, align_with_markers
from ocr.students.evidence import seat_posterior
from ocr.students.seat import SeatRead, read_seat
from simulation.classroom import font_glyph_bank
from simulation.pages import FillOptions, fill_page
from simulation.seats import mark_seat, mark_seat_bubble
from tests.support.samples import sample_questions

DPI = 200
BLANK_PX_PER_PT = 150 / 72
BINARISED = FillOptions(binarise_prob=1.0)


@lru_cache(maxsize=1)
def _layout() -> WorksheetLayout:
    bubbled = [q for q in sample_questions() if q.kind in ("choice", "true_false")][:12]
    return layout_answer_sheet("答题卡", bubbled)


def _page() -> PageLayout:
    return _layout().pages[0]


@lru_cache(maxsize=4)
def _printed(grid: bool, dpi: float = DPI) -> np.ndarray:
    codes = tuple(format_page_code(PageCode(5, p.number)) for p in _layout().pages)
    doc = pdfium.PdfDocument(render_worksheet_pdf(
        _layout(), [PrintedCopy(codes, seat_bubbles=grid)], duplex=False))
    try:
        bmp = doc[0].render(scale=dpi / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)


def _blank() -> np.ndarray:
    # The service's blank template: rendered without the grid, as without the seat row.
    return _printed(False, BLANK_PX_PER_PT * 72)


def _align(image: np.ndarray) -> Alignment:
    alignment = align_with_markers(image, [(m.marker_id, m.box) for m in _page().markers])
    if alignment is None or not alignment.ok:
        alignment = align_with_features(image, _blank(), BLANK_PX_PER_PT)
    assert alignment is not None
    return alignment


def _scan(page: np.ndarray, rng: np.random.Generator, options: FillOptions | None = None
          ) -> SeatRead:
    # Rows left unmarked: only the grid is under test.
    scanned = fill_page(page, DPI, _page().regions, font_glyph_bank(), rng, options,
                        mark_for=lambda *_: ()).image
    return read_seat(scanned, _align(scanned), _blank(), BLANK_PX_PER_PT, _page().seat_bubbles)


NUMBERS = ["20250012", "31415926", "07", "123", "98765"]


@pytest.mark.parametrize("binarised", [False, True])
def test_filled_numbers_read_right(binarised: bool) -> None:
    rng = np.random.default_rng(11 + binarised)
    for number in NUMBERS:
        marked, _ = mark_seat(_printed(True), DPI, _page().seat_bubbles, number, rng,
                              styles=("fill",) * len(number))
        read = _scan(marked, rng, BINARISED if binarised else None)
        assert (read.status, read.seat) == ("read", number), (number, read)
        assert len(read.fills) == 8


def test_blank_grid_skipped_column_and_unprinted_grid() -> None:
    rng = np.random.default_rng(5)
    assert _scan(_printed(True), rng).status == "blank"
    assert _scan(_printed(False), rng).status == "absent"
    page = _printed(True).astype(np.float32) / 255.0
    for place, digit in ((0, 2), (2, 5)):  # the second column left out
        mark_seat_bubble(page, DPI, _page().seat_bubbles, place, digit, rng, "fill")
    read = _scan(np.clip(page * 255, 0, 255).astype(np.uint8), rng)
    assert (read.status, read.seat) == ("unclear", None)


def test_a_read_number_picks_out_its_child() -> None:
    roster = ["20250001", "20250012", "20250112"]
    assert seat_posterior("20250012", roster)[1] > 0.99
    # A number's last digits: every child whose number ends so (the seat row's rule).
    post = seat_posterior("12", roster)
    assert post[1] == pytest.approx(post[2])
    assert post[0] < 0.01
