"""The review queue and teacher decisions: answers, page students, page images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from service.api.deps import ActorDep, SessionDep, SettingsDep
from service.jobs.runner import ingest_limits
from service.review.decisions import assign_page, decide
from service.review.dismiss import dismiss_page, reopen_page
from service.review.images import page_png
from service.review.queue import review_queue
from service.schemas.results import (
    AssignPage,
    DismissPage,
    ReviewAction,
    ReviewDone,
    ReviewKind,
    ReviewPage,
    ReviewQueueOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["review"])


@router.get("/review")
async def get_review_queue(
    session: SessionDep, actor: ActorDep,
    worksheet_id: Annotated[int | None, Query(description="only this worksheet")] = None,
    kind: Annotated[ReviewKind | None, Query(description="only this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReviewQueueOut:
    """What needs a human: answers whose grade needs review (with crop, reading,
    alternatives and reason), pages with no student, unidentified and duplicate pages.
    Stable order; page with ``offset``/``limit`` (``next_offset`` is null at the end)."""
    return await review_queue(session, actor, worksheet_id=worksheet_id, kind=kind,
                              limit=limit, offset=offset)


@router.post("/review/responses/{response_id}")
async def decide_response(response_id: int, body: ReviewAction, session: SessionDep,
                          actor: ActorDep, settings: SettingsDep) -> ReviewDone:
    """Decide one answer: ``{"action": "confirm"}``, ``{"action": "correct", "text": ...}``
    or ``{"action": "set", "verdict": ..., "score": ...}``. A new current grade is written
    (the old one is kept, not current); the totals, the student's mastery and error book
    follow in the same transaction."""
    return await decide(session, actor, response_id, body, settings.mastery.schedule())


@router.post("/review/pages/{page_id}/assign")
async def assign_page_student(page_id: int, body: AssignPage, session: SessionDep,
                              actor: ActorDep, settings: SettingsDep) -> ReviewPage:
    """Name the student of a scanned page (must be on the worksheet's class roster)."""
    return await assign_page(session, actor, page_id, body, settings.mastery.schedule())


@router.post("/review/pages/{page_id}/dismiss")
async def dismiss_review_page(page_id: int, session: SessionDep, actor: ActorDep,
                              body: DismissPage | None = None) -> ReviewPage:
    """Take an unidentified, duplicate or student-less page out of the review queue. The
    page is kept (status ``dismissed``, marked so in its job's problems), never deleted;
    dismissing it again changes nothing. Undo with ``reopen``."""
    return await dismiss_page(session, actor, page_id, body)


@router.post("/review/pages/{page_id}/reopen")
async def reopen_review_page(page_id: int, session: SessionDep, actor: ActorDep) -> ReviewPage:
    """Put a dismissed page back in the review queue with the status it had (a page that is
    not dismissed is left as it is)."""
    return await reopen_page(session, actor, page_id)


@router.get("/pages/{page_id}/image.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
async def page_image(page_id: int, request: Request, session: SessionDep, actor: ActorDep,
                     settings: SettingsDep) -> Response:
    """The scanned page as uploaded (greyscale PNG): the stored page image if there is one,
    else re-rendered from the uploaded file."""
    data = await page_png(session, actor, request.app.state.storage, page_id,
                          ingest_limits(settings))
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})
