"""Queries behind the analytics (per worksheet, per class over time, per student).

Worksheet figures reuse :class:`service.repositories.results.ResultsRepository`; this module
adds what crosses worksheets: a class's worksheets in time order, the mastery events with
the answers they came from (so every knowledge-point figure can list its answers), the
knowledge points of error-book questions, and the answers behind any figure (the drill-down
``/analytics/answers``). Every query is limited to the worksheets the actor may see
(:func:`service.repositories.visibility.visible_worksheets`): ids of other teachers' rows
never come back, and a device key sees nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.actor import Actor
from service.db import (
    ErrorBookRow,
    ErrorEntryRow,
    GradeRow,
    KnowledgePointRow,
    MasteryEventRow,
    PageRow,
    QuestionKnowledgePointRow,
    QuestionRow,
    ResponseRow,
    StudentRow,
    WorksheetRow,
)
from service.repositories.results import LIVE_PAGE_STATUSES
from service.repositories.visibility import visible_worksheets

__all__ = ["AnalyticsRepository", "AnswerFilter", "DrillRow", "EntryFact", "EventRow", "KpCell",
           "KpMoment"]


@dataclass(frozen=True)
class EventRow:
    """One mastery observation with the answer it came from.

    Attributes:
        student_id: whose answer.
        kp_code: the knowledge point.
        credit: 0..1 (1 right, 0 wrong or blank, a share for partial credit).
        at: when the answer was scanned.
        response_id: the answer (its first blank's response).
        worksheet_id: the worksheet it was on.
        kp_id: the knowledge point's row id.
        difficulty: the item difficulty the mastery model used (logits).
    """

    student_id: int
    kp_code: str
    credit: float
    at: datetime
    response_id: int
    worksheet_id: int
    kp_id: int = 0
    difficulty: float = 0.0


@dataclass(frozen=True)
class KpCell:
    """A student's answers on one knowledge point, added up: the sum of their credit and
    how many (the heatmap's cell, and the attention rules' weak points)."""

    student_id: int
    kp_code: str
    total: float
    n: int


@dataclass(frozen=True)
class KpMoment:
    """The class's answers on one knowledge point from one moment of scanning, added up
    (the moments fall into ISO weeks for the trends)."""

    kp_code: str
    at: datetime
    total: float
    n: int


@dataclass(frozen=True)
class EntryFact:
    """What the class figures need of an error-book entry."""

    student_id: int
    state: str
    successes: int


@dataclass(frozen=True)
class AnswerFilter:
    """What the drill-down lists: every field left None does not narrow.

    Attributes:
        class_id: answers of this class's students.
        worksheet_id: answers on this worksheet.
        student_id: answers of this student.
        student_ids: answers of these students.
        question: the bank id of the question (``m3-add-001``).
        kp: a knowledge point code: only answers its mastery events came from.
        entries: only answers kept in the error book: ``any``, ``open`` (not resolved)
            or ``resolved``.
        entry_id: only the answer of this error-book entry.
    """

    class_id: int | None = None
    worksheet_id: int | None = None
    student_id: int | None = None
    student_ids: frozenset[int] | None = None
    question: str | None = None
    kp: str | None = None
    entries: str | None = None
    entry_id: int | None = None


@dataclass(frozen=True)
class DrillRow:
    """One answer region of a live page with what the drill-down shows about it."""

    response: ResponseRow
    grade: GradeRow | None
    question_id: str
    worksheet_id: int
    worksheet_title: str
    student_id: int
    student_no: str
    student_name: str
    scanned_at: datetime
    kp_at: datetime | None


class AnalyticsRepository:
    """Read access for the analytics, scoped to what one actor may see.

    Args:
        session: the unit of work.
        actor: the caller.
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def class_worksheets(self, class_id: int) -> list[WorksheetRow]:
        """The class's worksheets the actor may see, oldest first, without error books'
        practice sheets (one student each: they would read as 1-of-50 hand-ins)."""
        practice = select(ErrorBookRow.worksheet_id).where(ErrorBookRow.worksheet_id.is_not(None))
        rows = await self.session.execute(
            select(WorksheetRow).where(WorksheetRow.class_id == class_id,
                                       WorksheetRow.id.in_(visible_worksheets(self.actor)),
                                       WorksheetRow.id.notin_(practice))
            .order_by(WorksheetRow.created_at, WorksheetRow.id))
        return list(rows.scalars())

    async def events(self, student_ids: Sequence[int]) -> list[EventRow]:
        """The students' mastery observations on worksheets the actor may see, in time
        order (events of practice sheets included: they are the same students' answers)."""
        if not student_ids:
            return []
        rows = await self.session.execute(
            select(MasteryEventRow.student_id, KnowledgePointRow.code, MasteryEventRow.credit,
                   MasteryEventRow.at, MasteryEventRow.response_id, ResponseRow.worksheet_id,
                   MasteryEventRow.knowledge_point_id, MasteryEventRow.difficulty)
            .join(KnowledgePointRow, KnowledgePointRow.id == MasteryEventRow.knowledge_point_id)
            .join(ResponseRow, ResponseRow.id == MasteryEventRow.response_id)
            .where(MasteryEventRow.student_id.in_(list(student_ids)),
                   ResponseRow.worksheet_id.in_(visible_worksheets(self.actor)))
            .order_by(MasteryEventRow.at, MasteryEventRow.id))
        return [EventRow(int(s), str(c), float(v), at, int(r), int(w), int(k), float(d))
                for s, c, v, at, r, w, k, d in rows.all()]

    def _events_of(self, student_ids: Sequence[int]) -> Any:
        return (select().select_from(MasteryEventRow)
                .join(KnowledgePointRow,
                      KnowledgePointRow.id == MasteryEventRow.knowledge_point_id)
                .join(ResponseRow, ResponseRow.id == MasteryEventRow.response_id)
                .where(MasteryEventRow.student_id.in_(list(student_ids)),
                       ResponseRow.worksheet_id.in_(visible_worksheets(self.actor))))

    async def kp_cells(self, student_ids: Sequence[int]) -> list[KpCell]:
        """:meth:`events` added up per student and knowledge point (in SQL: a class's
        thousands of events come back as a few hundred rows)."""
        if not student_ids:
            return []
        rows = await self.session.execute(self._events_of(student_ids).add_columns(
            MasteryEventRow.student_id, KnowledgePointRow.code,
            func.sum(MasteryEventRow.credit), func.count(MasteryEventRow.id))
            .group_by(MasteryEventRow.student_id, KnowledgePointRow.code))
        return [KpCell(int(s), str(c), float(t), int(n)) for s, c, t, n in rows.all()]

    async def kp_moments(self, student_ids: Sequence[int]) -> list[KpMoment]:
        """:meth:`events` added up per knowledge point and moment (the upload's arrival),
        oldest first."""
        if not student_ids:
            return []
        rows = await self.session.execute(self._events_of(student_ids).add_columns(
            KnowledgePointRow.code, MasteryEventRow.at, func.sum(MasteryEventRow.credit),
            func.count(MasteryEventRow.id))
            .group_by(KnowledgePointRow.code, MasteryEventRow.at)
            .order_by(MasteryEventRow.at))
        return [KpMoment(str(c), at, float(t), int(n)) for c, at, t, n in rows.all()]

    async def kp_names(self, codes: set[str]) -> dict[str, tuple[str, str]]:
        """(Chinese name, English name) per knowledge point code."""
        if not codes:
            return {}
        rows = await self.session.execute(
            select(KnowledgePointRow.code, KnowledgePointRow.name_zh, KnowledgePointRow.name_en)
            .where(KnowledgePointRow.code.in_(sorted(codes))))
        return {c: (zh, en) for c, zh, en in rows.all()}

    async def question_kps(self, question_ids: set[int]) -> dict[int, list[str]]:
        """Knowledge point codes per question row id."""
        if not question_ids:
            return {}
        rows = await self.session.execute(
            select(QuestionKnowledgePointRow.question_id, KnowledgePointRow.code)
            .join(KnowledgePointRow,
                  KnowledgePointRow.id == QuestionKnowledgePointRow.knowledge_point_id)
            .where(QuestionKnowledgePointRow.question_id.in_(sorted(question_ids)))
            .order_by(KnowledgePointRow.code))
        out: dict[int, list[str]] = defaultdict(list)
        for q, code in rows.all():
            out[int(q)].append(str(code))
        return dict(out)

    async def entries(self, student_ids: Sequence[int]) -> list[tuple[ErrorEntryRow, str]]:
        """The students' error-book entries with their question's bank id, oldest first."""
        if not student_ids:
            return []
        rows = await self.session.execute(
            select(ErrorEntryRow, QuestionRow.external_id)
            .join(QuestionRow, QuestionRow.id == ErrorEntryRow.question_id)
            .where(ErrorEntryRow.student_id.in_(list(student_ids)))
            .order_by(ErrorEntryRow.wrong_at, ErrorEntryRow.id))
        return [(e, str(q)) for e, q in rows.all()]

    async def entry_facts(self, student_ids: Sequence[int]) -> list[EntryFact]:
        """The students' error-book entries, as the few columns the class figures read."""
        if not student_ids:
            return []
        rows = await self.session.execute(
            select(ErrorEntryRow.student_id, ErrorEntryRow.state, ErrorEntryRow.successes)
            .where(ErrorEntryRow.student_id.in_(list(student_ids))))
        return [EntryFact(int(s), str(st), int(n)) for s, st, n in rows.all()]

    async def drill(self, f: AnswerFilter) -> list[DrillRow]:
        """Every answer region on a live page matching the filter, with its current grade.

        Args:
            f: the filter (the caller checks at least one scope is given).

        Returns:
            Rows in worksheet, student number, question and blank order. With ``kp`` set,
            ``kp_at`` is the mastery event's time (the week the figure counted it in).
        """
        q = (select(ResponseRow, GradeRow, QuestionRow.external_id, WorksheetRow.id,
                    WorksheetRow.title, StudentRow.id, StudentRow.student_no, StudentRow.name,
                    PageRow.created_at)
             .join(PageRow, PageRow.id == ResponseRow.page_id)
             .join(WorksheetRow, WorksheetRow.id == ResponseRow.worksheet_id)
             .join(StudentRow, StudentRow.id == PageRow.student_id)
             .join(QuestionRow, QuestionRow.id == ResponseRow.question_id)
             .outerjoin(GradeRow, and_(GradeRow.response_id == ResponseRow.id,
                                       GradeRow.is_current.is_(True)))
             .where(PageRow.status.in_(LIVE_PAGE_STATUSES),
                    PageRow.worksheet_id == ResponseRow.worksheet_id,
                    ResponseRow.worksheet_id.in_(visible_worksheets(self.actor))))
        if f.class_id is not None:
            q = q.where(StudentRow.class_id == f.class_id)
        if f.worksheet_id is not None:
            q = q.where(ResponseRow.worksheet_id == f.worksheet_id)
        if f.student_id is not None:
            q = q.where(PageRow.student_id == f.student_id)
        if f.student_ids is not None:
            q = q.where(PageRow.student_id.in_(sorted(f.student_ids)))
        if f.question is not None:
            q = q.where(QuestionRow.external_id == f.question)
        # The kp and error-book filters select answers by their first blank's response
        # (what mastery events and entries name); the other blanks share its page and
        # question, so pages are selected here (as subqueries: a class's year of answers
        # would overflow a list of bound ids) and the answers kept below are those whose
        # first blank matched.
        marks: list[Any] = []
        if f.kp is not None:
            kp_id = select(KnowledgePointRow.id).where(
                KnowledgePointRow.code == f.kp).scalar_subquery()
            ev = aliased(MasteryEventRow)
            q = q.outerjoin(ev, and_(ev.response_id == ResponseRow.id,
                                     ev.knowledge_point_id == kp_id))
            q = q.where(ResponseRow.page_id.in_(
                select(ResponseRow.page_id).join(
                    MasteryEventRow, MasteryEventRow.response_id == ResponseRow.id)
                .where(MasteryEventRow.knowledge_point_id == kp_id)))
            marks.append(ev.at)
        if f.entries is not None or f.entry_id is not None:
            def entry_conditions(e: type[ErrorEntryRow]) -> list[ColumnElement[bool]]:
                cond = []
                if f.entries == "open":
                    cond.append(e.state != "resolved")
                elif f.entries == "resolved":
                    cond.append(e.state == "resolved")
                if f.entry_id is not None:
                    cond.append(e.id == f.entry_id)
                return cond

            entry = aliased(ErrorEntryRow)
            q = q.outerjoin(entry, and_(entry.response_id == ResponseRow.id,
                                        *entry_conditions(entry)))
            wanted = select(ErrorEntryRow.response_id).where(*entry_conditions(ErrorEntryRow))
            q = q.where(ResponseRow.page_id.in_(
                select(ResponseRow.page_id).where(ResponseRow.id.in_(wanted))))
            marks.append(entry.id)
        rows = await self.session.execute(
            q.add_columns(*marks)
            .order_by(WorksheetRow.created_at, WorksheetRow.id, StudentRow.student_no,
                      ResponseRow.question_id, ResponseRow.blank, ResponseRow.id, GradeRow.id))
        found: dict[int, tuple[DrillRow, bool]] = {}
        for row in rows.all():
            resp, grade, qid, wid, title, sid, sno, name, at, *marked = row
            kp_at = marked[0] if f.kp is not None else None
            matched = all(m is not None for m in marked)
            found[resp.id] = (DrillRow(resp, grade, str(qid), int(wid), str(title), int(sid),
                                       str(sno), str(name), at, kp_at), matched)
        if not marks:
            return [r for r, _ in found.values()]
        primary: dict[tuple[int, int], bool] = {}
        for r, matched in found.values():  # ordered by blank: the first seen is blank 0
            primary.setdefault((r.response.page_id, r.response.question_id), matched)
        return [r for r, _ in found.values()
                if primary[(r.response.page_id, r.response.question_id)]]
