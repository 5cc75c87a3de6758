"""Stored scan uploads: finding one received before, and recording a new one with its job.

Used by :mod:`service.ingestion` inside the request's unit of work (flush only).
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import JobRow, ScanUploadRow

__all__ = ["LINK_JOB", "NEW_UPLOAD", "SeenUpload", "UploadRepository"]

_UPLOADS = cast(Table, ScanUploadRow.__table__)
_JOBS = cast(Table, JobRow.__table__)


class SeenUpload(NamedTuple):
    """What accepting a scan needs of an upload received before."""

    id: int
    job_id: int | None
    teacher_id: int | None
    page_count: int | None
    sha256: str


# Every upload runs these, and an upload's CPU is what bounds how fast a class's stacks are
# acknowledged: plain columns rather than mapped rows, and statements built once with
# bound parameters (building an insert and its cache key anew cost more than running it).
_SEEN = select(_UPLOADS.c.id, _UPLOADS.c.job_id, _UPLOADS.c.teacher_id, _UPLOADS.c.page_count,
               _UPLOADS.c.sha256)
_BY_SHA256 = _SEEN.where(_UPLOADS.c.school_id == bindparam("school"),
                         _UPLOADS.c.sha256 == bindparam("sha"))
NEW_UPLOAD = {
    name: dialect_insert(_UPLOADS).on_conflict_do_nothing(index_elements=["school_id", "sha256"])
    .returning(_UPLOADS.c.id)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_NEW_JOB = insert(_JOBS).returning(_JOBS.c.id)
LINK_JOB = update(_UPLOADS).where(_UPLOADS.c.id == bindparam("upload")).values(
    job_id=bindparam("job"))


class UploadRepository:
    """Lookups and the insert behind accepting a scan."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_sha256(self, school_id: int, sha256: str) -> SeenUpload | None:
        """The school's upload of exactly these bytes, if any (one per school)."""
        row = (await self.session.execute(_BY_SHA256, {"school": school_id, "sha": sha256})
               ).first()
        return SeenUpload(*row) if row is not None else None

    async def by_idempotency_key(self, school_id: int, key: str, *, device_id: int | None,
                                 teacher_id: int) -> SeenUpload | None:
        """The upload sent earlier under this ``Idempotency-Key``: the device's own when a
        device sends, else the teacher's."""
        q = _SEEN.where(_UPLOADS.c.school_id == school_id, _UPLOADS.c.idempotency_key == key)
        if device_id is not None:
            q = q.where(_UPLOADS.c.device_id == device_id)
        else:
            q = q.where(_UPLOADS.c.teacher_id == teacher_id)
        row = (await self.session.execute(q.limit(1))).first()
        return SeenUpload(*row) if row is not None else None

    async def add_with_job(self, job: dict[str, Any], upload: dict[str, Any]
                           ) -> tuple[int, int] | None:
        """Insert the upload and its job (``upload``, ``job``: their columns), linked both
        ways: the job's payload names the upload, the upload its job.

        Returns:
            The upload's and the job's ids; None, with nothing written, when the school has
            an upload of these bytes already (one recorded by a concurrent request,
            committed first).
        """
        dialect = self.session.get_bind().dialect.name
        # Without a savepoint: on SQLite one opened before any write of the transaction
        # ends it when released, committing the job apart from the rest of the request.
        upload_id = (await self.session.execute(
            NEW_UPLOAD["postgresql" if dialect == "postgresql" else "sqlite"], upload)
        ).scalar_one_or_none()
        if upload_id is None:
            return None
        payload = {**job.get("payload", {}), "upload_id": upload_id}
        job_id = (await self.session.execute(_NEW_JOB, {**job, "payload": payload})
                  ).scalar_one()
        await self.session.execute(LINK_JOB, {"upload": upload_id, "job": job_id})
        return int(upload_id), int(job_id)
