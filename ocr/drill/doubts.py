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

__all__ = ["cut_off", "faint_beyond", "printed_digits", "small_marks", "written_box"]

Box = tuple[int, int, int, int]
# The reader's ink threshold and stroke size (ocr.drill.answers.answer_crop).
_INK = 0.18
_STROKE_EXTENT = 0.3
# Marks this big are no copier speck: a small answer, or the start of one.
_MARK_EXTENT = 0.12
_MARK_AREA = 0.05
# A lone mark with this much ink (side of a square, in character heights) is writing.
_BLOT = 0.08
# A printed rule is no thicker than this (character heights).
_BAR = 0.12


def _components(gray: np.ndarray, box: Box) -> tuple[np.ndarray, int, int]:
    x0, y0, x1, y1 = box
    crop = gray[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
    if crop.size == 0:
        return np.zeros((0, 5), np.int32), max(0, x0), max(0, y0)
    ink = (ink_map(crop) > _INK).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    return stats[1:], max(0, x0), max(0, y0)


def _strokes(stats: np.ndarray, ox: int, oy: int, char_h: float) -> list[Box]:
    """The stroke-sized components of an area (``_components``' output), in page pixels."""
    out = []
    for x, y, w, h, area in stats:
        if area >= max(6.0, (0.12 * char_h) ** 2) and max(w, h) >= _STROKE_EXTENT * char_h:
            out.append((ox + int(x), oy + int(y), ox + int(x + w), oy + int(y + h)))
    return out


def written_box(image: np.ndarray, area: Box, char_h: float) -> Box:
    """Where the answer is written inside its area (stroke-sized ink, as the reader
    counts it); the area's first two character widths when nothing is written."""
    x0, y0, x1, y1 = area
    strokes = _strokes(*_components(to_gray(image), area), char_h)
    if not strokes:
        return (x0, y0, min(x1, x0 + int(2 * char_h)), y1)
    return (min(s[0] for s in strokes), min(s[1] for s in strokes),
            max(s[2] for s in strokes), max(s[3] for s in strokes))


def _marks(stats: np.ndarray, ox: int, oy: int, char_h: float) -> list[Box]:
    """The components of an area too big for a speck, in page pixels."""
    return [(ox + int(x), oy + int(y), ox + int(x + w), oy + int(y + h))
            for x, y, w, h, area in stats
            if max(w, h) >= _MARK_EXTENT * char_h and area >= (_MARK_AREA * char_h) ** 2]


def faint_beyond(image: np.ndarray, area: Box, char_h: float) -> bool:
    """Whether marks too small or too faint for the reader's stroke size lie beside what
    it read (a digit written with a light, broken stroke on a binarised scan): the
    reading may have lost it."""
    # One labelling of the area serves both sizes of mark.
    stats, ox, oy = _components(to_gray(image), area)
    strokes = _strokes(stats, ox, oy, char_h)
    if not strokes:
        return False
    x0, x1 = min(s[0] for s in strokes), max(s[2] for s in strokes)
    gap = 0.05 * char_h
    beside = [m for m in _marks(stats, ox, oy, char_h) if m[2] < x0 - gap or m[0] > x1 + gap]
    return len(beside) >= 2 or any(max(m[2] - m[0], m[3] - m[1]) >= 0.2 * char_h
                                   for m in beside)


def small_marks(image: np.ndarray, area: Box, char_h: float) -> bool:
    """Whether an answer area the reader found blank holds marks too big for a speck:
    an answer written under the stroke size."""
    stats, _, _ = _components(to_gray(image), area)
    marks = [s for s in stats
             if max(s[2], s[3]) >= _MARK_EXTENT * char_h and s[4] >= (_MARK_AREA * char_h) ** 2]
    # One mark is enough when it is long or holds a stroke's worth of ink: a digit pair
    # written a fifth of the print's height joins into one such blot (copier specks on
    # the calib pages were at most a tenth of the height and 4 pixels).
    return len(marks) >= 2 or any(max(s[2], s[3]) >= 0.2 * char_h
                                  or s[4] >= (_BLOT * char_h) ** 2 for s in marks)


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
    for sx0, sy0, sx1, sy1 in _strokes(*_components(gray, around), char_h):
        if sy1 - sy0 <= _BAR * char_h and sx1 - sx0 >= 4 * (sy1 - sy0):
            # A thin bar: the end of the next item's printed rule (on a skewed page it
            # reaches the area's top corner), not writing.
            continue
        if sx0 < x0 - 1 or sx1 > x1 + 1 or sy1 > y1 + 1:
            return True
    return False


def printed_digits(image: np.ndarray, expression_box: Box) -> int | None:
    """How many printed digits stand in a horizontal item's expression, counted in the
    pixels; None when the print cannot be made out.

    The expression reader can drop a printed digit (``10+13`` read ``0+13``) or take in a
    handwritten one without a weak character to show for it, so the grader holds a wrong
    answer that is right for such a neighbour of the expression
    (``grading.drill.right_for_neighbour``). When the print shows exactly as many digits
    as were read, neither happened. Digits are the marks of the print's height standing on
    the ``=``'s centre line (``+ - × ÷ =`` are shorter; handwriting, even a small answer of
    the item before, rarely has the print's height and line), from the ``=`` leftwards
    until a gap wider than two characters, so a digit dropped left of the box counts too.
    Touching digits count by their width.

    Args:
        image: The page, upright.
        expression_box: The expression and its ``=``: ``(x0, cy - 0.6 ch, x_of_=, cy +
            0.6 ch)`` as the item finder gives it.
    """
    gray = to_gray(image)
    x0, y0, x1, y1 = expression_box
    ch = (y1 - y0) / 1.2
    if ch < 4:
        return None
    cy = (y0 + y1) / 2
    h, w = gray.shape[:2]
    top, left = max(0, int(cy - 1.5 * ch)), max(0, int(x0 - 6 * ch))
    crop = gray[top:min(h, int(cy + 1.5 * ch)), left:min(w, x1)]
    if crop.size == 0:
        return None
    ink = (ink_map(crop) > 0.4).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    marks = sorted((s for s in stats[1:] if s[4] >= 4), key=lambda s: -(s[0] + s[2]))
    digits: list[np.ndarray] = []
    edge = float(x1 - left)
    for s in marks:
        if s[0] + s[2] < edge - 2.0 * ch:
            break  # the gap before the expression: what lies further left is not its
        edge = min(edge, float(s[0]))
        mid = top + s[1] + s[3] / 2
        if 0.75 * ch <= s[3] <= 1.3 * ch and abs(mid - cy) <= 0.3 * ch:
            digits.append(s)
    if not digits:
        return None
    pitch = float(np.median([s[2] for s in digits if s[2] >= 0.4 * ch] or [0.55 * ch]))
    return sum(max(1, round(float(s[2]) / pitch)) for s in digits)
