"""Ink around a drill answer area that the reader could not see (ocr.drill.doubts)."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.drill.doubts import cut_off, faint_beyond, small_marks, written_box

CH = 40  # printed character height, pixels
AREA = (200, 100, 500, 220)


def _page() -> np.ndarray:
    return np.full((400, 800), 235, np.uint8)


def _digit(page: np.ndarray, text: str, x: int, y: int, scale: float, thick: int) -> None:
    cv2.putText(page, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 20, thick, cv2.LINE_AA)


def test_written_box_is_the_ink_and_a_blank_area_its_start() -> None:
    page = _page()
    _digit(page, "85", 260, 180, 1.6, 4)
    x0, _, x1, _ = written_box(page, AREA, CH)
    assert 250 <= x0 <= 270
    assert x1 < 340
    assert written_box(_page(), AREA, CH) == (200, 100, 280, 220)


def test_a_tiny_answer_is_not_blank_but_specks_are() -> None:
    page = _page()
    _digit(page, "59", 230, 170, 0.35, 1)  # ~9 px tall: under the stroke size
    assert small_marks(page, AREA, CH)
    specks = _page()
    rng = np.random.default_rng(0)
    for _ in range(40):
        specks[rng.integers(100, 220), rng.integers(200, 500)] = 30
    assert not small_marks(specks, AREA, CH)


def test_handwriting_across_the_left_edge_is_cut_off() -> None:
    page = _page()
    _digit(page, "734", 150, 190, 1.8, 4)  # starts left of the area
    assert cut_off(page, AREA, CH, left=3.0, right=1.0, below=1.0)
    inside = _page()
    _digit(inside, "73", 260, 190, 1.8, 4)
    assert not cut_off(inside, AREA, CH, left=3.0, right=1.0, below=1.0)


def test_a_faint_digit_beside_the_read_ones_is_doubted() -> None:
    page = _page()
    _digit(page, "50", 230, 190, 1.6, 4)
    _digit(page, "8", 330, 190, 0.45, 1)  # small and thin: under the stroke size
    assert faint_beyond(page, AREA, CH)
    clean = _page()
    _digit(clean, "508", 230, 190, 1.6, 4)
    assert not faint_beyond(clean, AREA, CH)
