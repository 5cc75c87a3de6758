"""The answer key is evidence only beside what the readers wrote: a key no reader
proposed anything beside is never the reading on its own (it would take all the share)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ocr.reading.ctc import ALPHABETS, CTCMatrix
from ocr.reading.ensemble import EnsembleOptions, EnsembleRecognizer
from ocr.reading.recognize import Reading

NUMERIC = ALPHABETS["numeric"]


def _ensemble_without_candidates() -> EnsembleRecognizer:
    """An ensemble whose readers propose nothing that fits the alphabet."""
    ensemble = EnsembleRecognizer.__new__(EnsembleRecognizer)
    nothing = SimpleNamespace(alternatives=(), text="", char_probs=(),
                              score=lambda _t, _p: -50.0)
    ensemble._glyphs = SimpleNamespace(read=lambda *_a: nothing)  # type: ignore[assignment]
    ensemble._hand = None
    ensemble._confidence = None
    ensemble.options = EnsembleOptions()
    ensemble.verifies_keys = True
    ensemble.evidence_log = None
    return ensemble


def test_a_key_alone_is_never_the_reading() -> None:
    symbols = "0123456789"
    frames = np.full((12, 1 + len(symbols)), np.log(1 / 11), np.float32)
    reading = Reading("unreadable", "", 0.0, ctc=CTCMatrix(frames, symbols),
                      detail="nothing that fits")
    out: Any = _ensemble_without_candidates()._combine(None, reading, NUMERIC, keys=("42",))
    assert out.text != "42"
    assert "42" not in dict(out.alternatives)
