"""Results across worksheets for the pages: the teacher's worksheet list with hand-in counts
and average scores, and one student's scores over time.

The per-worksheet figures follow :mod:`service.results`' rules: only live pages count, an
answer waiting for review is never a zero, and the average score is the mean total of the
students whose every question is decided (``ResultsOut.summary.mean``). They come from a
few grouped queries (:mod:`service.repositories.results_pages`), not one results document
per worksheet, so the list stays fast with many worksheets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.repositories.mastery import MasteryRepository
from service.repositories.results_pages import ResultsPagesRepository, StudentTotal
from service.repositories.worksheets import WorksheetRepository

__all__ = ["StudentScore", "WorksheetOverview", "results_overview", "student_scores"]


@dataclass(frozen=True)
class WorksheetOverview:
    """One worksheet's line in the results list.

    Attributes:
        worksheet_id: the worksheet.
        title: its title.
        class_id: its class.
        class_name: the class's name.
        created_at: when it was made.
        roster: students in the class.
        submitted: students who handed it in (a live scanned page).
        complete: students whose every question is decided.
        mean: the mean total of the complete students (None without any).
        max_score: the worksheet's full marks.
        pending: answers waiting for review.
        practice: whether it is an error book's practice sheet.
    """

    worksheet_id: int
    title: str
    class_id: int
    class_name: str
    created_at: datetime
    roster: int
    submitted: int
    complete: int
    mean: float | None
    max_score: float
    pending: int
    practice: bool


@dataclass(frozen=True)
class StudentScore:
    """A student's result on one worksheet.

    Attributes:
        worksheet_id: the worksheet.
        title: its title.
        scanned_at: when the student's paper was scanned.
        score: decided score.
        decided_max: full marks of the decided answers.
        max_score: the worksheet's full marks.
        pending: answers waiting for review.
        rate: score / decided_max (None when nothing is decided yet).
    """

    worksheet_id: int
    title: str
    scanned_at: datetime
    score: float
    decided_max: float
    max_score: float
    pending: int
    rate: float | None


def _complete(total: StudentTotal, questions: int) -> bool:
    return (total.pending == 0 and total.graded_questions == total.questions
            and total.questions >= questions)


async def results_overview(session: AsyncSession, actor: Actor, *, limit: int = 200
                           ) -> list[WorksheetOverview]:
    """The actor's worksheets, newest first, with hand-in counts and average scores.

    Args:
        session: the unit of work.
        actor: the caller (a teacher sees their own worksheets, an admin the school's).
        limit: at most this many worksheets.

    Returns:
        One line per worksheet (six queries in all, whatever the number of worksheets).
    """
    sheets = await WorksheetRepository(session, actor).summaries(limit=limit)
    if not sheets:
        return []
    ids = [s.id for s in sheets]
    repo = ResultsPagesRepository(session, actor)
    rosters = await repo.roster_counts([s.class_id for s in sheets])
    submitted = await repo.submitted_counts(ids)
    items = await repo.item_counts(ids)
    practice = await repo.practice_sheets(ids)
    per_sheet: dict[int, list[StudentTotal]] = defaultdict(list)
    for t in await repo.student_totals(ids):
        per_sheet[t.worksheet_id].append(t)
    out = []
    for s in sheets:
        n_items, full = items.get(s.id, (0, 0.0))
        totals = per_sheet.get(s.id, [])
        done = [t.score for t in totals if _complete(t, n_items)]
        out.append(WorksheetOverview(
            worksheet_id=s.id, title=s.title, class_id=s.class_id, class_name=s.class_name,
            created_at=s.created_at, roster=rosters.get(s.class_id, 0),
            submitted=submitted.get(s.id, 0), complete=len(done),
            mean=round(sum(done) / len(done), 2) if done else None, max_score=full,
            pending=sum(t.pending + t.questions - t.graded_questions for t in totals),
            practice=s.id in practice))
    return out


async def student_scores(session: AsyncSession, actor: Actor, student_id: int
                         ) -> list[StudentScore]:
    """The student's results on every worksheet they handed in, oldest first.

    Raises:
        NotFound: no such student, or one of another teacher's class.
    """
    student, _cls = await MasteryRepository(session, actor).student(student_id)
    repo = ResultsPagesRepository(session, actor)
    rows = await repo.student_scores(student.id)
    items = await repo.item_counts([r.worksheet_id for r in rows])
    return [StudentScore(
        worksheet_id=r.worksheet_id, title=r.title, scanned_at=r.scanned_at,
        score=round(r.total.score, 4), decided_max=round(r.total.decided_max, 4),
        max_score=items.get(r.worksheet_id, (0, 0.0))[1],
        pending=r.total.pending + r.total.questions - r.total.graded_questions,
        rate=r.total.score / r.total.decided_max if r.total.decided_max else None)
        for r in rows]
