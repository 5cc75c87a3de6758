"""The page bench's auto-accept threshold rule (simulation.calibration)."""

from __future__ import annotations

import math

import pytest

from simulation.calibration import choose_threshold, wilson_lower


def test_wilson_lower_bound_known_values() -> None:
    # 990 of 1000 right at z = 1.2816 (90% one-sided): 0.98509 by the Wilson formula.
    assert wilson_lower(990, 1000, 1.2816) == pytest.approx(0.98509, abs=1e-4)
    assert wilson_lower(990, 1000, 0.0) == pytest.approx(0.99)
    assert wilson_lower(0, 0, 1.0) == 0.0
    # More evidence for the same share tightens the bound towards it.
    assert wilson_lower(99, 100, 1.28) < wilson_lower(990, 1000, 1.28) < 0.99


def _written(n_right: int, n_wrong_low: int) -> list[tuple[str, str, str, float]]:
    """n_right right answers with confidences spread over (0.5, 1], then wrong ones at 0.4."""
    right = [("1", "1", "ok", 1.0 - i / (2 * n_right)) for i in range(n_right)]
    wrong = [("1", "7", "ok", 0.4)] * n_wrong_low
    return right + wrong


def test_threshold_with_bound_is_stricter_than_plain_share() -> None:
    # 400 right, then 1 wrong at the top of the ranking: the plain share reaches 99.5% at
    # 200 answers accepted, the Wilson bound needs far more evidence than that.
    written = [("2", "3", "ok", 0.999), *_written(400, 0)]
    plain = choose_threshold(written, 0.995, 0.0)
    bounded = choose_threshold(written, 0.995, 1.2816)
    assert plain < 1.0
    assert bounded > 1.0  # no threshold can be vouched for: nothing is accepted
    big = [("2", "3", "ok", 0.999), *_written(3000, 50)]
    th = choose_threshold(big, 0.995, 1.2816)
    accepted = [w for w in big if w[3] >= th]
    right = sum(t == r for t, r, _, _ in accepted)
    assert 0.4 < th < 1.0
    assert wilson_lower(right, len(accepted), 1.2816) >= 0.995
    assert not math.isnan(th)


def test_tied_confidences_are_accepted_together() -> None:
    # 1,000 right answers above 50 wrong ones that all share one confidence: a threshold at
    # that confidence accepts all 50, so it must not be chosen although the first of them
    # alone would still pass.
    written = _written(1000, 50)
    for z in (0.0, 1.2816):
        assert choose_threshold(written, 0.995, z) > 0.4


def test_predictive_rule_is_stricter_for_a_smaller_fresh_batch() -> None:
    # 3,000 answers above 50 wrong ones, 5 of the 3,000 wrong too (99.83% right): bounding
    # a fresh batch's share must accept no more than bounding the calibration share, and
    # less the smaller the fresh batch.
    written = _written(3000, 50)
    for k in range(5):
        written[1000 + k * 400] = ("2", "3", "ok", written[1000 + k * 400][3])
    calib_only = choose_threshold(written, 0.995, 1.2816)
    same_size = choose_threshold(written, 0.995, 1.2816, fresh_ratio=1.0)
    fifth = choose_threshold(written, 0.995, 1.2816, fresh_ratio=0.2)
    assert calib_only <= same_size <= fifth
    assert calib_only < 0.6
    assert fifth > 1.0
    # A huge fresh batch adds no doubt of its own: the rule tends to the calib-only one.
    assert choose_threshold(written, 0.995, 1.2816, fresh_ratio=1e9) == calib_only
