"""Answer places without a drawn border: brackets ``（    ）`` and 竖式 work areas.

Chinese worksheets put many answers between a pair of brackets on the text line ("7 × 8 =
（    ）", "答案是（  ）") and leave open space under a row of sums for the 竖式 (column
arithmetic) written there. Neither has a rectangle or a line to find, so they are found
by their shape on the ink mask of a blank page (:func:`ocr.foreign.register._ink`):

- **brackets**: a ``(`` and a ``)`` (tall thin glyphs, the open one bowed left, the close
  one bowed right) of about the same height on one text line, far enough apart to write
  in, with nothing printed between them. The place is the space between them;
- **work areas**: a text line of two to four separate items (sums) with at least
  ``WORK_GAP_MM`` of empty paper below it: each item's column of that space, down to the
  next print or ``WORK_DEPTH_MM``.

Both are proposals: the teacher confirms, moves or deletes them.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["WORK_DEPTH_MM", "WORK_GAP_MM", "find_brackets", "find_work_areas"]

PxBox = tuple[int, int, int, int]
# Bracket glyphs: height (mm) of a 9-16 pt bracket, and thinness.
_PAREN_H_MM = (2.5, 7.0)
_PAREN_ASPECT = 0.5
# A bracket pair encloses at least this many times its height of writing space...
_MIN_INNER = 1.2
# ...and at most this much (mm).
_MAX_INNER_MM = 90.0
# Empty paper (mm) below a row of sums that makes it a 竖式 row, and the most proposed.
WORK_GAP_MM = 18.0
WORK_DEPTH_MM = 40.0
# Items of one text line are separated by at least this gap (mm).
_ITEM_GAP_MM = 8.0
# Smaller dark specks (mm²) are noise, not print: a noisy scan clusters its lone dark
# pixels into specks of up to ~0.15 mm² (7 px at 200 dpi; one such speck under a 竖式
# row hid its space on a calibration blank). A decimal point (~0.2 mm²) is dropped too,
# at no cost: it never stands alone on a line or between brackets.
_SPECK_MM2 = 0.3


def _solid(ink: np.ndarray, px_per_mm: float
           ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """The ink mask without scanner specks (lone dark pixels on empty paper are no
    print), with its connected components (count, labels, stats)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    solid = stats[:, cv2.CC_STAT_AREA] >= _SPECK_MM2 * px_per_mm ** 2
    solid[0] = False
    return solid[labels], n, labels, stats


def _bow(component: np.ndarray) -> float:
    """How a thin glyph bows: > 0 when its middle lies left of its ends (an open
    bracket), < 0 when right of them (a close bracket), in widths of the glyph."""
    h, w = component.shape
    cols = np.arange(w, dtype=np.float64)

    def centre(rows: np.ndarray) -> float:
        weights = rows.sum(axis=0).astype(np.float64)
        return float((weights * cols).sum() / weights.sum()) if weights.sum() else np.nan

    band = max(1, h // 5)
    ends = np.nanmean([centre(component[:band]), centre(component[h - band:])])
    middle = centre(component[h // 2 - band // 2: h // 2 + band // 2 + 1])
    return float((ends - middle) / max(w, 1))


def find_brackets(ink: np.ndarray, px_per_mm: float) -> list[PxBox]:
    """The writing spaces between bracket pairs on a blank's ink mask (uint8, 255 ink).

    Returns:
        (x0, y0, x1, y1) pixel boxes, one per pair.
    """
    mask, n, labels, stats = _solid(ink, px_per_mm)
    opens: list[tuple[int, int, int, int]] = []
    closes: list[tuple[int, int, int, int]] = []
    lo, hi = (v * px_per_mm for v in _PAREN_H_MM)
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if not (lo <= h <= hi and w <= _PAREN_ASPECT * h and w >= 2):
            continue
        bow = _bow(labels[y:y + h, x:x + w] == i)
        if bow > 0.15:
            opens.append((x, y, w, h))
        elif bow < -0.15:
            closes.append((x, y, w, h))
    out: list[PxBox] = []
    used: set[int] = set()
    for ox, oy, ow, oh in sorted(opens):
        best = None
        for j, (cx, cy, _cw, ch) in enumerate(closes):
            if j in used or cx <= ox + ow:
                continue
            if abs((cy + ch / 2) - (oy + oh / 2)) > 0.3 * oh or not 0.7 <= ch / oh <= 1.4:
                continue
            if best is None or cx < closes[best][0]:
                best = j
        if best is None:
            continue
        cx, cy, _cw, ch = closes[best]
        x0, x1 = ox + ow, cx
        y0, y1 = min(oy, cy), max(oy + oh, cy + ch)
        if x1 - x0 < _MIN_INNER * oh or x1 - x0 > _MAX_INNER_MM * px_per_mm:
            continue
        inside = mask[y0:y1, x0 + 1:x1 - 1]
        if inside.size and inside.mean() > 0.01:  # print between: not an answer place
            continue
        used.add(best)
        pad = int(0.1 * oh)
        out.append((x0, y0 - pad, x1, y1 + pad))
    return out


def _runs(profile: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """Runs of True in ``profile`` (start, end exclusive), gaps under ``min_gap`` closed."""
    runs: list[tuple[int, int]] = []
    idx = np.flatnonzero(profile)
    if not idx.size:
        return runs
    start = prev = int(idx[0])
    for i in idx[1:]:
        if i - prev > min_gap:
            runs.append((start, prev + 1))
            start = int(i)
        prev = int(i)
    runs.append((start, prev + 1))
    return runs


def find_work_areas(ink: np.ndarray, px_per_mm: float, taken: list[PxBox]) -> list[PxBox]:
    """Open space under rows of two to four sums (竖式 rows) on a blank's ink mask.

    Args:
        ink: the blank's ink mask (uint8, 255 ink).
        px_per_mm: its resolution.
        taken: places already found (boxes, lines, brackets): their print is no sum.

    Returns:
        (x0, y0, x1, y1) pixel boxes, one per item of each such row.
    """
    h, w = ink.shape
    mask = _solid(ink, px_per_mm)[0]
    rows = _runs(np.asarray(mask.any(axis=1)), int(1.0 * px_per_mm))
    out: list[PxBox] = []
    gap = int(WORK_GAP_MM * px_per_mm)
    margin = int(10 * px_per_mm)
    for i, (top, bottom) in enumerate(rows):
        below = rows[i + 1][0] if i + 1 < len(rows) else h - margin
        if below - bottom < gap or bottom - top > 10 * px_per_mm:
            continue
        if any(b[1] <= bottom and b[3] >= top for b in taken):
            continue  # the line holds answer places already: questions, not a 竖式 row
        items = _runs(np.asarray(mask[top:bottom].any(axis=0)), int(_ITEM_GAP_MM * px_per_mm))
        if not 2 <= len(items) <= 4:
            continue
        depth = min(below - int(2 * px_per_mm), bottom + int(WORK_DEPTH_MM * px_per_mm))
        for k, (x0, _) in enumerate(items):
            x1 = items[k + 1][0] - int(4 * px_per_mm) if k + 1 < len(items) else \
                max(x0 + 1, w - margin)
            out.append((x0, bottom + int(2 * px_per_mm), x1, depth))
    return out
