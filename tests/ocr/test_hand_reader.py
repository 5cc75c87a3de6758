"""The handwriting line reader: its input, its model, and its place in the ensemble."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ocr.reading.ctc import ALPHABETS, Alphabet, beam_search, forced_log_prob
from ocr.reading.ensemble import EnsembleRecognizer
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.hand_reader import (
    HAND_SYMBOLS,
    INPUT_HEIGHT,
    INPUT_WIDTH,
    HandLineReader,
    hand_input,
)
from ocr.reading.preprocess import clean_ink
from ocr.reading.recognize import PPOCRRecognizer
from simulation.handwriting import GlyphBank, compose_answer

NUMERIC = ALPHABETS["numeric"]


def test_hand_input_keeps_aspect_and_fits_the_canvas() -> None:
    ink = np.zeros((40, 60), np.float32)
    ink[10:30, 10:50] = 1.0
    canvas = hand_input(ink)
    assert canvas.shape == (INPUT_HEIGHT, INPUT_WIDTH)
    assert canvas.dtype == np.float32
    cols = np.flatnonzero(canvas.max(axis=0) > 0.5)
    rows = np.flatnonzero(canvas.max(axis=1) > 0.5)
    # 40x60 scaled to height 32 is 48 wide; the ink sits at the left edge.
    assert cols.max() < 48
    assert cols.min() < 12
    assert 0.9 < (np.ptp(cols) + 1) / (np.ptp(rows) + 1) / 2.0 < 1.1
    wide = hand_input(np.ones((10, 400), np.float32))
    # A long answer is shrunk to the width, centred vertically, never cut off.
    assert wide[:, -1].max() > 0.5
    assert wide[0].max() == 0.0


def test_covers_only_alphabets_it_can_write() -> None:
    assert HandLineReader.covers(NUMERIC)
    assert HandLineReader.covers(ALPHABETS["digits"])
    assert not HandLineReader.covers(ALPHABETS["expression"])
    assert not HandLineReader.covers(ALPHABETS["choice_ad"])
    assert not HandLineReader.covers(None)
    assert not HandLineReader.covers(Alphabet("remainder", "0123456789."))


def test_model_reads_handwritten_answers(hand_session: Any, test_bank: GlyphBank) -> None:
    rng = np.random.default_rng(5)
    truths = ["85", "7/8", "-12", "3.5", "406", "19", "62", "0.5", "1234", "-3/4"]
    inks = []
    for t in truths:
        ink, _ = clean_ink(compose_answer(test_bank, t, rng).image)
        assert ink is not None
        inks.append(ink)
    matrices = HandLineReader(hand_session, max_batch=4).matrices(inks)
    assert len(matrices) == len(truths)
    right = 0
    for m, t in zip(matrices, truths, strict=True):
        assert m.symbols == HAND_SYMBOLS
        assert np.allclose(np.exp(m.log_probs).sum(axis=1), 1.0, atol=1e-3)
        best = beam_search(m, top_k=1)[0].text
        right += best == t
        # The truth is far likelier than a one-digit slip of it.
        if best == t:
            slip = t.replace(t[-1], "0" if t[-1] != "0" else "1")
            assert forced_log_prob(m, t) > forced_log_prob(m, slip) + 2.0
    # Test-split handwriting the model never saw: nearly all, not necessarily all.
    assert right >= 8, right


class _Broken:
    def matrices(self, inks: Any) -> Any:
        raise RuntimeError("model crashed")


def test_ensemble_uses_the_hand_reader_and_survives_its_failure(
    rec_session: Any, glyph_session: Any, hand_session: Any, test_bank: GlyphBank
) -> None:
    rng = np.random.default_rng(9)
    truths = ["47", "9/4", "-71", "1.7", "714"]
    crops = [compose_answer(test_bank, t, rng).image for t in truths]
    line = PPOCRRecognizer(rec_session)
    glyphs = GlyphClassifier(glyph_session)
    with_hand = EnsembleRecognizer(line, glyphs, hand=HandLineReader(hand_session))
    readings = with_hand.recognize(crops, alphabet=NUMERIC)
    assert all("hand=" in r.detail for r in readings)
    assert sum(r.text == t for r, t in zip(readings, truths, strict=True)) >= 4
    # Outside its alphabet the hand reader is not asked at all.
    letters = with_hand.recognize(crops[:1], alphabet=Alphabet("choice", "ABCD"))
    assert "hand=" not in letters[0].detail
    # A crashing third reader leaves the other two to decide: same texts as without it.
    broken = EnsembleRecognizer(line, glyphs, hand=_Broken())  # type: ignore[arg-type]
    without = EnsembleRecognizer(line, glyphs)
    got = [r.text for r in broken.recognize(crops, alphabet=NUMERIC)]
    assert got == [r.text for r in without.recognize(crops, alphabet=NUMERIC)]
    assert all(r.status == "ok" for r in broken.recognize(crops, alphabet=NUMERIC))


@pytest.mark.parametrize("blank", [np.full((60, 200), 245, np.uint8)])
def test_blank_crop_stays_blank_with_three_readers(
    rec_session: Any, glyph_session: Any, hand_session: Any, blank: np.ndarray
) -> None:
    ens = EnsembleRecognizer(PPOCRRecognizer(rec_session), GlyphClassifier(glyph_session),
                             hand=HandLineReader(hand_session))
    assert ens.recognize([blank], alphabet=NUMERIC)[0].status == "blank"


def test_a_crop_whose_cleaning_crashes_is_an_engine_error_alone(
    rec_session: Any, glyph_session: Any, hand_session: Any, test_bank: GlyphBank,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    import ocr.reading.ensemble as ensemble

    rng = np.random.default_rng(4)
    crops = [compose_answer(test_bank, t, rng).image for t in ["47", "3/8", "62"]]
    real = ensemble.clean_ink

    def flaky(crop: np.ndarray, options: Any = None) -> Any:
        if crop is crops[1]:
            raise RuntimeError("OpenCV assertion")
        return real(crop, options)

    monkeypatch.setattr(ensemble, "clean_ink", flaky)
    ens = EnsembleRecognizer(PPOCRRecognizer(rec_session), GlyphClassifier(glyph_session),
                             hand=HandLineReader(hand_session))
    out = ens.recognize(crops, alphabet=NUMERIC)
    assert out[1].status == "engine_error"
    assert "cleaning failed" in out[1].detail
    assert out[0].status == out[2].status == "ok"


def test_the_key_is_verified_as_a_candidate_on_every_reader(
    rec_session: Any, glyph_session: Any, hand_session: Any, test_bank: GlyphBank
) -> None:
    rng = np.random.default_rng(21)
    crops = [compose_answer(test_bank, t, rng).image for t in ("47", "305", "3/8")]
    keys = [("41",), ("905",), ("3/8",)]  # two keys the child did not write, one they did
    reader = EnsembleRecognizer(PPOCRRecognizer(rec_session), GlyphClassifier(glyph_session),
                                hand=HandLineReader(hand_session))
    checked = reader.recognize(crops, alphabet=NUMERIC, expected=keys)
    for reading, (key,) in zip(checked, keys, strict=True):
        # Every key has a posterior share, however small, so the policy can weigh it.
        assert key in dict(reading.alternatives), reading
        assert f"key='{key}'" in reading.detail
    # The keys only add evidence: a clear "47" is still read as written, far above "41".
    assert checked[0].text == "47"
    assert dict(checked[0].alternatives)["41"] < 0.05
    reader.verifies_keys = False
    plain = reader.recognize(crops, alphabet=NUMERIC, expected=keys)
    assert all("key=" not in r.detail for r in plain)
