"""Seat-number bubbles: where the layout puts them, the stored form, and how they print."""

from __future__ import annotations

import json

import numpy as np
import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageCode, WorksheetLayout, format_page_code, seat_bubble_boxes
from errorbook.printing.annotated.marks import layout_keep_clear
from errorbook.printing.geometry import MM
from errorbook.printing.layout import FOOTER_TOP_INSET, layout_worksheet
from errorbook.printing.text import text_width
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from tests.support.samples import sample_questions

Box = tuple[float, float, float, float]
DPI = 200


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _row_box(layout_page: object) -> Box:
    """The printed row, labels included ("座号 十位" reach 16 mm left of the first bubble)."""
    boxes = [b for _, _, b in layout_page.seat_bubbles]  # type: ignore[attr-defined]
    return (min(b[0] for b in boxes) - 16 * MM, min(b[1] for b in boxes) - 1.5 * MM,
            max(b[2] for b in boxes), max(b[3] for b in boxes) + 1.5 * MM)


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_every_page_has_twenty_bubbles_clear_of_everything_printed(page_size: str) -> None:
    layout = layout_worksheet("全部题目", sample_questions(), page_size)
    for page in layout.pages:
        assert [(p, d) for p, d, _ in page.seat_bubbles] == \
            [(p, d) for p in (0, 1) for d in range(10)]
        for _, _, (x0, y0, x1, y1) in page.seat_bubbles:
            assert x1 - x0 == pytest.approx(3.2 * MM)
            assert y1 - y0 == pytest.approx(3.2 * MM)
        centres = [(b[0] + b[2]) / 2 for _, _, b in page.seat_bubbles]
        assert min(np.diff(centres)) == pytest.approx(4.2 * MM)
        row = _row_box(page)
        # Below the content area, with room for a pen that strays off an answer box.
        assert row[1] >= page.height - FOOTER_TOP_INSET + 3 * MM
        assert row[3] <= page.height - 6 * MM
        furniture = [m.box for m in page.markers] + [page.qr_box, page.name_box,
                                                      *page.student_no_boxes]
        answers = [r.box for r in page.regions] + [b.box for r in page.regions
                                                   for b in r.bubbles]
        seat_boxes = {b for _, _, b in page.seat_bubbles}
        text = [b for b in layout_keep_clear(page) if b not in seat_boxes]
        for box in furniture + answers + text:
            assert not _overlap(row, box), f"page {page.number}: seat row overlaps {box}"
        # The page number moves right of the row when the row is printed.
        words = "第 99 / 99 页"
        right = page.width - 20 * MM
        number_box = (right - text_width(words, 9), page.height - 11 * MM - 9,
                      right, page.height - 11 * MM + 2)
        assert not _overlap(row, number_box)
        assert number_box[2] < min(m.box[0] for m in page.markers if m.box[0] > page.width / 2)


def test_stored_layout_round_trips_and_old_layouts_get_the_row() -> None:
    layout = layout_worksheet("座号", sample_questions()[:6])
    stored = json.loads(json.dumps(layout.to_dict()))
    again = WorksheetLayout.from_dict(stored)
    assert again == layout
    assert again.pages[0].seat_bubbles == layout.pages[0].seat_bubbles
    for page in stored["pages"]:
        del page["seat_bubbles"]  # stored before seat bubbles existed
    old = WorksheetLayout.from_dict(stored)
    assert old.pages[0].seat_bubbles == seat_bubble_boxes(old.pages[0].width,
                                                          old.pages[0].height)
    assert old == layout
    stored["pages"][0]["seat_bubbles"] = []  # a layout stored with none stays without
    assert WorksheetLayout.from_dict(stored).pages[0].seat_bubbles == ()


def _render(layout: WorksheetLayout, copy: PrintedCopy) -> np.ndarray:
    doc = pdfium.PdfDocument(render_worksheet_pdf(layout, [copy], duplex=False))
    try:
        bmp = doc[0].render(scale=DPI / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    return bmp[..., 0] if bmp.ndim == 3 else bmp


def _ring_darkness(img: np.ndarray, layout: WorksheetLayout) -> list[int]:
    """Per bubble: the darkest pixel on its outline's horizontal diameter ends."""
    s = DPI / 72
    out: list[int] = []
    for _, _, (x0, y0, x1, y1) in layout.pages[0].seat_bubbles:
        cy = round((y0 + y1) / 2 * s)
        left = img[cy - 1:cy + 2, round(x0 * s) - 2:round(x0 * s) + 3]
        right = img[cy - 1:cy + 2, round(x1 * s) - 2:round(x1 * s) + 3]
        out.append(255 - min(int(left.min()), int(right.min())))
    return out


def test_anonymous_copies_print_the_row_and_named_copies_never_do() -> None:
    layout = layout_worksheet("座号", sample_questions()[:6])
    codes = tuple(format_page_code(PageCode(3, p.number)) for p in layout.pages)
    with_row = _render(layout, PrintedCopy(codes, seat_bubbles=True))
    without = _render(layout, PrintedCopy(codes))
    named = _render(layout, PrintedCopy(codes, "王小明", "20250617", seat_bubbles=True))
    assert min(_ring_darkness(with_row, layout)) > 120  # every ring printed
    # Without the row, only the centred page number crosses a few bubbles' places.
    assert sum(d > 60 for d in _ring_darkness(without, layout)) <= 4
    named_plain = _render(layout, PrintedCopy(codes, "王小明", "20250617"))
    assert np.array_equal(named, named_plain)  # the option changes nothing on a named copy
    # The digit inside each bubble is light grey (dropout style), the ring darker.
    s = DPI / 72
    _, _, (x0, y0, x1, y1) = layout.pages[0].seat_bubbles[5]
    q = round((x1 - x0) * s / 4)  # the middle half: inside the ring
    inside = with_row[round(y0 * s) + q:round(y1 * s) - q, round(x0 * s) + q:round(x1 * s) - q]
    assert 120 < int(inside.min()) < 230
    # The page number left the middle of the strip for the row.
    h = with_row.shape[0]
    strip = slice(h - round(14 * MM * s), h - round(9 * MM * s))
    right_of_row = slice(round(165 * MM * s), round(190 * MM * s))
    assert with_row[strip, right_of_row].min() < 128
    assert without[strip, right_of_row].min() > 200
