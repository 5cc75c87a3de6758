"""The result of grading one response: a verdict a teacher would sign, with its reasons."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grading.causes import CAUSE_LABELS, CauseCode

__all__ = ["VERDICT_LABELS", "Grade", "Verdict"]


class Verdict(StrEnum):
    """The decision on one answer."""

    CORRECT = "correct"
    PARTIALLY_CORRECT = "partially_correct"
    INCORRECT = "incorrect"
    BLANK = "blank"
    NEEDS_REVIEW = "needs_review"


VERDICT_LABELS: dict[Verdict, tuple[str, str]] = {
    Verdict.CORRECT: ("正确", "correct"),
    Verdict.PARTIALLY_CORRECT: ("部分正确", "partially correct"),
    Verdict.INCORRECT: ("错误", "incorrect"),
    Verdict.BLANK: ("未作答", "blank"),
    Verdict.NEEDS_REVIEW: ("待复核", "needs review"),
}


class Grade(BaseModel):
    """One graded answer, serialisable to JSON.

    Attributes:
        kind: the question kind that graded it.
        verdict: the decision; ``needs_review`` carries no score (``score`` is None).
        score: points awarded; None only for ``needs_review``. Negative only when the
            key asks for negative marking on a wrong choice.
        max_score: the question's score.
        suggested_verdict, suggested_score: for ``needs_review``, what the best reading
            would have earned, so the reviewer starts from a proposal.
        normalized_answer: the normalised answer that was compared (used for grouping).
        reason_zh, reason_en: why, in words a teacher reads.
        cause: the error cause (错因) code when wrong and diagnosable, else None; it is
            ``unknown`` when wrong and no known cause explains the answer.
        cause_zh, cause_en: the cause's labels; ``cause_detail`` adds specifics (the
            misconception attached to a chosen distractor, the missed rubric points).
        confidence: confidence of the whole decision, in [0, 1].
        key_revision: the answer-key revision the grade was computed with.
        met_points: ids of the rubric points met (short answers).
        auto: True when decided automatically, False when a human must look.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    verdict: Verdict
    score: float | None
    max_score: float = Field(gt=0)
    suggested_verdict: Verdict | None = None
    suggested_score: float | None = None
    normalized_answer: str = ""
    reason_zh: str = ""
    reason_en: str = ""
    cause: CauseCode | None = None
    cause_zh: str = ""
    cause_en: str = ""
    cause_detail: str = ""
    confidence: float = Field(ge=0.0, le=1.0)
    key_revision: int = Field(ge=0)
    met_points: tuple[str, ...] = ()
    auto: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Grade:
        if self.verdict is Verdict.NEEDS_REVIEW:
            if self.score is not None or self.auto:
                raise ValueError("needs_review is never scored and never automatic")
        elif self.score is None:
            raise ValueError(f"a '{self.verdict}' grade needs a score")
        if self.cause is not None:
            zh, en = CAUSE_LABELS[self.cause]
            if self.cause_zh != zh or self.cause_en != en:
                raise ValueError("cause labels must match the cause code")
        return self
