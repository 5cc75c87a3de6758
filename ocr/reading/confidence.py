"""Calibrated answer confidence: the chance a reading is right, from how its readers agreed.

The ensemble's posterior share (``ocr.reading.ensemble``) ranks a crop's candidates against each
other; it is a weak ranking of crops against each other. Three readers that each prefer
the winner by a wide margin are more often right than a winner carried by one reader's
certainty, at the same posterior share. :class:`ConfidenceModel` is a logistic model of
"the reading is right" over :data:`FEATURES`, fitted on calibration-split pages only
(``tools/training/fit_answer_confidence.py`` writes ``models/answer_confidence.json``).
Its output replaces the posterior share as the reading's confidence for the answer formats
it was fitted on; the alternatives keep their posterior shares.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FEATURES", "ConfidenceModel", "decision_features"]

# Every feature is finite for any input: a margin is clipped to +-MARGIN_CLIP, and a reader
# that was not asked (or cannot write either string) says nothing (agreement 0, margin 0).
FEATURES = (
    "log(1 - winner's posterior share)",
    "log(runner-up's posterior share)",
    "PP-OCR's favourite candidate is the winner",
    "the glyph reader's favourite is the winner",
    "the handwriting line reader's favourite is the winner",
    "all three favourites are the winner",
    "PP-OCR's margin: winner's log P minus the best rival's",
    "the glyph reader's margin",
    "the handwriting line reader's margin",
)
MARGIN_CLIP = 10.0
_SHARE_FLOOR = 1e-6


def _reader_terms(scores: Sequence[float | None], winner: int) -> tuple[float, float]:
    """(winner is this reader's favourite, winner's margin over the best rival)."""
    vals = [s if s is not None and math.isfinite(s) else None for s in scores]
    if vals[winner] is None:
        return 0.0, 0.0
    rivals = [v for i, v in enumerate(vals) if i != winner and v is not None]
    if not rivals:
        return 1.0, MARGIN_CLIP
    margin = float(vals[winner]) - max(rivals)  # type: ignore[arg-type]
    return float(margin >= 0), float(np.clip(margin, -MARGIN_CLIP, MARGIN_CLIP))


def decision_features(posterior: Sequence[float] | np.ndarray, line: Sequence[float | None],
                      glyph: Sequence[float | None], hand: Sequence[float | None],
                      winner: int) -> np.ndarray:
    """The :data:`FEATURES` of one decision among a crop's candidates.

    Args:
        posterior: Each candidate's posterior share (summing to 1).
        line, glyph, hand: Each reader's log-score of every candidate (None where the reader
            was not asked; ``-inf`` where it cannot write the candidate).
        winner: Index of the chosen candidate.

    Returns:
        float64 vector, one value per feature.
    """
    p = np.asarray(posterior, np.float64)
    rest = np.delete(p, winner)
    runner_up = float(rest.max()) if rest.size else 0.0
    terms = [_reader_terms(scores, winner) for scores in (line, glyph, hand)]
    agree = [t[0] for t in terms]
    return np.array([
        math.log(max(1.0 - float(p[winner]), _SHARE_FLOOR)),
        math.log(max(runner_up, _SHARE_FLOOR)),
        *agree,
        float(all(agree)),
        *(t[1] for t in terms),
    ])


@dataclass(frozen=True)
class ConfidenceModel:
    """Logistic model of P(reading is right) over standardised :data:`FEATURES`.

    Attributes:
        alphabets: Answer formats (``ocr.reading.ctc.Alphabet`` names) it was fitted on; readings
            of any other format keep the posterior share.
        mean, scale: Standardisation of each feature.
        weights: One coefficient per standardised feature.
        bias: Intercept.
        fitted_on: Free-form description of the calibration data.
    """

    alphabets: frozenset[str]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    fitted_on: str = ""

    def __post_init__(self) -> None:
        n = len(FEATURES)
        if not len(self.mean) == len(self.scale) == len(self.weights) == n:
            raise ValueError(f"a confidence model needs {n} means, scales and weights")
        if any(s <= 0 for s in self.scale):
            raise ValueError("feature scales must be positive")

    def applies(self, alphabet_name: str | None) -> bool:
        """Whether readings of this answer format get this model's confidence."""
        return alphabet_name is not None and alphabet_name in self.alphabets

    def probability(self, features: np.ndarray) -> float:
        """P(the reading is right) for one decision's features."""
        z = (np.asarray(features, np.float64) - self.mean) / np.asarray(self.scale)
        logit = self.bias + float(np.dot(self.weights, z))
        return float(1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0))))

    def to_json(self) -> str:
        """The model as the JSON ``load`` reads."""
        return json.dumps({
            "features": list(FEATURES), "alphabets": sorted(self.alphabets),
            "mean": list(self.mean), "scale": list(self.scale), "weights": list(self.weights),
            "bias": self.bias, "fitted_on": self.fitted_on,
        }, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        """Read a model written by ``to_json``.

        Raises:
            ValueError: If the file's features are not this code's :data:`FEATURES` (a
                model fitted for other features must not be applied to these).
        """
        data = json.loads(path.read_text("utf-8"))
        if tuple(data.get("features", ())) != FEATURES:
            raise ValueError(f"{path}: fitted on other features than ocr.reading.confidence.FEATURES")
        return cls(frozenset(data["alphabets"]), tuple(data["mean"]), tuple(data["scale"]),
                   tuple(data["weights"]), float(data["bias"]), str(data.get("fitted_on", "")))
