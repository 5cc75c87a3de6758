"""Glyph segmentation lattice and the glyph reader's string scores."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from ocr.reading.ctc import ALPHABETS
from ocr.reading.glyphs import (
    GLYPH_CLASSES,
    GlyphClassifier,
    GlyphReading,
    segment_ink,
    segment_lattice,
)

NUMERIC = ALPHABETS["numeric"]


def _ink(width: int = 200, height: int = 80) -> np.ndarray:
    return np.zeros((height, width), np.float32)


def _paths_by_length(ink: np.ndarray) -> dict[int, list[tuple[int, ...]]]:
    lattice = segment_lattice(ink)
    out: dict[int, list[tuple[int, ...]]] = {}
    for idx, _ in lattice.paths:
        out.setdefault(len(idx), []).append(idx)
    return out


def test_plain_segmentation_is_the_first_path_and_matches_segment_ink() -> None:
    canvas = np.zeros((80, 200), np.uint8)
    cv2.putText(canvas, "4 7", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 255, 4)
    ink = canvas.astype(np.float32) / 255.0
    lattice = segment_lattice(ink)
    plain, edits = lattice.paths[0]
    assert edits == 0
    assert len(plain) == 2
    segments = segment_ink(ink)
    assert [s.bbox for s in segments] == [lattice.pieces[i].bbox for i in plain]
    assert all(e == 1 for _, e in lattice.paths[1:])


def test_touching_digits_get_a_split_path() -> None:
    ink = _ink()
    # Two zeros drawn so that they overlap: one connected component, twice as wide as tall.
    cv2.ellipse(ink, (60, 40), (17, 26), 0, 0, 360, 1.0, 4)
    cv2.ellipse(ink, (92, 40), (17, 26), 0, 0, 360, 1.0, 4)
    paths = _paths_by_length(ink)
    assert 1 in paths  # the plain cut sees one glyph
    lattice = segment_lattice(ink)
    cuts = [lattice.pieces[idx[0]].bbox[2] for idx in paths[2]]
    # One of the cuts falls where the two loops touch (x = 76).
    assert any(72 <= x <= 80 for x in cuts), cuts


def test_dot_stacked_under_a_slanted_digit_gets_a_separate_path() -> None:
    ink = _ink()
    cv2.line(ink, (20, 70), (50, 10), 1.0, 4)  # a slanted stroke, x-span ~18..52
    cv2.circle(ink, (50, 68), 3, 1.0, -1)  # a dot at its foot, overlapping that span
    lattice = segment_lattice(ink)
    assert len(lattice.paths[0][0]) == 1  # stacked into the stroke by the plain cut
    two = [idx for idx, _ in lattice.paths if len(idx) == 2]
    assert two
    dot = lattice.pieces[two[0][1]]
    assert dot.geometry[0] < 0.3
    assert dot.geometry[2] > 0.7


def test_broken_glyph_gets_a_merge_path() -> None:
    ink = _ink()
    cv2.line(ink, (30, 10), (60, 10), 1.0, 4)  # a 7's bar ...
    cv2.line(ink, (64, 14), (45, 70), 1.0, 4)  # ... and its stem, not touching
    paths = _paths_by_length(ink)
    assert 2 in paths
    assert 1 in paths


def test_a_lone_speck_is_never_cut_into_an_empty_half() -> None:
    # A speck only a few pixels wide is its own reference height, so it looks wide
    # enough to split; a cut on its edge used to leave an empty half and crash.
    for h, w in ((2, 2), (2, 3), (3, 3), (4, 4)):
        ink = _ink()
        ink[40:40 + h, 100:100 + w] = 1.0
        lattice = segment_lattice(ink)
        for idx, _ in lattice.paths:
            for i in idx:
                assert lattice.pieces[i].image.max() > 0


def test_too_many_pieces_is_no_lattice() -> None:
    ink = _ink(400)
    for x in range(10, 390, 30):
        cv2.circle(ink, (x, 40), 6, 1.0, -1)
    assert segment_lattice(ink).paths == ()
    assert segment_ink(ink) == []


def _reading(probs: np.ndarray, piece_probs: np.ndarray | None = None,
             paths: tuple[tuple[tuple[int, ...], int], ...] = ()) -> GlyphReading:
    return GlyphReading("", (), 0.0, probs, (), piece_probs, paths, -2.0)


def _onehot(text: str, p: float = 0.9) -> np.ndarray:
    out = np.full((len(text), len(GLYPH_CLASSES)), (1 - p) / (len(GLYPH_CLASSES) - 1),
                  np.float32)
    for i, c in enumerate(text):
        out[i, GLYPH_CLASSES.index(c)] = p
    return out


def test_score_uses_edited_paths_with_their_penalty_and_falls_back() -> None:
    base = _onehot("8")  # touching "38" read as one glyph
    pieces = np.concatenate([base, _onehot("38")])
    reading = _reading(base, pieces, (((0,), 0), ((1, 2), 1)))
    assert math.isclose(reading.score("8", -3.0), math.log(0.9), rel_tol=1e-5)
    assert math.isclose(reading.score("38", -3.0), 2 * math.log(0.9) - 2.0, rel_tol=1e-5)
    # A string no path spells costs the count mismatch, never less.
    assert reading.score("385", -3.0) == -6.0
    assert reading.score("35", -3.0) == -3.0  # the split path scores it lower than that
    assert reading.score("3x", -3.0) == float("-inf")
    plain = _reading(_onehot("7/8"))
    assert math.isclose(plain.score("7/8", -3.0), 3 * math.log(0.9), rel_tol=1e-5)
    assert plain.score("78", -3.0) == -3.0


def test_classifier_reads_a_lattice_and_offers_the_split_reading(glyph_session: Any) -> None:
    ink = _ink()
    cv2.ellipse(ink, (60, 40), (17, 26), 0, 0, 360, 1.0, 4)
    cv2.ellipse(ink, (92, 40), (17, 26), 0, 0, 360, 1.0, 4)
    reading = GlyphClassifier(glyph_session).read(segment_lattice(ink), NUMERIC)
    assert reading.piece_probs is not None
    assert reading.paths
    assert len(reading.probs) == 1  # the plain segmentation's rows
    lengths = {len(text) for text, _ in reading.alternatives}
    assert lengths & {2}
    assert all(NUMERIC.allows(text) for text, _ in reading.alternatives)


def test_ensemble_reads_prepared_crops_like_the_line_reader(
    rec_session: Any, glyph_session: Any
) -> None:
    from ocr.reading.ensemble import EnsembleRecognizer
    from ocr.reading.recognize import PPOCRRecognizer

    img = np.full((90, 260), 245, np.uint8)
    cv2.putText(img, "27", (70, 65), cv2.FONT_HERSHEY_SIMPLEX, 1.8, 30, 4)
    blank = np.full((90, 260), 245, np.uint8)
    line = PPOCRRecognizer(rec_session)
    ens = EnsembleRecognizer(line, GlyphClassifier(glyph_session))
    got = ens.recognize([img, blank, np.zeros((2, 2, 2), np.uint8)], alphabet=NUMERIC)
    alone = line.recognize([img], alphabet=NUMERIC)[0]
    assert got[0].status == "ok"
    assert got[0].text == alone.text == "27"
    assert got[1].status == "blank"
    assert got[2].status == "engine_error"
    assert "bad crop" in got[2].detail
