"""Recognisers: the fake's faults, and the real PP-OCR model on rendered crops."""

from __future__ import annotations

import pickle
from typing import Any

import cv2
import numpy as np
import pytest

from ocr.reading.ctc import ALPHABETS, forced_log_prob, masked
from ocr.reading.ensemble import EnsembleRecognizer
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.recognize import FakeRecognizer, PPOCRRecognizer, Reading, TextRecognizer
from simulation.handwriting import GlyphBank, compose_answer

NUMERIC = ALPHABETS["numeric"]


def _printed(text: str) -> np.ndarray:
    img = np.full((90, 320), 255, np.uint8)
    cv2.rectangle(img, (4, 4), (315, 85), 0, 2)  # the printed answer box
    cv2.putText(img, text, (40, 65), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 20, 3, cv2.LINE_AA)
    return img


@pytest.mark.parametrize("fault", ["raise", "timeout"])
def test_fake_faults_become_engine_error(fault: Any) -> None:
    fake = FakeRecognizer(fault=fault, timeout_s=0.01)
    readings = fake.recognize([np.zeros((4, 4), np.uint8)] * 2)
    assert [r.status for r in readings] == ["engine_error", "engine_error"]
    assert all(r.detail for r in readings)


def test_fake_garbage_is_unreadable_under_an_alphabet_and_never_silently_empty() -> None:
    fake = FakeRecognizer(fault="garbage")
    masked_out = fake.recognize([np.zeros((4, 4), np.uint8)], alphabet=NUMERIC)
    assert masked_out[0].status == "unreadable"
    free = fake.recognize([np.zeros((4, 4), np.uint8)])
    assert free[0].status == "ok"
    assert free[0].text


def test_fake_scripted_and_empty_script() -> None:
    rec: TextRecognizer = FakeRecognizer(script=[Reading("ok", "42", 0.9)])
    assert [r.text for r in rec.recognize([np.zeros((2, 2))] * 3)] == ["42"] * 3
    assert FakeRecognizer().recognize([np.zeros((2, 2))])[0].status == "engine_error"


def test_real_model_reads_printed_digits(rec_session: Any) -> None:
    rec = PPOCRRecognizer(rec_session)
    texts = ["85", "7/8", "-12", "3.5", "406"]
    readings = rec.recognize([_printed(t) for t in texts], alphabet=NUMERIC)
    assert [r.text for r in readings] == texts
    assert all(r.confidence > 0.9 for r in readings)
    assert len(pickle.dumps(readings[0])) < 20_000  # small enough to cross processes


def test_blank_box_is_blank_not_empty_text(rec_session: Any) -> None:
    rec = PPOCRRecognizer(rec_session)
    blank = _printed("")
    reading = rec.recognize([blank], alphabet=NUMERIC)[0]
    assert reading.status == "blank"


def test_engine_failure_is_engine_error(rec_session: Any) -> None:
    class Broken:
        def get_inputs(self) -> Any:
            return rec_session.get_inputs()

        def run(self, *args: Any) -> Any:
            raise RuntimeError("boom")

    rec = PPOCRRecognizer(Broken(), charset=["<blank>", "1", " "])
    reading = rec.recognize([_printed("1")])[0]
    assert reading.status == "engine_error"
    assert "boom" in reading.detail


def test_forced_score_of_truth_beats_a_wrong_key(rec_session: Any) -> None:
    rec = PPOCRRecognizer(rec_session)
    reading = rec.recognize([_printed("27")], alphabet=NUMERIC)[0]
    assert reading.ctc is not None
    m = masked(reading.ctc, NUMERIC)
    assert forced_log_prob(m, "27") > forced_log_prob(m, "21") + 3.0
    assert forced_log_prob(m, "27") > forced_log_prob(m, "277") + 3.0


def test_handwritten_crops_read_by_both_readers(
    rec_session: Any, glyph_session: Any, test_bank: GlyphBank
) -> None:
    rng = np.random.default_rng(11)
    truths = ["85", "7/8", "-12", "3.5", "406", "19", "62", "0.5"]
    crops = [compose_answer(test_bank, t, rng) for t in truths]
    line = PPOCRRecognizer(rec_session)
    ens = EnsembleRecognizer(line, GlyphClassifier(glyph_session))
    readings = ens.recognize([c.image for c in crops], alphabet=NUMERIC)
    right = sum(r.text == t for r, t in zip(readings, truths, strict=True))
    # Real handwriting: most, not necessarily all, of a handful read right.
    assert right >= 6, [(r.text, t) for r, t in zip(readings, truths, strict=True)]
    for r in readings:
        assert r.status == "ok"
        assert set(r.text) <= set(NUMERIC.chars)
