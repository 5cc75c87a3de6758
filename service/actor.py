"""Who is making a request. Every repository call is scoped by an :class:`Actor`.

Until teacher accounts and device keys arrive (ingestion issue), requests act as the
bootstrap local teacher created at start-up; the routers already take the actor as a
dependency, so authentication slots in here without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import School, Teacher

__all__ = ["LOCAL_USERNAME", "Actor", "current_actor", "ensure_local_actor"]

LOCAL_USERNAME = "local"


@dataclass(frozen=True)
class Actor:
    teacher_id: int
    school_id: int
    is_admin: bool = False


async def ensure_local_actor(session: AsyncSession, school_name: str) -> Actor:
    """Create (once) the default school and the local teacher, and return it as an actor."""
    teacher = (await session.execute(
        select(Teacher).where(Teacher.username == LOCAL_USERNAME)
    )).scalar_one_or_none()
    if teacher is None:
        school = School(name=school_name)
        session.add(school)
        await session.flush()
        teacher = Teacher(school_id=school.id, username=LOCAL_USERNAME,
                          display_name="本机教师", is_admin=True)
        session.add(teacher)
        await session.flush()
    return Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)


async def current_actor(request: Request) -> Actor:
    """The caller. For now: the local teacher (access is open on loopback)."""
    actor: Actor = request.app.state.local_actor
    return actor
