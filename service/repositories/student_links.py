"""Per-student read-only links: queries.

Teacher-side queries are scoped through the student (:func:`service.policy.scoped` on
:class:`StudentRow`), so a teacher reaches only the links of students in their own classes.
:meth:`StudentLinkRepository.find_active` is the one unscoped lookup: it is how an anonymous
holder of a link is resolved, by the SHA-256 of the token and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import SchoolClassRow, StudentLinkRow, StudentRow
from service.policy import scoped, visible

__all__ = ["StudentLinkRepository", "find_active_link", "touch_link"]


class StudentLinkRepository:
    """The links of the students an actor may see."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def active(self, student_ids: Sequence[int]) -> dict[int, StudentLinkRow]:
        """The working (not revoked) link of each listed student that has one (the newest
        if there were ever several)."""
        if not student_ids:
            return {}
        rows = await self.session.execute(scoped(
            select(StudentLinkRow).join(StudentRow, StudentRow.id == StudentLinkRow.student_id)
            .where(StudentLinkRow.student_id.in_(list(student_ids)),
                   StudentLinkRow.revoked_at.is_(None)),
            StudentRow, self.actor).order_by(StudentLinkRow.id))
        return {row.student_id: row for row in rows.scalars()}

    async def revoke(self, student_ids: Sequence[int], at: datetime) -> int:
        """Revoke every working link of the listed students the actor may see.

        Returns:
            How many links stopped working.
        """
        if not student_ids:
            return 0
        mine = select(StudentRow.id).where(visible(StudentRow, self.actor),
                                           StudentRow.id.in_(list(student_ids)))
        result = await self.session.execute(
            update(StudentLinkRow)
            .where(StudentLinkRow.student_id.in_(mine), StudentLinkRow.revoked_at.is_(None))
            .values(revoked_at=at).execution_options(synchronize_session=False))
        await self.session.flush()
        return int(getattr(result, "rowcount", 0) or 0)

    async def add(self, student: StudentRow, school_id: int, token_hash: str) -> StudentLinkRow:
        """A new working link for ``student`` (the caller checked the actor may see it)."""
        row = StudentLinkRow(school_id=school_id, student_id=student.id,
                             created_by=self.actor.teacher_id, token_hash=token_hash)
        self.session.add(row)
        await self.session.flush()
        return row


async def find_active_link(session: AsyncSession, token_hash: str
                           ) -> tuple[StudentLinkRow, StudentRow, SchoolClassRow] | None:
    """The working link with this token hash, its student and the student's class; ``None``
    for an unknown or revoked link (the two are never told apart)."""
    row = (await session.execute(
        select(StudentLinkRow, StudentRow, SchoolClassRow)
        .join(StudentRow, StudentRow.id == StudentLinkRow.student_id)
        .join(SchoolClassRow, SchoolClassRow.id == StudentRow.class_id)
        .where(StudentLinkRow.token_hash == token_hash, StudentLinkRow.revoked_at.is_(None),
               SchoolClassRow.school_id == StudentLinkRow.school_id)
    )).one_or_none()
    if row is None:
        return None
    link, student, cls = row
    return link, student, cls


async def touch_link(session: AsyncSession, link_id: int, at: datetime) -> None:
    """Remember when a link was last opened."""
    await session.execute(update(StudentLinkRow).where(StudentLinkRow.id == link_id)
                          .values(last_used_at=at).execution_options(synchronize_session=False))
