"""Reasons to doubt a drill answer's reading that the reader itself cannot see: ink in or
around its answer area that the area (or the reader's stroke size) left out.

The answer area is cut from the page by the item's layout; a child does not know where it
is. A column answer (竖式) written wider than the rule runs past the area's left edge and is
read with digits lost; an answer written very small is below the stroke size and reads
``blank``. Both would be graded automatically, and wrongly. These checks look at the ink
around the area, so the service can send such items to a teacher instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr.reading.preprocess import ink_map, to_gray

__all__ = ["cut_off", "faint_beyond", "small_marks", "written_box"]

Box = tuple[int, int, int, int]
# The reader's ink threshold and stroke size (ocr.drill.answers.answer_crop).
_INK = 0.18
_STROKE_EXTENT = 0.3
# Marks this big are no copier speck: a small answer, or the start of one.
_MARK_EXTENT = 0.12
_MARK_AREA = 0.05


def _components(gray: np.ndarray, box: Box) -> tuple[np.ndarray, int, int]:
    x0, y0, x1, y1 = box
    crop = gray[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
    if crop.size == 0:
        return np.zeros((0, 5), np.int32), max(0, x0), max(0, y0)
    ink = (ink_map(crop) > _INK).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    return stats[1:], max(0, x0), max(0, y0)


def _strokes(gray: np.ndarray, box: Box, char_h: float) -> list[Box]:
    stats, ox, oy = _components(gray, box)
    out = []
    for x, y, w, h, area in stats:
        if area >= max(6.0, (0.12 * char_h) ** 2) and max(w, h) >= _STROKE_EXTENT * char_h:
            out.append((ox + int(x), oy + int(y), ox + int(x + w), oy + int(y + h)))
    return out


def written_box(image: np.ndarray, area: Box, char_h: float) -> Box:
    """Where the answer is written inside its area (stroke-sized ink, as the reader
    counts it); the area's first two character widths when nothing is written."""
    x0, y0, x1, y1 = area
    strokes = _strokes(to_gray(image), area, char_h)
    if not strokes:
        return (x0, y0, min(x1, x0 + int(2 * char_h)), y1)
    return (min(s[0] for s in strokes), min(s[1] for s in strokes),
            max(s[2] for s in strokes), max(s[3] for s in strokes))


def _marks(gray: np.ndarray, box: Box, char_h: float) -> list[Box]:
    stats, ox, oy = _components(gray, box)
    return [(ox + int(x), oy + int(y), ox + int(x + w), oy + int(y + h))
            for x, y, w, h, area in stats
            if max(w, h) >= _MARK_EXTENT * char_h and area >= (_MARK_AREA * char_h) ** 2]


def faint_beyond(image: np.ndarray, area: Box, char_h: float) -> bool:
    """Whether marks too small or too faint for the reader's stroke size lie beside what
    it read (a digit written with a light, broken stroke on a binarised scan): the
    reading may have lost it."""
    gray = to_gray(image)
    strokes = _strokes(gray, area, char_h)
    if not strokes:
        return False
    x0, x1 = min(s[0] for s in strokes), max(s[2] for s in strokes)
    gap = 0.05 * char_h
    beside = [m for m in _marks(gray, area, char_h) if m[2] < x0 - gap or m[0] > x1 + gap]
    return len(beside) >= 2 or any(max(m[2] - m[0], m[3] - m[1]) >= 0.2 * char_h
                                   for m in beside)


def small_marks(image: np.ndarray, area: Box, char_h: float) -> bool:
    """Whether an answer area the reader found blank holds marks too big for a speck:
    an answer written under the stroke size."""
    stats, _, _ = _components(to_gray(image), area)
    marks = [s for s in stats
             if max(s[2], s[3]) >= _MARK_EXTENT * char_h and s[4] >= (_MARK_AREA * char_h) ** 2]
    return len(marks) >= 2 or any(max(s[2], s[3]) >= 0.2 * char_h for s in marks)


def cut_off(image: np.ndarray, area: Box, char_h: float, *, left: float, right: float,
            below: float) -> bool:
    """Whether handwriting crosses the area's left, right or bottom edge, or lies just
    outside it (within ``left``/``right``/``below`` character heights): the reader saw
    part of the answer, or none of it.

    Args:
        image: The page.
        area: The answer area.
        char_h: Printed character height in pixels.
        left, right, below: How far outside each edge to look, in character heights.
    """
    gray = to_gray(image)
    h, w = gray.shape[:2]
    x0, y0, x1, y1 = area
    around = (max(0, int(x0 - left * char_h)), y0, min(w, int(x1 + right * char_h)),
              min(h, int(y1 + below * char_h)))
    for sx0, _, sx1, sy1 in _strokes(gray, around, char_h):
        if sx0 < x0 - 1 or sx1 > x1 + 1 or sy1 > y1 + 1:
            return True
    return False
