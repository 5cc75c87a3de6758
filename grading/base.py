"""The grader interface and the status handling every grader shares.

A grader is built from one question and grades one response at a time. ``grade`` first
deals with the reader's status (blank scores zero; unreadable, misaligned or engine failure
go to review, never to zero), then hands a readable answer to the kind's ``_judge``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeVar

from grading.causes import CauseCode, cause_labels
from grading.grade import Grade, Verdict
from grading.response import Response, ResponseStatus

__all__ = ["AnswerKeyError", "Grader", "Judgement", "strip_decoration"]


class _Scored(Protocol):
    @property
    def score(self) -> float: ...


Q = TypeVar("Q", bound=_Scored)

_STATUS_REASONS: dict[ResponseStatus, tuple[str, str]] = {
    ResponseStatus.UNREADABLE: ("字迹无法识别，请人工批改", "the answer could not be read"),
    ResponseStatus.ENGINE_ERROR: ("识别引擎出错，请人工批改", "the reading engine failed"),
    ResponseStatus.MISALIGNED: ("答题区域未对准，请人工批改", "the answer area was misaligned"),
}


class AnswerKeyError(ValueError):
    """The answer key itself cannot be used (a bank defect, not a student's mistake)."""


_DECORATION = re.compile(r"^\s*(?:答\s*[:：]?|[=＝])\s*|[\s。．.，,;；!！]+$")


def strip_decoration(text: str) -> str:
    """Drop what students add around a short answer: a leading ``答：`` or ``=``, trailing
    full stops and commas. The answer itself is left untouched."""
    return _DECORATION.sub("", text)


@dataclass(frozen=True)
class Judgement:
    """What a kind decides about one readable answer, before confidence is attached.

    ``review`` marks an answer the kind itself cannot decide (unparseable maths, a time-out);
    ``verdict``/``score`` are then the suggestion shown to the reviewer, if any.
    """

    verdict: Verdict
    score: float
    normalized: str
    reason_zh: str
    reason_en: str
    cause: CauseCode | None = None
    cause_detail: str = ""
    met_points: tuple[str, ...] = field(default_factory=tuple)
    review: bool = False


class Grader(ABC, Generic[Q]):
    """Grades responses to one question of one kind.

    Subclasses set ``kind`` and implement ``_judge``. The constructor stores the question
    only; ``grade`` is pure and deterministic (a time-out in the maths checker is the one
    documented exception, and it yields ``needs_review``, never a score).

    Args:
        question: the question, of the subclass's kind.
    """

    kind: ClassVar[str]

    def __init__(self, question: Q) -> None:
        self.question = question

    @property
    def max_score(self) -> float:
        """The question's maximum score."""
        return self.question.score

    @abstractmethod
    def _judge(self, response: Response) -> Judgement:
        """Judge a response whose status is ``ok``."""

    def _is_empty(self, response: Response) -> bool:
        """True when an ``ok`` response carries nothing to judge."""
        return not any(r.strip() for r in response.readings()) and not (
            response.marks and response.marks.marked
        )

    def grade(self, response: Response, *, key_revision: int) -> Grade:
        """Grade one response with the question's current key.

        Args:
            response: the reader's (or a teacher's) response.
            key_revision: the answer-key revision this grade is computed with.

        Returns:
            The grade. Non-blank failures (unreadable, misaligned, engine error) and
            answers the kind cannot decide are ``needs_review`` with no score.
        """
        if response.status is ResponseStatus.BLANK:
            return self._make(
                Judgement(Verdict.BLANK, 0.0, "", "未作答", "left blank"), response, key_revision
            )
        if response.status is not ResponseStatus.OK:
            zh, en = _STATUS_REASONS[response.status]
            return self._review(response, key_revision, zh, en)
        if self._is_empty(response):
            if response.source == "teacher":
                return self._make(
                    Judgement(Verdict.BLANK, 0.0, "", "未作答", "left blank"),
                    response,
                    key_revision,
                )
            # An "ok" reading with no text is a reader defect, not a blank answer.
            return self._review(
                response, key_revision, "识别结果为空但未标记为空白", "the reader returned no text"
            )
        return self._make(self._judge(response), response, key_revision)

    def _review(self, response: Response, key_revision: int, zh: str, en: str) -> Grade:
        return Grade(
            kind=self.kind,
            verdict=Verdict.NEEDS_REVIEW,
            score=None,
            max_score=self.max_score,
            reason_zh=zh,
            reason_en=en,
            confidence=0.0,
            key_revision=key_revision,
            auto=False,
        )

    def _make(self, j: Judgement, response: Response, key_revision: int) -> Grade:
        zh, en = cause_labels(j.cause) if j.cause else ("", "")
        suggest = j.review and j.verdict is not Verdict.NEEDS_REVIEW
        return Grade(
            kind=self.kind,
            verdict=Verdict.NEEDS_REVIEW if j.review else j.verdict,
            score=None if j.review else round(j.score, 4),
            max_score=self.max_score,
            suggested_verdict=j.verdict if suggest else None,
            suggested_score=round(j.score, 4) if suggest else None,
            normalized_answer=j.normalized,
            reason_zh=j.reason_zh,
            reason_en=j.reason_en,
            cause=j.cause,
            cause_zh=zh,
            cause_en=en,
            cause_detail=j.cause_detail,
            confidence=0.0 if j.review else response.confidence,
            key_revision=key_revision,
            met_points=j.met_points,
            auto=not j.review,
        )
