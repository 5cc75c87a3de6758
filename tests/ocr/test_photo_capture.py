"""Phone photos read like scans: markers in a frame, shadows, curl, covered boxes, capture
quality, and multi-marks on photos (ocr.align, ocr.shading, ocr.relocate, ocr.capture)."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import pytest

from ocr.align import align_with_markers, detect_markers
from ocr.capture import MAX_EDGE_MM, MIN_PX_PER_MM, edge_width_mm, px_per_mm_at
from ocr.ingest import PageImage
from ocr.marks import BubbleScore, MarksReading
from ocr.pipeline import (
    MULTI_MARK_DETAIL,
    NOT_FOUND_DETAIL,
    PHOTO_MULTI_MARK_CONFIDENCE,
    RETAKE_DETAIL,
    AnswerRead,
    TemplatePage,
    distrust_photo_multi_marks,
    read_page,
)
from ocr.regions import blank_box, register_blank, warp_box
from ocr.relocate import locate_boxes
from ocr.shading import UNEVEN_AT, measure_paper
from simulation.bench_worksheet import DPI, build_worksheet, template_of
from simulation.camera import EASY, photograph
from tests.support.recognizers import KeepsInks

S = DPI / 72


@lru_cache(maxsize=1)
def _sheet() -> tuple[TemplatePage, np.ndarray]:
    """(the mixed benchmark page's template, its printed page at 200 dpi)."""
    layout, printed, blank, _ = build_worksheet()
    return template_of(layout, blank), printed


def _read(image: np.ndarray) -> Any:
    template, _ = _sheet()
    return read_page(PageImage(0, image, DPI, "raster"), lambda code: template, KeepsInks())


def _written(template: TemplatePage) -> list[int]:
    return [i for i, r in enumerate(template.regions) if not r.bubbles]


def _frame(page: np.ndarray, scale: float = 0.6) -> np.ndarray:
    """The page small in the middle of a dark, larger frame: a photo's geometry."""
    small = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    out = np.full((int(h * 1.5), int(w * 1.5)), 70, np.uint8)
    out[h // 4:h // 4 + h, w // 4:w // 4 + w] = small
    return out


def test_markers_are_found_anywhere_in_a_photo_frame() -> None:
    template, printed = _sheet()
    photo = photograph(printed, DPI, np.random.default_rng(3), EASY)
    found = detect_markers(photo)
    assert sorted(found) == sorted(m for m, _ in template.markers)
    alignment = align_with_markers(photo, template.markers)
    assert alignment is not None
    assert alignment.ok
    assert alignment.method == "markers"


def test_a_shadow_across_the_page_is_paper_not_ink() -> None:
    _template, printed = _sheet()
    h, w = printed.shape
    # A hand's soft shadow over the right 60% of the page, 45% as bright as the rest.
    ramp = np.clip((np.arange(w) - 0.4 * w) / (0.05 * w), 0, 1)
    light = 1.0 - 0.55 * np.tile(ramp, (h, 1))
    shadowed = np.clip(printed.astype(np.float32) * light, 0, 255).astype(np.uint8)
    read = _read(_frame(shadowed, 0.8))
    assert read.status == "read"
    assert read.capture is not None
    assert read.capture.uneven > UNEVEN_AT
    # Nothing was written or marked: every box is blank, every choice unmarked.
    assert {a.status for a in read.answers} == {"blank"}
    assert all(a.marks is None or not a.marks.marked for a in read.answers)


def _curl(page: np.ndarray, lift_mm: float) -> np.ndarray:
    """Shift the middle of the page down by up to ``lift_mm``, smoothly, leaving its top and
    bottom (and the markers there) in place: a bulge the homography cannot follow."""
    h, w = page.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    shift = lift_mm / 25.4 * DPI * np.exp(-(((ys - 0.5 * h) / (0.15 * h)) ** 2))
    return cv2.remap(page, xs, ys - shift, cv2.INTER_LINEAR, borderValue=255)


def _middle(template: TemplatePage) -> int:
    """The written box nearest the page's middle (where ``_curl`` moves most)."""
    mid = template.blank.shape[0] / template.blank_px_per_pt / 2
    return min(_written(template),
               key=lambda k: abs((template.regions[k].box[1] + template.regions[k].box[3]) / 2
                                 - mid))


def test_curled_boxes_are_found_again_and_read_clean() -> None:
    template, printed = _sheet()
    curled = _curl(printed, 2.0)
    photo = _frame(curled, 0.8)
    read = _read(photo)
    assert read.status == "read"
    # The border sliding into the crops would read as ink: every box stays blank.
    assert [a.status for a in read.answers] == ["blank"] * len(read.answers)
    # And the box in the middle was found where the curl moved it.
    assert read.alignment is not None
    fits = locate_boxes(photo, read.alignment.matrix(), [r.box for r in template.regions],
                        template.blank, template.blank_px_per_pt,
                        bordered=[not r.bubbles for r in template.regions])
    fit = fits[_middle(template)]
    box = template.regions[_middle(template)].box
    centre_px = (box[1] + box[3]) / 2 * S
    h = printed.shape[0]
    moved_pt = 2.0 / 25.4 * 72 * np.exp(-(((centre_px - 0.5 * h) / (0.15 * h)) ** 2))
    assert fit.found
    assert fit.dy_pt == pytest.approx(moved_pt, abs=0.5)


def test_a_written_answer_in_a_curled_box_is_read_without_the_border() -> None:
    template, printed = _sheet()
    i = _middle(template)
    x0, _y0, _x1, y1 = (int(v * S) for v in template.regions[i].box)
    page = printed.copy()
    cv2.putText(page, "85", (x0 + 20, y1 - 12), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 30, 4)
    reader = KeepsInks()
    read_page(PageImage(0, _frame(_curl(page, 2.0), 0.8), DPI, "raster"), lambda code: template, reader)
    assert len(reader.inks) == 1
    ink = reader.inks[0]
    # No printed line survives in the ink: no dark row or column spans the crop.
    dark = ink < 128
    assert dark.mean(axis=1).max() < 0.5
    assert dark.mean(axis=0).max() < 0.5


def test_a_covered_box_goes_to_review_with_the_reason() -> None:
    template, printed = _sheet()
    i = _written(template)[3]
    x0, y0, x1, y1 = (int(v * S) for v in template.regions[i].box)
    covered = printed.copy()
    # A thumb over the box: a large grey blob hides the border.
    cv2.ellipse(covered, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2 + 30, (y1 - y0) // 2 + 12),
                0, 0, 360, 120, -1)
    read = _read(_frame(_curl(covered, 1.0), 0.8))
    answer = read.answers[i]
    assert answer.status == "misaligned"
    assert answer.detail == NOT_FOUND_DETAIL
    others = [a for k, a in enumerate(read.answers) if k != i]
    assert [a.status for a in others] == ["blank"] * len(others)


def test_a_page_too_small_in_the_photo_is_asked_for_again() -> None:
    _, printed = _sheet()
    # About 3.5 pixels a millimetre where the answer boxes are: below the floor.
    read = _read(_frame(printed, 0.45))
    assert read.status == "retake"
    assert read.capture is not None
    assert read.capture.retake == "low_resolution"
    assert read.capture.px_per_mm < MIN_PX_PER_MM
    assert {a.status for a in read.answers} == {"unreadable"}
    assert {a.detail for a in read.answers} == {RETAKE_DETAIL["low_resolution"]}


def test_blur_widens_the_printed_edges_past_the_floor() -> None:
    template, printed = _sheet()
    region = template.regions[_written(template)[0]]
    identity = np.diag([S, S, 1.0])
    blank = blank_box(template.blank, template.blank_px_per_pt, region.box)

    def width(img: np.ndarray) -> float:
        crop = warp_box(img, identity, region.box)
        value = edge_width_mm(crop, register_blank(crop, blank))
        assert value is not None
        return value

    sharp, soft = width(printed), width(cv2.GaussianBlur(printed, (0, 0), 6))
    assert sharp < MAX_EDGE_MM < soft


def test_resolution_is_the_homography_scale() -> None:
    assert px_per_mm_at(np.diag([S, S, 1.0]), (100, 100)) == pytest.approx(DPI / 25.4)


def test_paper_level_of_an_evenly_lit_scan_is_even() -> None:
    _, printed = _sheet()
    h, w = printed.shape
    paper = measure_paper(printed, np.diag([S, S, 1.0]), (w / S, h / S))
    assert not paper.flattens


def _choice(marked: tuple[str, ...], status: str = "ok") -> AnswerRead:
    scores = tuple(BubbleScore(label, 0.9 if label in marked else 0.0, 0.0) for label in "ABCD")
    marks = MarksReading("ok" if marked else "blank", marked, len(marked) > 1, scores, 1.0)
    return AnswerRead("q1", 0, "choice", status, (0, 0, 1, 1), text="".join(marked),  # type: ignore[arg-type]
                      confidence=1.0, marks=marks)


def test_several_marks_on_a_photo_go_to_a_teacher() -> None:
    double, single, blank = _choice(("A", "C")), _choice(("B",)), _choice((), "blank")
    out = distrust_photo_multi_marks([double, single, blank])
    assert out[0].confidence == PHOTO_MULTI_MARK_CONFIDENCE
    assert out[0].detail == MULTI_MARK_DETAIL
    assert out[0].marks == double.marks
    assert out[1:] == [single, blank]


def test_a_flat_scan_is_cropped_as_before() -> None:
    _, printed = _sheet()
    read = _read(printed)
    assert read.status == "read"
    assert read.capture is not None
    assert not read.capture.photo
    assert not read.capture.retake
    assert replace(read.capture, px_per_mm=0).edge_mm < MAX_EDGE_MM


def test_a_photo_too_blurred_for_its_code_says_so() -> None:
    _, printed = _sheet()
    photo = photograph(printed, DPI, np.random.default_rng(5), EASY)
    blurred = _read(cv2.GaussianBlur(photo, (0, 0), 8))
    assert blurred.status == "no_code"
    assert blurred.capture is not None
    assert blurred.capture.retake == "blurred"
    # A sharp page without a code (a cover sheet) is not called blurred.
    x0, y0, x1, y1 = (int(v * S) for v in _qr_box())
    coverless = printed.copy()
    coverless[y0 - 10:y1 + 10, x0 - 10:x1 + 10] = 255
    plain = _read(coverless)
    assert plain.status == "no_code"
    assert plain.capture is None


def _qr_box() -> tuple[float, float, float, float]:
    layout, _, _, _ = build_worksheet()
    return layout.qr_box
