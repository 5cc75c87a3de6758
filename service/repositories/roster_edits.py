"""Editing a class's roster in place: one student of a class, scoped to the actor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import StudentRow
from service.errors import NotFound
from service.policy import scoped

__all__ = ["student_in_class", "student_no_taken"]


async def student_in_class(session: AsyncSession, actor: Actor, class_id: int,
                           student_id: int) -> StudentRow:
    """The student, if they are in ``class_id`` and the actor may see them.

    Raises:
        NotFound: no such student in that class, or not one the actor may see.
    """
    row = (await session.execute(scoped(
        select(StudentRow).where(StudentRow.id == student_id, StudentRow.class_id == class_id),
        StudentRow, actor))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"student {student_id} not found in class {class_id}")
    return row


async def student_no_taken(session: AsyncSession, actor: Actor, class_id: int,
                           student_no: str, but: int) -> bool:
    """Whether another student (not ``but``) of the class has this number."""
    found = await session.scalar(scoped(select(StudentRow.id).where(
        StudentRow.class_id == class_id, StudentRow.student_no == student_no,
        StudentRow.id != but), StudentRow, actor))
    return found is not None
