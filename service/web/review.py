"""The review pages: the queue a teacher clears with the keyboard, answer groups graded at
once, and unmatched pages assigned to a student from the roster.

Routes (all need a signed-in teacher; every POST checks the form's CSRF token):

* ``GET /review`` (``worksheet_id``, ``kind``, ``at``): one item of the queue, large, with
  the next few listed; ``at`` is its offset in the queue.
* ``GET /review/responses/{id}``: one answer, decided or not, to decide it again (undo).
* ``POST /review/responses/{id}``: decide it (``action`` confirm / correct / set), as
  ``POST /api/v1/review/responses/{id}``; back to the queue (post/redirect/get).
* ``GET /review/responses/{id}/crop.png``, ``GET /review/pages/{id}/image.png``: the
  answer crop and the scanned page, as the API serves them, under the browser session.
* ``POST /review/pages/{id}/assign``: name a page's student, as the API's assign.
* ``POST /review/pages/{id}/dismiss`` and ``.../reopen``: take an unidentified, duplicate
  or student-less page out of the queue (kept, marked dismissed), and put it back (undo),
  as the API's dismiss / reopen; back to the queue at the same place.
* ``GET /review/worksheets/{w}/questions/{q}/groups`` and ``POST .../groups/grade``: the
  answer groups of one question, each graded right / half / wrong at once.

``static/review.js`` adds the keys (Enter, 1/2/3, e, arrows, j/k, u, g, d) and submits the
forms with ``fetch``, swapping in the next item without a full page load; without it the
same forms work as plain posts.
"""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.api.deps import SessionDep, SettingsDep
from service.errors import Conflict, InvalidInput, MarkbookError
from service.jobs.runner import ingest_limits
from service.results import response_crop_png
from service.review import dismiss
from service.review.decisions import assign_page, decide, grade_group
from service.review.images import page_png
from service.schemas.results import AssignPage, GroupGrade, ReviewAction, ReviewKind
from service.web.deps import FormStr, FormUser, RequiredUser, see_other
from service.web.render import render
from service.web.review_views import (
    Nav,
    answer_view,
    groups_view,
    queue_view,
    verdict_score,
)
from service.web.sessions import PageUser, safe_next

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_KINDS: tuple[str, ...] = get_args(ReviewKind)
_PNG_HEADERS = {"Cache-Control": "private, no-store"}
FormList = Annotated[list[str], Form()]


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _nav(worksheet_id: str, kind: str, at: str) -> Nav:
    """The queue position a form came from (bad values fall back to the whole queue)."""
    return Nav(_int(worksheet_id), kind if kind in _KINDS else None,  # type: ignore[arg-type]
               _int(at) or 0)


def _error_key(exc: MarkbookError) -> str:
    return f"review.error.{exc.error}"


async def _queue_page(request: Request, session: AsyncSession, user: PageUser, nav: Nav, *,
                      status_code: int = 200, error: MarkbookError | None = None,
                      done: int | None = None, verdict: str | None = None,
                      assigned: int | None = None, typed: list[str] | None = None,
                      replace_offer: bool = False, chosen: int | None = None,
                      dismissed: int | None = None, reopened: int | None = None,
                      gone: int | None = None) -> Response:
    view = await queue_view(session, user.actor, nav)
    return render(request, "review/queue.html", user=user, status_code=status_code, view=view,
                  error=error, error_key=_error_key(error) if error else None, done=done,
                  done_verdict=verdict, assigned=assigned, typed=typed or [],
                  replace_offer=replace_offer, chosen=chosen, dismissed=dismissed,
                  reopened=reopened, gone=gone)


@router.get("/review")
async def review_page(
    request: Request, session: SessionDep, user: RequiredUser,
    worksheet_id: Annotated[int | None, Query()] = None,
    kind: Annotated[ReviewKind | None, Query()] = None,
    at: Annotated[int, Query(ge=0)] = 0,
    done: Annotated[int | None, Query()] = None,
    v: Annotated[str | None, Query(max_length=24)] = None,
    assigned: Annotated[int | None, Query()] = None,
    dismissed: Annotated[int | None, Query()] = None,
    reopened: Annotated[int | None, Query()] = None,
    gone: Annotated[int | None, Query()] = None,
) -> Response:
    """The review queue: the item at offset ``at`` (large), the next few, what is left."""
    return await _queue_page(request, session, user, Nav(worksheet_id, kind, at), done=done,
                             verdict=v, assigned=assigned, dismissed=dismissed,
                             reopened=reopened, gone=gone)


@router.get("/review/responses/{response_id}")
async def reopen_page(request: Request, response_id: int, session: SessionDep,
                      user: RequiredUser, back: str = "/review") -> Response:
    """One answer, decided or not, with the same decision keys (undo: decide it again)."""
    item, detail, titles = await answer_view(session, user.actor, response_id)
    return render(request, "review/answer.html", user=user, item=item, answer=detail,
                  titles=titles, back=safe_next(back), error=None, error_key=None, typed=[])


def _action(action: str, verdict: str, blank: list[str], max_score: str) -> ReviewAction:
    if action == "confirm":
        return ReviewAction(action="confirm")
    if action == "correct":
        texts = [b.strip() for b in blank]
        if len(texts) > 1:
            return ReviewAction(action="correct", blanks=texts)
        return ReviewAction(action="correct", text=texts[0] if texts and texts[0] else None)
    if action == "set":
        try:
            top = float(max_score)
            score = verdict_score(verdict, top)
        except (KeyError, ValueError) as exc:
            raise InvalidInput("choose right, half or wrong", error="invalid_verdict") from exc
        return ReviewAction.model_validate({"action": "set", "verdict": verdict, "score": score})
    raise InvalidInput(f"unknown action {action!r}", error="invalid_action")


@router.post("/review/responses/{response_id}")
async def decide_page(request: Request, response_id: int, session: SessionDep,
                      settings: SettingsDep, user: FormUser, action: FormStr = "",
                      verdict: FormStr = "", blank: FormList = [],  # noqa: B006
                      max_score: FormStr = "", worksheet_id: FormStr = "", kind: FormStr = "",
                      at: FormStr = "", back: FormStr = "") -> Response:
    """Decide one answer (as ``POST /api/v1/review/responses/{id}``), then back to the queue
    (or to ``back``), which now shows the next item at the same place."""
    nav = _nav(worksheet_id, kind, at)
    try:
        done = await decide(session, user.actor, response_id,
                            _action(action, verdict, blank, max_score),
                            settings.mastery.schedule())
    except (InvalidInput, Conflict) as exc:
        await session.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        if back:
            item, detail, titles = await answer_view(session, user.actor, response_id)
            return render(request, "review/answer.html", user=user, item=item, answer=detail,
                          titles=titles, back=safe_next(back), error=exc,
                          error_key=_error_key(exc), typed=blank, status_code=status)
        return await _queue_page(request, session, user, nav, status_code=status, error=exc,
                                 typed=blank)
    if back:
        return see_other(safe_next(back))
    return see_other(nav.url(done=done.response_id, v=done.verdict))


@router.get("/review/responses/{response_id}/crop.png")
async def crop_png(request: Request, response_id: int, session: SessionDep,
                   user: RequiredUser) -> Response:
    """An answer's crop (as ``GET /api/v1/responses/{id}/crop.png``)."""
    data = await response_crop_png(session, user.actor, request.app.state.storage, response_id)
    return Response(data, media_type="image/png", headers=_PNG_HEADERS)


@router.get("/review/pages/{page_id}/image.png")
async def page_image_png(request: Request, page_id: int, session: SessionDep,
                         settings: SettingsDep, user: RequiredUser) -> Response:
    """A scanned page (as ``GET /api/v1/pages/{id}/image.png``)."""
    data = await page_png(session, user.actor, request.app.state.storage, page_id,
                          ingest_limits(settings))
    return Response(data, media_type="image/png", headers=_PNG_HEADERS)


@router.post("/review/pages/{page_id}/assign")
async def assign_page_form(request: Request, page_id: int, session: SessionDep,
                           settings: SettingsDep, user: FormUser, student_id: FormStr = "",
                           replace: FormStr = "", worksheet_id: FormStr = "",
                           kind: FormStr = "", at: FormStr = "") -> Response:
    """Name the page's student from the roster (as ``POST /api/v1/review/pages/{id}/assign``);
    a page already named, or a copy already scanned, asks again with "replace"."""
    nav = _nav(worksheet_id, kind, at)
    sid = _int(student_id)
    try:
        if sid is None:
            raise InvalidInput("choose a student from the roster", error="no_student")
        page = await assign_page(session, user.actor, page_id,
                                 AssignPage(student_id=sid, replace=replace == "1"),
                                 settings.mastery.schedule())
    except (InvalidInput, Conflict) as exc:
        await session.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        return await _queue_page(request, session, user, nav, status_code=status, error=exc,
                                 replace_offer=isinstance(exc, Conflict), chosen=sid)
    return see_other(nav.url(assigned=page.page_id))


@router.post("/review/pages/{page_id}/dismiss")
async def dismiss_page_form(page_id: int, session: SessionDep, user: FormUser,
                            worksheet_id: FormStr = "", kind: FormStr = "",
                            at: FormStr = "") -> Response:
    """Take the page out of the queue (as ``POST /api/v1/review/pages/{id}/dismiss``); the
    queue then shows the next item at the same place, with an undo. A page no longer in
    the queue as a page (assigned meanwhile, say) goes back to the queue saying so."""
    nav = _nav(worksheet_id, kind, at)
    try:
        await dismiss.dismiss_page(session, user.actor, page_id)
    except InvalidInput:
        await session.rollback()
        return see_other(nav.url(gone=page_id))
    return see_other(nav.url(dismissed=page_id))


@router.post("/review/pages/{page_id}/reopen")
async def reopen_page_form(page_id: int, session: SessionDep, user: FormUser,
                           worksheet_id: FormStr = "", kind: FormStr = "",
                           at: FormStr = "") -> Response:
    """Put a dismissed page back in the queue (as the API's reopen): it comes back at the
    place it was dismissed from."""
    nav = _nav(worksheet_id, kind, at)
    await dismiss.reopen_page(session, user.actor, page_id)
    return see_other(nav.url(reopened=page_id))


@router.get("/review/worksheets/{worksheet_id}/questions/{question_id}/groups")
async def groups_page(request: Request, worksheet_id: int, question_id: str,
                      session: SessionDep, user: RequiredUser,
                      graded: Annotated[int | None, Query()] = None,
                      v: Annotated[str | None, Query(max_length=24)] = None) -> Response:
    """The answer groups of one question (identical answers together, largest first)."""
    view = await groups_view(session, user.actor, worksheet_id, question_id)
    return render(request, "review/groups.html", user=user, view=view, graded=graded,
                  graded_verdict=v, error=None, error_key=None)


@router.post("/review/worksheets/{worksheet_id}/questions/{question_id}/groups/grade")
async def grade_group_form(request: Request, worksheet_id: int, question_id: str,
                           session: SessionDep, settings: SettingsDep, user: FormUser,
                           normalised: FormStr = "", verdict: FormStr = "",
                           max_score: FormStr = "") -> Response:
    """Grade every answer of one group (as the API's ``groups/grade``)."""
    try:
        try:
            score = verdict_score(verdict, float(max_score))
        except (KeyError, ValueError) as exc:
            raise InvalidInput("choose right, half or wrong", error="invalid_verdict") from exc
        body = GroupGrade.model_validate({"normalised": normalised, "verdict": verdict,
                                          "score": score})
        done = await grade_group(session, user.actor, worksheet_id, question_id, body,
                                 settings.mastery.schedule())
    except InvalidInput as exc:
        await session.rollback()
        view = await groups_view(session, user.actor, worksheet_id, question_id)
        return render(request, "review/groups.html", user=user, view=view, graded=None,
                      graded_verdict=None, error=exc, error_key=_error_key(exc),
                      status_code=422)
    url = f"/review/worksheets/{worksheet_id}/questions/{question_id}/groups"
    return see_other(f"{url}?graded={done.graded}&v={done.verdict}")
