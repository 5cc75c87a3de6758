"""Tombstones of erased students, as the page store reads them (no actor: the job
runner's unit of work stores pages for the uploader it already checked)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ErasedStudentRow, StudentRow

__all__ = ["ErasedRepository"]


class ErasedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tombstone(self, student_id: int) -> ErasedStudentRow | None:
        """The tombstone of a former student id, if it was erased."""
        return await self.session.get(ErasedStudentRow, student_id)

    async def class_tombstones(self, class_id: int) -> list[ErasedStudentRow]:
        rows = await self.session.execute(
            select(ErasedStudentRow).where(ErasedStudentRow.class_id == class_id))
        return list(rows.scalars())

    async def student(self, student_id: int) -> StudentRow | None:
        return await self.session.get(StudentRow, student_id)

    async def number_on_roster(self, class_id: int, student_no: str) -> bool:
        found = await self.session.scalar(select(StudentRow.id).where(
            StudentRow.class_id == class_id, StudentRow.student_no == student_no).limit(1))
        return found is not None
