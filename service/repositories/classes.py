"""Classes and their students, scoped to the acting teacher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import SchoolClassRow, StudentRow
from service.errors import NotFound
from service.policy import scoped

__all__ = ["ClassRepository", "NewStudent"]


@dataclass(frozen=True)
class NewStudent:
    student_no: str
    name: str
    pinyin: str | None = None


class ClassRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _visible(self) -> Select[SchoolClassRow]:
        return scoped(select(SchoolClassRow), SchoolClassRow, self.actor)

    async def create(self, name: str, grade: int | None, subject: str | None) -> SchoolClassRow:
        row = SchoolClassRow(school_id=self.actor.school_id, teacher_id=self.actor.teacher_id,
                          name=name, grade=grade, subject=subject)
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, class_id: int) -> SchoolClassRow:
        """The class, if the actor may see it.

        Raises:
            NotFound: no such class, or another teacher's (never revealed as such).
        """
        row = (await self.session.execute(
            self._visible().where(SchoolClassRow.id == class_id)
        )).scalar_one_or_none()
        if row is None:
            raise NotFound(f"class {class_id} not found")
        return row

    async def list_with_counts(self) -> list[tuple[SchoolClassRow, int]]:
        """The classes the actor may see, oldest first, each with its number of students."""
        counts = (select(StudentRow.class_id, func.count(StudentRow.id).label("n"))
                  .group_by(StudentRow.class_id).subquery())
        rows = await self.session.execute(scoped(
            select(SchoolClassRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.class_id == SchoolClassRow.id),
            SchoolClassRow, self.actor).order_by(SchoolClassRow.id))
        return [(row, int(n)) for row, n in rows.all()]

    async def students(self, class_id: int) -> list[StudentRow]:
        rows = await self.session.execute(scoped(
            select(StudentRow).where(StudentRow.class_id == class_id), StudentRow, self.actor
        ).order_by(StudentRow.student_no))
        return list(rows.scalars())

    async def student_count(self, class_id: int) -> int:
        n = await self.session.scalar(scoped(
            select(func.count()).select_from(StudentRow).where(StudentRow.class_id == class_id),
            StudentRow, self.actor))
        return int(n or 0)

    async def existing_student_nos(self, class_id: int, nos: Sequence[str]) -> set[str]:
        if not nos:
            return set()
        rows = await self.session.execute(scoped(
            select(StudentRow.student_no).where(StudentRow.class_id == class_id,
                                             StudentRow.student_no.in_(list(nos))),
            StudentRow, self.actor))
        return set(rows.scalars())

    async def add_students(self, class_id: int, students: Sequence[NewStudent]) -> list[StudentRow]:
        await self.get(class_id)  # never write into a class the actor cannot see
        rows = [StudentRow(class_id=class_id, student_no=s.student_no, name=s.name, pinyin=s.pinyin)
                for s in students]
        self.session.add_all(rows)
        await self.session.flush()
        return rows
