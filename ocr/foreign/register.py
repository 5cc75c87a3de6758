"""Register a foreign worksheet: propose its answer regions from a blank scan.

Teachers also hand out worksheets markbook did not print. From one blank scan (no markers,
no QR) this finds the places answers go — drawn boxes, answer underlines (____), rows
of choice bubbles, bracket pairs ``（    ）`` and the open space under a row of sums for
their 竖式 (:mod:`ocr.foreign.places`) — as a proposed layout in page points that the
teacher corrects and confirms. Filled copies are then registered to the blank by feature matching
(:func:`ocr.foreign.match.register_page`). Regions are numbered in reading order; reading
printed question numbers is left to the teacher's correction step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ocr.foreign.places import find_brackets, find_work_areas

__all__ = ["ProposedLayout", "ProposedRegion", "RegionKind", "propose_layout"]

MM_PER_PT = 25.4 / 72.0
RegionKind = Literal["box", "underline", "bubbles", "bracket", "work"]


@dataclass(frozen=True)
class ProposedRegion:
    """A place an answer goes.

    Attributes:
        number: 1-based position in reading order.
        kind: ``box`` (a drawn rectangle), ``underline`` (the box is the band above the
            line), ``bubbles`` (a row of choice circles), ``bracket`` (the space between a
            ``(`` and a ``)`` on a text line) or ``work`` (open space under a row of sums,
            for its 竖式; the box reaches down to the next print, at most 40 mm).
        box: (x0, y0, x1, y1) in points from the page's top-left.
        bubbles: for ``bubbles``, each bubble's box, left to right.
    """

    number: int
    kind: RegionKind
    box: tuple[float, float, float, float]
    bubbles: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class ProposedLayout:
    width_pt: float
    height_pt: float
    regions: tuple[ProposedRegion, ...]


def _ink(gray: np.ndarray) -> np.ndarray:
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                 31, 15)


def _boxes(ink: np.ndarray, px_per_mm: float) -> list[tuple[int, int, int, int]]:
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found: list[tuple[int, int, int, int]] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if not (8 * px_per_mm <= w <= 190 * px_per_mm and 6 * px_per_mm <= h <= 120 * px_per_mm):
            continue
        approx = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(approx) != 4 or not cv2.isContourConvex(approx):
            continue
        if cv2.contourArea(c) < 0.85 * w * h:  # not a rectangle outline
            continue
        inner = ink[y + h // 6: y + h - h // 6, x + w // 10: x + w - w // 10]
        if inner.size and inner.mean() / 255 > 0.08:  # full of print: a table cell or figure
            continue
        found.append((x, y, x + w, y + h))
    # A stroked outline yields an outer and an inner contour: keep the outer one.
    found.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    kept: list[tuple[int, int, int, int]] = []
    tol = 2.5 * px_per_mm
    for b in found:
        if not any(k[0] - tol <= b[0] and k[1] - tol <= b[1] and b[2] <= k[2] + tol
                   and b[3] <= k[3] + tol for k in kept):
            kept.append(b)
    return kept


def _underlines(ink: np.ndarray, px_per_mm: float, boxes: list[tuple[int, int, int, int]]
                ) -> list[tuple[int, int, int, int]]:
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (int(12 * px_per_mm), 1))
    lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
    n, _, stats, _ = cv2.connectedComponentsWithStats(lines)
    out = []
    for i in range(1, n):
        x, y, w, h = stats[i, :4]
        if h > 1.2 * px_per_mm or w > 170 * px_per_mm:
            continue
        tol = 2 * px_per_mm
        if any(b[0] - tol <= x and x + w <= b[2] + tol and b[1] - tol <= y <= b[3] + tol
               for b in boxes):
            continue  # an edge of a box, not an underline
        out.append((int(x), int(y - 8 * px_per_mm), int(x + w), int(y + h)))
    return out


def _bubbles(ink: np.ndarray, px_per_mm: float) -> list[tuple[int, int, int, int]]:
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if not (3 * px_per_mm <= w <= 9 * px_per_mm and 0.8 <= w / max(h, 1) <= 1.25):
            continue
        area = cv2.contourArea(c)
        perimeter = cv2.arcLength(c, True)
        if perimeter == 0 or 4 * np.pi * area / perimeter ** 2 < 0.75:
            continue
        found.append((x, y, x + w, y + h))
    found.sort(key=lambda b: -(b[2] - b[0]))
    kept: list[tuple[int, int, int, int]] = []
    for b in found:  # outer and inner contour of one circle
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        if not any(k[0] <= cx <= k[2] and k[1] <= cy <= k[3] for k in kept):
            kept.append(b)
    return kept


def _bubble_rows(bubbles: list[tuple[int, int, int, int]], px_per_mm: float
                 ) -> list[list[tuple[int, int, int, int]]]:
    rows: list[list[tuple[int, int, int, int]]] = []
    for b in sorted(bubbles, key=lambda b: (b[1], b[0])):
        cy = (b[1] + b[3]) / 2
        for row in rows:
            last = row[-1]
            if abs((last[1] + last[3]) / 2 - cy) < 2 * px_per_mm and \
                    0 < b[0] - last[2] < 8 * px_per_mm:
                row.append(b)
                break
        else:
            rows.append([b])
    return [sorted(r) for r in rows if len(r) >= 2]


def propose_layout(blank: np.ndarray, dpi: float) -> ProposedLayout:
    """Propose answer regions on a blank worksheet scan.

    Args:
        blank: the upright greyscale blank page.
        dpi: its resolution.

    Returns:
        The proposed regions in page points, numbered in reading order (top to bottom,
        then left to right within a line).
    """
    px_per_mm = dpi / 25.4
    to_pt = 72.0 / dpi
    ink = _ink(blank)
    boxes = _boxes(ink, px_per_mm)
    rows = _bubble_rows(_bubbles(ink, px_per_mm), px_per_mm)
    in_rows = [b for r in rows for b in r]
    boxes = [b for b in boxes if not any(b[0] <= (c[0] + c[2]) / 2 <= b[2]
                                         and b[1] <= (c[1] + c[3]) / 2 <= b[3]
                                         for c in in_rows)]
    lines = _underlines(ink, px_per_mm, boxes)
    brackets = find_brackets(ink, px_per_mm)
    work = find_work_areas(ink, px_per_mm, boxes + lines + brackets + in_rows)

    def pt(b: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        return (b[0] * to_pt, b[1] * to_pt, b[2] * to_pt, b[3] * to_pt)

    items: list[tuple[RegionKind, tuple[float, float, float, float],
                      tuple[tuple[float, float, float, float], ...]]] = []
    items += [("box", pt(b), ()) for b in boxes]
    items += [("underline", pt(b), ()) for b in lines]
    items += [("bracket", pt(b), ()) for b in brackets]
    items += [("work", pt(b), ()) for b in work]
    for r in rows:
        x0, y0 = min(b[0] for b in r), min(b[1] for b in r)
        x1, y1 = max(b[2] for b in r), max(b[3] for b in r)
        items.append(("bubbles", pt((x0, y0, x1, y1)), tuple(pt(b) for b in r)))
    line_h = 6 / MM_PER_PT  # items within 6 mm vertically share a line
    items.sort(key=lambda it: (round(it[1][1] / line_h), it[1][0]))
    h, w = blank.shape[:2]
    regions = tuple(ProposedRegion(i, kind, box, bubbles)
                    for i, (kind, box, bubbles) in enumerate(items, start=1))
    return ProposedLayout(w * to_pt, h * to_pt, regions)
