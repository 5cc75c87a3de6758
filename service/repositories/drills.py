"""Queries of drill assignments: the question rows their items become, the items' places on
the assignment, and where each answer was found on its page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from grading.questions import KnowledgePoint
from service.db import (
    KnowledgePointRow,
    PageRow,
    QuestionKnowledgePointRow,
    QuestionRow,
    ResponseRow,
    StudentRow,
    WorksheetItemRow,
)

__all__ = ["DrillRepository"]


class DrillRepository:
    """Drill assignments' rows (no actor: the job has checked access already)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def questions(self, school_id: int, external_ids: Sequence[str]
                        ) -> dict[str, QuestionRow]:
        """The school's questions with these bank ids (any origin: the caller checks)."""
        if not external_ids:
            return {}
        rows = await self.session.execute(select(QuestionRow).where(
            QuestionRow.school_id == school_id,
            QuestionRow.external_id.in_(list(set(external_ids)))))
        return {r.external_id: r for r in rows.scalars()}

    async def knowledge_point_ids(self, points: Sequence[KnowledgePoint]) -> dict[str, int]:
        """Ids of these knowledge points, the missing ones created (parents first)."""
        codes = [p.code for p in points]
        found = dict((await self.session.execute(
            select(KnowledgePointRow.code, KnowledgePointRow.id)
            .where(KnowledgePointRow.code.in_(codes)))).all())
        for p in sorted(points, key=lambda k: k.code.count(".")):
            if p.code in found:
                continue
            row = KnowledgePointRow(code=p.code, name_zh=p.name_zh, name_en=p.name_en,
                                    parent_id=found.get(p.parent_code or ""))
            try:
                async with self.session.begin_nested():  # another job may make it too
                    self.session.add(row)
                    await self.session.flush()
                found[p.code] = row.id
            except IntegrityError:
                found[p.code] = (await self.session.execute(select(KnowledgePointRow.id).where(
                    KnowledgePointRow.code == p.code))).scalar_one()
        return found

    async def add_question(self, row: QuestionRow, kp_ids: Sequence[int]) -> QuestionRow:
        """Store a new question with its knowledge points; the row another job stored
        first when it won the race for the same bank id."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
                if kp_ids:
                    await self.session.execute(insert(QuestionKnowledgePointRow), [
                        {"question_id": row.id, "knowledge_point_id": k}
                        for k in dict.fromkeys(kp_ids)])
            return row
        except IntegrityError:
            found = await self.questions(row.school_id, [row.external_id])
            return found[row.external_id]

    async def item_questions(self, worksheet_id: int) -> set[int]:
        """The question ids already on the assignment."""
        return set((await self.session.execute(select(WorksheetItemRow.question_id).where(
            WorksheetItemRow.worksheet_id == worksheet_id))).scalars())

    async def add_items(self, worksheet_id: int, questions: Sequence[QuestionRow]) -> None:
        """Append questions to the assignment's items, in order (retried on a position
        another job took at the same moment)."""
        for q in questions:
            for _ in range(5):
                top = (await self.session.execute(select(func.max(WorksheetItemRow.position))
                       .where(WorksheetItemRow.worksheet_id == worksheet_id))).scalar()
                try:
                    async with self.session.begin_nested():
                        self.session.add(WorksheetItemRow(
                            worksheet_id=worksheet_id, position=int(top or 0) + 1,
                            question_id=q.id, question_revision=q.key_revision))
                        await self.session.flush()
                    break
                except IntegrityError:
                    continue
            else:
                raise RuntimeError(f"could not add an item to worksheet {worksheet_id}")

    async def set_regions(self, upload_id: int, page_index: int,
                          regions: Mapping[int, Sequence[int]]) -> None:
        """Record where each answer of a stored page was found (by question id)."""
        rows = await self.session.execute(
            select(ResponseRow).join(PageRow, PageRow.id == ResponseRow.page_id)
            .where(PageRow.upload_id == upload_id, PageRow.page_index == page_index))
        for r in rows.scalars():
            region: Any = regions.get(r.question_id)
            if region is not None:
                r.region = [int(v) for v in region]
        await self.session.flush()

    async def student_class(self, student_id: int) -> int | None:
        """The student's class, None for no such student."""
        return (await self.session.execute(select(StudentRow.class_id).where(
            StudentRow.id == student_id))).scalar()
