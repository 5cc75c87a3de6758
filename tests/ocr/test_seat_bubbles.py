"""The seat-number reader on simulated copier pages: filled, blank, absent and doubtful."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageCode, PageLayout, WorksheetLayout, format_page_code
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.align import Alignment, align_with_features, align_with_markers
from ocr.students.seat import PRINTED_RING_INK, SeatRead, read_seat, seat_of
from simulation.classroom import font_glyph_bank
from simulation.pages import FillOptions, fill_page
from simulation.seats import mark_seat, mark_seat_bubble, mark_seats_in_pdf
from tests.support.samples import sample_questions

DPI = 200
BLANK_PX_PER_PT = 150 / 72
# Every page binarised by the copier: the hardest case for thin grey print.
BINARISED = FillOptions(binarise_prob=1.0)


@lru_cache(maxsize=1)
def _layout() -> WorksheetLayout:
    return layout_worksheet("座号", sample_questions()[:8])


def _page() -> PageLayout:
    return _layout().pages[0]


def _render(copy: PrintedCopy, dpi: float) -> np.ndarray:
    doc = pdfium.PdfDocument(render_worksheet_pdf(_layout(), [copy], duplex=False))
    try:
        bmp = doc[0].render(scale=dpi / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)


@lru_cache(maxsize=4)
def _printed(seats: bool, dpi: float = DPI) -> np.ndarray:
    codes = tuple(format_page_code(PageCode(5, p.number)) for p in _layout().pages)
    return _render(PrintedCopy(codes, seat_bubbles=seats), dpi)


def _blank() -> np.ndarray:
    # The service's blank template: rendered without the row (service.jobs.pagework).
    return _printed(False, BLANK_PX_PER_PT * 72)


def _align(image: np.ndarray) -> Alignment:
    alignment = align_with_markers(image, [(m.marker_id, m.box) for m in _page().markers])
    if alignment is None or not alignment.ok:
        alignment = align_with_features(image, _blank(), BLANK_PX_PER_PT)
    assert alignment is not None
    return alignment


def _scan(page: np.ndarray, rng: np.random.Generator, options: FillOptions | None = None
          ) -> SeatRead:
    scanned = fill_page(page, DPI, _page().regions, font_glyph_bank(), rng, options).image
    return read_seat(scanned, _align(scanned), _blank(), BLANK_PX_PER_PT, _page().seat_bubbles)


# Every digit in each place, on ordinary and on binarised copier pages.
SEATS = [f"{i}{(7 * i + 3) % 10}" for i in range(10)] + [f"{(3 * i + 1) % 10}{i}"
                                                         for i in range(10)]


@pytest.mark.parametrize("binarised", [False, True])
def test_filled_seats_read_right_on_copier_pages(binarised: bool) -> None:
    rng = np.random.default_rng(11 + binarised)
    styles: list[str] = []
    for seat in SEATS:
        marked, truth = mark_seat(_printed(True), DPI, _page().seat_bubbles, seat, rng)
        styles.extend(truth.styles)
        read = _scan(marked, rng, BINARISED if binarised else None)
        assert (read.status, read.seat) == ("read", seat), (truth, read)
        assert read.ring_ink >= PRINTED_RING_INK
        assert read.confidence >= 0.5
        assert len(read.fills) == 2
        assert max(read.fills[0]) == read.fills[0][int(seat[0])]
    assert {"fill", "pencil", "partial", "refill"} & set(styles) != {"fill"}


def test_a_copy_printed_without_the_row_reads_absent() -> None:
    rng = np.random.default_rng(3)
    for _ in range(4):
        read = _scan(_printed(False), rng)
        assert read.status == "absent"
        assert read.seat is None
        assert read.ring_ink < PRINTED_RING_INK
    # A layout without seat bubbles (stored before, or emptied) is absent too.
    scanned = _printed(True)
    assert read_seat(scanned, _align(scanned), _blank(), BLANK_PX_PER_PT, ()).status == "absent"


def test_printed_but_unfilled_reads_blank() -> None:
    rng = np.random.default_rng(4)
    for options in (None, BINARISED):
        read = _scan(_printed(True), rng, options)
        assert read.status == "blank"
        assert read.seat is None
        assert max(max(f) for f in read.fills) < 0.1


def test_the_caller_may_say_whether_the_row_was_printed() -> None:
    rng = np.random.default_rng(5)
    scanned = fill_page(_printed(True), DPI, [], font_glyph_bank(), rng).image
    alignment = _align(scanned)
    told = read_seat(scanned, alignment, _blank(), BLANK_PX_PER_PT, _page().seat_bubbles,
                     printed=False)
    assert told.status == "absent"


def _page_with(marks: list[tuple[int, int, str]], rng: np.random.Generator) -> np.ndarray:
    page = _printed(True).astype(np.float32) / 255.0
    for place, digit, style in marks:
        mark_seat_bubble(page, DPI, _page().seat_bubbles, place, digit, rng, style)
    return np.clip(page * 255, 0, 255).astype(np.uint8)


def test_two_fills_in_one_place_or_one_place_only_is_unclear() -> None:
    rng = np.random.default_rng(6)
    double = _scan(_page_with([(0, 3, "fill"), (1, 4, "fill"), (1, 7, "fill")], rng), rng)
    assert double.status == "unclear"
    assert double.seat is None
    assert sorted(range(10), key=lambda d: -double.fills[1][d])[:2] in ([4, 7], [7, 4])
    lighter_second = _scan(_page_with([(0, 3, "fill"), (1, 4, "fill"), (1, 5, "partial")],
                                      rng), rng)
    assert lighter_second.status == "unclear"
    units_only = _scan(_page_with([(1, 4, "fill")], rng), rng)
    assert units_only.status == "unclear"


def test_seat_is_the_student_numbers_last_two_digits() -> None:
    assert seat_of("20250617") == "17"
    assert seat_of("S-2025-06-07") == "07"
    assert seat_of("7") is None


def test_a_marked_stack_reads_back_page_by_page() -> None:
    layout = _layout()
    codes = tuple(format_page_code(PageCode(5, p.number)) for p in layout.pages)
    copy = PrintedCopy(codes, seat_bubbles=True)
    pdf = render_worksheet_pdf(layout, [copy, copy], duplex=False)
    stack = mark_seats_in_pdf(pdf, {5: layout.to_dict()}, ["17", "40"], seed=2)
    doc = pdfium.PdfDocument(stack.pdf)
    try:
        n = len(doc)
        pages = [doc[i].render(scale=DPI / 72, grayscale=True).to_numpy() for i in range(n)]
    finally:
        doc.close()
    assert n == 2 * len(layout.pages)
    expected = ["17"] * len(layout.pages) + ["40"] * len(layout.pages)
    assert [stack.seats[i].seat for i in range(n)] == expected
    for i, bmp in enumerate(pages):
        image = np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)
        page = layout.pages[i % len(layout.pages)]
        markers = [(m.marker_id, m.box) for m in page.markers]
        alignment = align_with_markers(image, markers)
        assert alignment is not None
        blank = _render_page_blank(i % len(layout.pages))
        read = read_seat(image, alignment, blank, BLANK_PX_PER_PT, page.seat_bubbles)
        assert read.seat == expected[i]


def _render_page_blank(index: int) -> np.ndarray:
    codes = tuple(format_page_code(PageCode(5, p.number)) for p in _layout().pages)
    doc = pdfium.PdfDocument(render_worksheet_pdf(_layout(), [PrintedCopy(codes)],
                                                  duplex=False))
    try:
        bmp = doc[index].render(scale=BLANK_PX_PER_PT, grayscale=True).to_numpy()
    finally:
        doc.close()
    return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)
