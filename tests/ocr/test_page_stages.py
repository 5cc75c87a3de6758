"""Identify, align, crop/clean and marks on printed pages filled in and degraded like scans."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import segno
import zxingcpp

from errorbook.contract import AnswerRegion, PageCode, PageLayout, WorksheetLayout
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from ocr.align import align_with_features, align_with_markers
from ocr.identify import identify_page
from ocr.marks import decide_marks, page_fill_threshold, score_bubbles
from ocr.regions import (
    CROP_PX_PER_PT,
    blank_box,
    has_ink,
    masked_print,
    measure_ink,
    normalise_paper,
    remove_print,
    warp_box,
)
from tests.support.samples import sample_questions

DPI = 200
S = DPI / 72


@lru_cache(maxsize=1)
def _sheet() -> tuple[WorksheetLayout, np.ndarray, np.ndarray]:
    """(layout, printed page 1 for student 9, blank page 1), both at 200 dpi."""
    want = {"arithmetic": 4, "choice": 2, "true_false": 2, "numeric": 3}
    qs = []
    for q in sample_questions():
        if want.get(q.kind, 0) > 0:
            want[q.kind] -= 1
            qs.append(q)
    layout = layout_worksheet("测试", qs)
    codes = tuple(f"MB1;W5;P{p.number};S9" for p in layout.pages)
    printed = render_worksheet_pdf(layout, [PrintedCopy(codes, "王小明", "20250301")])
    blank = render_worksheet_pdf(layout, [PrintedCopy(tuple(f"MB1;W5;P{p.number}"
                                                           for p in layout.pages))])

    def page1(pdf: bytes) -> np.ndarray:
        bmp = pdfium.PdfDocument(pdf)[0].render(scale=S, grayscale=True).to_numpy()
        return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)

    return layout, page1(printed), page1(blank)


def _px(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return tuple(int(v * S) for v in box)  # type: ignore[return-value]


def _regions(page: PageLayout, kind: str) -> list[AnswerRegion]:
    return [r for r in page.regions if r.kind == kind]


def _fill(img: np.ndarray, page: PageLayout) -> dict[str, object]:
    """Write like a student: digits in a box, a filled bubble, a tick, light pencil."""
    out = img.copy()
    boxes = [r for r in page.regions if not r.bubbles]
    x0, _y0, _x1, y1 = _px(boxes[0].box)
    cv2.putText(out, "85", (x0 + 15, y1 - 18), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 30, 4)
    lx0, ly0, _lx1, ly1 = _px(boxes[2].box)  # light pencil: a faint short stroke
    cv2.line(out, (lx0 + 20, ly0 + 25), (lx0 + 55, ly1 - 20), 175, 3)
    choice = _regions(page, "choice")[0]
    bx0, by0, bx1, by1 = _px(choice.bubbles[1].box)
    cv2.circle(out, ((bx0 + bx1) // 2, (by0 + by1) // 2), (bx1 - bx0) // 2 - 3, 40, -1)
    tf = _regions(page, "true_false")[0]
    tx0, ty0, tx1, ty1 = _px(tf.bubbles[1].box)  # a tick across the ✗ bubble
    cv2.line(out, (tx0 + 5, (ty0 + ty1) // 2), ((tx0 + tx1) // 2, ty1 - 4), 25, 4)
    cv2.line(out, ((tx0 + tx1) // 2, ty1 - 4), (tx1 - 2, ty0 + 2), 25, 4)
    return {"image": out, "written": boxes[0], "empty": boxes[1], "pencil": boxes[2],
            "choice": choice, "tf": tf}


def _degrade(img: np.ndarray, angle: float, seed: int = 0) -> np.ndarray:
    """Like a copier: small skew, noise, JPEG."""
    rng = np.random.default_rng(seed)
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    out = cv2.warpAffine(img, m, (w, h), borderValue=255, flags=cv2.INTER_LINEAR)
    out = np.clip(out.astype(np.int16) + rng.normal(0, 6, out.shape), 0, 255).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return cv2.imdecode(jpg, cv2.IMREAD_GRAYSCALE)


def _ink(scan: np.ndarray, alignment, region: AnswerRegion, blank: np.ndarray,  # type: ignore[no-untyped-def]
         tolerance: int = 7) -> np.ndarray:
    crop = warp_box(scan, alignment, region.box)
    return remove_print(crop, blank_box(blank, S, region.box), tolerance_px=tolerance)


def _marks(scan: np.ndarray, alignment, region: AnswerRegion, blank: np.ndarray):  # type: ignore[no-untyped-def]
    ink = _ink(scan, alignment, region, blank, tolerance=3)
    crop = warp_box(scan, alignment, region.box)
    visible = ~masked_print(normalise_paper(crop), blank_box(blank, S, region.box),
                            tolerance_px=3)
    origin = (region.box[0] - 3.0, region.box[1] - 3.0)
    return score_bubbles(ink, [(b.label, b.box) for b in region.bubbles], origin_pt=origin,
                         px_per_pt=CROP_PX_PER_PT, visible=visible)


@pytest.mark.parametrize(("turns", "angle"), [(0, 0.0), (2, 2.5), (1, -1.5), (3, 3.0)])
def test_filled_page_reads_back(turns: int, angle: float) -> None:
    layout, printed, blank = _sheet()
    page = layout.pages[0]
    filled = _fill(printed, page)
    scan = np.ascontiguousarray(np.rot90(_degrade(filled["image"], angle), turns))  # type: ignore[arg-type]
    ident, upright = identify_page(scan)
    assert ident.status == "identified"
    assert ident.code == PageCode(5, 1, 9)
    assert ident.rotation == (turns * 90) % 360
    markers = [(m.marker_id, m.box) for m in page.markers]
    alignment = align_with_markers(upright, markers)
    assert alignment is not None
    assert alignment.ok
    assert alignment.error_mm < 0.5
    written = measure_ink(_ink(upright, alignment, filled["written"], blank))  # type: ignore[arg-type]
    empty = measure_ink(_ink(upright, alignment, filled["empty"], blank))  # type: ignore[arg-type]
    pencil = measure_ink(_ink(upright, alignment, filled["pencil"], blank))  # type: ignore[arg-type]
    assert has_ink(written)
    assert written.components >= 2
    assert not has_ink(empty), f"printed box border left as ink: {empty}"
    assert has_ink(pencil)
    assert pencil.strength < written.strength
    fills = []
    for key in ("choice", "tf"):
        region: AnswerRegion = filled[key]  # type: ignore[assignment]
        scores = _marks(upright, alignment, region, blank)
        fills.extend(s.fill for s in scores)
        reading = decide_marks(scores)
        expected = (region.bubbles[1].label,)
        assert reading.status == "ok", reading
        assert reading.marked == expected, reading
    assert 0.08 <= page_fill_threshold(fills) <= 0.4


def test_two_filled_bubbles_are_flagged_and_near_threshold_is_ambiguous() -> None:
    layout, printed, blank = _sheet()
    page = layout.pages[0]
    region = _regions(page, "choice")[0]
    img = printed.copy()
    for b in region.bubbles[:2]:
        x0, y0, x1, y1 = _px(b.box)
        cv2.circle(img, ((x0 + x1) // 2, (y0 + y1) // 2), (x1 - x0) // 2 - 3, 30, -1)
    _ident, upright = identify_page(img)
    alignment = align_with_markers(upright, [(m.marker_id, m.box) for m in page.markers])
    assert alignment is not None
    scores = _marks(upright, alignment, region, blank)
    reading = decide_marks(scores)
    assert reading.multiple
    assert reading.marked == ("A", "B")
    shaky = decide_marks(scores, threshold=scores[0].fill - 0.01)
    assert shaky.status == "ambiguous"


def test_damaged_markers_fall_back_to_features() -> None:
    layout, printed, blank = _sheet()
    page = layout.pages[0]
    img = _degrade(printed, 1.0)
    for m in page.markers[:2]:  # two corners torn or covered
        x0, y0, x1, y1 = _px(m.box)
        img[max(0, y0 - 10): y1 + 10, max(0, x0 - 10): x1 + 10] = 255
    markers = [(m.marker_id, m.box) for m in page.markers]
    assert align_with_markers(img, markers) is None
    alignment = align_with_features(img, blank, S)
    assert alignment is not None, alignment
    assert alignment.ok, alignment
    # The features alignment maps a box to where it is in the scan.
    region = page.regions[0]
    crop = warp_box(img, alignment, region.box)
    clean = remove_print(crop, blank_box(blank, S, region.box))
    assert not has_ink(measure_ink(clean))


def test_blank_and_foreign_pages() -> None:
    white = np.full((2339, 1654), 250, np.uint8)
    ident, _ = identify_page(white)
    assert ident.status == "blank"
    assert ident.code is None
    foreign = white.copy()
    qr = np.array(segno.make("https://example.org/form/1").matrix, dtype=np.uint8)
    big = cv2.resize((1 - qr) * 255, None, fx=12, fy=12, interpolation=cv2.INTER_NEAREST)
    foreign[100:100 + big.shape[0], 1200:1200 + big.shape[1]] = big
    ident, _ = identify_page(foreign)
    assert ident.status == "foreign_code"
    assert ident.qr_text == "https://example.org/form/1"
    text_page = white.copy()
    for y in range(300, 2000, 60):
        cv2.putText(text_page, "some other worksheet line", (150, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                    20, 2)
    ident, _ = identify_page(text_page)
    assert ident.status == "no_code"


def test_qr_bloated_by_binarised_blur_is_still_read() -> None:
    # A 200 dpi page code (5 px modules) blurred by the scanner and binarised by the
    # copier at a high threshold: dark modules swell into their neighbours.
    qr = np.array(segno.make("MB1;W77;P1;S5", error="q", micro=False).matrix, dtype=np.uint8)
    page = np.full((2339, 1654), 245, np.uint8)
    big = cv2.resize((1 - qr) * 235 + 10, None, fx=5, fy=5, interpolation=cv2.INTER_NEAREST)
    page[100:100 + big.shape[0], 1300:1300 + big.shape[1]] = big
    scan = np.where(cv2.GaussianBlur(page, (7, 7), 0) < 220, 0, 255).astype(np.uint8)
    assert not zxingcpp.read_barcodes(scan), "the degradation no longer defeats a plain read"
    ident, _ = identify_page(scan)
    assert ident.status == "identified"
    assert ident.code == PageCode(77, 1, 5)
