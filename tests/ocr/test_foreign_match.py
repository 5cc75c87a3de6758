"""Registering filled copies of a foreign worksheet to its blank (ocr.foreign.match)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ocr.foreign.blank import blank_model
from ocr.foreign.match import MAX_CONTRADICTED, measure_page, register_page
from ocr.identify import BLANK_INK_RATIO, ink_ratio
from simulation.teacher_sheets import TeacherSheet, teacher_sheet

DPI = 200.0
PX_PER_PT = DPI / 72.0
MM_PER_PT = 25.4 / 72.0


@lru_cache(maxsize=4)
def _sheet(seed: int) -> TeacherSheet:
    return teacher_sheet(seed, DPI)


def _scribble(page: np.ndarray, sheet: TeacherSheet, rng: np.random.Generator) -> None:
    """Pen strokes in every answer place (a child's writing, roughly)."""
    for place in sheet.places:
        x0, y0, x1, y1 = (v * PX_PER_PT for v in place.box)
        for _ in range(int(rng.integers(2, 6))):
            a = (int(rng.uniform(x0, x1)), int(rng.uniform(y0, y1)))
            b = (int(rng.uniform(x0, x1)), int(rng.uniform(y0, y1)))
            cv2.line(page, a, b, int(rng.integers(20, 90)), int(rng.integers(2, 5)))


def _tilted(page: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A perspective view of the page on a grey table (a tilted phone), and the map
    page pixels -> frame pixels."""
    h, w = page.shape
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    frame = (int(w * 1.3), int(h * 1.2))
    shift = np.array([0.12 * w, 0.08 * h], np.float32)
    jitter = rng.uniform(-0.04, 0.04, (4, 2)) * [w, h]
    dst = (src * 0.95 + shift + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(page, m, frame, borderValue=90)
    noise = rng.normal(0, 3, out.shape)
    return np.clip(out + noise, 0, 255).astype(np.uint8), m


def _error_mm(homography: np.ndarray, truth: np.ndarray, size_pt: tuple[float, float]) -> float:
    """Largest distance (mm of page) between two maps over a grid of page points."""
    xs, ys = np.meshgrid(np.linspace(20, size_pt[0] - 20, 6), np.linspace(20, size_pt[1] - 20, 8))
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2).astype(np.float64)
    got = cv2.perspectiveTransform(pts, homography).reshape(-1, 2)
    want = cv2.perspectiveTransform(pts, truth).reshape(-1, 2)
    # Pixels of this frame per point: the truth map's scale at the page's centre.
    c = np.array([[[size_pt[0] / 2, size_pt[1] / 2]], [[size_pt[0] / 2 + 1, size_pt[1] / 2]]])
    px_per_pt = float(np.linalg.norm(np.diff(cv2.perspectiveTransform(c, truth), axis=0)))
    return float(np.hypot(*(got - want).T).max()) / px_per_pt * MM_PER_PT


def test_filled_copy_turned_and_tilted_registers() -> None:
    sheet = _sheet(11)
    rng = np.random.default_rng(3)
    filled = sheet.image.copy()
    _scribble(filled, sheet, rng)
    photo, page_to_frame = _tilted(filled, rng)
    turned = np.ascontiguousarray(np.rot90(photo, 2))  # handed in upside down
    got = register_page(turned, sheet.image, PX_PER_PT)
    assert got.status == "registered", got.detail
    assert got.rotation == 180
    assert got.upright is not None
    assert got.upright.shape == photo.shape
    assert got.alignment is not None
    assert got.alignment.ok
    truth = page_to_frame @ np.diag([PX_PER_PT, PX_PER_PT, 1.0])
    size_pt = (sheet.image.shape[1] / PX_PER_PT, sheet.image.shape[0] / PX_PER_PT)
    assert _error_mm(got.alignment.matrix(), truth, size_pt) < 1.0


def test_quarter_turns_are_reported_like_identify_page() -> None:
    sheet = _sheet(11)
    for k in (1, 3):
        got = register_page(np.ascontiguousarray(np.rot90(sheet.image, k)), sheet.image,
                            PX_PER_PT)
        assert got.status == "registered", got.detail
        assert got.upright is not None
        # identify_page's convention: np.rot90(image, ((360 - rotation) % 360) // 90) is upright.
        assert ((360 - got.rotation) % 360) // 90 == (4 - k) % 4
        assert np.array_equal(got.upright, sheet.image)


def test_another_worksheet_in_the_same_style_is_not_this_page() -> None:
    other = _sheet(12).image.copy()
    _scribble(other, _sheet(12), np.random.default_rng(5))
    got = register_page(other, _sheet(11).image, PX_PER_PT)
    assert got.status == "not_this_page"
    assert got.alignment is None
    assert got.upright is None
    assert got.detail


def test_blank_paper_is_blank() -> None:
    rng = np.random.default_rng(7)
    paper = np.clip(rng.normal(245, 3, _sheet(11).image.shape), 0, 255).astype(np.uint8)
    got = register_page(paper, _sheet(11).image, PX_PER_PT)
    assert got.status == "blank"
    assert got.alignment is None


def test_next_weeks_sheet_from_the_same_template_is_not_this_page() -> None:
    # Same layout, headings and numbering; only the numbers differ.
    sibling = teacher_sheet(11, DPI, content_seed=99)
    page = sibling.image.copy()
    _scribble(page, sibling, np.random.default_rng(8))
    got = register_page(page, _sheet(11).image, PX_PER_PT)
    assert got.status == "not_this_page"
    assert got.alignment is None
    # Its numbers alone reject it (whatever share of patches matched): glyphs the blank
    # prints are missing from it, and from a filled copy of the blank none are.
    model = blank_model(_sheet(11).image, PX_PER_PT)
    other = measure_page(page, model).patches
    assert other is not None
    assert other.contradicted > MAX_CONTRADICTED
    copy = _sheet(11).image.copy()
    _scribble(copy, _sheet(11), np.random.default_rng(8))
    same = measure_page(copy, model).patches
    assert same is not None
    assert same.contradicted <= MAX_CONTRADICTED / 2


def test_a_copy_nobody_wrote_on_registers_even_when_lightly_printed() -> None:
    # Grey print on grey paper: no pixel as dark as ocr.identify counts as ink.
    sheet = _sheet(11)
    rng = np.random.default_rng(4)
    light = cv2.GaussianBlur(sheet.image.astype(np.float32), (0, 0), 0.8) * 0.4 + 135
    scan = np.clip(light + rng.normal(0, 2, light.shape), 0, 255).astype(np.uint8)
    assert ink_ratio(scan) < BLANK_INK_RATIO
    got = register_page(scan, sheet.image, PX_PER_PT)
    assert got.status == "registered", got.detail
    assert got.alignment is not None
    assert got.alignment.ok
