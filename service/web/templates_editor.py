"""A teacher's own worksheet (or a workbook page) as a template, in the browser.

* ``GET/POST /worksheets/templates/new``: upload the blank page (a scan or a flat photo of
  the page as handed out); it is read by the service's
  :func:`service.templates.service.create_blank`, the same call as
  ``POST /api/v1/templates/blanks``, and the teacher lands in the editor.
* ``GET /worksheets/templates/{blank_id}``: the editor: the blank with the answer places
  found on it, for the teacher to keep, move, resize, drop or draw, and to give each answer
  region its key (``static/template-editor.js``; its state is
  :class:`service.web.templates_body.EditorState`).
* ``POST /worksheets/templates/{blank_id}/pages``: another page of the same template (its
  blank, uploaded from the editor; JSON back: the blank and its proposed regions). A
  template has up to 8 pages, each edited in turn.
* ``POST /worksheets/templates/{blank_id}/omr``: a school's OMRChecker ``template.json``
  read onto that page's blank (the service's
  :func:`service.templates.service.import_omr_layout`, as
  ``POST /api/v1/templates/blanks/{id}/omr``); JSON back: the bubble rows and the bubbled
  学号 as editor regions, or the refusal in the page's language with its code.
* ``POST /worksheets/templates/{blank_id}``: save: the editor's pages become a
  ``kind: "template"`` worksheet through :func:`service.worksheets.create_worksheet`; a
  refusal comes back on the editor with each problem on the page and region it names.
* ``GET /worksheets/templates/{blank_id}/image.png``: the blank the editor draws on.
* ``GET /worksheets/{worksheet_id}/template/{number}.png``: a template worksheet's page
  as graded (its blank with the answer regions drawn), for the worksheet's page.

The worksheet itself then works like a drill assignment: its page offers uploads (the
class's stack, or one student's pages) through ``/uploads`` (:mod:`service.web.uploads`).
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.api.deps import SessionDep, SettingsDep
from service.classes import get_class, list_classes
from service.config import Settings
from service.errors import ClientError, InvalidInput, NotFound
from service.ingestion import check_room
from service.questions import KnowledgePointNode, knowledge_point_tree
from service.repositories.templates import TemplateBlankRepository
from service.repositories.worksheets import WorksheetRepository
from service.schemas.common import WorksheetCreate
from service.schemas.templates import BlankOut
from service.storage import LocalStorage
from service.templates.service import blank_png, create_blank, get_blank, import_omr_layout
from service.web.bank import translator
from service.web.deps import CsrfRefused, FormUser, RequiredUser, csrf_ok, see_other
from service.web.i18n import Translator
from service.web.render import render
from service.web.sessions import PageUser
from service.web.templates_body import (
    MAX_PAGES,
    EditorPage,
    EditorState,
    RegionProblem,
    build_template,
    digits_of,
    imported_regions,
    initial_state,
    problems_from_error,
)
from service.web.uploads_receive import SpoolFailure, read_upload_form, spool_file
from service.web.uploads_views import error_key
from service.worksheets import create_worksheet

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

BLANK_MAX_AGE_S = 3600  # a blank never changes once uploaded
PREVIEW_WIDTH_PX = 1000
_KIND_COLOURS = {"written": (31, 95, 191), "choice": (123, 63, 191),
                 "multi_choice": (123, 63, 191), "true_false": (123, 63, 191)}
# Messages the editor's script shows (made here, in the page's language).
_SCRIPT_TEXT = (
    "kind.written", "kind.bubbles", "kind.name", "kind.student_number", "kind.skip",
    "key.numeric", "key.text", "key.choice", "key.true_false", "key.math_expr",
    "question", "answer", "answer_for", "delete", "delete_region", "no_regions", "select_kp",
    "true", "false", "region_name", "region_student_number", "region_skip", "digits_value",
    "selected_none", "deleted", "added", "problem_cleared", "options_regenerated",
    "kind.number_grid", "region_number_grid", "grid_value", "page_n", "page_of",
    "page_added", "page_shown", "page_removed", "page_remove", "page_remove_confirm",
    "page_uploading", "omr_reading", "omr_done", "omr_grid", "omr_skipped",
    "network_error", "page_problems", "page_full",
)
# The largest template.json taken from the editor (a school's sheet is a few kB).
OMR_MAX_BYTES = 1 << 20


def _flatten(nodes: list[KnowledgePointNode], depth: int = 0
             ) -> list[tuple[KnowledgePointNode, int]]:
    out: list[tuple[KnowledgePointNode, int]] = []
    for n in nodes:
        out += [(n, depth), *_flatten(n.children, depth + 1)]
    return out


def _upload_error(_: Translator, exc: ClientError) -> tuple[str, str]:
    key = f"template.error.{exc.error}"
    return (_(key) if _.has(key) else _(error_key(exc.error, exc.detail)), exc.detail)


@router.get("/worksheets/templates/new")
async def upload_page(request: Request, user: RequiredUser) -> Response:
    """The form that uploads a blank page."""
    return render(request, "own/upload.html", user=user, error=None, detail="",
                  page_size="A4")


async def _receive_blank(request: Request, session: AsyncSession, settings: Settings,
                         user: PageUser) -> tuple[BlankOut | ClientError, str]:
    """The blank uploaded in a form (its ``file``, ``page_size`` and ``csrf_token``), read
    and kept, or what refused it; and the page size asked for. The CSRF token is checked
    before the file is stored."""
    storage: LocalStorage = request.app.state.storage
    limit = settings.limits.max_upload_mb * 1024 * 1024
    page_size = "A4"
    try:
        form = await read_upload_form(request, limit)
    except ClientError as exc:  # not a multipart form, or far too large
        return exc, page_size
    try:
        if not csrf_ok(request, user, form.fields.get("csrf_token", "")):
            raise CsrfRefused(user)
        page_size = "Letter" if form.fields.get("page_size") == "Letter" else "A4"
        if len(form.files) != 1:
            code = "no_file" if not form.files else "one_page_only"
            return InvalidInput(code, error=code), page_size
        check_room(storage, settings, form.files[0].size or 0)
        received = await spool_file(form.files[0], storage, limit)
        if isinstance(received, SpoolFailure):
            raise received.error
        try:
            return await create_blank(session, user.actor, settings, received,
                                      page_size), page_size
        finally:
            received.discard()
    except ClientError as exc:
        return exc, page_size
    finally:
        await form.close()


@router.post("/worksheets/templates/new")
async def upload_blank(request: Request, session: SessionDep, settings: SettingsDep,
                       user: RequiredUser) -> Response:
    """Read the uploaded blank and open the editor on it; a refused file comes back on the
    form, explained."""
    _ = translator(request)
    blank, page_size = await _receive_blank(request, session, settings, user)
    if isinstance(blank, ClientError):
        error, detail = _upload_error(_, blank)
        return render(request, "own/upload.html", user=user, status_code=blank.status_code,
                      error=error, detail="" if detail == blank.error else detail,
                      page_size=page_size)
    return see_other(f"/worksheets/templates/{blank.id}")


def _json_error(_: Translator, exc: ClientError, message: str) -> JSONResponse:
    """A refusal for the editor's script: the page's words, the code, the service's text."""
    return JSONResponse({"error": exc.error, "message": message,
                         "detail": "" if exc.detail == exc.error else exc.detail},
                        status_code=exc.status_code)


def _page_out(blank: BlankOut) -> dict[str, Any]:
    return {"blank_id": blank.id, "width_pt": blank.width_pt, "height_pt": blank.height_pt,
            "image": f"/worksheets/templates/{blank.id}/image.png",
            "proposed": len(blank.proposed)}


@router.post("/worksheets/templates/{blank_id}/pages")
async def add_page(request: Request, blank_id: int, session: SessionDep,
                   settings: SettingsDep, user: RequiredUser) -> Response:
    """Another page of the template open on ``blank_id``: its blank uploaded from the
    editor. JSON: the page (blank, size, image) and its proposed regions; a refused file
    as ``{error, message, detail}`` with the upload's status.

    Raises:
        NotFound: the editor's blank is not the caller's.
    """
    await get_blank(session, user.actor, blank_id)
    _ = translator(request)
    blank, _size = await _receive_blank(request, session, settings, user)
    if isinstance(blank, ClientError):
        return _json_error(_, blank, _upload_error(_, blank)[0])
    regions = initial_state(blank.proposed)
    return JSONResponse({"page": _page_out(blank),
                         "regions": [r.model_dump() for r in regions]}, status_code=201)


@router.post("/worksheets/templates/{blank_id}/omr")
async def import_omr(request: Request, blank_id: int, session: SessionDep,
                     user: RequiredUser) -> Response:
    """A school's OMRChecker ``template.json`` (the form's ``file``) read onto this page's
    blank. JSON: the regions for the editor (bubble rows, the bubbled 学号), the fields not
    imported and why; a refusal as ``{error, message, detail}`` (422 ``bad_omr_template``
    for a file that is no OMRChecker v1 layout, or one that does not fit the page).

    Raises:
        NotFound: the blank is not the caller's.
    """
    _ = translator(request)
    try:
        form = await read_upload_form(request, OMR_MAX_BYTES)
    except ClientError as exc:
        return _json_error(_, exc, _upload_error(_, exc)[0])
    try:
        if not csrf_ok(request, user, form.fields.get("csrf_token", "")):
            raise CsrfRefused(user)
        if len(form.files) != 1:
            return _json_error(_, InvalidInput("no_file", error="no_file"),
                               _("template.error.no_file"))
        body = await form.files[0].read(OMR_MAX_BYTES + 1)
    finally:
        await form.close()
    if len(body) > OMR_MAX_BYTES:
        too_big = InvalidInput("the file is larger than 1 MB: no OMRChecker template.json",
                               error="bad_omr_template")
        return _json_error(_, too_big, _("template.error.bad_omr_template"))
    try:
        imported = await import_omr_layout(session, user.actor, blank_id, body, None)
    except InvalidInput as exc:
        key = f"template.error.{exc.error}"
        return _json_error(_, exc, _(key) if _.has(key) else _("template.error.other"))
    regions = imported_regions(imported.regions)
    return JSONResponse({"regions": [r.model_dump() for r in regions],
                         "skipped": imported.skipped})


def _region_label(_: Translator, state: EditorState, problem: RegionProblem) -> str:
    """Where a problem is, as the teacher reads it: 第3题, 第2页的姓名栏, 第2页, 整份作业."""
    pages = state.pages
    if problem.page is None or not 0 <= problem.page < len(pages):
        return _("template.problem.whole")
    regions = pages[problem.page].regions
    several = len(pages) > 1
    index = problem.index
    if index is None or not 0 <= index < len(regions):
        return (_("template.problem.page_n", page=problem.page + 1) if several
                else _("template.problem.page"))
    kind = regions[index].kind
    if kind in ("written", "bubbles"):
        # Questions are numbered across the pages, as the template numbers them.
        before = sum(1 for p in pages[:problem.page] for r in p.regions
                     if r.kind in ("written", "bubbles"))
        number = before + sum(1 for r in regions[:index + 1] if r.kind in ("written", "bubbles"))
        return _("template.text.question", number=number)
    where = _(f"template.text.region_{kind}")
    return _("template.problem.on_page", page=problem.page + 1, where=where) if several \
        else where


def _problem_text(_: Translator, problem: RegionProblem) -> str:
    key = f"template.error.{problem.code}"
    return _(key) if _.has(key) else _("template.error.other")


async def _editor(request: Request, session: AsyncSession, user: PageUser,
                  blanks: list[BlankOut], state: EditorState, *, title: str = "",
                  class_id: int | None = None, problems: list[RegionProblem] | None = None,
                  field_errors: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    """The editor on ``blanks`` (one per page of ``state``, in order)."""
    _ = translator(request)
    classes = []
    for c in await list_classes(session, user.actor):
        roster = await get_class(session, user.actor, c.id)
        classes.append({"id": c.id, "name": c.name,
                        "digits": digits_of([s.student_no for s in roster.students])})
    kps = [{"code": n.code, "depth": depth,
            "name": (n.name_zh if _.language == "zh-CN" else n.name_en) or n.code}
           for n, depth in _flatten(await knowledge_point_tree(session, user.actor))]
    shown: list[dict[str, Any]] = [{"page": p.page, "index": p.index,
                                    "where": _region_label(_, state, p),
                                    "message": _problem_text(_, p), "detail": p.detail}
                                   for p in problems or []]
    # The summary says each reason once, with the regions it applies to.
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in shown:
        groups.setdefault((p["message"], p["detail"]), []).append(p)
    first = blanks[0]
    data = {"blank_id": first.id, "pages": [_page_out(b) for b in blanks],
            "max_pages": MAX_PAGES, "state": state.model_dump(), "kps": kps,
            "problems": shown, "digits": classes[0]["digits"] if classes else 4,
            "text": {k: _(f"template.text.{k}") for k in _SCRIPT_TEXT}}
    return render(request, "own/editor.html", user=user, status_code=status_code,
                  blank=first, data=data, classes=classes, class_id=class_id, title=title,
                  problems=[{"message": m, "detail": d, "regions": items}
                            for (m, d), items in groups.items()], kps=kps,
                  field_errors=field_errors or {}, proposed=len(first.proposed),
                  max_pages=MAX_PAGES)


@router.get("/worksheets/templates/{blank_id}")
async def editor(request: Request, blank_id: int, session: SessionDep,
                 user: RequiredUser) -> Response:
    """The editor on a blank, starting from the answer places found on it."""
    blank = await get_blank(session, user.actor, blank_id)
    state = EditorState(pages=[EditorPage(blank_id=blank.id,
                                          regions=initial_state(blank.proposed))])
    return await _editor(request, session, user, [blank], state)


def _page_size(blank: BlankOut) -> str:
    return "Letter" if abs(blank.width_pt - 612) < abs(blank.width_pt - 595) else "A4"


@router.post("/worksheets/templates/{blank_id}")
async def save(request: Request, blank_id: int, session: SessionDep, settings: SettingsDep,
               user: FormUser) -> Response:
    """Make the template worksheet from the editor's state (title, class, pages and their
    regions), or show the editor again with what to fix.

    Raises:
        NotFound: a page's blank or the class is not the caller's.
    """
    blank = await get_blank(session, user.actor, blank_id)
    form = await request.form()
    _ = translator(request)
    title = str(form.get("title") or "").strip()[:200]
    raw_class = str(form.get("class_id") or "")
    class_id = int(raw_class) if raw_class.isdigit() and len(raw_class) < 10 else None
    fields: dict[str, str] = {}
    if not title:
        fields["title"] = _("worksheets.error.no_title")
    if class_id is None:
        fields["class"] = _("worksheets.error.no_class")
    try:
        state = EditorState.model_validate_json(str(form.get("state") or "{}"))
    except ValidationError:
        state = EditorState(pages=[EditorPage(blank_id=blank.id,
                                              regions=initial_state(blank.proposed))])
        blanks = [blank]
        problems = [RegionProblem(None, "bad_state", page=None)]
    else:
        blanks = [blank if p.blank_id == blank.id else
                  await get_blank(session, user.actor, p.blank_id) for p in state.pages]
        built = build_template(state)
        problems = built.problems
        if not problems and not fields:
            assert class_id is not None
            try:
                body = WorksheetCreate(title=title, class_id=class_id, kind="template",
                                       page_size=_page_size(blanks[0]),
                                       template={"pages": built.pages})
                created = await create_worksheet(
                    session, user.actor, body,
                    max_questions=settings.limits.max_questions_per_worksheet)
                return see_other(f"/worksheets/{created.id}?created=1")
            except (InvalidInput, ValidationError) as exc:
                problems = problems_from_error(exc, built.sent)
    return await _editor(request, session, user, blanks, state, title=title,
                         class_id=class_id, problems=problems, field_errors=fields,
                         status_code=422)


@router.get("/worksheets/templates/{blank_id}/image.png")
async def blank_image(blank_id: int, session: SessionDep, user: RequiredUser) -> Response:
    """The blank as kept (greyscale, 200 dpi)."""
    return Response(await blank_png(session, user.actor, blank_id), media_type="image/png",
                    headers={"Cache-Control": f"private, max-age={BLANK_MAX_AGE_S}"})


def _graded_page(png: bytes, px_per_pt: float, page: dict[str, Any]) -> bytes:
    """The blank with its answer regions drawn and numbered, at preview width."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    scale = PREVIEW_WIDTH_PX / image.width
    image = image.resize((PREVIEW_WIDTH_PX, round(image.height * scale)))
    k = px_per_pt * scale
    draw = ImageDraw.Draw(image, "RGBA")
    font = ImageFont.load_default(size=16)

    def box(b: list[float]) -> tuple[float, float, float, float]:
        return (b[0] * k, b[1] * k, b[2] * k, b[3] * k)

    for r in page.get("regions", []):
        colour = _KIND_COLOURS.get(r["kind"], (31, 95, 191))
        x0, y0, x1, y1 = box(r["box"])
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=2, fill=(*colour, 28))
        for b in r.get("bubbles", []):
            draw.ellipse(box(b["box"]), outline=colour, width=2)
        draw.text((x0 + 3, y0 + 1), str(r["number"]), fill=colour, font=font)
    for cell in [page.get("name_box"), *page.get("student_no_boxes", [])]:
        if cell and cell[2] > cell[0]:
            draw.rectangle(box(cell), outline=(30, 122, 70), width=2, fill=(30, 122, 70, 24))
    for _place, _digit, seat in page.get("seat_bubbles", []):  # a bubbled 学号
        draw.ellipse(box(seat), outline=(15, 124, 140), width=2, fill=(15, 124, 140, 24))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@router.get("/worksheets/{worksheet_id}/template/{number}.png")
async def graded_page(request: Request, worksheet_id: int, number: int, session: SessionDep,
                      user: RequiredUser) -> Response:
    """Page ``number`` (1-based) of a template worksheet: its blank with the regions that
    are read and graded.

    Raises:
        NotFound: no such worksheet or page, not the caller's, or not a template.
    """
    row = await WorksheetRepository(session, user.actor).get(worksheet_id)
    blank_ids = row.blank_ids or []
    if row.kind != "template" or not 1 <= number <= len(blank_ids):
        raise NotFound(f"worksheet {worksheet_id} has no template page {number}")
    blank = await TemplateBlankRepository(session, user.actor).get(blank_ids[number - 1])
    pages = row.layout.get("pages", [])
    page = pages[number - 1] if number <= len(pages) else {}
    png = await to_thread.run_sync(_graded_page, bytes(blank.png), blank.px_per_pt, page)
    etag = f'"{hashlib.sha256(png).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={BLANK_MAX_AGE_S}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)
