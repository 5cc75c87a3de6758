"""The one policy that decides ``auto`` versus ``needs_review`` for a graded response.

The question is not "is the reading right?" but "would any plausible reading change the
grade?". The best reading and every alternative the reader found plausible are graded; the
probability mass of readings that agree with the best reading's grade is the confidence of
the decision. The grade is automatic only when that mass reaches ``accept_threshold`` and no
alternative at or above ``alt_floor`` would be graded differently: a correct best reading
with a plausible wrong alternative (or the other way round) goes to a teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grading.base import Grader
from grading.grade import VERDICT_LABELS, Grade, Verdict
from grading.registry import grader_for
from grading.response import Marks, Response, ResponseStatus

__all__ = ["ReviewPolicy", "decide", "grade_response"]


@dataclass(frozen=True)
class ReviewPolicy:
    """Settings of the review decision.

    Attributes:
        accept_threshold: the agreeing probability mass needed for an automatic verdict.
            Default 0.5.
        alt_floor: an alternative reading at or above this probability that would change
            the grade sends the answer to review. Default 0.3.
        mark_low, mark_high: a mark whose fill score lies in [mark_low, mark_high] is
            ambiguous (a light tick, an erasure); if flipping it changes the grade, ask.
            Defaults 0.25 and 0.60.
        upgrade_floor: the floor for an alternative that would earn *more* than the best
            reading (the best reading is wrong, an alternative is the key). Most answers
            are right, so a misread right answer is likelier than the reader's
            probability says. Default 0.005; None uses ``alt_floor``.
    """

    # Chosen on the calibration pages of the real-handwriting bench only (docs/grading.md):
    # the ensemble reader's posteriors are calibrated (temperature 0.5), so a reading it
    # gives at least even odds is kept unless a grade-changing reading reaches 30%, or a
    # reading that would earn more reaches 0.5%.
    accept_threshold: float = 0.5
    alt_floor: float = 0.3
    mark_low: float = 0.25
    mark_high: float = 0.60
    upgrade_floor: float | None = 0.005

    def __post_init__(self) -> None:
        for name in ("accept_threshold", "alt_floor", "mark_low", "mark_high", "upgrade_floor"):
            value = getattr(self, name)
            if value is None:
                continue
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.mark_low > self.mark_high:
            raise ValueError("mark_low must not exceed mark_high")


def _outcome(grade: Grade) -> tuple[Verdict, float | None]:
    return grade.verdict, grade.score


def _earns_more(graded: Grade, best: Grade) -> bool:
    return graded.auto and graded.score is not None and best.score is not None \
        and graded.score > best.score


def _shown(response: Response) -> str:
    if response.marks is not None and response.marks.marked:
        return "".join(response.marks.marked)
    return " | ".join(response.readings()) or "（空白）"


def _mark_variants(response: Response, policy: ReviewPolicy) -> list[tuple[Response, float]]:
    """Readings with one ambiguous mark flipped, each with that mark's fill score."""
    marks = response.marks
    if marks is None:
        return []
    variants = []
    for label, fill in sorted(marks.fill.items()):
        if policy.mark_low <= fill <= policy.mark_high:
            marked = set(marks.marked) ^ {label}
            flipped = Marks(fill=marks.fill, marked=tuple(sorted(marked)))
            variant = response.model_copy(update={"marks": flipped, "status": ResponseStatus.OK})
            variants.append((variant, fill))
    return variants


def decide(
    grader: Grader[Any],
    response: Response,
    *,
    key_revision: int,
    policy: ReviewPolicy | None = None,
) -> Grade:
    """Grade a response and decide whether the grade can stand without a teacher.

    Args:
        grader: the question's grader.
        response: the reader's response with its alternatives and marks.
        key_revision: the answer-key revision used.
        policy: thresholds; ``ReviewPolicy()`` when omitted.

    Returns:
        The best reading's grade with ``confidence`` set to the agreeing probability mass,
        or a ``needs_review`` grade (no score; the best reading's grade as suggestion) whose
        reasons name the readings that disagree.
    """
    policy = policy or ReviewPolicy()
    best = grader.grade(response, key_revision=key_revision)
    if not best.auto or response.source == "teacher":
        return best
    best_texts = (response.text, response.blanks)
    upgrade_floor = policy.alt_floor if policy.upgrade_floor is None else policy.upgrade_floor
    mass = response.confidence
    disagree: list[tuple[Response, float, Grade]] = []
    for alt in response.alternatives:
        if (alt.text, alt.blanks) == best_texts:
            # The reader listed its best reading among the alternatives: count it once.
            mass = max(mass, alt.probability)
            continue
        if alt.probability < min(policy.alt_floor, upgrade_floor):
            continue
        variant = response.with_reading(alt)
        graded = grader.grade(variant, key_revision=key_revision)
        if alt.probability < policy.alt_floor and not _earns_more(graded, best):
            continue
        if graded.auto and _outcome(graded) == _outcome(best):
            mass += alt.probability
        elif graded.auto or graded.suggested_verdict != best.verdict:
            disagree.append((variant, alt.probability, graded))
    for variant, fill in _mark_variants(response, policy):
        graded = grader.grade(variant, key_revision=key_revision)
        if _outcome(graded) != _outcome(best):
            disagree.append((variant, fill, graded))
    mass = min(mass, 1.0)
    if not disagree and mass >= policy.accept_threshold:
        return Grade.model_validate({**best.model_dump(), "confidence": mass})
    if disagree:
        variant, p, other = max(disagree, key=lambda d: d[1])
        other_verdict = (other.verdict if other.auto else other.suggested_verdict) or other.verdict
        best_zh, best_en = VERDICT_LABELS[best.verdict]
        other_zh, other_en = VERDICT_LABELS[other_verdict]
        zh = (
            f"读作“{_shown(response)}”判为{best_zh}，但也可能读作“{_shown(variant)}”"
            f"（{p:.0%}），判为{other_zh}，请人工确认"
        )
        en = (
            f"read as '{_shown(response)}' it is {best_en}, but a plausible reading "
            f"'{_shown(variant)}' ({p:.0%}) would be {other_en}"
        )
    else:
        zh = f"识别置信度 {mass:.0%} 低于 {policy.accept_threshold:.0%}，请人工确认"
        en = f"reading confidence {mass:.0%} is below {policy.accept_threshold:.0%}"
    return Grade.model_validate(
        {
            **best.model_dump(),
            "verdict": Verdict.NEEDS_REVIEW,
            "score": None,
            "suggested_verdict": best.verdict,
            "suggested_score": best.score,
            "reason_zh": f"{zh}（{best.reason_zh}）",
            "reason_en": f"{en} ({best.reason_en})",
            "confidence": mass,
            "auto": False,
        }
    )


def grade_response(
    question: Any,
    response: Response,
    *,
    key_revision: int,
    policy: ReviewPolicy | None = None,
) -> Grade:
    """Grade one response to one question through the registry and the review policy.

    Args:
        question: any question model (its ``kind`` picks the grader).
        response: the reader's or teacher's response.
        key_revision: the answer-key revision used.
        policy: review thresholds; defaults when omitted.

    Returns:
        The decided grade.

    Raises:
        UnknownKindError: no grader for the question's kind.
    """
    return decide(grader_for(question), response, key_revision=key_revision, policy=policy)
