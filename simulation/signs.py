"""Handwritten comparison signs in answer boxes, in several writing styles, for the sign
reader's tests and benchmark (``ocr.reading.signs``, ``bench/bench_signs.py``).

:func:`sign_crop` draws one box as the page reader crops it (3 pixels a point, a 3 pt
margin, the printed border) with a sign, a digit or a scribble written in it, scans it
like a copier (blur, noise, sometimes binarised, JPEG), and returns it with the blank
box, ready for ``ocr.regions.remove_print``. The ``page`` style is the page simulation's
own sign (``simulation.pages``); the others are how children also write them: two
separate strokes, curved arms, a wide or a tall sign, a tilted one, an ``=`` with unequal
or slanted strokes.
"""

from __future__ import annotations

import cv2
import numpy as np

from simulation.pages import FillOptions, copier_scan, draw_sign

__all__ = ["NEGATIVES", "SIGN_STYLES", "sign_crop"]

SIGN_STYLES = ("page", "two_strokes", "curved", "wide", "tall", "tilted", "unequal")
# What is not a sign: digits a line reader would read there, and a scribble.
NEGATIVES = ("5", "7", "2", "3", "4", "1", "0", "scribble")
_S = 3.0  # pixels per point, as ocr.regions.CROP_PX_PER_PT
_MARGIN = 3.0
_MM = 72 / 25.4


def _blank(size_mm: tuple[float, float]) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    w, h = size_mm[0] * _MM, size_mm[1] * _MM
    shape = (round((h + 2 * _MARGIN) * _S), round((w + 2 * _MARGIN) * _S))
    page = np.ones(shape, np.float32)
    m = round(_MARGIN * _S)
    cv2.rectangle(page, (m, m), (shape[1] - m - 1, shape[0] - m - 1), 0.2, 2)
    return page, (_MARGIN, _MARGIN, _MARGIN + w, _MARGIN + h)


def _stroke(ink: np.ndarray, pts: list[tuple[float, float]], pen: int) -> None:
    cv2.polylines(ink, [np.round(np.array(pts)).astype(np.int32)], False, 1.0, pen,
                  lineType=cv2.LINE_AA)


def _arc(a: tuple[float, float], b: tuple[float, float], bow: float, n: int = 12
         ) -> list[tuple[float, float]]:
    """Points from ``a`` to ``b`` bowed sideways by ``bow`` (share of the length)."""
    (ax, ay), (bx, by) = a, b
    nx, ny = -(by - ay), bx - ax
    return [(ax + (bx - ax) * t + bow * nx * float(np.sin(np.pi * t)),
             ay + (by - ay) * t + bow * ny * float(np.sin(np.pi * t)))
            for t in np.linspace(0, 1, n)]


def _styled(ink: np.ndarray, box: tuple[float, float, float, float], sign: str, style: str,
            rng: np.random.Generator, pen: int) -> None:
    """Draw a sign (or a negative) in ``style`` into ``ink`` (1 = ink)."""
    x0, y0, x1, y1 = (v * _S for v in box)
    h = rng.uniform(2.6, 5.5) * _MM * _S
    w = h * {"wide": rng.uniform(1.1, 1.5), "tall": rng.uniform(0.45, 0.6)}.get(
        style, rng.uniform(0.7, 1.0))
    cx = x0 + w + rng.uniform(0.1, 0.9) * max(x1 - x0 - 2 * w, 1)
    cy = (y0 + y1) / 2 + rng.normal(0, (y1 - y0) * 0.06)
    tilt = np.radians(rng.uniform(-12, 12) if style == "tilted" else rng.uniform(-3, 3))
    rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])

    def put(pts: list[tuple[float, float]]) -> None:
        local = (np.array(pts) @ rot.T) + (cx, cy)
        _stroke(ink, [tuple(p) for p in local], pen)

    if sign in ("<", ">"):
        tip, back = (-w / 2, w / 2) if sign == "<" else (w / 2, -w / 2)
        top, bottom = (back, -h / 2 * rng.uniform(0.8, 1.1)), (back, h / 2 * rng.uniform(0.8, 1.1))
        vertex = (tip, rng.normal(0, h * 0.05))
        if style == "two_strokes":
            # Each arm its own stroke; they may stop short of each other or cross.
            off = rng.uniform(-0.08, 0.12) * w * (1 if sign == "<" else -1)
            put([top, (vertex[0] + off, vertex[1] - rng.uniform(0, 0.05) * h)])
            put([(vertex[0] - off * rng.uniform(-1, 1), vertex[1]), bottom])
        elif style == "curved":
            bow = rng.uniform(-0.12, 0.12)
            put(_arc(top, vertex, bow) + _arc(vertex, bottom, bow)[1:])
        else:
            put([top, vertex, bottom])
        return
    if sign == "=":
        lift = np.tan(np.radians(rng.uniform(-8, 8))) * w if style == "unequal" else 0.0
        short = rng.uniform(0.6, 1.0) if style == "unequal" else 1.0
        shift = rng.uniform(-0.2, 0.2) * w if style == "unequal" else 0.0
        gap = h * rng.uniform(0.3, 0.5)
        put([(-w / 2, -gap / 2), (w / 2, -gap / 2 + lift)])
        put([(-w / 2 * short + shift, gap / 2), (w / 2 * short + shift, gap / 2 + lift)])
        return
    if sign == "scribble":
        pts = [(rng.uniform(-w, w), rng.uniform(-h / 2, h / 2))
               for _ in range(int(rng.integers(5, 10)))]
        put(pts)
        return
    # A digit in a Hershey script font, about a child's size.
    scale = h / 22.0
    font = int(rng.choice([cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SIMPLEX]))
    (tw, th), _ = cv2.getTextSize(sign, font, scale, pen)
    glyph = np.zeros(ink.shape, np.uint8)  # putText draws on 8-bit images only
    cv2.putText(glyph, sign, (round(cx - tw / 2), round(cy + th / 2)), font, scale, 255, pen,
                cv2.LINE_AA)
    np.maximum(ink, glyph.astype(np.float32) / 255.0, out=ink)


def sign_crop(sign: str, style: str, rng: np.random.Generator,
              options: FillOptions | None = None, size_mm: tuple[float, float] = (24, 11)
              ) -> tuple[np.ndarray, np.ndarray]:
    """One answer box with ``sign`` written in ``style``, scanned.

    Args:
        sign: ``<``, ``>``, ``=``, a digit, or ``scribble``.
        style: One of :data:`SIGN_STYLES` (``page``: the page simulation's drawing;
            digits and scribbles ignore it).
        rng: The only source of randomness.
        options: Pen darkness and scan settings (``pencil_prob``, ``binarise_prob``,
            ``jpeg_quality``).
        size_mm: The printed box (24 × 11 mm: a comparison's box on a worksheet).

    Returns:
        (scanned crop, blank crop), uint8, the crop as the page reader cuts it.
    """
    o = options or FillOptions()
    page, box = _blank(size_mm)
    blank = np.clip(page * 255, 0, 255).astype(np.uint8)
    if style == "page" and sign in ("<", ">", "="):
        draw_sign(page, box, _S, sign, rng, o)
    else:
        ink = np.zeros(page.shape, np.float32)
        pen = max(2, round(rng.uniform(0.35, 0.55) * _MM * _S))
        _styled(ink, box, sign, style, rng, pen)
        dark = rng.uniform(0.4, 0.6) if rng.random() < o.pencil_prob else rng.uniform(0.75, 1.0)
        page *= 1.0 - dark * ink
    return copier_scan(page, rng, o), blank
