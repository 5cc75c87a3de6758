"""Jobs as their owners see them: a teacher sees the jobs of their uploads, a device the
jobs of its own uploads, an admin every job of the school."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import Job, ScanUpload
from service.errors import NotFound
from service.policy import scoped

__all__ = ["JobRepository"]


class JobRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _visible(self) -> Select[Job, ScanUpload]:
        q = (select(Job, ScanUpload).join(ScanUpload, ScanUpload.job_id == Job.id)
             .where(Job.school_id == self.actor.school_id))
        return scoped(q, ScanUpload, self.actor)

    async def get(self, job_id: int) -> tuple[Job, ScanUpload]:
        """The job and its upload. Raises NotFound for unknown or other people's jobs."""
        row = (await self.session.execute(self._visible().where(Job.id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return row[0], row[1]

    async def recent(self, limit: int = 50) -> list[tuple[Job, ScanUpload]]:
        rows = await self.session.execute(self._visible().order_by(Job.id.desc()).limit(limit))
        return [(j, u) for j, u in rows.all()]
