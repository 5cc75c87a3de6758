"""EM fit of BKT parameters: exact likelihood, recovery, bounds, minimum-data rule."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from errorbook.learner.bkt import BktParams
from errorbook.learner.fit import (
    GUESS_SLIP_BOUNDS,
    PRIOR_LEARN_BOUNDS,
    fit_all,
    fit_bkt,
    log_likelihood,
    simulate_bkt,
)

TRUE = BktParams(prior=0.35, learn=0.12, guess=0.18, slip=0.08)


def brute_log_likelihood(seqs: list[list[float]], p: BktParams) -> float:
    """Sum over every hidden path: independent of the forward–backward code."""
    total = 0.0
    for seq in filter(None, seqs):
        like = 0.0
        for path in itertools.product((0, 1), repeat=len(seq)):
            pr = p.prior if path[0] else 1 - p.prior
            for a, b in itertools.pairwise(path):
                to1 = p.learn if a == 0 else 1 - p.forget
                pr *= to1 if b else 1 - to1
            for s, c in zip(path, seq, strict=True):
                right = 1 - p.slip if s else p.guess
                pr *= c * right + (1 - c) * (1 - right)
            like += pr
        total += math.log(like)
    return total


def test_log_likelihood_equals_brute_force_with_partial_credit_and_forgetting() -> None:
    p = BktParams(prior=0.4, learn=0.2, guess=0.25, slip=0.15, forget=0.05)
    seqs: list[list[float]] = [[1, 0.5, 0, 1, 1], [0, 1], [1], [0.3, 0.7, 1, 0], []]
    assert log_likelihood(seqs, p) == pytest.approx(brute_log_likelihood(seqs, p), rel=1e-12)
    assert log_likelihood([], p) == 0.0


def test_recovers_generating_parameters() -> None:
    seqs = simulate_bkt(TRUE, n_students=500, n_answers=20, seed=1)
    r = fit_bkt(seqs)
    assert r.fitted
    assert (r.n_answers, r.n_students) == (10_000, 500)
    for name in ("prior", "learn", "guess", "slip"):
        assert getattr(r.params, name) == pytest.approx(getattr(TRUE, name), abs=0.05), name
    assert r.log_likelihood == pytest.approx(log_likelihood(seqs, r.params))
    assert r.log_likelihood > log_likelihood(seqs, BktParams())


def test_recovers_parameters_far_from_the_starting_point() -> None:
    true = BktParams(prior=0.1, learn=0.3, guess=0.1, slip=0.2)
    r = fit_bkt(simulate_bkt(true, 500, 20, seed=2), tol=1e-8, max_iter=500)
    assert "converged" in r.reason
    for name in ("prior", "learn", "guess", "slip"):
        assert getattr(r.params, name) == pytest.approx(getattr(true, name), abs=0.05), name


def test_fit_is_a_local_maximum_of_the_likelihood() -> None:
    seqs = simulate_bkt(BktParams(prior=0.6, learn=0.05, guess=0.25, slip=0.05), 300, 15, 3)
    r = fit_bkt(seqs, tol=1e-12, max_iter=5000)
    for name in ("prior", "learn", "guess", "slip"):
        for step in (-2e-3, 2e-3):
            moved = dataclasses.replace(r.params, **{name: getattr(r.params, name) + step})
            assert log_likelihood(seqs, moved) < r.log_likelihood, (name, step)


def test_bounds_hold_when_data_pull_outside_them() -> None:
    # Unmastered students answer right 60% of the time: unconstrained EM wants guess = 0.6.
    rng = np.random.default_rng(4)
    seqs = (rng.random((200, 10)) < 0.6).astype(int).tolist()
    r = fit_bkt(seqs, max_iter=300)
    lo, hi = GUESS_SLIP_BOUNDS
    assert lo <= r.params.guess <= hi
    assert lo <= r.params.slip <= hi
    lo, hi = PRIOR_LEARN_BOUNDS
    assert lo <= r.params.prior <= hi
    assert lo <= r.params.learn <= hi
    assert r.params.guess == pytest.approx(0.3) or r.params.slip == pytest.approx(0.3)
    # Everyone always right: prior wants 1.0 and is held at 0.99.
    perfect = fit_bkt([[1] * 10 for _ in range(50)])
    assert perfect.params.prior == pytest.approx(PRIOR_LEARN_BOUNDS[1])


def test_partial_credit_is_a_soft_observation() -> None:
    hard = simulate_bkt(TRUE, 300, 12, seed=5)
    # Every answer of one sequence in three becomes a half credit.
    soft = [[0.5 if i % 3 == 0 else c for c in s] for i, s in enumerate(hard)]
    r = fit_bkt(soft, tol=1e-12, max_iter=5000)
    assert r.fitted
    assert r.log_likelihood == pytest.approx(log_likelihood(soft, r.params))
    # EM's fixed point is a maximum of the soft likelihood only if the M-step splits each
    # soft answer into its expected right/wrong parts correctly.
    for name in ("prior", "learn", "guess", "slip"):
        for step in (-2e-3, 2e-3):
            moved = dataclasses.replace(r.params, **{name: getattr(r.params, name) + step})
            assert log_likelihood(soft, moved) < r.log_likelihood, (name, step)
    with pytest.raises(ValueError, match=r"answers must be credits in \[0, 1\]"):
        fit_bkt([[0, 1, 1.5]] * 20)


def test_minimum_data_rule_returns_defaults_with_a_reason() -> None:
    init = BktParams(prior=0.4)
    few_students = fit_bkt([[1, 0] * 50] * 9, init=init)  # 900 answers, 9 students
    assert not few_students.fitted
    assert few_students.params == init
    assert few_students.iterations == 0
    assert "9 students" in few_students.reason
    few_answers = fit_bkt([[1] * 19] * 10)  # 190 answers
    assert not few_answers.fitted
    assert few_answers.params == BktParams()
    assert "190 answers" in few_answers.reason
    assert few_answers.log_likelihood == pytest.approx(
        log_likelihood([[1] * 19] * 10, BktParams()))
    assert fit_bkt([[1] * 19] * 10, min_answers=100).fitted
    empty = fit_bkt([[], []])
    assert not empty.fitted
    assert (empty.n_answers, empty.n_students) == (0, 0)
    assert not fit_bkt([], min_answers=0, min_students=0).fitted


def test_fit_all_matches_separate_fits_and_reports_every_code() -> None:
    data = {
        "math.add": simulate_bkt(TRUE, 120, 15, seed=6),
        "math.sub": simulate_bkt(BktParams(prior=0.6, learn=0.05, guess=0.1, slip=0.15),
                                 80, 30, seed=7),
        "math.mul": simulate_bkt(TRUE, 5, 10, seed=8),
    }
    together = fit_all(data, tol=1e-7)
    assert set(together) == set(data)
    assert not together["math.mul"].fitted
    for code in ("math.add", "math.sub"):
        alone = fit_bkt(data[code], tol=1e-7)
        assert together[code].iterations == alone.iterations
        for name in ("prior", "learn", "guess", "slip"):
            assert getattr(together[code].params, name) == pytest.approx(
                getattr(alone.params, name), abs=1e-9)


def test_max_iter_stops_and_says_so() -> None:
    r = fit_bkt(simulate_bkt(BktParams(prior=0.1, learn=0.3, guess=0.1, slip=0.2), 200, 20, 9),
                max_iter=1, tol=0.0)
    assert r.iterations == 1
    assert "max_iter" in r.reason
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        fit_bkt([[1]], max_iter=0)
