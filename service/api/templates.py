"""Templates: the blank pages a teacher's own worksheets are drawn on
(``/api/v1/templates``).

The assignment itself is made with ``POST /api/v1/worksheets`` and ``kind: "template"``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.errors import InvalidInput, PayloadTooLarge
from service.ingestion import check_room
from service.schemas.templates import BlankOut, OmrImportOut
from service.storage import LocalStorage
from service.templates.service import blank_png, create_blank, get_blank, import_omr_layout
from service.uploads import receive_scan

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

_BLANK_DOC = """Upload the blank page of a teacher's own worksheet or of a workbook page (a
scan, or a flat and cropped photo, of the page as handed out): a PDF, TIFF, JPEG, PNG or
HEIC of one page, multipart or as the raw body. Returns 201 with the blank's id, its size in
points and the answer places found on it (``proposed``: boxes, underlines, brackets and
bubble rows, in reading order) for the teacher to keep, move or drop before making the
template (``POST /api/v1/worksheets`` with ``kind: "template"``).

Refused: several files or pages (422 ``one_page_only``), a page with almost no print
(422 ``blank_without_print``), a file that is no readable scan (the scan upload's codes)."""


@router.post("/blanks", status_code=status.HTTP_201_CREATED, description=_BLANK_DOC,
             openapi_extra={"requestBody": {"content": {
                 "multipart/form-data": {"schema": {"type": "object"}},
                 "image/png": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_blank(
    request: Request, session: SessionDep, actor: TeacherDep, settings: SettingsDep,
    page_size: Annotated[Literal["A4", "Letter"], Query(
        description="the paper, for a photo whose resolution does not say")] = "A4",
) -> BlankOut:
    storage: LocalStorage = request.app.state.storage
    limit = settings.limits.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(f"the blank is larger than the {settings.limits.max_upload_mb} "
                              "MB limit", error="file_too_large")
    check_room(storage, settings, int(declared) if declared and declared.isdigit() else 0)
    received = await receive_scan(request.stream(), request.headers.get("content-type", ""),
                                  storage, limit, filename="blank")
    try:
        return await create_blank(session, actor, settings, received, page_size)
    finally:
        received.discard()


@router.get("/blanks/{blank_id}")
async def blank(blank_id: int, session: SessionDep, actor: TeacherDep) -> BlankOut:
    """A blank as uploaded: its size and the answer places proposed on it."""
    return await get_blank(session, actor, blank_id)


@router.get("/blanks/{blank_id}/image.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
async def blank_image(blank_id: int, session: SessionDep, actor: TeacherDep) -> Response:
    """The blank as kept (greyscale, 200 dpi): what the template editor draws on."""
    return Response(await blank_png(session, actor, blank_id), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})


_OMR_DOC = """Import a school's own bubble answer sheet (答题卡) from its OMRChecker
``template.json`` (the file as the body, ``application/json``): its fields come back as
regions of the sheet's uploaded blank (``blank_id``), in points. Choice fields are
``bubbles`` regions labelled A, B, C… (or T / F; ``values`` keeps the layout's own values
where they differ); the student-number group (a customLabels group of digit columns named
roll / id / student / 学号 / 考号) is a ``number_grid``. Add a ``key`` to each answer region
and post them as a template (``POST /api/v1/worksheets``, ``kind: "template"``); copies are
registered to the blank by its print, so ``preProcessors`` are not run (they are listed).
``skipped`` lists the fields that were not imported and why.

``frame``: where the layout's ``pageDimensions`` lie on the blank, ``x0,y0,x1,y1`` in
points (for ``CropOnMarkers``: the markers' centres); default the whole page (``CropPage``).
A template that is not valid OMRChecker v1 JSON: 422 ``bad_omr_template`` naming the key
and block at fault."""


def _frame(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidInput("frame: four numbers x0,y0,x1,y1 in points",
                           error="bad_frame") from None
    return (x0, y0, x1, y1)


@router.post("/blanks/{blank_id}/omr", description=_OMR_DOC,
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": {"type": "object"}}}}})
async def import_omr(
    blank_id: int, request: Request, session: SessionDep, actor: TeacherDep,
    frame: Annotated[str | None, Query(description="x0,y0,x1,y1 in points",
                                       max_length=100)] = None,
) -> OmrImportOut:
    body = await request.body()  # the body guard has capped its size before this
    return await import_omr_layout(session, actor, blank_id, body, _frame(frame))
