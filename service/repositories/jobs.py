"""Jobs and the statements the job runner needs.

:class:`JobRepository` is jobs as their owners see them: a teacher sees the jobs of their
uploads, a device the jobs of its own uploads, an admin every job of the school.
:class:`JobWorkRepository` is the runner's side: claiming jobs, what is already stored,
and what a worker needs to read one worksheet. Both flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    Table,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    GradeRow,
    JobRow,
    PageRow,
    ResponseRow,
    ScanUploadRow,
    SchoolClassRow,
    StudentRow,
    TeacherRow,
    WorksheetRow,
)
from service.errors import NotFound
from service.policy import scoped

__all__ = ["JobRepository", "JobWorkRepository", "RosterRow"]

# (student id, student number, name): what matching a handwritten number needs.
RosterRow = tuple[int, str, str]


# The page store's statements, run for every page a job stores: built once, on the
# tables (no ORM entities to resolve), so a page pays only for executing them.
_PAGES, _STUDENTS, _JOBS = (cast(Table, r.__table__) for r in (PageRow, StudentRow, JobRow))
_PAGE_STORED = select(_PAGES.c.id).where(_PAGES.c.upload_id == bindparam("upload"),
                                         _PAGES.c.page_index == bindparam("index")).limit(1)
_ON_ROSTER = select(_STUDENTS.c.id).where(_STUDENTS.c.id == bindparam("student"),
                                          _STUDENTS.c.class_id == bindparam("class_id"))
_ALREADY_SCANNED = select(_PAGES.c.id).where(
    _PAGES.c.worksheet_id == bindparam("worksheet"), _PAGES.c.page_no == bindparam("page_no"),
    _PAGES.c.student_id == bindparam("student"),
    _PAGES.c.status.in_(("graded", "misaligned"))).limit(1)
_NOTE_PROGRESS = update(_JOBS).where(_JOBS.c.id == bindparam("job")).values(
    pages_done=select(func.count()).select_from(_PAGES)
    .where(_PAGES.c.upload_id == bindparam("upload")).scalar_subquery(),
    updated_at=bindparam("now"), lease_expires_at=bindparam("until"))


class JobRepository:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _visible(self) -> Select[JobRow, ScanUploadRow]:
        q = (select(JobRow, ScanUploadRow).join(ScanUploadRow, ScanUploadRow.job_id == JobRow.id)
             .where(JobRow.school_id == self.actor.school_id))
        return scoped(q, ScanUploadRow, self.actor)

    async def get(self, job_id: int) -> tuple[JobRow, ScanUploadRow]:
        """The job and its upload. Raises NotFound for unknown or other people's jobs."""
        row = (await self.session.execute(self._visible().where(JobRow.id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return row[0], row[1]

    async def recent(self, limit: int = 50) -> list[tuple[JobRow, ScanUploadRow]]:
        rows = await self.session.execute(self._visible().order_by(JobRow.id.desc()).limit(limit))
        return [(j, u) for j, u in rows.all()]


class JobWorkRepository:
    """The job runner's statements (no actor: the runner works for every school)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- claiming --------------------------------------------------------------------

    @staticmethod
    def _claimable(now: datetime) -> ColumnElement[bool]:
        # Queued, or running under a lease that lapsed (its runner died).
        return or_(JobRow.status == "queued",
                   (JobRow.status == "running") & (JobRow.lease_expires_at < now))

    async def claimable_jobs(self, now: datetime, limit: int = 5) -> Sequence[int]:
        """Ids of the oldest scan jobs a runner may claim now."""
        return (await self.session.execute(
            select(JobRow.id).where(JobRow.kind == "scan", self._claimable(now))
            .order_by(JobRow.id).limit(limit))).scalars().all()

    async def unsent_jobs(self, now: datetime, quiet: timedelta, limit: int = 500
                          ) -> Sequence[int]:
        """Ids of the oldest scan jobs that no API process is sending a worker: queued
        with no change for ``quiet`` (whoever queued one sends it at once), or running
        under a lease that lapsed."""
        return (await self.session.execute(
            select(JobRow.id).where(JobRow.kind == "scan", or_(
                (JobRow.status == "queued") & (JobRow.updated_at < now - quiet),
                (JobRow.status == "running") & (JobRow.lease_expires_at < now)))
            .order_by(JobRow.id).limit(limit))).scalars().all()

    async def try_claim(self, job_id: int, worker: str, now: datetime,
                        lease: timedelta) -> bool:
        """Claim one job if it is still claimable (a conditional UPDATE: of two runners
        racing for a job, one wins)."""
        result = await self.session.execute(
            update(JobRow).where(JobRow.id == job_id, self._claimable(now))
            .values(status="running", claimed_by=worker, attempts=JobRow.attempts + 1,
                    lease_expires_at=now + lease, updated_at=now)
            .execution_options(synchronize_session=False))
        await self.session.flush()
        assert isinstance(result, CursorResult)
        return bool(result.rowcount == 1)

    async def renew_lease(self, job_id: int, worker: str, until: datetime) -> bool:
        """Extend the lease of a job ``worker`` still holds (a conditional UPDATE: a job
        released, finished or claimed by another runner meanwhile is left alone).

        Returns:
            Whether the lease was extended.
        """
        result = await self.session.execute(
            update(JobRow).where(JobRow.id == job_id, JobRow.status == "running",
                                 JobRow.claimed_by == worker)
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False))
        await self.session.flush()
        assert isinstance(result, CursorResult)
        return bool(result.rowcount == 1)

    async def release(self, job_id: int, now: datetime, until: datetime) -> None:
        """Give up the job's lease until ``until`` (a full disk: claimed again by whichever
        runner looks after it); stored pages stay, nothing counts as a failure."""
        await self.session.execute(
            update(JobRow).where(JobRow.id == job_id, JobRow.status == "running")
            .values(claimed_by=None, lease_expires_at=until, updated_at=now)
            .execution_options(synchronize_session=False))
        await self.session.flush()

    async def retry(self, job_id: int, now: datetime, payload: dict[str, Any],
                    problems: list[dict[str, Any]]) -> bool:
        """Queue a finished job again (a conditional UPDATE: only from ``failed`` or
        ``partially_done``), with fresh attempts and the given payload and problems.

        Returns:
            Whether the job was queued (False: it changed state meanwhile).
        """
        result = await self.session.execute(
            update(JobRow).where(JobRow.id == job_id,
                                 JobRow.status.in_(("failed", "partially_done")))
            .values(status="queued", error=None, finished_at=None, claimed_by=None,
                    lease_expires_at=None, attempts=0, payload=payload, problems=problems,
                    updated_at=now)
            .execution_options(synchronize_session=False))
        await self.session.flush()
        assert isinstance(result, CursorResult)
        return bool(result.rowcount == 1)

    async def requeue(self, job_id: int) -> None:
        """Put a job back in the queue (its pool died); stored pages stay."""
        await self.session.execute(update(JobRow).where(JobRow.id == job_id)
                                   .values(status="queued", lease_expires_at=None))
        await self.session.flush()

    # -- pages already stored --------------------------------------------------------

    async def pages_done(self, upload_id: int) -> int:
        return int((await self.session.execute(
            select(func.count()).select_from(PageRow).where(PageRow.upload_id == upload_id)
        )).scalar_one())

    async def note_progress(self, job_id: int, upload_id: int, now: datetime,
                            lease_until: datetime) -> None:
        """Count the upload's stored pages onto its job and renew the job's lease, in one
        statement (the job row is neither read nor its JSON decoded)."""
        await self.session.execute(_NOTE_PROGRESS, {"job": job_id, "upload": upload_id,
                                                    "now": now, "until": lease_until})

    async def stored_page_indices(self, upload_id: int) -> set[int]:
        return set((await self.session.execute(
            select(PageRow.page_index).where(PageRow.upload_id == upload_id))).scalars())

    async def page_stored(self, upload_id: int, page_index: int) -> bool:
        found = await self.session.execute(_PAGE_STORED, {"upload": upload_id,
                                                          "index": page_index})
        return found.first() is not None

    async def on_roster(self, student_id: int, class_id: int) -> bool:
        found = await self.session.execute(_ON_ROSTER, {"student": student_id,
                                                        "class_id": class_id})
        return found.first() is not None

    # -- placing an upload's anonymous pages at its end ------------------------------

    async def anonymous_pages(self, upload_id: int) -> Sequence[PageRow]:
        """The upload's worksheet pages waiting for a student, with identity evidence."""
        return (await self.session.execute(
            select(PageRow).where(PageRow.upload_id == upload_id,
                                  PageRow.status == "unknown_student",
                                  PageRow.student_id.is_(None),
                                  PageRow.worksheet_id.is_not(None),
                                  PageRow.student_evidence.is_not(None))
            .order_by(PageRow.page_index))).scalars().all()

    async def pages_waiting_for_student(self, upload_id: int, worksheet_id: int
                                        ) -> Sequence[PageRow]:
        """The upload's pages of one worksheet still waiting for a student, in upload
        order (with or without identity evidence)."""
        return (await self.session.execute(
            select(PageRow).where(PageRow.upload_id == upload_id,
                                  PageRow.worksheet_id == worksheet_id,
                                  PageRow.status == "unknown_student",
                                  PageRow.student_id.is_(None))
            .order_by(PageRow.page_index))).scalars().all()

    async def students_with_page(self, worksheet_id: int, page_no: int) -> set[int]:
        """The students whose copy of this worksheet page is stored and counts."""
        rows = await self.session.execute(select(PageRow.student_id).where(
            PageRow.worksheet_id == worksheet_id, PageRow.page_no == page_no,
            PageRow.student_id.is_not(None), PageRow.status.in_(("graded", "misaligned"))))
        return {int(sid) for (sid,) in rows.all() if sid is not None}

    async def roster_ids(self, worksheet_id: int) -> set[int]:
        """The students now on the roster of the worksheet's class."""
        rows = await self.session.execute(
            select(StudentRow.id).join(WorksheetRow, WorksheetRow.class_id == StudentRow.class_id)
            .where(WorksheetRow.id == worksheet_id))
        return {int(sid) for (sid,) in rows.all()}

    async def set_page_student(self, page: PageRow, student_id: int | None) -> None:
        """Name the page's student, on the page and on every response read from it."""
        page.student_id = student_id
        await self.session.execute(
            update(ResponseRow).where(ResponseRow.page_id == page.id)
            .values(student_id=student_id))
        await self.session.flush()

    async def primary_responses(self, page_ids: list[int]) -> list[int]:
        """The graded responses (first blank of each answer) on these pages."""
        rows = await self.session.execute(
            select(GradeRow.response_id).join(ResponseRow, ResponseRow.id == GradeRow.response_id)
            .where(ResponseRow.page_id.in_(page_ids), GradeRow.is_current.is_(True)))
        return sorted({int(r) for (r,) in rows.all()})

    async def page_already_scanned(self, worksheet_id: int, page_no: int,
                                   student_id: int) -> bool:
        """This page of this student's copy was stored (and counts) before."""
        found = await self.session.execute(_ALREADY_SCANNED, {
            "worksheet": worksheet_id, "page_no": page_no, "student": student_id})
        return found.first() is not None

    # -- what a worker needs to read one worksheet -----------------------------------

    async def worksheet_in_school(self, worksheet_id: int, school_id: int) -> WorksheetRow | None:
        return (await self.session.execute(
            select(WorksheetRow).join(SchoolClassRow, SchoolClassRow.id == WorksheetRow.class_id)
            .where(WorksheetRow.id == worksheet_id, SchoolClassRow.school_id == school_id)
        )).scalar_one_or_none()

    async def is_admin(self, teacher_id: int | None) -> bool:
        teacher = await self.session.get(TeacherRow, teacher_id) if teacher_id else None
        return teacher is not None and teacher.is_admin

    async def roster(self, class_id: int) -> list[RosterRow]:
        rows = (await self.session.execute(
            select(StudentRow.id, StudentRow.student_no, StudentRow.name)
            .where(StudentRow.class_id == class_id).order_by(StudentRow.student_no))).all()
        return [(int(i), str(no), str(name)) for i, no, name in rows]
