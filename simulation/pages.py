"""Fill printed worksheet pages with real handwriting and marks, then degrade them like a copier.

For tests, benchmarks and the demo: digits come from the real handwriting sets through
:class:`simulation.handwriting.GlyphBank`; bubbles are filled, ticked, crossed, circled, pencilled or
erased and refilled; some boxes stay blank (some with an eraser smudge); the page is then
skewed, blurred, noised, JPEG-compressed and sometimes binarised. Every choice made is
recorded as truth. Seeded and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

# The composer's ink layer is the one handwriting source for crops and pages alike.
from simulation.handwriting import GlyphBank, random_numeric_answer
from simulation.handwriting import _ink_layer as ink_layer

__all__ = ["FillOptions", "FilledPage", "MarkTruth", "copier_scan", "degrade_page", "draw_sign",
           "fill_page"]

Box = tuple[float, float, float, float]
MARK_STYLES = ("fill", "fill", "fill", "tick", "cross", "circle", "pencil", "refill")


@dataclass(frozen=True)
class FillOptions:
    """Sampling ranges for one filled page (millimetres at print scale)."""

    blank_prob: float = 0.15
    smudge_prob: float = 0.3
    pencil_prob: float = 0.25
    char_height_mm: tuple[float, float] = (4.5, 7.5)
    multi_mark_prob: float = 0.04
    unmarked_prob: float = 0.08
    rotation_deg: float = 3.0
    binarise_prob: float = 0.25
    jpeg_quality: tuple[int, int] = (40, 90)


@dataclass(frozen=True)
class MarkTruth:
    """Which bubbles of one choice region were marked, and how."""

    marked: tuple[str, ...]
    style: str


@dataclass(frozen=True)
class FilledPage:
    """A filled, degraded page and what was written on it.

    Attributes:
        image: greyscale uint8 scan.
        dpi: its resolution.
        written: (question id, blank) -> text written, "" for left blank.
        marks: question id -> the marks made.
        not_simulated: the boxes left empty because the simulation cannot write what
            they ask for (Chinese, letters, expressions): not a child's blank.
    """

    image: np.ndarray
    dpi: float
    written: dict[tuple[str, int], str] = field(default_factory=dict)
    marks: dict[str, MarkTruth] = field(default_factory=dict)
    not_simulated: frozenset[tuple[str, int]] = frozenset()


def _px(box: Box, s: float) -> tuple[int, int, int, int]:
    return (int(box[0] * s), int(box[1] * s), int(box[2] * s), int(box[3] * s))


def _write(page: np.ndarray, box: Box, s: float, text: str, bank: GlyphBank,
           rng: np.random.Generator, o: FillOptions) -> None:
    x0, y0, x1, y1 = _px(box, s)
    bw, bh = x1 - x0, y1 - y0
    h = rng.uniform(*o.char_height_mm) * s * 72 / 25.4
    ink = ink_layer(bank, text, h, rng)
    scale = min(1.0, bw * 0.88 / ink.shape[1], bh * 0.9 / ink.shape[0])
    if scale < 1.0:
        ink = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ih, iw = ink.shape
    ox = x0 + int(rng.uniform(0.04, 0.96) * max(bw - iw, 1))
    oy = y0 + int(rng.uniform(0.1, 0.9) * max(bh - ih, 1))
    darkness = rng.uniform(0.35, 0.6) if rng.random() < o.pencil_prob else rng.uniform(0.75, 1.0)
    region = page[oy:oy + ih, ox:ox + iw]
    region *= 1.0 - darkness * ink[:region.shape[0], :region.shape[1]]


def _smudge(page: np.ndarray, box: Box, s: float, rng: np.random.Generator) -> None:
    """An erased answer: a faint grey cloud, no strokes."""
    x0, y0, x1, y1 = _px(box, s)
    cx, cy = int(rng.uniform(x0 + 5, x1 - 5)), int(rng.uniform(y0 + 5, y1 - 5))
    axes = (int((x1 - x0) * rng.uniform(0.15, 0.35)), int((y1 - y0) * rng.uniform(0.2, 0.35)))
    sigma = max(axes) / 3 + 1
    # Blur a window around the cloud only (4 sigma past it): a full-page blur costs ~0.2 s.
    pad = int(max(axes) + 4 * sigma) + 2
    wy0, wx0 = max(0, cy - pad), max(0, cx - pad)
    wy1, wx1 = min(page.shape[0], cy + pad), min(page.shape[1], cx + pad)
    layer = np.zeros((wy1 - wy0, wx1 - wx0), np.float32)
    cv2.ellipse(layer, (cx - wx0, cy - wy0), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    cloud = cv2.GaussianBlur(layer, (0, 0), sigma)
    page[wy0:wy1, wx0:wx1] *= 1.0 - rng.uniform(0.05, 0.1) * cloud


def _mark(page: np.ndarray, box: Box, s: float, style: str, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = _px(box, s)
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    pen = max(2, round(0.45 * s * 72 / 25.4))  # ~0.45 mm pen
    ink = np.zeros(page.shape, np.float32)
    jitter = lambda v: v + rng.normal(0, r * 0.08)  # noqa: E731
    if style in ("fill", "pencil", "refill"):
        # Back-and-forth strokes covering most of the bubble, as children fill them.
        for k in np.linspace(-0.75, 0.75, int(rng.integers(5, 9))):
            half = r * np.sqrt(max(0.0, 1 - k * k)) * rng.uniform(0.75, 1.0)
            p0 = (int(jitter(cx - half)), int(jitter(cy + k * r)))
            p1 = (int(jitter(cx + half)), int(jitter(cy + k * r)))
            cv2.line(ink, p0, p1, 1.0, pen + 1)
    elif style == "tick":
        pts = [(cx - 0.7 * r, cy), (cx - 0.15 * r, cy + 0.7 * r), (cx + 0.9 * r, cy - 0.9 * r)]
        cv2.polylines(ink, [np.array([(jitter(a), jitter(b)) for a, b in pts], np.int32)],
                      False, 1.0, pen)
    elif style == "cross":
        for a, b in (((-0.7, -0.7), (0.7, 0.7)), ((-0.7, 0.7), (0.7, -0.7))):
            cv2.line(ink, (int(jitter(cx + a[0] * r)), int(jitter(cy + a[1] * r))),
                     (int(jitter(cx + b[0] * r)), int(jitter(cy + b[1] * r))), 1.0, pen)
    elif style == "circle":
        cv2.ellipse(ink, (int(cx), int(cy)), (int(r * 1.35), int(r * 1.3)), rng.uniform(0, 90),
                    10, 350 + rng.uniform(0, 20), 1.0, pen)
    darkness = rng.uniform(0.4, 0.6) if style == "pencil" else rng.uniform(0.8, 1.0)
    page *= 1.0 - darkness * ink


def draw_sign(page: np.ndarray, box: Box, s: float, sign: str, rng: np.random.Generator,
          o: FillOptions) -> None:
    """A comparison sign (``<``, ``>`` or ``=``) written by hand: two pen strokes of a
    child's size and slant, somewhere in the box."""
    x0, y0, x1, y1 = _px(box, s)
    h = rng.uniform(*o.char_height_mm) * s * 72 / 25.4 * rng.uniform(0.55, 0.8)
    w = h * rng.uniform(0.7, 1.0)
    cx = x0 + w + rng.uniform(0.1, 0.9) * max(x1 - x0 - 2 * w, 1)
    cy = (y0 + y1) / 2 + rng.normal(0, (y1 - y0) * 0.06)
    pen = max(2, round(rng.uniform(0.35, 0.55) * s * 72 / 25.4))
    jitter = lambda v: v + rng.normal(0, h * 0.05)  # noqa: E731
    if sign == "=":
        strokes = [[(cx - w / 2, cy - h * 0.2), (cx + w / 2, cy - h * 0.2)],
                   [(cx - w / 2, cy + h * 0.2), (cx + w / 2, cy + h * 0.2)]]
    else:
        tip, back = (cx - w / 2, cx + w / 2) if sign == "<" else (cx + w / 2, cx - w / 2)
        strokes = [[(back, cy - h / 2), (tip, cy), (back, cy + h / 2)]]
    ink = np.zeros(page.shape, np.float32)
    for pts in strokes:
        cv2.polylines(ink, [np.array([(jitter(a), jitter(b)) for a, b in pts], np.int32)],
                      False, 1.0, pen, lineType=cv2.LINE_AA)
    darkness = rng.uniform(0.4, 0.6) if rng.random() < o.pencil_prob else rng.uniform(0.75, 1.0)
    page *= 1.0 - darkness * ink


COMPARISON_SIGNS = frozenset("<>=")


def degrade_page(page: np.ndarray, rng: np.random.Generator, o: FillOptions) -> np.ndarray:
    """Skew, blur, noise, paper tone, JPEG and sometimes binarisation, like a copier."""
    h, w = page.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-o.rotation_deg, o.rotation_deg),
                                1.0)
    m[:, 2] = m[:, 2] + rng.normal(0, 8, 2)
    out = cv2.warpAffine(page, m, (w, h), borderValue=float(page[5, 5]), flags=cv2.INTER_LINEAR)
    return copier_scan(out, rng, o)


def copier_scan(page: np.ndarray, rng: np.random.Generator, o: FillOptions) -> np.ndarray:
    """Blur, noise, paper tone, sometimes binarisation, JPEG: a copier's scan of ``page``
    (0..1 floats, already placed), as 8-bit grey."""
    out = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.3, 0.9))
    noisy = out * rng.uniform(0.85, 1.0) + rng.normal(0, rng.uniform(0.01, 0.03), out.shape)
    img = np.clip(noisy * 255, 0, 255).astype(np.uint8)
    if rng.random() < o.binarise_prob:
        img = np.where(img > rng.uniform(150, 190), 255, 0).astype(np.uint8)
    q = int(rng.integers(o.jpeg_quality[0], o.jpeg_quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
    return np.asarray(decoded if decoded is not None else img, dtype=np.uint8)


def fill_page(printed: np.ndarray, dpi: float, regions: Sequence[object], bank: GlyphBank,
              rng: np.random.Generator, options: FillOptions | None = None,
              answer_for: Callable[[str, int, np.random.Generator], str] | None = None,
              degrade: bool = True,
              mark_for: Callable[[str, tuple[str, ...], np.random.Generator],
                                 tuple[str, ...]] | None = None,
              write_signs: bool = False) -> FilledPage:
    """Fill one printed page and scan it.

    Args:
        printed: the printed page rendered in greyscale at ``dpi``.
        dpi: its resolution.
        regions: the page's answer regions (``errorbook.printing.layout.AnswerRegion``-like: with
            ``question_id``, ``blank``, ``box``, ``bubbles``, ``kind``, ``answer_format``).
        bank: handwriting glyphs (its split decides train/calib/test data).
        rng: the only source of randomness.
        options: sampling ranges.
        answer_for: what to write in a digits box; default a random numeric answer.
        degrade: scan it like a copier (:func:`degrade_page`); False returns the filled
            paper itself, for another capture model (``simulation.camera``).
        mark_for: which bubbles a child marks, ``(question id, labels, rng) -> labels``
            (empty: none); by default a random choice (``options`` decide how often none
            or two are marked).
        write_signs: write comparison answers (``<``, ``>``, ``=``, as ``answer_for``
            says) into text boxes by hand; other text boxes, and all of them without it,
            are left empty and listed in ``not_simulated``.

    Returns:
        The degraded (or flat) page and the truth of everything written and marked.
    """
    o = options or FillOptions()
    s = dpi / 72.0
    page = printed.astype(np.float32) / 255.0 * rng.uniform(0.92, 1.0)
    written: dict[tuple[str, int], str] = {}
    marks: dict[str, MarkTruth] = {}
    unsimulated: set[tuple[str, int]] = set()
    for region in regions:
        qid, blank, box = region.question_id, region.blank, region.box  # type: ignore[attr-defined]
        bubbles = region.bubbles  # type: ignore[attr-defined]
        if bubbles and mark_for is not None:
            wanted = set(mark_for(qid, tuple(b.label for b in bubbles), rng))
            if not wanted:
                marks[qid] = MarkTruth((), "none")
                continue
            style = str(rng.choice(MARK_STYLES))
            chosen = [i for i, b in enumerate(bubbles) if b.label in wanted]
        elif bubbles:
            roll = rng.random()
            if roll < o.unmarked_prob:
                marks[qid] = MarkTruth((), "none")
                continue
            style = str(rng.choice(MARK_STYLES))
            count = 2 if roll > 1 - o.multi_mark_prob else 1
            chosen = sorted(int(i) for i in rng.choice(len(bubbles), count, replace=False))
        if bubbles:
            others = [i for i in range(len(bubbles)) if i not in chosen]
            if style == "refill" and others:  # an erased first choice, then the real one
                _smudge(page, bubbles[int(rng.choice(others))].box, s, rng)
            for i in chosen:
                _mark(page, bubbles[i].box, s, style, rng)
            marks[qid] = MarkTruth(tuple(bubbles[i].label for i in chosen), style)
            continue
        fmt = region.answer_format  # type: ignore[attr-defined]
        if fmt != "digits":
            sign = answer_for(qid, blank, rng) if write_signs and answer_for and \
                fmt in ("text", "compare") else ""
            if not sign or not set(sign) <= COMPARISON_SIGNS:
                unsimulated.add((qid, blank))
            elif rng.random() >= o.blank_prob:
                draw_sign(page, box, s, sign, rng, o)
                written[(qid, blank)] = sign
                continue
        if fmt != "digits" or rng.random() < o.blank_prob:
            if rng.random() < o.smudge_prob:
                _smudge(page, box, s, rng)
            written[(qid, blank)] = ""
            continue
        text = answer_for(qid, blank, rng) if answer_for else random_numeric_answer(rng)
        if not text:  # no answer known to write: left empty, and said so
            unsimulated.add((qid, blank))
            written[(qid, blank)] = ""
            continue
        _write(page, box, s, text, bank, rng, o)
        written[(qid, blank)] = text
    if not degrade:
        flat = np.clip(page * 255 + 0.5, 0, 255).astype(np.uint8)
        return FilledPage(flat, dpi, written, marks, frozenset(unsimulated))
    return FilledPage(degrade_page(page, rng, o), dpi, written, marks, frozenset(unsimulated))
