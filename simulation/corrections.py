"""Corrections on paper: crossed-out answers rewritten in the same box, stains and smudges.

For tests and ``bench/bench_corrections.py``. :func:`cross_out_and_rewrite` writes a first
answer in part of a box, scribbles over it (zig-zag hatching, a tight scrawl or a filled
block, pen or pencil) and writes the new answer beside or above it in the same box (or
nothing, for a box crossed out and left); :func:`stain` puts the edge of a coffee ring or
an eraser's grey smear over or next to a box. :func:`fill_corrected_page` fills a whole
page like ``simulation.pages.fill_page`` and then changes some of its boxes so, with the
truth of what it did. Digits come from the same glyph banks (``simulation.handwriting``,
``simulation.writers``). Seeded and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

# The composer's ink layer, as simulation.pages uses it.
from simulation.handwriting import GlyphBank, random_numeric_answer
from simulation.handwriting import _ink_layer as ink_layer
from simulation.pages import FilledPage, FillOptions, degrade_page, fill_page

__all__ = [
    "CorrectOptions",
    "CorrectionTruth",
    "cross_out_and_rewrite",
    "fill_corrected_page",
    "stain",
]

Box = tuple[float, float, float, float]
Key = tuple[str, int]
SCRIBBLES = ("zigzag", "zigzag", "scrawl", "block")
STAINS = ("coffee", "eraser")


@dataclass(frozen=True)
class CorrectOptions:
    """How many boxes of a page are changed, and how (shares of the written boxes).

    Attributes:
        rewrite_prob: a written box is crossed out and rewritten beside or above.
        crossed_prob: a written box is crossed out and nothing written instead.
        stain_prob: a box (written or blank) gets a stain or smudge near it.
        above_prob: a rewrite goes above the crossed-out answer rather than beside it.
    """

    rewrite_prob: float = 0.2
    crossed_prob: float = 0.04
    stain_prob: float = 0.15
    above_prob: float = 0.3


@dataclass(frozen=True)
class CorrectionTruth:
    """What was changed on one page (keys are (question id, blank)).

    Attributes:
        rewritten: box -> (the crossed-out answer, where the new one went).
        crossed: boxes crossed out with nothing written instead.
        stained: box -> the stain's kind (``coffee`` or ``eraser``).
    """

    rewritten: dict[Key, tuple[str, str]] = field(default_factory=dict)
    crossed: set[Key] = field(default_factory=set)
    stained: dict[Key, str] = field(default_factory=dict)


def _mm(s: float) -> float:
    """Pixels per millimetre at ``s`` pixels per point."""
    return s * 72 / 25.4


def _put_text(page: np.ndarray, area: tuple[int, int, int, int], text: str, bank: GlyphBank,
              rng: np.random.Generator, height_px: float, darkness: float
              ) -> tuple[int, int, int, int]:
    """Write ``text`` inside ``area`` (pixels); returns the ink's box."""
    x0, y0, x1, y1 = area
    ink = ink_layer(bank, text, height_px, rng)
    scale = min(1.0, (x1 - x0) * 0.92 / ink.shape[1], (y1 - y0) * 0.95 / ink.shape[0])
    if scale < 1.0:
        ink = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ih, iw = ink.shape
    ox = x0 + int(rng.uniform(0.1, 0.9) * max(x1 - x0 - iw, 1))
    oy = y0 + int(rng.uniform(0.2, 0.8) * max(y1 - y0 - ih, 1))
    region = page[oy:oy + ih, ox:ox + iw]
    layer = ink[:region.shape[0], :region.shape[1]]
    region *= 1.0 - darkness * layer
    ys, xs = np.nonzero(layer > 0.3)
    if not len(xs):
        return ox, oy, ox + iw, oy + ih
    return ox + int(xs.min()), oy + int(ys.min()), ox + int(xs.max()) + 1, oy + int(ys.max()) + 1


def _scribble(page: np.ndarray, bbox: tuple[int, int, int, int], s: float, style: str,
              darkness: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Scribble over ``bbox`` (pixels) as a child crosses an answer out; returns its box."""
    mm = _mm(s)
    x0, y0, x1, y1 = (float(v) for v in bbox)
    pad = rng.uniform(0.3, 1.2) * mm
    x0, y0, x1, y1 = x0 - pad, y0 - pad * 0.7, x1 + pad, y1 + pad * 0.7
    pen = max(2, round(rng.uniform(0.4, 0.6) * mm))
    ink = np.zeros(page.shape, np.float32)
    if style == "block":
        corners = np.array([(x0 + rng.normal(0, 0.4 * mm), y0 + rng.normal(0, 0.4 * mm)),
                        (x1 + rng.normal(0, 0.4 * mm), y0 + rng.normal(0, 0.4 * mm)),
                        (x1 + rng.normal(0, 0.4 * mm), y1 + rng.normal(0, 0.4 * mm)),
                        (x0 + rng.normal(0, 0.4 * mm), y1 + rng.normal(0, 0.4 * mm))], np.int32)
        cv2.fillPoly(ink, [corners], 1.0)
    elif style == "zigzag":
        # Back-and-forth hatching, each stroke slanted, about a pen's width or two apart.
        step = pen * rng.uniform(1.0, 1.8)
        slant = rng.uniform(-0.4, 0.4) * (y1 - y0)
        x = x0
        pts: list[tuple[float, float]] = []
        while x <= x1:
            pts.append((x + rng.normal(0, 0.2 * mm), y0 + rng.normal(0, 0.3 * mm)))
            pts.append((x + step / 2 + slant + rng.normal(0, 0.2 * mm),
                        y1 + rng.normal(0, 0.3 * mm)))
            x += step
        cv2.polylines(ink, [np.array(pts, np.int32)], False, 1.0, pen)
    else:  # a tight scrawl: overlapping loops moving along the answer
        cx, cy = x0, (y0 + y1) / 2
        ry = (y1 - y0) / 2
        pts = []
        t = 0.0
        while cx <= x1:
            pts.append((cx + ry * 0.8 * np.cos(t), cy + ry * np.sin(t) * rng.uniform(0.8, 1.1)))
            t += 0.5
            cx += pen * rng.uniform(0.12, 0.2)
        cv2.polylines(ink, [np.array(pts, np.int32)], False, 1.0, pen)
    page *= 1.0 - darkness * ink
    return int(x0), int(y0), int(x1), int(y1)


def cross_out_and_rewrite(page: np.ndarray, box: Box, s: float, old: str, new: str,
                          bank: GlyphBank, rng: np.random.Generator, *, above: bool = False,
                          style: str | None = None) -> None:
    """Write ``old`` in part of ``box``, cross it out and write ``new`` beside or above it.

    Args:
        page: the page (float32, 1 = paper), changed in place; the box is empty.
        box: the answer box in points.
        s: pixels per point.
        old: the first answer, crossed out.
        new: the answer written instead ("" for none).
        bank: handwriting glyphs.
        rng: the only source of randomness.
        above: the new answer goes above the old one (else beside it, on either side).
        style: ``zigzag``, ``scrawl`` or ``block`` (default: drawn at random).
    """
    mm = _mm(s)
    x0, y0, x1, y1 = (int(v * s) for v in box)
    inset = round(0.8 * mm)
    x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
    pencil = rng.random() < 0.2
    darkness = rng.uniform(0.4, 0.6) if pencil else rng.uniform(0.75, 1.0)
    if above:
        mid = y0 + (y1 - y0) // 2
        height = rng.uniform(3.6, 4.4) * mm
        old_area = (x0, mid + round(0.4 * mm), x1, y1)
        new_area = (x0, y0, x1, mid - round(0.6 * mm))
    else:
        height = rng.uniform(4.5, 6.5) * mm
        split = x0 + int((x1 - x0) * rng.uniform(0.42, 0.55))
        gap = round(1.2 * mm)
        left, right = (x0, y0, split - gap, y1), (split + gap, y0, x1, y1)
        old_area, new_area = (left, right) if rng.random() < 0.75 else (right, left)
    drawn = _put_text(page, old_area, old, bank, rng, height, darkness)
    _scribble(page, drawn, s, style or str(rng.choice(SCRIBBLES)), darkness, rng)
    if new:
        _put_text(page, new_area, new, bank, rng, height, darkness)


def _soft_window(page: np.ndarray, cx: int, cy: int, reach: int
                 ) -> tuple[slice, slice, int, int]:
    wy0, wx0 = max(0, cy - reach), max(0, cx - reach)
    wy1, wx1 = min(page.shape[0], cy + reach), min(page.shape[1], cx + reach)
    return slice(wy0, wy1), slice(wx0, wx1), wx0, wy0


def _near_box(shape: tuple[int, ...], origin: tuple[int, int], box: tuple[int, int, int, int],
              mm: float) -> np.ndarray:
    """A soft mask: 1 over the box and 2 mm around it, fading to 0 by 4 mm.

    Keeps a stain to the box it was put on, so the neighbouring boxes stay what the truth
    says they are.
    """
    mask = np.zeros(shape, np.float32)
    x0, y0, x1, y1 = (v - o for v, o in zip(box, origin * 2, strict=True))
    pad = int(2 * mm)
    cv2.rectangle(mask, (x0 - pad, y0 - pad), (x1 + pad, y1 + pad), 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 0.7 * mm)


def stain(page: np.ndarray, box: Box, s: float, kind: str, rng: np.random.Generator,
          avoid: tuple[int, int, int, int] | None = None) -> None:
    """A coffee ring's edge or an eraser's smear over part of ``box``, off the writing.

    Args:
        page: the page (float32, 1 = paper), changed in place.
        box: the answer box in points.
        s: pixels per point.
        kind: ``coffee`` (the darker rim of a cup's ring, fading inwards, crossing the box)
            or ``eraser`` (a soft grey smear with streaks inside the box).
        rng: the only source of randomness.
        avoid: the written answer's ink box (pixels); the mark keeps about a millimetre
            away from it.
    """
    mm = _mm(s)
    x0, y0, x1, y1 = (int(v * s) for v in box)
    free = (x0, x1)
    if avoid is not None:  # the wider side of the box the writing leaves free
        lw, rw = avoid[0] - x0, x1 - avoid[2]
        free = (x0, avoid[0] - int(mm)) if lw >= rw else (avoid[2] + int(mm), x1)
    if kind == "coffee":
        radius = rng.uniform(18, 35) * mm
        # The ring's rim crosses the box inside the free part, its centre off to one side.
        rim_x = rng.uniform(*sorted(free)) if free[1] > free[0] else (x0 + x1) / 2
        side = 1 if rim_x > (x0 + x1) / 2 else -1
        cx = int(rim_x + side * radius * np.cos(rng.uniform(-0.25, 0.25)))
        cy = int(rng.uniform(y0, y1))
        sl_y, sl_x, wx0, wy0 = _soft_window(page, cx, cy, int(radius + 3 * mm))
        yy, xx = np.mgrid[sl_y, sl_x]
        d = radius - np.hypot(xx - cx, yy - cy)  # depth inside the ring's edge (pixels)
        width = rng.uniform(1.5, 3.0) * mm
        rim = np.where(d >= 0, np.exp(-d / width), np.exp(-np.square(d / (0.25 * mm))))
        tint = np.where(d >= 0, rng.uniform(0.02, 0.06), 0.0)
        peak = rng.uniform(0.15, 0.35)
        layer = np.clip(peak * rim + tint, 0, 1).astype(np.float32)
        page[sl_y, sl_x] *= 1.0 - layer * _near_box(layer.shape, (wx0, wy0), (x0, y0, x1, y1),
                                                    mm)
        return
    # Eraser: a rubbed patch of graphite, soft-edged, streaked along the rubbing.
    fx0, fx1 = sorted(free)
    if fx1 - fx0 < 3 * mm:
        fx0, fx1 = x0, x1
    cx, cy = int(rng.uniform(fx0 + mm, max(fx0 + mm + 1, fx1 - mm))), int(rng.uniform(y0, y1))
    axes = (int(rng.uniform(2.5, 5.0) * mm), int(rng.uniform(1.5, 3.0) * mm))
    sigma = rng.uniform(0.6, 1.2) * mm
    sl_y, sl_x, wx0, wy0 = _soft_window(page, cx, cy, int(max(axes) + 4 * sigma))
    layer = np.zeros((sl_y.stop - sl_y.start, sl_x.stop - sl_x.start), np.float32)
    angle = rng.uniform(-30, 30)
    cv2.ellipse(layer, (cx - wx0, cy - wy0), axes, angle, 0, 360, 1.0, -1)
    streaks = np.zeros_like(layer)
    for _ in range(int(rng.integers(2, 5))):
        off = rng.normal(0, axes[1] * 0.5)
        dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        p0 = (int(cx - wx0 - axes[0] * dx - off * dy), int(cy - wy0 - axes[0] * dy + off * dx))
        p1 = (int(cx - wx0 + axes[0] * dx - off * dy), int(cy - wy0 + axes[0] * dy + off * dx))
        cv2.line(streaks, p0, p1, 1.0, max(2, int(0.8 * mm)))
    cloud = cv2.GaussianBlur(layer + 0.5 * streaks, (0, 0), sigma)
    cloud *= _near_box(cloud.shape, (wx0, wy0), (x0, y0, x1, y1), mm)
    page[sl_y, sl_x] *= 1.0 - rng.uniform(0.15, 0.3) * np.clip(cloud, 0, 1.2)


def _ink_box(page: np.ndarray, box: Box, s: float) -> tuple[int, int, int, int] | None:
    """The writing's box (pixels) inside ``box`` on a flat page: dark pixels off its border."""
    mm = _mm(s)
    x0, y0, x1, y1 = (int(v * s) for v in box)
    m = int(0.8 * mm)
    inner = page[y0 + m:y1 - m, x0 + m:x1 - m]
    ys, xs = np.nonzero(inner < 0.75)
    if not len(xs):
        return None
    return x0 + m + int(xs.min()), y0 + m + int(ys.min()), x0 + m + int(xs.max()), \
        y0 + m + int(ys.max())


def fill_corrected_page(printed: np.ndarray, dpi: float, regions: Sequence[object],
                        bank: GlyphBank, rng: np.random.Generator,
                        options: FillOptions | None = None,
                        correct: CorrectOptions | None = None,
                        answer_for: Callable[[str, int, np.random.Generator], str] | None = None,
                        degrade: bool = True) -> tuple[FilledPage, CorrectionTruth]:
    """A page filled like ``simulation.pages.fill_page``, some boxes corrected or stained.

    A rewritten box's truth (``FilledPage.written``) is the new answer; a box crossed out
    and left has truth "" and is listed in ``CorrectionTruth.crossed``; a stained box keeps
    its truth.

    Args:
        printed: the printed page rendered in greyscale at ``dpi``.
        dpi: its resolution.
        regions: the page's answer regions (as ``fill_page`` takes them).
        bank: handwriting glyphs.
        rng: the only source of randomness.
        options: ``fill_page``'s sampling ranges.
        correct: how many boxes are changed.
        answer_for: what to write in a digits box (``fill_page``'s).
        degrade: scan it like a copier; False returns the flat paper (for a camera).

    Returns:
        The page and what was changed on it.
    """
    o = options or FillOptions()
    c = correct or CorrectOptions()
    s = dpi / 72.0
    flat = fill_page(printed, dpi, regions, bank, rng, o, answer_for=answer_for, degrade=False)
    page = flat.image.astype(np.float32) / 255.0
    tone = float(np.percentile(page, 90)) / max(float(np.percentile(printed, 90)) / 255.0, 1e-3)
    written = dict(flat.written)
    truth = CorrectionTruth()
    for region in regions:
        if region.bubbles or region.answer_format != "digits":  # type: ignore[attr-defined]
            continue
        key: Key = (region.question_id, region.blank)  # type: ignore[attr-defined]
        box: Box = region.box  # type: ignore[attr-defined]
        text = written.get(key, "")
        roll = rng.random()
        if text and roll < c.rewrite_prob + c.crossed_prob:
            # Start from the empty box again: the first answer goes where the child wrote it.
            x0, y0, x1, y1 = (int(v * s) for v in box)
            m = int(0.6 * _mm(s))
            page[y0 + m:y1 - m, x0 + m:x1 - m] = \
                printed[y0 + m:y1 - m, x0 + m:x1 - m].astype(np.float32) / 255.0 * tone
            old = answer_for(*key, rng) if answer_for else random_numeric_answer(rng)
            if old == text:
                old = random_numeric_answer(rng)
            if roll < c.rewrite_prob:
                above = rng.random() < c.above_prob
                cross_out_and_rewrite(page, box, s, old, text, bank, rng, above=above)
                truth.rewritten[key] = (old, "above" if above else "beside")
            else:
                cross_out_and_rewrite(page, box, s, old, "", bank, rng)
                truth.crossed.add(key)
                written[key] = ""
            continue
        if rng.random() < c.stain_prob:
            kind = str(rng.choice(STAINS))
            stain(page, box, s, kind, rng, avoid=_ink_box(page, box, s) if text else None)
            truth.stained[key] = kind
    out = replace(flat, written=written)
    if degrade:
        return replace(out, image=degrade_page(page, rng, o)), truth
    return replace(out, image=np.clip(page * 255 + 0.5, 0, 255).astype(np.uint8)), truth
