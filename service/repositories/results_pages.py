"""Grouped queries behind the results list and a student's scores over time (the pages).

Each method is one ``GROUP BY`` over answers on *live* pages (the rule of
:mod:`service.repositories.results`), so a list of many worksheets or a student's whole
history costs a few queries, never one per worksheet. Worksheet ids passed in come from a
scoped query (:class:`service.repositories.worksheets.WorksheetRepository`) and student ids
from :class:`service.repositories.mastery.MasteryRepository`, so no second check is needed;
:meth:`ResultsPagesRepository.student_scores` still limits itself to visible worksheets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    ErrorBookRow,
    GradeRow,
    PageRow,
    QuestionRow,
    ResponseRow,
    StudentRow,
    WorksheetItemRow,
    WorksheetRow,
)
from service.repositories.results import LIVE_PAGE_STATUSES
from service.repositories.visibility import visible_worksheets

__all__ = ["LeanGrade", "LeanPage", "LeanResponse", "ResultsPagesRepository", "StudentTotal",
           "WorksheetScore"]


@dataclass(frozen=True, slots=True)
class LeanResponse:
    """The columns of a response that results read (a plain object, not an ORM row)."""

    id: int
    question_id: int
    blank: int
    text: str | None
    crop_key: str | None


@dataclass(frozen=True, slots=True)
class LeanPage:
    """The column of a page that results read."""

    student_id: int | None


@dataclass(frozen=True, slots=True)
class LeanGrade:
    """The columns of a grade that results read."""

    id: int
    verdict: str
    score: float
    max_score: float
    cause: str | None
    confidence: float
    needs_review: bool
    review_reason: str | None
    source: str
    normalised: str | None


@dataclass(frozen=True)
class StudentTotal:
    """One student's answers to one worksheet, added up.

    Attributes:
        worksheet_id: the worksheet.
        student_id: the student.
        score: the sum of decided grades.
        decided_max: full marks of the decided grades.
        pending: grades waiting for a teacher.
        questions: questions with at least one answer region read.
        graded_questions: questions with at least one grade.
    """

    worksheet_id: int
    student_id: int
    score: float
    decided_max: float
    pending: int
    questions: int
    graded_questions: int


@dataclass(frozen=True)
class WorksheetScore:
    """A student's result on one worksheet, for the scores-over-time chart.

    Attributes:
        worksheet_id: the worksheet.
        title: its title.
        scanned_at: when the student's first live page of it was stored.
        total: the student's totals on it.
    """

    worksheet_id: int
    title: str
    scanned_at: datetime
    total: StudentTotal


def _pending() -> ColumnElement[bool]:
    return or_(GradeRow.needs_review.is_(True), GradeRow.verdict == "needs_review")


def _live() -> ColumnElement[bool]:
    return and_(PageRow.status.in_(LIVE_PAGE_STATUSES), PageRow.student_id.is_not(None),
                PageRow.worksheet_id == ResponseRow.worksheet_id)


def _totals_query() -> Select[tuple[int, int | None, float, float, int, int, int]]:
    decided = and_(GradeRow.id.is_not(None), ~_pending())
    return (select(ResponseRow.worksheet_id, PageRow.student_id,
                   func.coalesce(func.sum(case((decided, GradeRow.score), else_=0.0)), 0.0),
                   func.coalesce(func.sum(case((decided, GradeRow.max_score), else_=0.0)), 0.0),
                   func.count(case((_pending(), GradeRow.id))),
                   func.count(distinct(ResponseRow.question_id)),
                   func.count(distinct(case((GradeRow.id.is_not(None),
                                             ResponseRow.question_id)))))
            .join(PageRow, PageRow.id == ResponseRow.page_id)
            .outerjoin(GradeRow, and_(GradeRow.response_id == ResponseRow.id,
                                      GradeRow.is_current.is_(True)))
            .where(_live())
            .group_by(ResponseRow.worksheet_id, PageRow.student_id))


def _total(row: Sequence[Any]) -> StudentTotal:
    wid, sid, score, full, pending, questions, graded = row
    return StudentTotal(int(wid), int(sid), float(score), float(full), int(pending),
                        int(questions), int(graded))


class ResultsPagesRepository:
    """Read-only grouped queries for the results and student pages.

    Args:
        session: the unit of work.
        actor: the caller (limits :meth:`student_scores` to visible worksheets).
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def roster_counts(self, class_ids: Sequence[int]) -> dict[int, int]:
        """Students per class."""
        if not class_ids:
            return {}
        rows = await self.session.execute(
            select(StudentRow.class_id, func.count(StudentRow.id))
            .where(StudentRow.class_id.in_(sorted(set(class_ids))))
            .group_by(StudentRow.class_id))
        return {int(c): int(n) for c, n in rows.all() if c is not None}

    async def submitted_counts(self, worksheet_ids: Sequence[int]) -> dict[int, int]:
        """Students with at least one live page, per worksheet."""
        if not worksheet_ids:
            return {}
        rows = await self.session.execute(
            select(PageRow.worksheet_id, func.count(distinct(PageRow.student_id)))
            .where(PageRow.worksheet_id.in_(list(worksheet_ids)),
                   PageRow.status.in_(LIVE_PAGE_STATUSES), PageRow.student_id.is_not(None))
            .group_by(PageRow.worksheet_id))
        return {int(w): int(n) for w, n in rows.all() if w is not None}

    async def item_counts(self, worksheet_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
        """(questions, full marks) per worksheet."""
        if not worksheet_ids:
            return {}
        rows = await self.session.execute(
            select(WorksheetItemRow.worksheet_id, func.count(WorksheetItemRow.id),
                   func.coalesce(func.sum(QuestionRow.score), 0.0))
            .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
            .where(WorksheetItemRow.worksheet_id.in_(list(worksheet_ids)))
            .group_by(WorksheetItemRow.worksheet_id))
        return {int(w): (int(n), float(s)) for w, n, s in rows.all()}

    async def student_totals(self, worksheet_ids: Sequence[int]) -> list[StudentTotal]:
        """Each student's added-up answers, per worksheet (students with live pages)."""
        if not worksheet_ids:
            return []
        rows = await self.session.execute(
            _totals_query().where(ResponseRow.worksheet_id.in_(list(worksheet_ids))))
        return [_total(r) for r in rows.all()]

    async def practice_sheets(self, worksheet_ids: Sequence[int]) -> set[int]:
        """Those of the worksheets that are error books' practice sheets."""
        if not worksheet_ids:
            return set()
        rows = await self.session.execute(
            select(ErrorBookRow.worksheet_id).distinct()
            .where(ErrorBookRow.worksheet_id.in_(list(worksheet_ids))))
        return {int(w) for w in rows.scalars() if w is not None}

    async def lean_answers(self, worksheet_id: int
                           ) -> list[tuple[LeanResponse, LeanPage, LeanGrade | None]]:
        """:meth:`service.repositories.results.ResultsRepository.answers` (live pages only)
        as plain objects of the columns results read: the same rows, the same order, the
        newest current grade winning, without building ORM rows (the class table of 60
        students × 40 questions reads 2,400 of them on every view).

        Args:
            worksheet_id: a worksheet already checked visible.
        """
        rows = await self.session.execute(
            select(ResponseRow.id, ResponseRow.question_id, ResponseRow.blank, ResponseRow.text,
                   ResponseRow.crop_key, PageRow.student_id, GradeRow.id, GradeRow.verdict,
                   GradeRow.score, GradeRow.max_score, GradeRow.cause, GradeRow.confidence,
                   GradeRow.needs_review, GradeRow.review_reason, GradeRow.source,
                   GradeRow.normalised)
            .join(PageRow, PageRow.id == ResponseRow.page_id)
            .outerjoin(GradeRow, and_(GradeRow.response_id == ResponseRow.id,
                                      GradeRow.is_current.is_(True)))
            .where(ResponseRow.worksheet_id == worksheet_id,
                   PageRow.worksheet_id == worksheet_id,
                   PageRow.status.in_(LIVE_PAGE_STATUSES), PageRow.student_id.is_not(None))
            .order_by(ResponseRow.id, GradeRow.id))
        found: dict[int, tuple[LeanResponse, LeanPage, LeanGrade | None]] = {}
        for (rid, qid, blank, text, crop, sid, gid, verdict, score, full, cause, conf,
             review, reason, source, normalised) in rows.all():
            grade = None if gid is None else LeanGrade(
                gid, verdict, score, full, cause, conf, bool(review), reason, source, normalised)
            found[rid] = (LeanResponse(rid, qid, blank, text, crop), LeanPage(sid), grade)
        return list(found.values())

    async def answers_version(self, worksheet_id: int) -> tuple[object, ...]:
        """A value that changes whenever the worksheet's answers as results read them may
        have: every page of it (id, student, status: a page reassigned, replaced or marked
        duplicate), and over its responses the count and largest id, and over their
        current grades the count, largest id and id sum (a review decision adds a grade and
        retires the old one; nothing else edits grades). Two cheap queries.

        Args:
            worksheet_id: a worksheet already checked visible.
        """
        pages = await self.session.execute(
            select(PageRow.id, PageRow.student_id, PageRow.status)
            .where(PageRow.worksheet_id == worksheet_id).order_by(PageRow.id))
        agg = (await self.session.execute(
            select(func.count(ResponseRow.id), func.max(ResponseRow.id),
                   func.count(GradeRow.id), func.max(GradeRow.id), func.sum(GradeRow.id))
            .outerjoin(GradeRow, and_(GradeRow.response_id == ResponseRow.id,
                                      GradeRow.is_current.is_(True)))
            .where(ResponseRow.worksheet_id == worksheet_id))).one()
        return (tuple(tuple(r) for r in pages.all()), tuple(agg))

    async def student_scores(self, student_id: int) -> list[WorksheetScore]:
        """A student's totals on every visible worksheet they handed in, oldest first."""
        first = (select(PageRow.worksheet_id, func.min(PageRow.created_at).label("at"))
                 .where(PageRow.student_id == student_id,
                        PageRow.status.in_(LIVE_PAGE_STATUSES),
                        PageRow.worksheet_id.in_(visible_worksheets(self.actor)))
                 .group_by(PageRow.worksheet_id).subquery())
        totals = {t.worksheet_id: t for t in (_total(r) for r in (await self.session.execute(
            _totals_query().where(PageRow.student_id == student_id,
                                  ResponseRow.worksheet_id.in_(
                                      select(first.c.worksheet_id))))).all())}
        rows = await self.session.execute(
            select(WorksheetRow.id, WorksheetRow.title, first.c.at)
            .join(first, first.c.worksheet_id == WorksheetRow.id)
            .order_by(first.c.at, WorksheetRow.id))
        return [WorksheetScore(int(w), str(title), at, totals[w])
                for w, title, at in rows.all() if w in totals]
