"""The worksheet pages: my worksheets, the builder (pick questions, order them, preview the
printed pages, create), a worksheet's details with its preview and print buttons.

Creating, previewing and printing call the same service functions as
``POST /api/v1/worksheets`` and ``GET /api/v1/worksheets/{id}/print.pdf``
(:mod:`service.worksheets`), so a page preview is the PDF the printer gets, rasterised.
The builder's state lives in its URL (:mod:`service.web.builder_state`): every button works
without JavaScript (it posts the form, the page comes back with the change), and
``static/builder.js`` reorders in place (buttons, Alt+arrow keys, drag and drop).
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from grading.questions import QUESTION_KINDS
from service.api.deps import SessionDep, SettingsDep
from service.classes import get_class, list_classes
from service.errors import InvalidInput, NotFound
from service.questions import (
    KnowledgePointNode,
    browse_bank,
    knowledge_point_tree,
    questions_by_ids,
)
from service.schemas.common import WorksheetCreate
from service.web.bank import translator
from service.web.builder_state import PAGE_SIZES, BuilderState, apply_op, state_from
from service.web.deps import FormUser, RequiredUser, see_other
from service.web.render import render
from service.web.sessions import PageUser
from service.worksheets import (
    create_worksheet,
    get_worksheet,
    list_worksheets,
    preview_draft,
    preview_worksheet,
    print_worksheet,
    question_counts,
    worksheet_created_at,
)

__all__ = ["CANDIDATES_PER_PAGE", "router"]

router = APIRouter(include_in_schema=False)

CANDIDATES_PER_PAGE = 10
PREVIEW_MAX_AGE_S = 3600  # a stored worksheet's pages never change (its layout is frozen)


def _kp_options(nodes: list[KnowledgePointNode], depth: int = 0
                ) -> list[tuple[KnowledgePointNode, int]]:
    out: list[tuple[KnowledgePointNode, int]] = []
    for n in nodes:
        out.append((n, depth))
        out += _kp_options(n.children, depth + 1)
    return out


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _error_text(request: Request, exc: InvalidInput) -> str:
    _ = translator(request)
    key = f"worksheets.error.{exc.error}"
    return _(key) if _.has(key) else _("worksheets.error.other", detail=exc.detail)


async def _builder(request: Request, session: AsyncSession, user: PageUser,
                   state: BuilderState, *, errors: dict[str, str] | None = None,
                   status_code: int = 200) -> Response:
    classes = await list_classes(session, user.actor)
    selected = await questions_by_ids(session, user.actor, list(state.question_ids))
    if [q.id for q in selected] != list(state.question_ids):  # ids gone from the bank
        state = BuilderState(**{**state.__dict__, "question_ids": tuple(q.id for q in selected)})
    found = await browse_bank(session, user.actor, state.filter, limit=CANDIDATES_PER_PAGE,
                              offset=(state.page - 1) * CANDIDATES_PER_PAGE)
    pages = max((found.total + CANDIDATES_PER_PAGE - 1) // CANDIDATES_PER_PAGE, 1)
    # Every field may have a problem; the template asks for each (missing ones are "").
    errors = defaultdict(str, errors or {})
    previews: list[str] = []
    class_id = state.class_id if any(c.id == state.class_id for c in classes) else None
    if state.preview and selected and class_id is not None:
        body = WorksheetCreate(title=state.title or translator(request)("worksheets.untitled"),
                               class_id=class_id, question_ids=[q.id for q in selected],
                               page_size=state.page_size, scratch_space=state.scratch,
                               kind="answer_sheet" if state.answer_sheet else "worksheet")
        try:
            pngs = await preview_draft(session, user.actor, body,
                                       max_questions=request.app.state.settings
                                       .limits.max_questions_per_worksheet)
            previews = [_data_url(p) for p in pngs]
        except InvalidInput as exc:
            errors["preview"] = _error_text(request, exc)
    elif state.preview and class_id is None:
        errors["class"] = translator(request)("worksheets.error.no_class")
    return render(request, "worksheets/builder.html", user=user, status_code=status_code,
                  state=state, class_id=class_id, classes=classes, selected=selected,
                  found=found, pages=pages, kinds=QUESTION_KINDS, page_sizes=PAGE_SIZES,
                  kp_options=_kp_options(await knowledge_point_tree(session, user.actor)),
                  previews=previews, errors=errors)


@router.get("/worksheets")
async def worksheets(request: Request, session: SessionDep, user: RequiredUser) -> Response:
    """My worksheets, newest first, with links to print, upload, review and results."""
    rows = await list_worksheets(session, user.actor, limit=200)
    counts = await question_counts(session, user.actor, [w.id for w in rows])
    # The classes, for the form that creates a drill assignment (service.web.drills).
    return render(request, "worksheets/list.html", user=user, worksheets=rows, counts=counts,
                  classes=await list_classes(session, user.actor))


@router.get("/worksheets/new")
async def builder(request: Request, session: SessionDep, user: RequiredUser) -> Response:
    """The builder, in the state its URL holds."""
    query = request.query_params
    state = state_from({k: query[k] for k in query}, query.getlist("q"))
    return await _builder(request, session, user, state)


@router.post("/worksheets/new")
async def builder_post(request: Request, session: SessionDep, settings: SettingsDep,
                       user: FormUser) -> Response:
    """A builder button: change the state and show the builder again, or create the
    worksheet (``op=create``) through the API's service function."""
    form = await request.form()
    singles = {k: v for k, v in form.items() if isinstance(v, str)}
    state = state_from(singles, [q for q in form.getlist("q") if isinstance(q, str)])
    op = singles.get("op", "filter")
    if op != "create":
        changed = apply_op(state, op)
        return see_other(changed.url() + ("#preview" if changed.preview else ""))
    _ = translator(request)
    errors = {}
    if not state.title:
        errors["title"] = _("worksheets.error.no_title")
    if state.class_id is None:
        errors["class"] = _("worksheets.error.no_class")
    if not state.question_ids:
        errors["questions"] = _("worksheets.error.no_questions")
    if errors:
        return await _builder(request, session, user, state, errors=errors, status_code=422)
    assert state.class_id is not None
    body = WorksheetCreate(title=state.title, class_id=state.class_id,
                           question_ids=list(state.question_ids), page_size=state.page_size,
                           scratch_space=state.scratch,
                           kind="answer_sheet" if state.answer_sheet else "worksheet")
    try:
        created = await create_worksheet(
            session, user.actor, body,
            max_questions=settings.limits.max_questions_per_worksheet)
    except InvalidInput as exc:
        return await _builder(request, session, user, state, status_code=422,
                              errors={"create": _error_text(request, exc)})
    return see_other(f"/worksheets/{created.id}?created=1")


async def _detail(request: Request, session: AsyncSession, user: PageUser, worksheet_id: int,
                  *, print_error: str | None = None, status_code: int = 200) -> Response:
    worksheet = await get_worksheet(session, user.actor, worksheet_id)
    school_class = await get_class(session, user.actor, worksheet.class_id)
    questions = await questions_by_ids(session, user.actor,
                                       [i.question_id for i in worksheet.items])
    settings = request.app.state.settings
    return render(request, "worksheets/detail.html", user=user, status_code=status_code,
                  worksheet=worksheet, school_class=school_class, questions=questions,
                  created_at=await worksheet_created_at(session, user.actor, worksheet_id),
                  max_copies=settings.limits.max_copies, print_error=print_error,
                  just_created=request.query_params.get("created") == "1")


@router.get("/worksheets/{worksheet_id}")
async def detail(request: Request, worksheet_id: int, session: SessionDep,
                 user: RequiredUser) -> Response:
    """A worksheet: its questions, its printed pages, and the print buttons."""
    return await _detail(request, session, user, worksheet_id)


@router.get("/worksheets/{worksheet_id}/pages/{number}.png")
async def page_png(request: Request, worksheet_id: int, number: int, session: SessionDep,
                   user: RequiredUser) -> Response:
    """Page ``number`` (1-based) of the worksheet's blank copy, as printed."""
    pngs = await preview_worksheet(session, user.actor, worksheet_id)
    if not 1 <= number <= len(pngs):
        raise NotFound(f"worksheet {worksheet_id} has no page {number}")
    png = pngs[number - 1]
    etag = f'"{hashlib.sha256(png).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={PREVIEW_MAX_AGE_S}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)


@router.get("/worksheets/{worksheet_id}/print.pdf")
async def print_pdf(request: Request, worksheet_id: int, session: SessionDep,
                    settings: SettingsDep, user: RequiredUser, per_student: str = "false",
                    copies: str = "1", duplex: str = "true",
                    seat_bubbles: str = "false") -> Response:
    """The print-ready PDF (the API's ``print.pdf``): blank copies, or the class set with
    one named copy per student (``per_student=true``); ``duplex=false`` leaves out the
    blank pages that keep copies apart on two-sided printers; ``seat_bubbles=true`` (the
    form's checkbox) prints the seat-number bubbles on blank copies."""
    n = int(copies) if copies.strip().isdigit() and len(copies) < 7 else 1
    try:
        printout = await print_worksheet(
            session, user.actor, worksheet_id, copies=max(n, 1), per_student=per_student == "true",
            max_copies=settings.limits.max_copies, duplex=duplex != "false",
            seat_bubbles=seat_bubbles == "true", language=settings.school_language)
    except InvalidInput as exc:
        return await _detail(request, session, user, worksheet_id, status_code=422,
                             print_error=_error_text(request, exc))
    disposition = (f"attachment; filename=\"worksheet-{printout.worksheet_id}.pdf\"; "
                   f"filename*=UTF-8''{quote(printout.filename)}")
    return Response(printout.data, media_type="application/pdf",
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
