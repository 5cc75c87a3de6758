"""The second, independent reader: segment an answer into glyphs and classify each.

PP-OCR reads a whole line; this reader cuts the ink into connected components (merging
pieces that sit above one another, such as a detached ``5`` cap) and classifies each with
a small CNN trained on the datasets' ``train`` split (``models/training/``). The two readers
fail differently: PP-OCR confuses handwritten ``/`` and ``1`` or merges digits, the glyph
reader fails when digits touch. Agreement between them is strong evidence; the CTC
probability of the glyph reader's string lets the two be compared on one scale.

The classifier gets, beside the 28x28 glyph, its size and position relative to the
tallest glyph, because a dot, a minus and a zero look alike once scaled to 28x28.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ocr.ctc import Alphabet

__all__ = [
    "GLYPH_CLASSES",
    "GlyphClassifier",
    "GlyphReading",
    "Segment",
    "glyph_image",
    "segment_ink",
]

GLYPH_CLASSES = "0123456789-/."


@dataclass(frozen=True)
class Segment:
    """One glyph cut from an answer.

    Attributes:
        image: float32 (28, 28), ink = 1, longest side scaled to 20 px and centred.
        geometry: float32 (3,): height and width relative to the tallest glyph, and the
            vertical centre relative to the line (0 top, 1 bottom).
        bbox: (x0, y0, x1, y1) in the ink map.
    """

    image: np.ndarray
    geometry: np.ndarray
    bbox: tuple[int, int, int, int]


@dataclass(frozen=True)
class GlyphReading:
    """The glyph reader's answer.

    Attributes:
        text: Best class per segment, left to right.
        char_probs: Probability of each chosen class.
        log_prob: Sum of the chosen classes' log-probabilities.
        probs: (n_segments, n_classes) class probabilities, for combining readers.
        alternatives: Up to three allowed strings with their log-probabilities, best first.
    """

    text: str
    char_probs: tuple[float, ...]
    log_prob: float
    probs: np.ndarray
    alternatives: tuple[tuple[str, float], ...] = ()


def glyph_image(ink: np.ndarray) -> np.ndarray:
    """Scale a glyph's ink so its longest side is 20 px, centred in 28x28 (MNIST layout).

    Args:
        ink: float32 ink map of one glyph, cropped to its bounding box.

    Returns:
        float32 (28, 28).
    """
    h, w = ink.shape
    s = 20.0 / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = cv2.resize(ink, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.zeros((28, 28), np.float32)
    y, x = (28 - nh) // 2, (28 - nw) // 2
    out[y : y + nh, x : x + nw] = small
    return out


def segment_ink(ink: np.ndarray, max_segments: int = 8) -> list[Segment]:
    """Cut an ink map into glyphs, left to right.

    Args:
        ink: float32 ink map (see :func:`ocr.preprocess.clean_ink`).
        max_segments: More components than this is noise or scribble; return none.

    Returns:
        The segments; empty if there is no ink or too many pieces.
    """
    binary = (ink > 0.35).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return []
    areas = stats[1:, cv2.CC_STAT_AREA]
    # Specks from JPEG and copier noise are tiny next to the strokes; a written dot is not.
    keep = [int(k) + 1 for k in np.flatnonzero(areas >= max(3.0, 0.012 * areas.max()))]
    groups: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    for k in sorted(keep, key=lambda k: stats[k, cv2.CC_STAT_LEFT]):
        x0 = int(stats[k, cv2.CC_STAT_LEFT])
        x1 = x0 + int(stats[k, cv2.CC_STAT_WIDTH])
        if spans:
            px0, px1 = spans[-1]
            overlap = min(x1, px1) - max(x0, px0)
            # Pieces stacked in one column belong to one glyph (a broken 5, a 4's stem).
            if overlap > 0.5 * min(x1 - x0, px1 - px0):
                groups[-1].append(k)
                spans[-1] = (min(x0, px0), max(x1, px1))
                continue
        groups.append([k])
        spans.append((x0, x1))
    if len(groups) > max_segments:
        return []
    boxes = []
    for g in groups:
        x0 = min(int(stats[k, cv2.CC_STAT_LEFT]) for k in g)
        y0 = min(int(stats[k, cv2.CC_STAT_TOP]) for k in g)
        x1 = max(int(stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH]) for k in g)
        y1 = max(int(stats[k, cv2.CC_STAT_TOP] + stats[k, cv2.CC_STAT_HEIGHT]) for k in g)
        boxes.append((x0, y0, x1, y1))
    ref = max(b[3] - b[1] for b in boxes)
    top = min(b[1] for b in boxes)
    out = []
    for g, (x0, y0, x1, y1) in zip(groups, boxes, strict=True):
        mask = np.isin(labels[y0:y1, x0:x1], g)
        piece = np.where(mask, ink[y0:y1, x0:x1], 0.0).astype(np.float32)
        geometry = np.array(
            [(y1 - y0) / ref, (x1 - x0) / ref, ((y0 + y1) / 2 - top) / ref], np.float32
        )
        out.append(Segment(glyph_image(piece), geometry, (x0, y0, x1, y1)))
    return out


class GlyphClassifier:
    """Small CNN over single glyphs, on an injected onnxruntime session.

    Args:
        session: Session of the ``digit-symbol-classifier`` model (inputs ``image``
            (N, 1, 28, 28) and ``geometry`` (N, 3); output ``probs`` (N, 13)).
    """

    def __init__(self, session: Any) -> None:
        self._session = session

    def probabilities(self, segments: Sequence[Segment]) -> np.ndarray:
        """Class probabilities of each segment.

        Args:
            segments: Glyphs from :func:`segment_ink`.

        Returns:
            float32 (len(segments), len(GLYPH_CLASSES)).
        """
        if not segments:
            return np.zeros((0, len(GLYPH_CLASSES)), np.float32)
        images = np.stack([s.image for s in segments])[:, None].astype(np.float32)
        geometry = np.stack([s.geometry for s in segments]).astype(np.float32)
        out = self._session.run(None, {"image": images, "geometry": geometry})[0]
        return np.asarray(out, np.float32)

    def read(self, segments: Sequence[Segment], alphabet: Alphabet | None) -> GlyphReading:
        """Best string over the alphabet, one character per segment.

        Args:
            segments: Glyphs, left to right.
            alphabet: Allowed characters; None allows every class.

        Returns:
            The reading (empty text for no segments).
        """
        probs = self.probabilities(segments)
        allowed = np.array(
            [alphabet is None or c in alphabet.chars for c in GLYPH_CLASSES], np.float32
        )
        p = probs * allowed
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        if len(p) == 0:
            return GlyphReading("", (), 0.0, p)
        # Best few strings by product of per-glyph probabilities (top 3 classes per glyph),
        # then the first one the answer format allows.
        beams: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
        for row in p:
            top = np.argsort(-row)[:3]
            beams = sorted(
                (
                    (lp + math.log(max(float(row[k]), 1e-12)), ks + (int(k),))
                    for lp, ks in beams
                    for k in top
                ),
                reverse=True,
            )[:32]
        allowed_beams = [
            (lp, ks)
            for lp, ks in beams
            if alphabet is None or alphabet.allows("".join(GLYPH_CLASSES[k] for k in ks))
        ]
        if not allowed_beams:
            return GlyphReading("", (), float("-inf"), p)
        lp, ks = allowed_beams[0]
        chosen = tuple(float(p[i, k]) for i, k in enumerate(ks))
        alts = tuple(("".join(GLYPH_CLASSES[k] for k in b), v) for v, b in allowed_beams[:3])
        return GlyphReading(alts[0][0], chosen, lp, p, alts)
