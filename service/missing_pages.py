"""Which pages of which students' copies are missing: for a job, and for a worksheet.

The rule (one for both views): a student who has at least one scanned page of a worksheet
and no scanned page for some of its other pages has those pages *missing*; a student with
no page at all is not "missing pages" but missing altogether (results list them in
``missing``). A page counts as scanned when a live page of that worksheet page and student
is stored, from any upload (:mod:`service.repositories.missing_pages`).

Pages that come later:

* the **results** show the union of every upload: a page 2 uploaded in a second job
  completes the copy at once;
* a **job** shows what it lacked *at its end*: for each student with a page in the job,
  the pages not stored by the time the job finished (this job's pages and any earlier
  upload's). A later upload does not rewrite that record; each entry also carries
  ``still_missing``, the pages missing now, so the job page can say a page was brought
  later. While the job runs nothing is reported (``None``): its pages are still coming.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import JobRow
from service.repositories.missing_pages import MissingPagesRepository, ScannedPage
from service.schemas.jobs import JobMissingPagesOut, MissingSummaryOut

__all__ = ["job_missing_pages", "missing_numbers", "worksheet_pages"]


def missing_numbers(page_count: int, have: Iterable[int]) -> list[int]:
    """The worksheet's page numbers (1-based) not in ``have``, in order.

    Args:
        page_count: the worksheet's number of pages.
        have: the page numbers scanned.

    Returns:
        The missing page numbers (empty when every page was scanned).
    """
    got = set(have)
    return [n for n in range(1, page_count + 1) if n not in got]


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC (service.db.base.utcnow).
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


async def worksheet_pages(session: AsyncSession, actor: Actor, worksheet_id: int
                          ) -> dict[int, set[int]]:
    """Every student's scanned page numbers of one worksheet (union of all uploads).

    Args:
        session: the unit of work.
        actor: the caller.
        worksheet_id: a worksheet already checked visible to the actor.

    Returns:
        Student id -> page numbers (students with no live page are absent).
    """
    out: dict[int, set[int]] = defaultdict(set)
    for p in await MissingPagesRepository(session, actor).scanned_pages([worksheet_id]):
        out[p.student_id].add(p.page_no)
    return dict(out)


def _lacking(pairs: set[tuple[int, int]], counts: dict[int, int],
             pages: Sequence[ScannedPage], cutoff: datetime | None
             ) -> list[tuple[int, int, list[int], list[int]]]:
    """(worksheet, student, pages lacked at the job's end, pages still missing now) for
    each of the job's students who lacked any."""
    at_end: dict[tuple[int, int], set[int]] = defaultdict(set)
    now: dict[tuple[int, int], set[int]] = defaultdict(set)
    for p in pages:
        key = (p.worksheet_id, p.student_id)
        if key not in pairs:
            continue
        now[key].add(p.page_no)
        if cutoff is None or _utc(p.stored_at) <= cutoff:
            at_end[key].add(p.page_no)
    out = []
    for ws, st in pairs:
        lacked = missing_numbers(counts.get(ws, 0), at_end.get((ws, st), ()))
        if lacked:
            out.append((ws, st, lacked, missing_numbers(counts.get(ws, 0),
                                                        now.get((ws, st), ()))))
    return out


def _entries(lacking: list[tuple[int, int, list[int], list[int]]],
             names: dict[int, tuple[str, str]]) -> list[JobMissingPagesOut]:
    out = []
    for ws, st, lacked, still in lacking:
        no, name = names.get(st, (None, None))
        out.append(JobMissingPagesOut(student_id=st, student_no=no, name=name,
                                      worksheet_id=ws, pages=lacked, still_missing=still))
    out.sort(key=lambda e: (e.worksheet_id, e.student_no or "", e.student_id))
    return out


def _summary(entries: Sequence[JobMissingPagesOut]) -> MissingSummaryOut:
    return MissingSummaryOut(students=len(entries), pages=sum(len(e.pages) for e in entries),
                             still_missing=sum(len(e.still_missing) for e in entries))


async def job_missing_pages(session: AsyncSession, actor: Actor, done: Sequence[JobRow]
                            ) -> dict[int, tuple[list[JobMissingPagesOut], MissingSummaryOut]]:
    """The pages each finished job's students lacked at its end (see the module docstring).

    Args:
        session: the unit of work.
        actor: the caller (names only for students it may see; none for a device).
        done: finished jobs already checked visible to the actor (the caller leaves out
            jobs still queued or running).

    Returns:
        Job id -> (entries, summary), in at most four queries however many jobs (three
        when no student lacked a page: names are read only for those who did).
    """
    out: dict[int, tuple[list[JobMissingPagesOut], MissingSummaryOut]] = {}
    if not done:
        return out
    repo = MissingPagesRepository(session, actor)
    members = await repo.job_students([j.id for j in done])
    worksheets = {ws for pairs in members.values() for ws, _ in pairs}
    students = {st for pairs in members.values() for _, st in pairs}
    counts = await repo.page_counts(worksheets)
    pages = await repo.scanned_pages(worksheets, students)
    lacking = {job.id: _lacking(members.get(job.id, set()), counts, pages,
                                _utc(job.finished_at) if job.finished_at is not None else None)
               for job in done}
    named = {st for rows in lacking.values() for _, st, _, _ in rows}
    names = await repo.names(named) if named else {}
    for job in done:
        entries = _entries(lacking[job.id], names)
        out[job.id] = (entries, _summary(entries))
    return out
