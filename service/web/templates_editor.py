"""A teacher's own worksheet (or a workbook page) as a template, in the browser.

* ``GET/POST /worksheets/templates/new``: upload the blank page (a scan or a flat photo of
  the page as handed out); it is read by the service's
  :func:`service.templates.service.create_blank`, the same call as
  ``POST /api/v1/templates/blanks``, and the teacher lands in the editor.
* ``GET /worksheets/templates/{blank_id}``: the editor: the blank with the answer places
  found on it, for the teacher to keep, move, resize, drop or draw, and to give each answer
  region its key (``static/template-editor.js``; its state is
  :class:`service.web.templates_body.EditorState`).
* ``POST /worksheets/templates/{blank_id}``: save: the editor's state becomes a
  ``kind: "template"`` worksheet through :func:`service.worksheets.create_worksheet`; a
  refusal comes back on the editor with each problem on the region it names.
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
from fastapi.responses import Response
from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.api.deps import SessionDep, SettingsDep
from service.classes import get_class, list_classes
from service.errors import ClientError, InvalidInput, NotFound
from service.ingestion import check_room
from service.questions import KnowledgePointNode, knowledge_point_tree
from service.repositories.templates import TemplateBlankRepository
from service.repositories.worksheets import WorksheetRepository
from service.schemas.common import WorksheetCreate
from service.schemas.templates import BlankOut
from service.storage import LocalStorage
from service.templates.service import blank_png, create_blank, get_blank
from service.web.bank import translator
from service.web.deps import CsrfRefused, FormUser, RequiredUser, csrf_ok, see_other
from service.web.i18n import Translator
from service.web.render import render
from service.web.sessions import PageUser
from service.web.templates_body import (
    EditorState,
    RegionProblem,
    build_template,
    digits_of,
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
)


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


@router.post("/worksheets/templates/new")
async def upload_blank(request: Request, session: SessionDep, settings: SettingsDep,
                       user: RequiredUser) -> Response:
    """Read the uploaded blank and open the editor on it; a refused file comes back on the
    form, explained. The CSRF token is checked before the file is stored."""
    storage: LocalStorage = request.app.state.storage
    limit = settings.limits.max_upload_mb * 1024 * 1024
    _ = translator(request)
    form = await read_upload_form(request, limit)
    page_size = "A4"
    try:
        if not csrf_ok(request, user, form.fields.get("csrf_token", "")):
            raise CsrfRefused(user)
        page_size = "Letter" if form.fields.get("page_size") == "Letter" else "A4"
        if len(form.files) != 1:
            code = "no_file" if not form.files else "one_page_only"
            return render(request, "own/upload.html", user=user, status_code=422,
                          error=_(f"template.error.{code}"), detail="", page_size=page_size)
        check_room(storage, settings, form.files[0].size or 0)
        received = await spool_file(form.files[0], storage, limit)
        if isinstance(received, SpoolFailure):
            raise received.error
        try:
            blank = await create_blank(session, user.actor, settings, received, page_size)
        finally:
            received.discard()
    except ClientError as exc:
        error, detail = _upload_error(_, exc)
        return render(request, "own/upload.html", user=user, status_code=exc.status_code,
                      error=error, detail=detail, page_size=page_size)
    finally:
        await form.close()
    return see_other(f"/worksheets/templates/{blank.id}")


def _region_label(_: Translator, state: EditorState, index: int | None) -> str:
    if index is None or not 0 <= index < len(state.regions):
        return _("template.problem.page")
    kind = state.regions[index].kind
    if kind in ("written", "bubbles"):
        number = sum(1 for r in state.regions[:index + 1] if r.kind in ("written", "bubbles"))
        return _("template.text.question", number=number)
    return _(f"template.text.region_{kind}")


def _problem_text(_: Translator, problem: RegionProblem) -> str:
    key = f"template.error.{problem.code}"
    return _(key) if _.has(key) else _("template.error.other")


async def _editor(request: Request, session: AsyncSession, user: PageUser, blank: BlankOut,
                  state: EditorState, *, title: str = "", class_id: int | None = None,
                  problems: list[RegionProblem] | None = None,
                  field_errors: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    _ = translator(request)
    classes = []
    for c in await list_classes(session, user.actor):
        roster = await get_class(session, user.actor, c.id)
        classes.append({"id": c.id, "name": c.name,
                        "digits": digits_of([s.student_no for s in roster.students])})
    kps = [{"code": n.code, "depth": depth,
            "name": (n.name_zh if _.language == "zh-CN" else n.name_en) or n.code}
           for n, depth in _flatten(await knowledge_point_tree(session, user.actor))]
    shown: list[dict[str, Any]] = [{"index": p.index, "where": _region_label(_, state, p.index),
              "message": _problem_text(_, p), "detail": p.detail} for p in problems or []]
    # The summary says each reason once, with the regions it applies to.
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in shown:
        groups.setdefault((p["message"], p["detail"]), []).append(p)
    data = {"blank_id": blank.id, "width_pt": blank.width_pt, "height_pt": blank.height_pt,
            "state": state.model_dump(), "kps": kps, "problems": shown,
            "digits": classes[0]["digits"] if classes else 4,
            "text": {k: _(f"template.text.{k}") for k in _SCRIPT_TEXT}}
    return render(request, "own/editor.html", user=user, status_code=status_code,
                  blank=blank, data=data, classes=classes, class_id=class_id, title=title,
                  problems=[{"message": m, "detail": d, "regions": items}
                            for (m, d), items in groups.items()], kps=kps, field_errors=field_errors or {},
                  proposed=len(blank.proposed))


@router.get("/worksheets/templates/{blank_id}")
async def editor(request: Request, blank_id: int, session: SessionDep,
                 user: RequiredUser) -> Response:
    """The editor on a blank, starting from the answer places found on it."""
    blank = await get_blank(session, user.actor, blank_id)
    return await _editor(request, session, user, blank, initial_state(blank.proposed))


def _page_size(blank: BlankOut) -> str:
    return "Letter" if abs(blank.width_pt - 612) < abs(blank.width_pt - 595) else "A4"


@router.post("/worksheets/templates/{blank_id}")
async def save(request: Request, blank_id: int, session: SessionDep, settings: SettingsDep,
               user: FormUser) -> Response:
    """Make the template worksheet from the editor's state (title, class, regions), or show
    the editor again with what to fix.

    Raises:
        NotFound: the blank or the class is not the caller's.
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
        state = initial_state(blank.proposed)
        problems = [RegionProblem(None, "bad_state")]
    else:
        built = build_template(state, blank.id)
        problems = built.problems
        if not problems and not fields:
            assert class_id is not None
            try:
                body = WorksheetCreate(title=title, class_id=class_id, kind="template",
                                       page_size=_page_size(blank),
                                       template={"pages": [built.page]})
                created = await create_worksheet(
                    session, user.actor, body,
                    max_questions=settings.limits.max_questions_per_worksheet)
                return see_other(f"/worksheets/{created.id}?created=1")
            except (InvalidInput, ValidationError) as exc:
                problems = problems_from_error(exc, built.sent)
    return await _editor(request, session, user, blank, state, title=title,
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
