"""Clearing a page from the review queue: dismiss it (it belongs to no one, or is a scan
kept only for the record), and reopen it (undo).

A dismissed page is never deleted: it keeps its image, its problem and any answers read
from it; only its status becomes ``dismissed``, so it leaves the queue and its counts (and
the answers on it leave the queue too). Its entry in the job's problem list is marked
``"dismissed": true`` so the job page shows it cleared. Reopening puts the status back as
it was before the latest dismissal (from the audit trail).

Pages that may be dismissed are those the queue lists as pages: ``unidentified``,
``duplicate`` and ``unknown_student`` (including a misaligned page with no student).
Both decisions are idempotent: dismissing a dismissed page, or reopening one that is not
dismissed, changes nothing and records nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import PageRow
from service.errors import InvalidInput
from service.repositories import audit
from service.repositories.review import ReviewRepository
from service.repositories.review_pages import ReviewPagesRepository
from service.results import student_ref
from service.schemas.results import DismissPage, ReviewPage

__all__ = ["DISMISSED", "dismiss_page", "dismissable", "reopen_page"]

DISMISSED = "dismissed"
_PAGE_KINDS = ("unidentified", "duplicate", "unknown_student")


def dismissable(page: PageRow) -> bool:
    """Whether the page waits in the queue as a page (and so may be dismissed)."""
    return page.status in _PAGE_KINDS or (page.status == "misaligned"
                                          and page.student_id is None)


def _fallback_status(page: PageRow) -> str:
    """The status a dismissed page had, when no audit event says (older data)."""
    if page.worksheet_id is None:
        return "unidentified"
    if page.student_id is None:
        return "unknown_student"
    return "duplicate"


async def _out(repo: ReviewRepository, page: PageRow, previous: str | None) -> ReviewPage:
    student = None
    if page.student_id is not None:
        student = (await repo.students({page.student_id})).get(page.student_id)
    return ReviewPage(page_id=page.id, worksheet_id=page.worksheet_id, page_no=page.page_no,
                      status=page.status, student=student_ref(student) if student else None,
                      student_source=page.student_source, previous_status=previous)


async def dismiss_page(session: AsyncSession, actor: Actor, page_id: int,
                       body: DismissPage | None = None) -> ReviewPage:
    """Take a page out of the review queue, keeping it.

    Args:
        session: the unit of work.
        actor: the teacher.
        page_id: the page.
        body: an optional note for the audit trail.

    Returns:
        The page after the change (``status`` ``dismissed``; ``previous_status`` what it
        was, None when it was already dismissed).

    Raises:
        NotFound: unknown page or another teacher's.
        InvalidInput: a page that does not wait in the queue as a page
            (``not_dismissable``: a graded page, a blank page...).
    """
    repo = ReviewRepository(session, actor)
    page, upload = await repo.page(page_id)
    if page.status == DISMISSED:
        return await _out(repo, page, None)
    if not dismissable(page):
        raise InvalidInput(f"a '{page.status}' page is not in the review queue",
                           error="not_dismissable")
    previous = page.status
    page.status = DISMISSED
    await repo.flush()
    await ReviewPagesRepository(session, actor).mark_job_problem(upload, page.page_index, True)
    await audit.record(session, actor, "review.dismiss_page", "page", page.id, detail={
        "previous_status": previous, "note": body.note if body else None})
    return await _out(repo, page, previous)


async def reopen_page(session: AsyncSession, actor: Actor, page_id: int) -> ReviewPage:
    """Put a dismissed page back in the review queue, as it was (undo a dismissal).

    Returns:
        The page after the change (``previous_status`` ``dismissed``, or None when it was
        not dismissed and nothing changed).

    Raises:
        NotFound: unknown page or another teacher's.
    """
    repo = ReviewRepository(session, actor)
    page, upload = await repo.page(page_id)
    if page.status != DISMISSED:
        return await _out(repo, page, None)
    pages = ReviewPagesRepository(session, actor)
    page.status = await pages.status_before_dismissal(page.id) or _fallback_status(page)
    await repo.flush()
    await pages.mark_job_problem(upload, page.page_index, False)
    await audit.record(session, actor, "review.reopen_page", "page", page.id,
                       detail={"status": page.status})
    return await _out(repo, page, DISMISSED)
