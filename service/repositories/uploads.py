"""Stored scan uploads: finding one received before, and recording a new one with its job.

Used by :mod:`service.ingestion` inside the request's unit of work (flush only).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import JobRow, ScanUploadRow

__all__ = ["UploadRepository"]


class UploadRepository:
    """Lookups and the insert behind accepting a scan."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_sha256(self, school_id: int, sha256: str) -> ScanUploadRow | None:
        """The school's upload of exactly these bytes, if any (one per school)."""
        return (await self.session.execute(select(ScanUploadRow).where(
            ScanUploadRow.school_id == school_id, ScanUploadRow.sha256 == sha256))
        ).scalar_one_or_none()

    async def by_idempotency_key(self, school_id: int, key: str, *, device_id: int | None,
                                 teacher_id: int) -> ScanUploadRow | None:
        """The upload sent earlier under this ``Idempotency-Key``: the device's own when a
        device sends, else the teacher's."""
        q = select(ScanUploadRow).where(ScanUploadRow.school_id == school_id,
                                        ScanUploadRow.idempotency_key == key)
        if device_id is not None:
            q = q.where(ScanUploadRow.device_id == device_id)
        else:
            q = q.where(ScanUploadRow.teacher_id == teacher_id)
        return (await self.session.execute(q.limit(1))).scalar_one_or_none()

    async def add_with_job(self, job: JobRow, upload: dict[str, Any]) -> int | None:
        """Insert the upload (``upload``: its columns) and its job, linked both ways.

        Returns:
            The upload's id; None, with nothing written, when the school has an upload of
            these bytes already (one recorded by a concurrent request, committed first).
        """
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" \
            else sqlite_insert
        # Without a savepoint: on SQLite one opened before any write of the transaction
        # ends it when released, committing the job apart from the rest of the request.
        upload_id = (await self.session.execute(
            insert(ScanUploadRow).values(**upload)
            .on_conflict_do_nothing(index_elements=["school_id", "sha256"])
            .returning(ScanUploadRow.id))).scalar_one_or_none()
        if upload_id is None:
            return None
        job.payload = {**job.payload, "upload_id": upload_id}
        self.session.add(job)
        await self.session.flush()
        await self.session.execute(update(ScanUploadRow).where(ScanUploadRow.id == upload_id)
                                   .values(job_id=job.id))
        return int(upload_id)
