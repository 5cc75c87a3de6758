"""The glyph reader, second of the three: segment an answer into glyphs and classify each.

PP-OCR reads a whole line; this reader cuts the ink into connected components (merging
pieces that sit above one another, such as a detached ``5`` cap) and classifies each with
a small CNN trained on the datasets' ``train`` split (``tools/training/``). It and PP-OCR
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

from ocr.reading.ctc import Alphabet
from ocr.reading.preprocess import ink_components

__all__ = [
    "GLYPH_CLASSES",
    "GlyphClassifier",
    "GlyphReading",
    "Segment",
    "SegmentLattice",
    "glyph_image",
    "segment_ink",
    "segment_lattice",
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
class SegmentLattice:
    """Alternative ways to cut one answer into glyphs.

    Attributes:
        pieces: Every glyph image any path uses, classified once.
        paths: (piece indices left to right, number of edits); the first path is the
            plain connected-component segmentation (no edits).
    """

    pieces: tuple[Segment, ...]
    paths: tuple[tuple[tuple[int, ...], int], ...]


@dataclass(frozen=True)
class GlyphReading:
    """The glyph reader's answer.

    Attributes:
        text: Best class per segment, left to right.
        char_probs: Probability of each chosen class.
        log_prob: Sum of the chosen classes' log-probabilities.
        probs: (n_segments, n_classes) class probabilities of the plain segmentation.
        alternatives: Up to three allowed strings with their log-probabilities, best first.
        piece_probs: (n_pieces, n_classes) probabilities of every lattice piece.
        paths: The lattice's paths (see :class:`SegmentLattice`); empty when read from
            plain segments.
        edit_penalty: Log-probability charged per segmentation edit of a path.
    """

    text: str
    char_probs: tuple[float, ...]
    log_prob: float
    probs: np.ndarray
    alternatives: tuple[tuple[str, float], ...] = ()
    piece_probs: np.ndarray | None = None
    paths: tuple[tuple[tuple[int, ...], int], ...] = ()
    edit_penalty: float = -2.0

    def score(self, text: str, length_penalty: float) -> float:
        """log P_glyph(text): the best path with one glyph per character.

        A string no path can spell glyph for glyph gets ``length_penalty`` per glyph of
        count mismatch with the plain segmentation: the mismatch is weak evidence, not a
        veto, because touching and broken digits miscount.

        Args:
            text: Candidate string.
            length_penalty: Log-probability per missing or extra glyph.

        Returns:
            The log-probability (``-inf`` for a character the classifier does not know).
        """
        if any(c not in GLYPH_CLASSES for c in text):
            return float("-inf")
        cols = [GLYPH_CLASSES.index(c) for c in text]
        fallback = length_penalty * abs(len(self.probs) - len(text))
        if self.piece_probs is None or not self.paths:
            return _path_score(self.probs, range(len(self.probs)), cols) if \
                len(self.probs) == len(text) else fallback
        best = float("-inf")
        for idx, edits in self.paths:
            if len(idx) == len(text):
                best = max(best, _path_score(self.piece_probs, idx, cols) + self.edit_penalty * edits)
        if len(self.probs) != len(text):
            # Only edited paths spell it: never worse than the plain count mismatch.
            best = max(best, fallback)
        return best


def _path_score(probs: np.ndarray, idx: Sequence[int], cols: Sequence[int]) -> float:
    return float(sum(math.log(max(float(probs[i, c]), 1e-9)) for i, c in zip(idx, cols,
                                                                              strict=True)))


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


def _group_stacked(stats: np.ndarray, keep: Sequence[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    for k in keep:
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
    return groups


class _Cutter:
    """Cuts pieces (sets of components, optionally limited to a column range) into glyphs."""

    def __init__(self, ink: np.ndarray, labels: np.ndarray, stats: np.ndarray) -> None:
        self.ink, self.labels, self.stats = ink, labels, stats
        self.ref = 1.0
        self.top = 0

    def bbox(self, comps: Sequence[int], cols: tuple[int, int] | None = None
             ) -> tuple[int, int, int, int]:
        if cols is None:
            st = self.stats
            return (min(int(st[k, 0]) for k in comps), min(int(st[k, 1]) for k in comps),
                    max(int(st[k, 0] + st[k, 2]) for k in comps),
                    max(int(st[k, 1] + st[k, 3]) for k in comps))
        mask = np.isin(self.labels[:, cols[0]:cols[1]], comps)
        ys, xs = np.nonzero(mask)
        return cols[0] + int(xs.min()), int(ys.min()), cols[0] + int(xs.max()) + 1, int(ys.max()) + 1

    def segment(self, comps: Sequence[int], cols: tuple[int, int] | None = None) -> Segment:
        x0, y0, x1, y1 = self.bbox(comps, cols)
        mask = np.isin(self.labels[y0:y1, x0:x1], comps)
        piece = np.where(mask, self.ink[y0:y1, x0:x1], 0.0).astype(np.float32)
        geometry = np.array(
            [(y1 - y0) / self.ref, (x1 - x0) / self.ref, ((y0 + y1) / 2 - self.top) / self.ref],
            np.float32,
        )
        return Segment(glyph_image(piece), geometry, (x0, y0, x1, y1))

    def split_columns(self, comp: int) -> list[int]:
        """Where two touching glyphs of one wide component may meet.

        The thinnest column finds a junction of open strokes; two loops that touch meet
        where both have their thick sides, so the middle of the component is tried too.
        """
        x, y, w, h = (int(v) for v in self.stats[comp, :4])
        if w < 0.8 * self.ref or w < 0.8 * h:
            return []
        band = (self.labels[y:y + h, x:x + w] == comp).sum(axis=0).astype(np.float32)
        lo, hi = int(0.28 * w), int(0.72 * w)
        cols = [x + lo + int(np.argmin(band[lo:hi]))] if hi > lo else []
        for frac in (0.42, 0.5, 0.58):
            c = x + int(frac * w)
            if all(abs(c - d) > max(2, 0.05 * w) for d in cols):
                cols.append(c)
        # A component covers every column of its box, so a cut strictly inside leaves ink
        # on both sides; a cut on the edge (a speck a few pixels wide) would leave none.
        return [c for c in cols if x < c < x + w]


def segment_ink(ink: np.ndarray, max_segments: int = 8) -> list[Segment]:
    """Cut an ink map into glyphs, left to right.

    Args:
        ink: float32 ink map (see :func:`ocr.reading.preprocess.clean_ink`).
        max_segments: More components than this is noise or scribble; return none.

    Returns:
        The segments; empty if there is no ink or too many pieces.
    """
    lattice = segment_lattice(ink, max_segments)
    if not lattice.paths:
        return []
    return [lattice.pieces[i] for i in lattice.paths[0][0]]


def segment_lattice(ink: np.ndarray, max_segments: int = 8) -> SegmentLattice:
    """The usual segmentation plus the one-edit alternatives a miscut suggests.

    Connected components miscount in three known ways: two digits that touch are one
    component (split the widest at its thinnest column), a broken stroke is two (merge
    neighbours that nearly touch), and a dot written close to a slanted digit is stacked
    into it (split a multi-component glyph into its left and right parts). Each
    alternative differs from the usual segmentation by exactly one such edit.

    Args:
        ink: float32 ink map (see :func:`ocr.reading.preprocess.clean_ink`).
        max_segments: More glyphs than this is noise or scribble; return nothing.

    Returns:
        The lattice; no paths if there is no ink or too many pieces.
    """
    labels, stats, keep = ink_components(ink, 0.012)
    groups = _group_stacked(stats, keep)
    if not groups or len(groups) > max_segments:
        return SegmentLattice((), ())
    cut = _Cutter(ink, labels, stats)
    boxes = [cut.bbox(g) for g in groups]
    cut.ref = float(max(b[3] - b[1] for b in boxes))
    cut.top = min(b[1] for b in boxes)
    pieces = [cut.segment(g) for g in groups]
    base = tuple(range(len(groups)))
    paths: list[tuple[tuple[int, ...], int]] = [(base, 0)]

    def add(piece: Segment) -> int:
        pieces.append(piece)
        return len(pieces) - 1

    for i in range(len(groups) - 1):
        gap = boxes[i + 1][0] - boxes[i][2]
        if gap < 0.3 * cut.ref:
            merged = add(cut.segment(groups[i] + groups[i + 1]))
            paths.append(((*base[:i], merged, *base[i + 2:]), 1))
    for i, g in enumerate(groups):
        if len(g) > 1:
            ordered = sorted(g, key=lambda k: stats[k, 0] + stats[k, 2] / 2)
            centres = [stats[k, 0] + stats[k, 2] / 2 for k in ordered]
            at = 1 + int(np.argmax(np.diff(centres)))
            left, right = add(cut.segment(ordered[:at])), add(cut.segment(ordered[at:]))
            paths.append(((*base[:i], left, right, *base[i + 1:]), 1))
        elif len(groups) < max_segments:
            x0, _, x1, _ = boxes[i]
            for col in cut.split_columns(g[0]):
                left = add(cut.segment(g, (x0, col)))
                right = add(cut.segment(g, (col, x1)))
                paths.append(((*base[:i], left, right, *base[i + 1:]), 1))
    return SegmentLattice(tuple(pieces), tuple(paths))


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

    def read(
        self,
        segments: Sequence[Segment] | SegmentLattice,
        alphabet: Alphabet | None,
        edit_penalty: float = -2.0,
    ) -> GlyphReading:
        """Best strings over the alphabet, one character per glyph.

        Args:
            segments: Glyphs, left to right, or a lattice of alternative segmentations.
            alphabet: Allowed characters; None allows every class.
            edit_penalty: Log-probability per segmentation edit of a lattice path.

        Returns:
            The reading (empty text for no segments).
        """
        if isinstance(segments, SegmentLattice):
            lattice = segments
        else:
            lattice = SegmentLattice(tuple(segments), ((tuple(range(len(segments))), 0),))
        probs = self.probabilities(lattice.pieces)
        allowed = np.array(
            [alphabet is None or c in alphabet.chars for c in GLYPH_CLASSES], np.float32
        )
        p = probs * allowed
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        base = p[list(lattice.paths[0][0])] if lattice.paths else p[:0]
        paths = lattice.paths if len(lattice.paths) > 1 else ()
        if len(base) == 0:
            return GlyphReading("", (), 0.0, base)
        found: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
        for idx, edits in lattice.paths:
            for lp, ks in _best_strings(p[list(idx)]):
                if alphabet is not None and not alphabet.allows(
                    "".join(GLYPH_CLASSES[k] for k in ks)
                ):
                    continue
                lp += edit_penalty * edits
                if ks not in found or found[ks][0] < lp:
                    found[ks] = (lp, idx)
        if not found:
            return GlyphReading("", (), float("-inf"), base, (), p, paths, edit_penalty)
        ranked = sorted(found.items(), key=lambda kv: -kv[1][0])
        ks, (lp, idx) = ranked[0]
        chosen = tuple(float(p[i, k]) for i, k in zip(idx, ks, strict=True))
        alts = tuple(("".join(GLYPH_CLASSES[k] for k in b), v[0]) for b, v in ranked[:3])
        return GlyphReading(alts[0][0], chosen, lp, base, alts, p, paths, edit_penalty)


def _best_strings(p: np.ndarray) -> list[tuple[float, tuple[int, ...]]]:
    """Best few class sequences by product of per-glyph probabilities (top 3 per glyph)."""
    beams: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    for row in p:
        top = np.argsort(-row)[:3]
        beams = sorted(
            ((lp + math.log(max(float(row[k]), 1e-12)), (*ks, int(k)))
             for lp, ks in beams for k in top),
            reverse=True,
        )[:32]
    return beams
