"""The review queue: everything that waits for a human, in one stable, paginated list.

Kinds, in this order: ``response`` (answers whose current grade needs review, by worksheet,
question position and response id), ``unknown_student`` (worksheet pages with no student),
``unidentified`` (pages of the caller's uploads that match no worksheet) and ``duplicate``
(pages scanned twice, or replaced in review); pages by upload and page index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import GradeRow, PageRow, ResponseRow, StudentRow
from service.repositories.results import ItemInfo, ResultsRepository
from service.repositories.review import ReviewRepository
from service.repositories.review_pages import ReviewPagesRepository
from service.results import crop_url, student_ref
from service.schemas.results import ReadingOut, ReviewItemOut, ReviewKind, ReviewQueueOut

__all__ = ["KINDS", "page_image_url", "review_answer", "review_queue", "worksheet_items"]

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


async def _format(repo: ReviewRepository, kind: ReviewKind, rows: list[Any]
                  ) -> list[ReviewItemOut]:
    if kind != "response":
        pages = [r[0] for r in rows]
        students = await repo.students({p.student_id for p in pages if p.student_id})
        return [_page_item(kind, p, students) for p in pages]
    siblings = await repo.siblings([r[0] for r in rows])
    students = await repo.students({r[2].student_id for r in rows if r[2].student_id})
    return [_answer_item(resp, grade, page, position, ext,
                         siblings.get((resp.page_id, resp.question_id), []), students)
            for resp, grade, page, position, ext in rows]


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
    if worksheet_id is not None:
        await ResultsRepository(session, actor).worksheet(worksheet_id)
    repo = ReviewRepository(session, actor)
    kinds = (kind,) if kind else KINDS
    queries = {k: repo.queue_query(k, worksheet_id) for k in kinds}
    counts = {k: await repo.count(q) for k, q in queries.items()}
    items: list[ReviewItemOut] = []
    skip = offset
    for k in kinds:
        if len(items) >= limit:
            break
        if skip >= counts[k]:
            skip -= counts[k]
            continue
        rows = await repo.fetch(queries[k], skip, limit - len(items))
        skip = 0
        items += await _format(repo, k, rows)
    total = sum(counts.values())
    end = offset + len(items)
    return ReviewQueueOut(items=items, total=total, counts=dict(counts), limit=limit,
                          offset=offset, next_offset=end if end < total else None)


async def review_answer(session: AsyncSession, actor: Actor, response_id: int) -> ReviewItemOut:
    """One graded answer as the queue shows it, whether or not it still waits for review
    (the review page reopens a decision with it: deciding again writes a new grade).

    Raises:
        NotFound: an unknown, ungraded or invisible answer.
    """
    row = await ReviewPagesRepository(session, actor).answer_row(response_id)
    return (await _format(ReviewRepository(session, actor), "response", [row]))[0]


async def worksheet_items(session: AsyncSession, actor: Actor, worksheet_id: int
                          ) -> list[ItemInfo]:
    """The questions of a worksheet an answer of the queue is on, with their current keys
    (the review page shows the stem and the key beside the answer).

    Args:
        worksheet_id: from an item already scoped to the actor.
    """
    return await ResultsRepository(session, actor).items(worksheet_id)
