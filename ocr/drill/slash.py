"""Whether a printed drill expression read with a ``1`` can hold no hidden fraction bar.

At a detected line's height the recogniser reads a printed ``/`` as ``1`` or drops it, so
``ocr.drill.items`` re-reads such expressions from a crop at the print's own height. Most
expressions read with a ``1`` are whole numbers (``15+27``); this check looks at the print's
ink and says when none of its marks can be a fraction bar, so their re-read can be skipped.

It answers True only when every sign agrees: the print's character-sized ink marks are
exactly as many as the digits read (a dropped bar is a mark of its own); no mark is taller
than a digit (a Zen Hei or Kai ``/`` is); each mark read as ``1``, and any mark that is a
single stroke, stands upright (a printed ``/`` leans 20-30 degrees); no other mark is as
thin as a stroke (a bar read as another digit) or as wide as a digit and a bar (a bar run
into its neighbour by blur); and digits of one number sit a character's advance apart.
Anything else (brackets, decimals, handwriting reaching into the band) keeps the re-read.
Measured on made prints (``tests/ocr/test_drill_slash.py``: the three faces, 200-300 dpi,
skew, blur, noise, JPEG) in digit heights: digits 0.94-1.06 tall, 0.58-0.80 wide, rows
spanning 0.54 or more; a ``1`` leans at most 0.12; a ``/`` leans 0.33-0.50, spans at most
0.23 a row and is 0.95-1.03 tall in Micro Hei, 1.17-1.54 in Zen Hei and Kai; digits of a
number 0.68-0.91 apart.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from ocr.reading.preprocess import ink_map

__all__ = ["no_hidden_slash"]

# Band around the print's centre line, in print heights (digits fill about 1.0 of it).
_BAND = 0.8
# Marks at least this tall (print heights) are looked at: digits, slashes, + and ×.
_MARK = 0.6
# Those at least this tall (digit heights) are characters: digits and slashes (a + or × is
# 0.78-0.85 of a digit), and those lower must be about as wide as tall, like + and ×.
# Heights and widths below are in digit heights (the marks' lower median).
_TALL = 0.9
_SQUARE = 0.6
# Widest single digit (0.80) and narrowest digit other than 1 (0.58; a "1" is 0.34-0.74).
_WIDEST = 0.9
_THINNEST = 0.36
# A mark taller than this is no digit: a Zen Hei or Kai "/" (a Micro Hei one is as tall as
# a digit: its lean tells it, as it also tells the others).
_HIGHEST = 1.15
# A mark no row of which spans more than this is a single stroke: a "1" or a "/" (every
# other digit has a bar, a bowl or two strokes side by side somewhere).
_STROKE = 0.45
# Steepest lean (see _lean) of an upright "1" (at most 0.12) against a "/" (0.33 or more).
_UPRIGHT = 0.2
# Widest distance between the centres of two digits of one number (0.91; one either side
# of a bar is about 1.5 apart, a digit and a bar run together and the next about 1.1).
_ADVANCE = 1.0
_OPERATORS = "+-×÷"


def no_hidden_slash(gray: np.ndarray, x0: float, x1: float, cy: float, ch: float,
                    chars: str) -> bool:
    """Whether the print between ``x0`` and ``x1`` surely holds no fraction bar.

    Args:
        gray: The page, grayscale.
        x0: Page x left of the expression's first character (with a margin).
        x1: Page x right of the expression (the ``=`` may be included: it is not tall).
        cy: Page y of the print's centre line.
        ch: Print height in pixels (a digit's).
        chars: The expression as the line reading gave it (no ``=``).

    Returns:
        True when no fraction bar can hide there; False when one may (or it is unclear).
    """
    return not _doubt(gray, x0, x1, cy, ch, chars)


def _doubt(gray: np.ndarray, x0: float, x1: float, cy: float, ch: float, chars: str) -> str:
    """Why a fraction bar may hide in the print ("" when none can)."""
    if not chars or any(not (c.isdigit() or c in _OPERATORS) for c in chars):
        return "characters"
    height, width = gray.shape[:2]
    bx0, bx1 = int(max(0, x0)), int(min(width, x1))
    by0, by1 = int(max(0, cy - _BAND * ch)), int(min(height, cy + _BAND * ch))
    if bx1 - bx0 < ch or by1 - by0 < 4:
        return "band"
    binary = (ink_map(gray[by0:by1, bx0:bx1]) > 0.3).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    bh, bw = binary.shape
    marks: list[int] = []
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        if area < 3:
            continue
        # Ink cut by the band's edge is not wholly seen: another line's handwriting or a
        # character the band did not take in.
        if x == 0 or y == 0 or y + h == bh or (x + w == bw and h >= _MARK * ch):
            return "edge"
        if h >= _MARK * ch:
            marks.append(k)
    if not marks:
        return "count"
    # The digits' own height: ``ch`` comes from one character, which a thin Kai stroke
    # may have broken. Digits are most of the marks (a fraction has at most one bar per
    # two digits, and + or × are lower), so the lower median is a digit's.
    digit_h = float(sorted(stats[k, 3] for k in marks)[(len(marks) - 1) // 2])
    tall = []
    for k in marks:
        w, h = int(stats[k, 2]), int(stats[k, 3])
        if h >= _TALL * digit_h:
            tall.append(k)
        elif w < _SQUARE * h:
            # Lower than a digit and narrow: no + or ×, maybe a broken bar.
            return "short"
    digits = [c for c in chars if c.isdigit()]
    if len(tall) != len(digits):
        return "count"
    ch = digit_h
    tall.sort(key=lambda k: stats[k, 0])
    centres = [float(stats[k, 0] + stats[k, 2] / 2) for k in tall]
    for k, digit in zip(tall, digits, strict=True):
        mark_w = float(stats[k, 2])
        if mark_w > _WIDEST * ch:
            return "wide"
        if stats[k, 3] > _HIGHEST * ch:
            return "high"
        # Any single stroke, whatever it was read as, and any "1" must stand upright.
        if (digit == "1" or _span(labels, stats, k) <= _STROKE * ch) and _lean(
                labels, stats, k) > _UPRIGHT:
            return "lean"
        if digit != "1" and mark_w < _THINNEST * ch:
            return "thin"
    # Neighbouring digits of one number are a character's advance apart.
    d = 0
    for a, b in pairwise(chars):
        if a.isdigit():
            if b.isdigit() and centres[d + 1] - centres[d] > _ADVANCE * ch:
                return "gap"
            d += 1
    return ""


def _span(labels: np.ndarray, stats: np.ndarray, k: int) -> float:
    """The widest horizontal extent of a mark's ink in any one row, in pixels."""
    x, y, w, h = (int(v) for v in stats[k, :4])
    mask = labels[y : y + h, x : x + w] == k
    cols = np.arange(w)[None, :]
    right = np.where(mask, cols, -1).max(axis=1)
    left = np.where(mask, cols, w).min(axis=1)
    return float((right - left + 1).max())


def _lean(labels: np.ndarray, stats: np.ndarray, k: int) -> float:
    """How far a mark leans: horizontal shift per row of its ink centre and of its right
    edge over its middle rows, the smaller (inf when it cannot be measured).

    A ``1``'s flag reaches left from its top and shifts the centre (0.22-0.30 in Zen Hei)
    but not the right edge; a ``/`` leans 0.33-0.50 by either measure.
    """
    x, y, w, h = (int(v) for v in stats[k, :4])
    mask = labels[y : y + h, x : x + w] == k
    rows = np.arange(h // 4, h - h // 4)
    sub = mask[rows]
    counts = sub.sum(axis=1)
    keep = counts > 0
    if keep.sum() < 3:
        return float("inf")
    cols = np.arange(w)[None, :]
    ys = rows[keep].astype(np.float64)
    centres = (sub * cols).sum(axis=1)[keep] / counts[keep]
    rights = np.where(sub, cols, -1).max(axis=1)[keep].astype(np.float64)
    return float(min(abs(np.polyfit(ys, centres, 1)[0]), abs(np.polyfit(ys, rights, 1)[0])))
