"""Calibrated answer confidence: its features, its model file and its place in the ensemble."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.loader import verify_model
from models.manifest import ANSWER_CONFIDENCE
from ocr.reading.confidence import FEATURES, MARGIN_CLIP, ConfidenceModel, decision_features
from ocr.reading.ctc import ALPHABETS
from ocr.reading.ensemble import (
    EnsembleOptions,
    EnsembleRecognizer,
    evidence_features,
    rank_candidates,
)
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.hand_reader import HandLineReader
from ocr.reading.recognize import PPOCRRecognizer
from simulation.handwriting import GlyphBank, compose_answer
from tools.training.fit_answer_confidence import coverage_at, fit_logistic


def _model(weights: list[float], alphabets: tuple[str, ...] = ("numeric",)) -> ConfidenceModel:
    n = len(FEATURES)
    return ConfidenceModel(frozenset(alphabets), (0.0,) * n, (1.0,) * n, tuple(weights), 2.0)


def test_features_of_a_decision_the_readers_agree_on() -> None:
    f = decision_features([0.9, 0.1], line=[-0.1, -3.0], glyph=[-0.2, -5.0], hand=[-0.1, -1.1],
                          winner=0)
    assert f.shape == (len(FEATURES),)
    assert f[0] == pytest.approx(math.log(0.1))
    assert f[1] == pytest.approx(math.log(0.1))
    assert list(f[2:6]) == [1.0, 1.0, 1.0, 1.0]
    assert f[6:] == pytest.approx([2.9, 4.8, 1.0])


def test_features_of_a_split_decision_and_of_missing_evidence() -> None:
    # PP-OCR prefers the loser; the glyph reader cannot write the loser (-inf); the
    # handwriting reader was not asked.
    f = decision_features([0.6, 0.4], line=[-2.0, -0.5], glyph=[-0.3, float("-inf")],
                          hand=[None, None], winner=0)
    assert list(f[2:6]) == [0.0, 1.0, 0.0, 0.0]
    assert f[6] == pytest.approx(-1.5)
    assert f[7] == MARGIN_CLIP  # no rival it can write: as sure as it gets
    assert f[8] == 0.0
    assert np.isfinite(f).all()
    lone = decision_features([1.0], line=[-0.1], glyph=[-0.1], hand=[-0.1], winner=0)
    assert lone[0] == pytest.approx(math.log(1e-6))
    assert np.isfinite(lone).all()
    huge = decision_features([0.5, 0.5], line=[0.0, -80.0], glyph=[0.0, 0.0], hand=[0.0, 0.0],
                             winner=0)
    assert huge[6] == MARGIN_CLIP


def test_model_probability_follows_its_weights_and_applies_only_to_its_formats() -> None:
    weights = [0.0] * len(FEATURES)
    weights[8] = 0.8  # the handwriting reader's margin
    model = _model(weights)
    low = decision_features([0.6, 0.4], [0, 0], [0, 0], [-1.0, 0.0], 0)
    high = decision_features([0.6, 0.4], [0, 0], [0, 0], [0.0, -3.0], 0)
    assert 0.0 < model.probability(low) < model.probability(high) < 1.0
    assert model.applies("numeric")
    assert not model.applies("digits")
    assert not model.applies(None)
    with pytest.raises(ValueError, match="needs"):
        ConfidenceModel(frozenset(), (0.0,), (1.0,), (1.0,), 0.0)
    with pytest.raises(ValueError, match="positive"):
        ConfidenceModel(frozenset(), (0.0,) * 9, (0.0,) * 9, (1.0,) * 9, 0.0)


def test_model_json_round_trip_and_foreign_features_refused(tmp_path: Path) -> None:
    model = _model([0.1 * k for k in range(len(FEATURES))], ("numeric", "digits"))
    path = tmp_path / "m.json"
    path.write_text(model.to_json(), "utf-8")
    assert ConfidenceModel.load(path) == model
    data = json.loads(path.read_text("utf-8"))
    data["features"] = [*data["features"][:-1], "something else"]
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ValueError, match="other features"):
        ConfidenceModel.load(path)


def test_fit_logistic_recovers_a_separating_feature_and_coverage_counts() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 2))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(3.0 + 2.0 * x[:, 0])))).astype(float)
    _mean, scale, w, _b = fit_logistic(x, y)
    assert w[0] / scale[0] == pytest.approx(2.0, abs=0.4)
    assert abs(w[1]) < 0.2
    score = np.array([1.0, 0.9, 0.8, 0.7])
    assert coverage_at(score, np.array([1.0, 1.0, 0.0, 1.0]), 0.99) == 0.5
    assert coverage_at(score, np.array([0.0, 1.0, 1.0, 1.0]), 0.99) == 0.0


def test_the_shipped_model_prefers_agreement() -> None:
    model = ConfidenceModel.load(verify_model(ANSWER_CONFIDENCE))
    assert model.applies("numeric")
    # Typical of a clear answer: all three readers far apart from the rival.
    agreed = decision_features([0.999, 0.001], [-0.1, -8.0], [-0.1, -8.0], [-0.1, -9.0], 0)
    # Same winner share, but PP-OCR and the line reader prefer the rival.
    split = decision_features([0.999, 0.001], [-4.0, -0.1], [-0.1, -8.0], [-3.0, -0.2], 0)
    assert model.probability(agreed) > 0.99
    # At least four times the chance of a misread.
    assert 1 - model.probability(split) > 4 * (1 - model.probability(agreed))


def test_ensemble_confidence_is_calibrated_for_fitted_formats_only(
    rec_session: Any, glyph_session: Any, hand_session: Any, test_bank: GlyphBank
) -> None:
    rng = np.random.default_rng(21)
    crops = [compose_answer(test_bank, t, rng).image for t in ["47", "3/8", "-12", "6.5"]]
    model = ConfidenceModel.load(verify_model(ANSWER_CONFIDENCE))
    readers = (PPOCRRecognizer(rec_session), GlyphClassifier(glyph_session))
    calibrated = EnsembleRecognizer(*readers, hand=HandLineReader(hand_session),
                                    confidence=model)
    calibrated.evidence_log = []
    numeric = calibrated.recognize(crops, alphabet=ALPHABETS["numeric"])
    assert len(calibrated.evidence_log) == len(crops)
    for reading, evidence in zip(numeric, calibrated.evidence_log, strict=True):
        cands, post = rank_candidates(evidence, EnsembleOptions(), numeral=True)
        assert reading.text == cands[int(np.argmax(post))].text
        # The confidence is the model's, computed from the same evidence; the
        # alternatives keep their posterior shares.
        assert reading.confidence == pytest.approx(
            model.probability(evidence_features(cands, post)))
        assert reading.alternatives[0][1] == pytest.approx(float(post.max()))
    # A format the model was not fitted on keeps the posterior share.
    signed = calibrated.recognize(crops, alphabet=ALPHABETS["signed_decimal"])
    assert all(r.confidence == pytest.approx(r.alternatives[0][1]) for r in signed)


def test_transfer_pairs_applies_each_sets_threshold_to_the_fresh_one() -> None:
    from tools.training.fit_answer_confidence import transfer_pairs

    # Set a is right only above 0.9, so its threshold is 0.95; set b's wrong answer sits
    # above that, so b judged by a's threshold falls under 99.5%.
    a = (np.array([0.99] * 300 + [0.95] * 300 + [0.5] * 10), np.array([1.0] * 600 + [0.0] * 10))
    b = (np.array([0.99] * 100 + [0.97] + [0.2] * 20), np.array([1.0] * 100 + [0.0] + [1.0] * 20))
    a_to_b, b_to_a = transfer_pairs([(a, b), (b, a)], z=0.0)
    assert a_to_b == (100 / 101, 101 / 121)
    # b's own wrong answer at 0.97 keeps its threshold at 0.99: a's 0.95s are left out.
    assert b_to_a == (1.0, 300 / 610)
    # Bounding a fresh batch a tenth of a's size: 600 right of 600 no longer vouches for
    # 99.5% there, so nothing is accepted.
    assert transfer_pairs([(a, b)], z=1.2816, fresh_ratio=0.1) == [(1.0, 0.0)]
