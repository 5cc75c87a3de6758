"""Bayesian Knowledge Tracing (BKT) with item difficulty, per student × knowledge point.

The model has one hidden bit per student and knowledge point: *mastered* or not. Each
answer is evidence about the bit (a mastered student still slips, an unmastered one may
guess right); between answers an unmastered student may learn (and, optionally, a mastered
one may forget). Everything here is pure and O(1) per answer: the service keeps one
:class:`MasteryState` per student × knowledge point and calls :func:`update` as grades
arrive, or :func:`replay` to recompute after a teacher overrides a grade.

Item difficulty (logits, 0 = an average item; see :mod:`errorbook.learner.difficulty`) changes the
guess and slip of that one answer: it shifts them in logit space,
``guess_d = σ(logit(guess) − w·d)`` and ``slip_d = σ(logit(slip) + w·d)`` with
``w = params.difficulty_weight`` and ``d`` clamped to ±:data:`MAX_DIFFICULTY`. A hard item
is therefore rarely guessed and more often slipped on, so a right answer on it says more
and a wrong one less; an easy item the reverse. The shift keeps ``guess_d + slip_d < 1``
whenever ``guess + slip < 1`` (the two logits sum to the same value), so an answer never
turns into evidence *against* mastery.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist

__all__ = [
    "HISTORY_LENGTH",
    "MAX_DIFFICULTY",
    "BktParams",
    "MasteryState",
    "Observation",
    "initial_state",
    "item_guess_slip",
    "predict_correct",
    "replay",
    "update",
]

HISTORY_LENGTH = 10  # p_mastery values kept for the trend
MAX_DIFFICULTY = 4.0  # logits; beyond this an item's evidence is essentially nil anyway
# Pseudo-answers added to the attempt count for the band: even after many answers the
# hidden-state model is only a model, and before any answer the band must be wide.
BAND_PSEUDO_ANSWERS = 2.0
_EPS = 1e-9


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True)
class BktParams:
    """The four (five) BKT probabilities of one knowledge point.

    Defaults are the classic textbook starting point, used until a knowledge point has
    enough answers to be fitted (:func:`errorbook.learner.fit.fit_bkt`).

    Attributes:
        prior: P(mastered) before the first answer.
        learn: P(unmastered → mastered) after each answer.
        guess: P(right | unmastered) on an average item.
        slip: P(wrong | mastered) on an average item.
        forget: P(mastered → unmastered) after each answer (0 in classic BKT).
        difficulty_weight: logits of guess/slip shift per logit of item difficulty.

    Raises:
        ValueError: a probability outside [0, 1], ``guess + slip >= 1`` (answers would
            stop meaning mastery) or a negative ``difficulty_weight``.
    """

    prior: float = 0.3
    learn: float = 0.15
    guess: float = 0.2
    slip: float = 0.1
    forget: float = 0.0
    difficulty_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("prior", "learn", "guess", "slip", "forget"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):  # also rejects NaN
                raise ValueError(f"BktParams.{name} must lie in [0, 1], got {value!r}")
        if not self.guess + self.slip < 1.0:
            raise ValueError(f"BktParams needs guess + slip < 1, got {self.guess} + {self.slip}")
        if not (0.0 <= self.difficulty_weight < math.inf):
            raise ValueError(f"BktParams.difficulty_weight must be >= 0, got "
                             f"{self.difficulty_weight!r}")


@dataclass(frozen=True)
class Observation:
    """One graded answer on one knowledge point.

    Attributes:
        correct: credit in [0, 1]: 1 right, 0 wrong, in between partial credit.
        difficulty: the item's difficulty in logits (0 = average, positive = harder).
        at: when the answer was written (or graded); orders a replay. The default
            (``datetime.min``) is for simulations; the service always passes a time, and
            must not mix naive and aware datetimes for one student.

    Raises:
        ValueError: credit outside [0, 1] or a non-finite difficulty.
    """

    correct: float
    difficulty: float = 0.0
    at: datetime = datetime.min

    def __post_init__(self) -> None:
        if not (0.0 <= self.correct <= 1.0):
            raise ValueError(f"Observation.correct must lie in [0, 1], got {self.correct!r}")
        if not math.isfinite(self.difficulty):
            raise ValueError(f"Observation.difficulty must be finite, got {self.difficulty!r}")


@dataclass(frozen=True)
class MasteryState:
    """What we believe about one student on one knowledge point.

    Attributes:
        p_mastery: P(mastered) now, i.e. before the next answer (learning included).
        attempts: answers seen.
        correct: total credit of those answers.
        last_seen: time of the latest answer (None before the first).
        history: ``p_mastery`` after each of the last :data:`HISTORY_LENGTH` answers,
            oldest first.
    """

    p_mastery: float
    attempts: int = 0
    correct: float = 0.0
    last_seen: datetime | None = None
    history: tuple[float, ...] = ()

    def band(self, level: float = 0.9) -> tuple[float, float]:
        """A credible band around ``p_mastery`` for display (a documented heuristic).

        BKT gives a point probability, not a distribution, so the band treats
        ``p_mastery`` as a proportion estimated from ``attempts + 2`` answers and returns
        its Wilson score interval: wide with little evidence, narrowing as answers
        accumulate, always inside [0, 1] and always containing ``p_mastery``.

        Args:
            level: the two-sided coverage, in (0, 1).

        Returns:
            ``(low, high)``.

        Raises:
            ValueError: ``level`` outside (0, 1).
        """
        if not (0.0 < level < 1.0):
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        n = self.attempts + BAND_PSEUDO_ANSWERS
        p = self.p_mastery
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
        # min/max guard the last ulp so the band provably contains p.
        return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))

    def trend(self, window: int = 5) -> float:
        """Recent change of ``p_mastery``: its rise (or fall) over the last ``window`` answers.

        Args:
            window: answers to look back (clamped to the history kept).

        Returns:
            ``history[-1] - history[-1 - window]`` (or from the oldest value kept); 0.0
            with fewer than two values.

        Raises:
            ValueError: ``window < 1``.
        """
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window!r}")
        if len(self.history) < 2:
            return 0.0
        back = min(window, len(self.history) - 1)
        return self.history[-1] - self.history[-1 - back]


def initial_state(params: BktParams) -> MasteryState:
    """The state before any answer.

    Args:
        params: the knowledge point's parameters.

    Returns:
        ``p_mastery = params.prior``, no attempts, no history.
    """
    return MasteryState(p_mastery=params.prior)


def item_guess_slip(params: BktParams, difficulty: float) -> tuple[float, float]:
    """Guess and slip for one item of the given difficulty (the module docstring's rule).

    Args:
        params: the knowledge point's parameters.
        difficulty: item difficulty in logits; clamped to ±:data:`MAX_DIFFICULTY`.

    Returns:
        ``(guess_d, slip_d)``; equal to ``(guess, slip)`` at difficulty 0.
    """
    d = min(max(difficulty, -MAX_DIFFICULTY), MAX_DIFFICULTY)
    if d == 0.0 or params.difficulty_weight == 0.0:
        return params.guess, params.slip
    shift = params.difficulty_weight * d
    return _sigmoid(_logit(params.guess) - shift), _sigmoid(_logit(params.slip) + shift)


def _posterior(p: float, right: bool, guess: float, slip: float) -> float:
    """P(mastered | this answer) by Bayes' rule; the prior back if the answer is impossible."""
    if right:
        num, other = p * (1.0 - slip), (1.0 - p) * guess
    else:
        num, other = p * slip, (1.0 - p) * (1.0 - guess)
    total = num + other
    return num / total if total > 0.0 else p


def update(state: MasteryState, obs: Observation, params: BktParams) -> MasteryState:
    """Fold one answer into the state (pure, O(1)).

    The posterior is Bayes' rule with the item's guess/slip; partial credit ``c``
    interpolates ``c·post(right) + (1 − c)·post(wrong)``; then one learning step:
    ``p' = post·(1 − forget) + (1 − post)·learn``.

    Args:
        state: the state before the answer.
        obs: the answer.
        params: the knowledge point's parameters.

    Returns:
        The new state (attempts, credit, last_seen and history updated).
    """
    guess, slip = item_guess_slip(params, obs.difficulty)
    p = state.p_mastery
    c = obs.correct
    post = c * _posterior(p, True, guess, slip) + (1.0 - c) * _posterior(p, False, guess, slip)
    p_next = post * (1.0 - params.forget) + (1.0 - post) * params.learn
    p_next = min(max(p_next, 0.0), 1.0)  # rounding only; the formula stays in [0, 1]
    last = obs.at if state.last_seen is None else max(state.last_seen, obs.at)
    return MasteryState(
        p_mastery=p_next,
        attempts=state.attempts + 1,
        correct=state.correct + c,
        last_seen=last,
        history=(*state.history, p_next)[-HISTORY_LENGTH:],
    )


def replay(observations: Iterable[Observation], params: BktParams,
           start: MasteryState | None = None) -> MasteryState:
    """Recompute a state from all of a student's answers (e.g. after a grade override).

    Answers are folded in time order; the sort is stable, so answers with equal ``at`` keep
    the order given and the result is deterministic.

    Args:
        observations: the answers, any order.
        params: the knowledge point's parameters.
        start: the state to fold onto (default :func:`initial_state`).

    Returns:
        The state after the last answer.
    """
    state = initial_state(params) if start is None else start
    for obs in sorted(observations, key=lambda o: o.at):
        state = update(state, obs, params)
    return state


def predict_correct(state: MasteryState, params: BktParams, difficulty: float = 0.0) -> float:
    """P(the next answer is right) on an item of the given difficulty.

    Args:
        state: the student's current state.
        params: the knowledge point's parameters.
        difficulty: the item's difficulty in logits.

    Returns:
        ``p·(1 − slip_d) + (1 − p)·guess_d``.
    """
    guess, slip = item_guess_slip(params, difficulty)
    p = state.p_mastery
    return p * (1.0 - slip) + (1.0 - p) * guess
