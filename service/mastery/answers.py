"""What a stored answer says to the mastery model: who, which question, when, what credit.

One query gathers, for a set of answers, everything the mastery and error-book updates need,
so grading a page costs a fixed number of round trips however many answers it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.repositories.learner import LearnerRepository

__all__ = ["LIVE_PAGE_STATUSES", "AnswerFact", "NewAnswer", "answer_facts", "credit_of", "is_wrong",
           "new_answer_facts"]

# Pages whose answers count: a duplicate scan or an unassigned page teaches nothing.
LIVE_PAGE_STATUSES = ("graded", "misaligned")


@dataclass(frozen=True)
class AnswerFact:
    """One answer (its first blank's response) with its current grade.

    Attributes:
        response_id: the primary response.
        student_id: None while the page is unassigned or not live.
        question_id, school_id, worksheet_id: where it belongs.
        kp_ids: the question's knowledge points.
        bank_difficulty: the bank's 1..5 difficulty (the item's prior).
        verdict, score, max_score, cause: the current grade; verdict None when ungraded.
        at: when the student answered (the scan's arrival), the replay order.
    """

    response_id: int
    student_id: int | None
    question_id: int
    school_id: int
    worksheet_id: int
    kp_ids: tuple[int, ...]
    bank_difficulty: int
    verdict: str | None
    score: float
    max_score: float
    cause: str | None
    at: datetime

    @property
    def credit(self) -> float | None:
        return credit_of(self.verdict, self.score, self.max_score)


def credit_of(verdict: str | None, score: float, max_score: float) -> float | None:
    """The answer's credit in ``[0, 1]``, or None when it must not be learned from yet.

    Blank counts as a wrong try (the student could not do it); an answer waiting for review
    counts as nothing until a teacher decides.
    """
    if verdict is None or verdict == "needs_review":
        return None
    if verdict == "correct":
        return 1.0
    if verdict in ("incorrect", "blank"):
        return 0.0
    return max(0.0, min(1.0, score / max_score)) if max_score > 0 else 0.0


def is_wrong(fact: AnswerFact) -> bool:
    """Whether the answer belongs in the error book (wrong, blank or only part right)."""
    credit = fact.credit
    return credit is not None and credit < 1.0


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def answer_facts(session: AsyncSession, response_ids: Iterable[int]) -> list[AnswerFact]:
    """The facts of the given primary responses, in answer order (time, then id).

    Args:
        session: the unit of work.
        response_ids: primary responses (the first blank of each answer).

    Returns:
        One fact per existing response.
    """
    ids = sorted(set(response_ids))
    if not ids:
        return []
    repo = LearnerRepository(session)
    rows = await repo.answers(ids)
    grades = await repo.current_grades(ids)
    kps = await repo.question_knowledge_points({r.question_id for r in rows})
    facts = []
    for r in rows:
        g = grades.get(r.id)
        live = r.status in LIVE_PAGE_STATUSES
        facts.append(AnswerFact(
            response_id=r.id, student_id=r.student_id if live else None,
            question_id=r.question_id, school_id=r.school_id, worksheet_id=r.worksheet_id,
            kp_ids=tuple(kps.get(r.question_id, ())), bank_difficulty=int(r.difficulty),
            verdict=g.verdict if g is not None else None,
            score=g.score if g is not None else 0.0,
            max_score=g.max_score if g is not None else 1.0,
            cause=g.cause if g is not None else None, at=_aware(r.created_at)))
    return sorted(facts, key=lambda f: (f.at, f.response_id))


@dataclass(frozen=True)
class NewAnswer:
    """An answer just inserted: its primary response, question and grade's column values
    (:func:`service.jobs.store.grade_values`; None when it has no grade)."""

    response_id: int
    question_id: int
    grade: dict[str, Any] | None


async def new_answer_facts(session: AsyncSession, answers: Sequence[NewAnswer], *,
                           school_id: int, worksheet_id: int, student_id: int | None,
                           page_status: str, at: datetime) -> list[AnswerFact]:
    """The facts of one page's answers inserted in this unit of work, from what the caller
    wrote (only the questions' knowledge points and bank difficulty are read): the same
    facts :func:`answer_facts` would read back.

    Args:
        session: the unit of work.
        answers: the page's primary responses with their grades.
        school_id, worksheet_id: the upload's school and the page's worksheet.
        student_id: the page's student; page_status: its status (a page that does not
            count has no student here).
        at: the upload's arrival.
    """
    questions = await LearnerRepository(session).question_facts({a.question_id for a in answers})
    live = page_status in LIVE_PAGE_STATUSES
    facts = []
    for a in answers:
        if a.question_id not in questions:
            continue
        difficulty, kp_ids = questions[a.question_id]
        g = a.grade
        facts.append(AnswerFact(
            response_id=a.response_id, student_id=student_id if live else None,
            question_id=a.question_id, school_id=school_id, worksheet_id=worksheet_id,
            kp_ids=kp_ids, bank_difficulty=difficulty,
            verdict=g["verdict"] if g is not None else None,
            score=g["score"] if g is not None else 0.0,
            max_score=g["max_score"] if g is not None else 1.0,
            cause=g["cause"] if g is not None else None, at=_aware(at)))
    return sorted(facts, key=lambda f: (f.at, f.response_id))
