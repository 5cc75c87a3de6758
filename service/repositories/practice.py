"""What practice planning reads and writes: the school's bank, what a student has already
answered, knowledge point codes, and the generated variants stored as questions.

Used by :mod:`service.mastery.practice` inside the caller's unit of work (flush only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import KnowledgePointRow, QuestionKnowledgePointRow, QuestionRow, ResponseRow

__all__ = ["PracticeRepository"]


class PracticeRepository:
    """Queries and writes behind practice planning and variant storage."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def bank_version(self, school_id: int) -> tuple[int, int, str]:
        """(count, highest id, latest update) of the school's bank questions: changes whenever
        the bank does, so a cached index can be reused until then."""
        row = (await self.session.execute(
            select(func.count(QuestionRow.id), func.max(QuestionRow.id),
                   func.max(QuestionRow.updated_at))
            .where(QuestionRow.school_id == school_id, QuestionRow.origin == "bank"))).one()
        return int(row[0]), int(row[1] or 0), str(row[2])

    async def bank_questions(self, school_id: int) -> list[QuestionRow]:
        """The school's bank questions (not generated variants), by bank id."""
        rows = await self.session.execute(
            select(QuestionRow).where(QuestionRow.school_id == school_id,
                                      QuestionRow.origin == "bank")
            .order_by(QuestionRow.external_id))
        return list(rows.scalars().all())

    async def answered(self, student_id: int) -> list[tuple[str, str]]:
        """(bank id, stem) of every question the student has answered."""
        rows = await self.session.execute(
            select(QuestionRow.external_id, QuestionRow.stem)
            .join(ResponseRow, ResponseRow.question_id == QuestionRow.id)
            .where(ResponseRow.student_id == student_id).distinct())
        return [(str(r[0]), str(r[1])) for r in rows.all()]

    async def questions(self, ids: Iterable[int]) -> dict[int, QuestionRow]:
        """Questions by row id."""
        rows = await self.session.execute(
            select(QuestionRow).where(QuestionRow.id.in_(list(ids))))
        return {q.id: q for q in rows.scalars()}

    async def all_knowledge_point_codes(self) -> list[str]:
        """Every knowledge-point code on record."""
        return [str(c) for (c,) in (await self.session.execute(
            select(KnowledgePointRow.code))).all()]

    async def knowledge_point_ids(self, codes: set[str]) -> dict[str, int]:
        """Knowledge-point ids by code, for the codes on record."""
        rows = await self.session.execute(
            select(KnowledgePointRow.code, KnowledgePointRow.id)
            .where(KnowledgePointRow.code.in_(sorted(codes))))
        return {str(c): int(i) for c, i in rows.all()}

    async def questions_by_bank_id(self, school_id: int, external_ids: Sequence[str]
                                   ) -> dict[str, QuestionRow]:
        """The school's questions with these bank ids."""
        rows = await self.session.execute(select(QuestionRow).where(
            QuestionRow.school_id == school_id, QuestionRow.external_id.in_(external_ids)))
        return {r.external_id: r for r in rows.scalars()}

    async def add_questions(self, rows: Sequence[tuple[QuestionRow, Sequence[int]]]) -> None:
        """Store new questions with their knowledge point ids (one insert for all links)."""
        self.session.add_all([row for row, _ in rows])
        await self.session.flush()
        await self.session.execute(insert(QuestionKnowledgePointRow), [
            {"question_id": row.id, "knowledge_point_id": kp}
            for row, kps in rows for kp in kps])
