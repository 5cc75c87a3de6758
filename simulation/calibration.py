"""The page benchmark's auto-accept threshold rule, chosen on calibration pages.

The page benchmark (``bench/bench_scan_pages.py``) picks the confidence above which a
reading is accepted without review on calibration pages and reports the share right above
it on other pages; ``tools/training/fit_answer_confidence.py`` measures how well that rule
transfers to fresh pages. Both use :func:`choose_threshold`: the lowest threshold whose
accepted answers are ``target`` right by a one-sided Wilson lower bound, optionally taken
at the effective count of a calibration batch and a fresh batch (the predictive rule).
"""

from __future__ import annotations

import math

__all__ = ["Written", "choose_threshold", "wilson_lower"]

# (truth, reading, status, confidence) of one written answer
Written = tuple[str, str, str, float]


def wilson_lower(right: float, n: float, z: float) -> float:
    """One-sided Wilson score lower bound of a binomial share ``right / n`` (``n`` may be
    an effective, fractional count); 0 when ``n`` is 0."""
    if n == 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def choose_threshold(written: list[Written], target: float = 0.995,
                     z: float = 0.0, fresh_ratio: float | None = None) -> float:
    """Lowest confidence threshold whose accepted answers are at least ``target`` right;
    with ``z`` > 0, whose Wilson lower bound at ``z`` is (z = 0: the plain share).

    Args:
        written: (truth, reading, status, confidence) of each calibration answer.
        target: Share right the accepted answers must have.
        z: One-sided normal quantile of the bound.
        fresh_ratio: None bounds the calibration pages' own share. A number bounds the
            share on a fresh batch this many times the calibration batch's size: the
            benchmark's claim is about the measured pages, whose share scatters around
            the true one as much as the calibration pages' does, so the bound is taken at
            the effective count ``1 / (1/n + 1/(n * fresh_ratio))``.

    Returns:
        The threshold; 1.01 (above any confidence) when no threshold qualifies.
    """
    ranked = sorted(written, key=lambda w: -w[3])
    best = 1.01
    right = 0
    for i, (t, r, _, conf) in enumerate(ranked, start=1):
        right += t == r
        # A threshold accepts every answer of its confidence: judge it after the last one.
        tied = i < len(ranked) and ranked[i][3] == conf
        n = float(i) if fresh_ratio is None else 1.0 / (1.0 / i + 1.0 / (i * fresh_ratio))
        if not tied and wilson_lower(right / i * n, n, z) >= target:
            best = conf
    return best
