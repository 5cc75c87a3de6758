"""Item difficulty learned from answers, Elo style, on the logit scale BKT uses.

An item starts at the bank author's 1..5 rating mapped to logits
(:func:`prior_from_bank`), then every answer nudges it: a student expected to get it right
who gets it wrong makes the item harder, and the reverse. The step size decays with the
number of answers seen, so early answers move a new item quickly and a well-used item
settles. The student's ability is the logit of their current mastery
(:func:`ability_from_mastery`), so "expected" is ``σ(ability − rating)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "BANK_STEP_LOGITS",
    "ItemDifficulty",
    "ability_from_mastery",
    "expected_correct",
    "item_from_bank",
    "k_factor",
    "prior_from_bank",
    "update_difficulty",
]

BANK_STEP_LOGITS = 1.0  # logits between adjacent bank ratings: 1 → −2 … 5 → +2
K_BASE = 0.4
K_DECAY = 0.05
# Abilities from mastery are clamped so a certain-looking student (p = 0.999) cannot move
# an item by a whole K on one answer they were "sure" to get right.
_ABILITY_P_CLAMP = 0.01


@dataclass(frozen=True)
class ItemDifficulty:
    """An item's difficulty estimate.

    Attributes:
        rating: difficulty in logits (0 = average, positive = harder).
        n: answers folded in so far.

    Raises:
        ValueError: a non-finite rating or negative ``n``.
    """

    rating: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        if not math.isfinite(self.rating):
            raise ValueError(f"ItemDifficulty.rating must be finite, got {self.rating!r}")
        if self.n < 0:
            raise ValueError(f"ItemDifficulty.n must be >= 0, got {self.n!r}")


def k_factor(n: int) -> float:
    """The Elo step size after ``n`` answers: ``0.4 / (1 + 0.05·n)``.

    Args:
        n: answers seen so far.

    Returns:
        The K factor (0.4 for a new item, 0.2 after 20 answers, 0.067 after 100).
    """
    return K_BASE / (1.0 + K_DECAY * n)


def expected_correct(student_ability: float, rating: float) -> float:
    """P(right) under the Elo/Rasch curve: ``σ(ability − rating)``.

    Args:
        student_ability: the student's ability in logits.
        rating: the item's difficulty in logits.

    Returns:
        A probability in (0, 1).
    """
    x = student_ability - rating
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def update_difficulty(item: ItemDifficulty, student_ability: float,
                      correct: float) -> ItemDifficulty:
    """Fold one answer into the item's difficulty.

    ``rating' = rating + K(n)·(expected − correct)``: the item gets harder by how much the
    student under-performed the curve.

    Args:
        item: the item before the answer.
        student_ability: the answering student's ability in logits.
        correct: credit in [0, 1].

    Returns:
        The item after the answer (``n + 1``).

    Raises:
        ValueError: credit outside [0, 1] or a non-finite ability.
    """
    if not (0.0 <= correct <= 1.0):
        raise ValueError(f"correct must lie in [0, 1], got {correct!r}")
    if not math.isfinite(student_ability):
        raise ValueError(f"student_ability must be finite, got {student_ability!r}")
    surprise = expected_correct(student_ability, item.rating) - correct
    return ItemDifficulty(rating=item.rating + k_factor(item.n) * surprise, n=item.n + 1)


def ability_from_mastery(p: float) -> float:
    """A student's ability in logits from their mastery probability.

    Args:
        p: P(mastered) in [0, 1]; clamped to [0.01, 0.99] (about ±4.6 logits).

    Returns:
        ``logit(p)``.

    Raises:
        ValueError: ``p`` outside [0, 1].
    """
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    p = min(max(p, _ABILITY_P_CLAMP), 1.0 - _ABILITY_P_CLAMP)
    return math.log(p / (1.0 - p))


def prior_from_bank(difficulty_1_to_5: int) -> float:
    """The question bank's 1..5 difficulty as logits (3 → 0, one logit a step).

    Args:
        difficulty_1_to_5: the bank's integer rating.

    Returns:
        ``(d − 3) · BANK_STEP_LOGITS``.

    Raises:
        ValueError: not an integer from 1 to 5.
    """
    if isinstance(difficulty_1_to_5, bool) or difficulty_1_to_5 not in (1, 2, 3, 4, 5):
        raise ValueError(f"bank difficulty must be an integer 1..5, got {difficulty_1_to_5!r}")
    return (int(difficulty_1_to_5) - 3) * BANK_STEP_LOGITS


def item_from_bank(difficulty_1_to_5: int) -> ItemDifficulty:
    """A new item's starting estimate from the bank rating.

    Args:
        difficulty_1_to_5: the bank's integer rating.

    Returns:
        ``ItemDifficulty(prior_from_bank(d), n=0)``.

    Raises:
        ValueError: not an integer from 1 to 5.
    """
    return ItemDifficulty(rating=prior_from_bank(difficulty_1_to_5), n=0)
