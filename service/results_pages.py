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
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import StudentRow, WorksheetRow
from service.repositories.mastery import MasteryRepository
from service.repositories.results import ItemInfo, ResultsRepository
from service.repositories.results_pages import ResultsPagesRepository, StudentTotal
from service.repositories.worksheets import WorksheetRepository
from service.results import results_of
from service.schemas.results import ResultsOut

__all__ = ["ResultsState", "StudentScore", "WorksheetOverview", "page_results",
           "results_overview", "results_state", "student_scores"]


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


@dataclass(frozen=True)
class ResultsState:
    """What a worksheet's results are made from, short of its answers, and a version of
    everything they depend on (so a page can reuse what it made from the same version).

    Attributes:
        worksheet: the worksheet (checked visible to the actor).
        items: its questions with their current keys.
        roster: its class's students in roster order.
        version: equal for two reads exactly when nothing the results show changed in
            between (title, questions' ids, keys and scores, roster, pages, responses and
            current grades; see :meth:`ResultsPagesRepository.answers_version`).
    """

    worksheet: WorksheetRow
    items: list[ItemInfo]
    roster: list[StudentRow]
    version: Hashable


async def results_state(session: AsyncSession, actor: Actor, worksheet_id: int
                        ) -> ResultsState:
    """The worksheet, items, roster and the results' version (five small queries).

    Raises:
        NotFound: no such worksheet for the actor.
    """
    repo = ResultsRepository(session, actor)
    ws = await repo.worksheet(worksheet_id)
    items = await repo.items(ws.id)
    roster = await repo.roster(ws.class_id)
    answers = await ResultsPagesRepository(session, actor).answers_version(ws.id)
    version = (ws.id, ws.title, ws.class_id,
               tuple((i.position, i.question_row_id, i.external_id, i.kind, i.revision,
                      i.max_score) for i in items),
               tuple((s.id, s.student_no, s.name) for s in roster), answers)
    return ResultsState(ws, items, roster, version)


async def page_results(session: AsyncSession, actor: Actor, state: ResultsState) -> ResultsOut:
    """The results document of a worksheet, as :func:`service.results.load_results` makes
    it for the API (the same scoping, rows and build), from the state already read.

    Args:
        session: the unit of work.
        actor: the caller.
        state: from :func:`results_state` in the same unit of work.
    """
    return await results_of(session, actor, state.worksheet, state.items, state.roster)
