"""Marks: bubbles and ✓/✗ boxes filled, ticked, crossed or circled, with adaptive thresholds.

Each bubble is scored on the cleaned crop (printed circle and letter removed): ``fill`` is the
share of its inner disc covered by ink, ``ring`` the share of a band just outside it (a
circled option). A page's bubbles are judged together, so a faint copier or a soft pencil
moves the threshold with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["BubbleScore", "MarksReading", "decide_marks", "page_fill_threshold", "score_bubbles"]

Box = tuple[float, float, float, float]
DEFAULT_FILL_THRESHOLD = 0.18


@dataclass(frozen=True)
class BubbleScore:
    label: str
    fill: float
    ring: float


@dataclass(frozen=True)
class MarksReading:
    """The marks of one choice region.

    Attributes:
        status: ``ok`` (one or more marks read), ``blank`` (nothing marked) or
            ``ambiguous`` (a bubble near the threshold: ask a teacher).
        marked: labels read as marked, left to right.
        multiple: more than one bubble marked (a flag for single-choice questions).
        scores: per-bubble evidence.
        confidence: distance of the closest bubble from the threshold, mapped to 0.5-1.
    """

    status: Literal["ok", "blank", "ambiguous"]
    marked: tuple[str, ...]
    multiple: bool
    scores: tuple[BubbleScore, ...]
    confidence: float


def score_bubbles(ink: np.ndarray, bubbles: Sequence[tuple[str, Box]], *, origin_pt: tuple[
        float, float], px_per_pt: float, min_strength: int = 60,
        visible: np.ndarray | None = None) -> list[BubbleScore]:
    """Score each bubble of a cleaned region crop.

    Args:
        ink: the region's cleaned crop (see :func:`ocr.regions.remove_print`).
        bubbles: (label, box in page points) for each bubble.
        origin_pt: the page-space point at the crop's top-left pixel.
        px_per_pt: the crop's resolution.
        min_strength: ink strength that counts as a pen or pencil mark.
        visible: pixels not covered by print (see :func:`ocr.regions.printed_mask`);
            fills are shares of the visible part, so a printed ✗ or letter does not
            dilute a mark over it.
    """
    strength = 255 - ink.astype(np.int16)
    dark = strength >= min_strength
    seen = np.ones(dark.shape, bool) if visible is None else visible
    h, w = dark.shape
    out = []
    for label, (x0, y0, x1, y1) in bubbles:
        cx = ((x0 + x1) / 2 - origin_pt[0]) * px_per_pt
        cy = ((y0 + y1) / 2 - origin_pt[1]) * px_per_pt
        r = (x1 - x0) / 2 * px_per_pt
        # Only pixels within the ring's outer radius count: look at a window around the
        # bubble (a pixel's margin beyond that radius, so rounding cannot drop one), not
        # at the whole crop. Same pixels, same sums, same fills; a row of five bubbles
        # costs a fifth of the work.
        reach = 1.6 * abs(r)
        ya, yb = max(0, math.floor(cy - reach) - 1), min(h, math.ceil(cy + reach) + 2)
        xa, xb = max(0, math.floor(cx - reach) - 1), min(w, math.ceil(cx + reach) + 2)
        if ya >= yb or xa >= xb:
            out.append(BubbleScore(label, 0.0, 0.0))
            continue
        yy = np.arange(ya, yb)[:, None]
        xx = np.arange(xa, xb)[None, :]
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        win_dark, win_seen = dark[ya:yb, xa:xb], seen[ya:yb, xa:xb]
        inner = (d2 <= (0.8 * r) ** 2) & win_seen
        ring = (d2 >= (1.15 * r) ** 2) & (d2 <= (1.6 * r) ** 2) & win_seen
        out.append(BubbleScore(label, _share(win_dark, inner), _share(win_dark, ring)))
    return out


def _share(dark: np.ndarray, where: np.ndarray) -> float:
    """The share of ``where``'s pixels that are ``dark`` (0 when ``where`` is empty): the
    mean of ``dark[where]`` from two exact counts, without gathering the pixels."""
    n = int(np.count_nonzero(where))
    return int(np.count_nonzero(dark & where)) / n if n else 0.0


def page_fill_threshold(fills: Sequence[float], default: float = DEFAULT_FILL_THRESHOLD) -> float:
    """Place the fill threshold in the widest gap between a page's unmarked and marked bubbles.

    Falls back to ``default`` when the page has no clear gap (e.g. nothing marked).
    """
    values = sorted(fills)
    if len(values) < 4:
        return default
    gaps = [(values[i + 1] - values[i], i) for i in range(len(values) - 1)]
    width, i = max(gaps)
    if width < 0.15:
        return default
    return float(min(max((values[i] + values[i + 1]) / 2, 0.08), 0.4))


def decide_marks(scores: Sequence[BubbleScore], *, threshold: float = DEFAULT_FILL_THRESHOLD,
                 margin: float = 0.05, ring_threshold: float = 0.35) -> MarksReading:
    """Decide which bubbles are marked.

    A bubble is marked when its fill passes ``threshold`` or it is circled (ring ink past
    ``ring_threshold`` with its inside clear). A fill within ``margin`` of the threshold
    makes the region ``ambiguous``.
    """
    marked = []
    nearest = 1.0
    for s in scores:
        circled = s.ring >= ring_threshold and s.fill < threshold
        if s.fill >= threshold or circled:
            marked.append(s.label)
        nearest = min(nearest, abs(s.fill - threshold))
    confidence = float(min(1.0, 0.5 + nearest / (2 * margin) * 0.5)) if margin else 1.0
    if nearest < margin:
        status: Literal["ok", "blank", "ambiguous"] = "ambiguous"
    else:
        status = "ok" if marked else "blank"
    return MarksReading(status, tuple(marked), len(marked) > 1, tuple(scores), confidence)
