"""Anonymous copies photographed with a phone: the identity readers cut their boxes as the
answer boxes are cut (``ocr.students.capture``): flattened under shadows, located again
where the page curls."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageLayout, WorksheetLayout
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.align import Alignment, align_with_markers
from ocr.identify import identify_page
from ocr.students.capture import COPIER, Capture, capture_of
from ocr.students.identify import page_capture, read_identity
from ocr.students.number import read_comb
from ocr.students.seat import read_seat
from simulation.camera import HARD, photograph, plan_shot
from simulation.classroom import CombBox
from simulation.handwriting import GlyphBank
from simulation.pages import FillOptions, fill_page
from simulation.seats import mark_seat
from simulation.unseen import drill_questions

DPI = 200
S = DPI / 72
CLASS = [f"202506{i:02d}" for i in range(1, 41)]
CHILD = 16  # 20250617, seat 17
# The camera model's hard photos at their worst: an edge lifted 5-6 mm and a hand's shadow
# taking about half the light on every photo.
WORST = replace(HARD, curl_mm=(5.0, 6.0), shadow_prob=1.0, shadow_depth=(0.45, 0.55))


@lru_cache(maxsize=1)
def _sheet() -> tuple[PageLayout, np.ndarray, np.ndarray]:
    """(the page's layout, an anonymous copy printed with seat bubbles, the reader's blank)."""
    layout = layout_worksheet("四年级 口算", list(drill_questions(30, 23)))

    def render(copy: PrintedCopy, lay: WorksheetLayout = layout) -> np.ndarray:
        doc = pdfium.PdfDocument(render_worksheet_pdf(lay, [copy], duplex=False))
        try:
            bmp = doc[0].render(scale=DPI / 72, grayscale=True).to_numpy()
        finally:
            doc.close()
        return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)

    code = ("MB1;W7;P1",)
    return (layout.pages[0], render(PrintedCopy(code, seat_bubbles=True)),
            render(PrintedCopy(code)))


@pytest.fixture(scope="module")
def recognizer() -> Any:
    from ocr.reading.default import build_default_recognizer

    return build_default_recognizer()


def _align(image: np.ndarray) -> tuple[np.ndarray, Alignment]:
    page, _, _ = _sheet()
    _, upright = identify_page(image)
    alignment = align_with_markers(upright, [(m.marker_id, m.box) for m in page.markers])
    assert alignment is not None
    assert alignment.ok
    return upright, alignment


def _frame(page: np.ndarray, scale: float = 0.8) -> np.ndarray:
    """The page small in the middle of a darker, larger frame: a photo's geometry."""
    small = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    out = np.full((int(h * 1.5), int(w * 1.5)), 70, np.uint8)
    out[h // 4:h // 4 + h, w // 4:w // 4 + w] = small
    return out


def _written(test_bank: GlyphBank, seed: int) -> np.ndarray:
    """Child 17's copy: the number in the comb in unseen writers' digits, seat 17 filled."""
    page, printed, _ = _sheet()
    rng = np.random.default_rng(seed)
    number = CLASS[CHILD]
    sheet, _ = mark_seat(printed, DPI, page.seat_bubbles, number[-2:], rng,
                         styles=("fill", "fill"))
    combs = [CombBox(box, i) for i, box in enumerate(page.student_no_boxes)]
    filled = fill_page(sheet, DPI, combs, test_bank, rng, FillOptions(blank_prob=0.0),
                       answer_for=lambda _q, k, _r: number[k], degrade=False)
    return filled.image


@pytest.mark.parametrize("seed", [4, 7])
def test_a_photographed_anonymous_copy_is_read_by_number_and_seat(
        test_bank: GlyphBank, recognizer: Any, seed: int) -> None:
    page, printed, blank = _sheet()
    size_mm = (printed.shape[1] / S * 25.4 / 72, printed.shape[0] / S * 25.4 / 72)
    # The shot lifts the right edge (where the comb ends) by over 5 mm.
    shot = plan_shot(size_mm, np.random.default_rng(1000 + seed), WORST)
    assert shot.curl_edge == 1
    assert shot.curl_mm > 5
    photo = photograph(_written(test_bank, seed), DPI, np.random.default_rng(1000 + seed), WORST)
    upright, alignment = _align(photo)
    capture = page_capture(upright, alignment, blank, S, comb_boxes=page.student_no_boxes,
                           name_box=page.name_box)
    assert capture.relocate
    assert capture.paper is not None
    assert capture.paper.flattens  # the shadow
    read = read_identity(upright, alignment, blank, S, comb_boxes=page.student_no_boxes,
                         name_box=None, seat_bubbles=page.seat_bubbles, numbers=CLASS,
                         names=[""] * len(CLASS), recognizer=recognizer)
    assert read.comb.text == CLASS[CHILD]
    assert read.seat_status == "read"
    assert read.seat == "17"
    assert read.number_post is not None
    assert read.number_post[CHILD] > 0.9
    posteriors = read.identity.posteriors()
    assert int(np.argmax(posteriors)) == CHILD
    assert posteriors[CHILD] > 0.999
    assert read.identity.sources == ("number", "seat")


def _shift_header(page: np.ndarray, dx_mm: float) -> np.ndarray:
    """Move the band of the name box and comb sideways by ``dx_mm``, leaving the markers
    above it and the page below in place: a bulge the page's homography cannot follow."""
    layout, _, _ = _sheet()
    h, w = page.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom = layout.student_no_boxes[0][1], layout.student_no_boxes[0][3]
    markers_end = max(m.box[3] for m in layout.markers if m.box[1] < top)
    # Full inside the band, falling smoothly to nothing between it and the markers above
    # and over 15 mm below.
    rise = np.clip((ys / S - markers_end) / (top - 4 - markers_end), 0, 1)
    fall = np.clip(1 - (ys / S - bottom - 4) / 42, 0, 1)
    weight = np.minimum(rise, fall)
    shift = dx_mm / 25.4 * DPI * weight * weight * (3 - 2 * weight)
    return cv2.remap(page, xs - shift, ys, cv2.INTER_LINEAR, borderValue=255)


class _Records:
    """A recogniser that reads every inked box as ``"8"`` and keeps the inks it saw."""

    def __init__(self) -> None:
        self.inks: list[np.ndarray] = []

    def recognize(self, inks: list[np.ndarray], alphabet: Any = None, **_: Any) -> list[Any]:
        from ocr.reading.recognize import Reading

        self.inks.extend(inks)
        return [Reading("ok", "8", 0.99, alternatives=(("8", 1.0),)) for _ in inks]


def test_an_empty_comb_moved_by_curl_is_found_again_and_stays_empty() -> None:
    page, printed, blank = _sheet()
    # A third of a box: cut where the homography puts them, every box holds a border.
    upright, alignment = _align(_frame(_shift_header(printed, 2.0)))
    capture = page_capture(upright, alignment, blank, S, comb_boxes=page.student_no_boxes,
                           name_box=page.name_box)
    assert capture.relocate
    reader = _Records()
    comb = read_comb(upright, alignment, blank, S, page.student_no_boxes, reader,
                     capture=capture)
    assert not comb.written
    assert reader.inks == []
    # The same page cut as a copier scan is cut: the borders read as ink.
    as_scan = read_comb(upright, alignment, blank, S, page.student_no_boxes, _Records(),
                        capture=COPIER)
    assert as_scan.written


def test_a_comb_box_under_a_thumb_is_no_evidence() -> None:
    page, printed, blank = _sheet()
    sheet = printed.copy()
    x0, y0, x1, y1 = (int(v * S) for v in page.student_no_boxes[3])
    for k, box in enumerate(page.student_no_boxes):
        bx0, _, _, by1 = (int(v * S) for v in box)
        cv2.putText(sheet, "8" if k != 3 else "", (bx0 + 10, by1 - 12),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.2, 30, 4)
    # A thumb over box 3 hides its border.
    cv2.ellipse(sheet, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2 + 25, (y1 - y0) // 2 + 25),
                0, 0, 360, 110, -1)
    upright, alignment = _align(_frame(_shift_header(sheet, 1.0)))
    capture = capture_of(upright, alignment, blank, S, page.student_no_boxes)
    comb = read_comb(upright, alignment, blank, S, page.student_no_boxes, _Records(),
                     capture=capture)
    assert comb.boxes[3] == tuple([0.1] * 10)  # unknown, not a guess
    assert [int(np.argmax(p)) for k, p in enumerate(comb.boxes) if k != 3 and p] == [8] * 7


def _shadow_over_units(page: np.ndarray, depth: float = 0.55) -> np.ndarray:
    """A hand's soft shadow from the right over the seat row's units, ``depth`` of the
    light taken away."""
    layout, _, _ = _sheet()
    h, w = page.shape
    units = [b for p, _, b in layout.seat_bubbles if p == 1]
    edge = (units[0][0] + units[-1][2]) / 2 * S  # the shadow's edge mid-way along them
    ramp = np.clip((np.arange(w) - edge) / (0.03 * w) + 0.5, 0, 1)
    light = 1.0 - depth * np.tile(ramp, (h, 1))
    return np.asarray(np.clip(page.astype(np.float32) * light, 0, 255), np.uint8)


def test_a_shadow_over_the_seat_row_is_paper_not_a_fill() -> None:
    page, printed, blank = _sheet()
    rng = np.random.default_rng(3)
    sheet, _ = mark_seat(printed, DPI, page.seat_bubbles, "17", rng, styles=("fill", "fill"))
    upright, alignment = _align(_frame(_shadow_over_units(sheet)))
    capture = capture_of(upright, alignment, blank, S, page.student_no_boxes)
    assert capture.paper is not None
    assert capture.paper.flattens
    read = read_seat(upright, alignment, blank, S, page.seat_bubbles, capture=capture)
    assert read.status == "read"
    assert read.seat == "17"
    # The shadowed bubbles are paper: every unfilled one reads well below a fill.
    units = read.fills[1]
    assert max(f for d, f in enumerate(units) if d != 7) < 0.2
    # Measured against the crop's own paper instead, the shadowed bubbles look filled.
    assert read_seat(upright, alignment, blank, S, page.seat_bubbles, capture=COPIER).seat is None


def test_a_copier_scan_is_cut_as_before() -> None:
    page, printed, blank = _sheet()
    upright, alignment = _align(printed)
    capture = page_capture(upright, alignment, blank, S, comb_boxes=page.student_no_boxes,
                           name_box=page.name_box)
    assert capture.paper is not None
    assert not capture.paper.flattens
    assert not capture.relocate
    assert replace(capture, paper=None) == Capture()
