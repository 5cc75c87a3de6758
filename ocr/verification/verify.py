"""Verification: how much more (or less) likely is the answer key than the best reading?

Grading asks "did the student write the key?", which is easier than "what did the student
write?". :func:`check_key` scores the key itself on the reading's CTC matrix (forced
alignment) and compares it with the best other string; the grader turns the margin into
correct / wrong / review with thresholds calibrated on held-out data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ocr.reading.ctc import Alphabet, forced_log_prob, masked
from ocr.reading.recognize import Reading

__all__ = ["KeyCheck", "check_key"]


@dataclass(frozen=True)
class KeyCheck:
    """Evidence for or against the key.

    Attributes:
        key: The answer key as normalised text.
        key_log_prob: log P(key | crop) among strings the alphabet allows.
        rival: The most likely reading other than the key ("" if none).
        rival_log_prob: Its log-probability (``-inf`` if none).
        margin: ``key_log_prob - rival_log_prob``: large positive means the student wrote
            the key, large negative means they wrote something else.
    """

    key: str
    key_log_prob: float
    rival: str
    rival_log_prob: float
    margin: float


def check_key(reading: Reading, key: str, alphabet: Alphabet | None = None) -> KeyCheck:
    """Compare the key's CTC probability with the best rival reading's.

    Args:
        reading: A reading that carries its CTC matrix (status ``ok`` or ``unreadable``).
        key: The expected answer.
        alphabet: The alphabet the reading was masked to, or None for the full matrix.

    Returns:
        The key check.

    Raises:
        ValueError: If the reading has no CTC matrix (blank or engine error: nothing to
            verify, and the caller must not treat that as a wrong answer).
    """
    if reading.ctc is None:
        raise ValueError(f"reading with status {reading.status!r} has no CTC evidence")
    matrix = masked(reading.ctc, alphabet) if alphabet is not None else reading.ctc
    key_lp = forced_log_prob(matrix, key)
    rivals = [t for t, _ in reading.alternatives if t != key]
    rival = max(rivals, key=lambda t: forced_log_prob(matrix, t), default="")
    rival_lp = forced_log_prob(matrix, rival) if rival else -math.inf
    margin = 0.0 if math.isinf(key_lp) and math.isinf(rival_lp) else key_lp - rival_lp
    return KeyCheck(key, key_lp, rival, rival_lp, margin)
