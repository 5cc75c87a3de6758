"""The review queue: everything that waits for a human, in one stable, paginated list.

Kinds, in this order: ``response`` (answers whose current grade needs review, by worksheet,
question position and response id), ``unknown_student`` (worksheet pages with no student),
``unidentified`` (pages of the caller's uploads that match no worksheet) and ``duplicate``
(pages scanned twice, or replaced in review); pages by upload and page index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import GradeRow, PageRow, ResponseRow, StudentRow
from service.repositories.results import ItemInfo, ResultsRepository
from service.repositories.review import ReviewRepository
from service.repositories.review_pages import ReviewPagesRepository
from service.repositories.worksheets import WorksheetRepository
from service.results import crop_url, student_ref
from service.schemas.results import ReadingOut, ReviewItemOut, ReviewKind, ReviewQueueOut
from service.worksheets import WorksheetReviewCount

__all__ = [
    "KINDS",
    "QueuePage",
    "page_image_url",
    "review_answer",
    "review_queue",
    "review_queue_page",
    "worksheet_item",
    "worksheet_items",
]

KINDS: tuple[ReviewKind, ...] = ("response", "unknown_student", "unidentified", "duplicate")


def page_image_url(page_id: int) -> str:
    """The API path of a scanned page's image."""
    return f"/api/v1/pages/{page_id}/image.png"


def _page_item(kind: ReviewKind, page: PageRow, students: dict[int, StudentRow]) -> ReviewItemOut:
    student = students.get(page.student_id) if page.student_id else None
    actions = {}
    if kind == "unknown_student":
        actions["assign"] = f"/api/v1/review/pages/{page.id}/assign"
    return ReviewItemOut(kind=kind, page_id=page.id, upload_id=page.upload_id,
                         page_index=page.page_index, worksheet_id=page.worksheet_id,
                         page_no=page.page_no, page_status=page.status,
                         page_image_url=page_image_url(page.id),
                         student=student_ref(student) if student else None,
                         problem=page.problem, actions=actions)


def _answer_item(resp: ResponseRow, grade: GradeRow, page: PageRow, position: int,
                 external_id: str, blanks: list[ResponseRow],
                 students: dict[int, StudentRow]) -> ReviewItemOut:
    student = students.get(page.student_id) if page.student_id else None
    blanks = blanks or [resp]
    crops = [crop_url(r.id) for r in blanks if r.crop_key]
    reading = ReadingOut(text=resp.text, blanks=[r.text for r in blanks], status=resp.status,
                         confidence=resp.confidence, alternatives=list(resp.alternatives or []))
    return ReviewItemOut(
        kind="response", page_id=page.id, upload_id=page.upload_id,
        page_index=page.page_index, worksheet_id=resp.worksheet_id, page_no=page.page_no,
        page_status=page.status, page_image_url=page_image_url(page.id),
        student=student_ref(student) if student else None, problem=page.problem,
        response_id=resp.id, grade_id=grade.id, question_id=external_id, position=position,
        reading=reading, review_reason=grade.review_reason, reason_zh=grade.reason_zh,
        reason_en=grade.reason_en, max_score=grade.max_score,
        crop_url=crops[0] if crops else None, crop_urls=crops,
        actions={"decide": f"/api/v1/review/responses/{resp.id}",
                 "groups": f"/api/v1/worksheets/{resp.worksheet_id}/questions/"
                           f"{external_id}/groups"})


async def _format(repo: ReviewRepository, kind: ReviewKind, rows: list[Any],
                  blanks: dict[int, list[ResponseRow]] | None = None) -> list[ReviewItemOut]:
    if kind != "response":
        pages = [r[0] for r in rows]
        students = await repo.students({p.student_id for p in pages if p.student_id})
        return [_page_item(kind, p, students) for p in pages]
    siblings = await repo.siblings([r[0] for r in rows])
    if blanks is not None:  # every blank's response of each answer, by its first response
        blanks.update({r[0].id: siblings.get((r[0].page_id, r[0].question_id), [r[0]])
                       for r in rows})
    students = await repo.students({r[2].student_id for r in rows if r[2].student_id})
    return [_answer_item(resp, grade, page, position, ext,
                         siblings.get((resp.page_id, resp.question_id), []), students)
            for resp, grade, page, position, ext in rows]


async def _queue(session: AsyncSession, actor: Actor, *, worksheet_id: int | None,
                 kind: ReviewKind | None, limit: int, offset: int,
                 blanks: dict[int, list[ResponseRow]] | None = None,
                 answers_of_all: bool = False) -> tuple[ReviewQueueOut, dict[int, int]]:
    if worksheet_id is not None:
        await ResultsRepository(session, actor).worksheet(worksheet_id)
    repo = ReviewRepository(session, actor)
    kinds = (kind,) if kind else KINDS
    # Every count in one statement: answers per worksheet (of every worksheet when the
    # caller lists them all), pages per kind.
    counts: dict[ReviewKind, int] = dict.fromkeys(kinds, 0)
    by_worksheet: dict[int, int] = {}
    for k, wid, n in await repo.counts(kinds, worksheet_id, answers_of_all=answers_of_all):
        if wid is not None:
            by_worksheet[wid] = n
        elif k in counts:
            counts[k] += n
    if "response" in counts:
        counts["response"] = (sum(by_worksheet.values()) if worksheet_id is None
                              else by_worksheet.get(worksheet_id, 0))
    items: list[ReviewItemOut] = []
    skip = offset
    for k in kinds:
        if len(items) >= limit:
            break
        if skip >= counts[k]:
            skip -= counts[k]
            continue
        rows = await repo.fetch(repo.queue_query(k, worksheet_id), skip, limit - len(items))
        skip = 0
        items += await _format(repo, k, rows, blanks)
    total = sum(counts.values())
    end = offset + len(items)
    return ReviewQueueOut(items=items, total=total, counts=dict(counts), limit=limit,
                          offset=offset, next_offset=end if end < total else None), by_worksheet


async def review_queue(session: AsyncSession, actor: Actor, *, worksheet_id: int | None,
                       kind: ReviewKind | None, limit: int, offset: int) -> ReviewQueueOut:
    """One page of the review queue.

    Args:
        session: the unit of work.
        actor: the teacher; only their worksheets and uploads appear.
        worksheet_id: only this worksheet (and unidentified pages of uploads that carried
            it); None for everything the actor may see.
        kind: only this kind.
        limit: at most this many items.
        offset: items to skip (over the kinds in :data:`KINDS` order).

    Returns:
        The items, the total and per-kind counts, and the next offset (None at the end).

    Raises:
        NotFound: an unknown or invisible worksheet.
    """
    queue, _ = await _queue(session, actor, worksheet_id=worksheet_id, kind=kind, limit=limit,
                            offset=offset)
    return queue


@dataclass(frozen=True)
class QueuePage:
    """What the review page shows of the queue.

    Attributes:
        queue: as :func:`review_queue` returns it.
        worksheets: the actor's worksheets with answers waiting, newest first (as
            :func:`service.worksheets.review_counts`).
        blanks: every blank's response of each listed answer, by its ``response_id`` (so
            what confirming would give is worked out without reading them again).
    """

    queue: ReviewQueueOut
    worksheets: list[WorksheetReviewCount]
    blanks: dict[int, list[ResponseRow]]


async def review_queue_page(session: AsyncSession, actor: Actor, *, worksheet_id: int | None,
                            kind: ReviewKind | None, limit: int, offset: int) -> QueuePage:
    """:func:`review_queue` with what the review page needs besides; the per-worksheet
    counts come from the queue's own count statement.

    Raises:
        NotFound: an unknown or invisible worksheet.
    """
    blanks: dict[int, list[ResponseRow]] = {}
    queue, by_worksheet = await _queue(session, actor, worksheet_id=worksheet_id, kind=kind,
                                       limit=limit, offset=offset, blanks=blanks,
                                       answers_of_all=True)
    worksheets = []
    if by_worksheet:
        summaries = await WorksheetRepository(session, actor).summaries(limit=100)
        worksheets = [WorksheetReviewCount(r.id, r.title, r.class_name, by_worksheet[r.id])
                      for r in summaries if r.id in by_worksheet]
    return QueuePage(queue, worksheets, blanks)


async def review_answer(session: AsyncSession, actor: Actor, response_id: int) -> ReviewItemOut:
    """One graded answer as the queue shows it, whether or not it still waits for review
    (the review page reopens a decision with it: deciding again writes a new grade).

    Raises:
        NotFound: an unknown, ungraded or invisible answer.
    """
    row = await ReviewPagesRepository(session, actor).answer_row(response_id)
    return (await _format(ReviewRepository(session, actor), "response", [row]))[0]


async def worksheet_item(session: AsyncSession, actor: Actor, worksheet_id: int,
                         question_id: str) -> ItemInfo | None:
    """One question of a worksheet an answer of the queue is on, with its current key (the
    review page shows the stem and the key beside the answer); None if not on it.

    Args:
        worksheet_id: from an item already scoped to the actor.
        question_id: the question's bank id.
    """
    return await ReviewPagesRepository(session, actor).item(worksheet_id, question_id)


async def worksheet_items(session: AsyncSession, actor: Actor, worksheet_id: int
                          ) -> list[ItemInfo]:
    """The questions of a worksheet an answer of the queue is on, with their current keys
    (the review page shows the stem and the key beside the answer).

    Args:
        worksheet_id: from an item already scoped to the actor.
    """
    return await ResultsRepository(session, actor).items(worksheet_id)
