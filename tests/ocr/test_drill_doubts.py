"""Ink around a drill answer area that the reader could not see (ocr.drill.doubts)."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.drill.doubts import cut_off, faint_beyond, printed_digits, small_marks, written_box

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


def test_a_lone_blot_of_ink_is_not_blank() -> None:
    """Two digits written a fifth of the print's height join into one blot, shorter than
    a fifth of a character: it holds a stroke's worth of ink, which no speck does."""
    page = _page()
    page[150:156, 300:306] = 20  # 6 px: 0.15 of a character, 36 px of ink
    assert small_marks(page, AREA, CH)
    speck = _page()
    speck[150:152, 300:302] = 20
    assert not small_marks(speck, AREA, CH)


def _printed(text: str) -> tuple[np.ndarray, int, int]:
    """A page with ``text`` printed (caps about 23 px tall); the ``=``'s x and centre y."""
    page = np.full((120, 600), 235, np.uint8)
    cv2.putText(page, text, (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    ink = np.nonzero((page < 128).any(axis=0))[0]
    return page, int(ink[-1]) + 1, 59


def test_printed_digits_counts_the_print_left_of_the_equals() -> None:
    page, eq, cy = _printed("10 + 13 =")
    ch = 23
    box = (20, int(cy - 0.6 * ch), eq, int(cy + 0.6 * ch))
    assert printed_digits(page, box) == 4
    # The box begins after a digit the reader dropped ("0+13"): the digit still counts.
    assert printed_digits(page, (45, box[1], eq, box[3])) == 4
    page, eq, cy = _printed("7 x 8 =")
    assert printed_digits(page, (20, int(cy - 0.6 * ch), eq, int(cy + 0.6 * ch))) == 2


def test_the_next_items_rule_beside_the_area_is_not_writing() -> None:
    page = _page()
    _digit(page, "1064", 230, 170, 1.2, 3)
    page[100:104, 130:190] = 20  # the left neighbour's rule, 4 px thick, in the margin
    assert not cut_off(page, AREA, CH, left=3.0, right=1.0, below=1.0)
    page[120:170, 150:156] = 20  # a written 1 left of the area is still cut off
    assert cut_off(page, AREA, CH, left=3.0, right=1.0, below=1.0)
