"""Reading mastery, error-book entries and progress, scoped through the student's class."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    ErrorEntryRow,
    KnowledgePointRow,
    MasteryEventRow,
    MasteryStateRow,
    QuestionRow,
    SchoolClassRow,
    StudentRow,
)
from service.errors import NotFound
from service.policy import scoped

__all__ = ["MasteryRepository"]


class MasteryRepository:
    """Queries behind the mastery, progress and error-book endpoints.

    Every method takes ids the caller obtained through :meth:`student` or :meth:`school_class`
    (both scoped by :mod:`service.policy`), so the row-level queries need no second check.
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def student(self, student_id: int) -> tuple[StudentRow, SchoolClassRow]:
        """The student and their class, if the actor may see them.

        Raises:
            NotFound: no such student, or one of another teacher's class.
        """
        row = (await self.session.execute(scoped(
            select(StudentRow, SchoolClassRow).join(SchoolClassRow, SchoolClassRow.id == StudentRow.class_id)
            .where(StudentRow.id == student_id), StudentRow, self.actor))).first()
        if row is None:
            raise NotFound(f"student {student_id} not found")
        return row[0], row[1]

    async def school_class(self, class_id: int) -> tuple[SchoolClassRow, list[StudentRow]]:
        """The class and its roster (student-number order).

        Raises:
            NotFound: no such class, or another teacher's.
        """
        cls = (await self.session.execute(scoped(
            select(SchoolClassRow).where(SchoolClassRow.id == class_id), SchoolClassRow, self.actor)
        )).scalar_one_or_none()
        if cls is None:
            raise NotFound(f"class {class_id} not found")
        students = (await self.session.execute(
            select(StudentRow).where(StudentRow.class_id == cls.id).order_by(StudentRow.student_no)
        )).scalars().all()
        return cls, list(students)

    async def states(self, student_ids: Sequence[int]
                     ) -> list[tuple[MasteryStateRow, KnowledgePointRow]]:
        """Mastery states of these students with their knowledge points."""
        if not student_ids:
            return []
        rows = await self.session.execute(
            select(MasteryStateRow, KnowledgePointRow)
            .join(KnowledgePointRow, KnowledgePointRow.id == MasteryStateRow.knowledge_point_id)
            .where(MasteryStateRow.student_id.in_(list(student_ids)))
            .order_by(KnowledgePointRow.code, MasteryStateRow.student_id))
        return [(s, k) for s, k in rows.all()]

    async def knowledge_points(self, codes: set[str]) -> dict[str, KnowledgePointRow]:
        """Knowledge points by code (for the names of rolled-up parents)."""
        if not codes:
            return {}
        rows = await self.session.execute(
            select(KnowledgePointRow).where(KnowledgePointRow.code.in_(sorted(codes))))
        return {k.code: k for k in rows.scalars()}

    async def events(self, student_ids: Sequence[int]
                     ) -> list[tuple[int, str, float, datetime]]:
        """(student, knowledge point code, credit, when) of every observation, in time order."""
        if not student_ids:
            return []
        rows = await self.session.execute(
            select(MasteryEventRow.student_id, KnowledgePointRow.code, MasteryEventRow.credit,
                   MasteryEventRow.at)
            .join(KnowledgePointRow, KnowledgePointRow.id == MasteryEventRow.knowledge_point_id)
            .where(MasteryEventRow.student_id.in_(list(student_ids)))
            .order_by(MasteryEventRow.at, MasteryEventRow.id))
        return [(int(s), str(c), float(v), at) for s, c, v, at in rows.all()]

    async def questions(self, ids: set[int]) -> dict[int, QuestionRow]:
        """Questions by row id (ids come from the student's own entries or events)."""
        if not ids:
            return {}
        rows = await self.session.execute(
            select(QuestionRow).where(QuestionRow.id.in_(sorted(ids))))
        return {q.id: q for q in rows.scalars()}

    async def entry_states(self, student_ids: Sequence[int]) -> list[tuple[int, str]]:
        """(student, state) of every error-book entry of these students: what a class's
        progress counts, without building a row object for each entry."""
        if not student_ids:
            return []
        rows = await self.session.execute(
            select(ErrorEntryRow.student_id, ErrorEntryRow.state)
            .where(ErrorEntryRow.student_id.in_(list(student_ids))))
        return [(int(s), str(state)) for s, state in rows.all()]

    async def entries(self, student_ids: Sequence[int], states: Sequence[str] | None = None
                      ) -> list[ErrorEntryRow]:
        """Error-book entries of these students (most overdue first)."""
        if not student_ids:
            return []
        q = select(ErrorEntryRow).where(ErrorEntryRow.student_id.in_(list(student_ids)))
        if states:
            q = q.where(ErrorEntryRow.state.in_(list(states)))
        rows = await self.session.execute(q.order_by(ErrorEntryRow.due_at, ErrorEntryRow.id))
        return list(rows.scalars())
