"""Worksheets: create, print, and export the layout (``/api/v1/worksheets``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status

from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.schemas.common import WorksheetCreate, WorksheetOut, WorksheetSummaryOut
from service.worksheets import create_worksheet as create
from service.worksheets import get_worksheet as get
from service.worksheets import list_worksheets as listing
from service.worksheets import print_worksheet as render
from service.worksheets import use_current_keys as take_current_keys
from service.worksheets import worksheet_layout

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/worksheets", tags=["worksheets"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_worksheet(body: WorksheetCreate, session: SessionDep, actor: TeacherDep,
                           settings: SettingsDep) -> WorksheetOut:
    """Create a worksheet for a class from bank questions, in the given order. The page
    layout is computed now and frozen with the worksheet."""
    return await create(session, actor, body,
                        max_questions=settings.limits.max_questions_per_worksheet)


@router.get("")
async def list_worksheets(
    session: SessionDep, actor: TeacherDep,
    class_id: Annotated[int | None, Query(description="only this class's worksheets")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WorksheetSummaryOut]:
    """The caller's worksheets (an admin: the school's), newest first. A ``class_id`` the
    caller may not see answers 404, like a class that does not exist."""
    return await listing(session, actor, class_id=class_id, limit=limit)


@router.get("/{worksheet_id}")
async def get_worksheet(worksheet_id: int, session: SessionDep, actor: TeacherDep) -> WorksheetOut:
    return await get(session, actor, worksheet_id)


@router.post("/{worksheet_id}:use-current-keys")
async def use_current_keys(worksheet_id: int, session: SessionDep,
                           actor: TeacherDep) -> WorksheetOut:
    """Move the worksheet to the current answer key of every question on it. A key the
    worksheet's own teacher changes moves their worksheets at once; one another teacher
    changes in the shared bank reaches this worksheet only through this call (its teacher
    or an admin). Later scans and review decisions use the new keys; grades already given
    keep the revision they were graded with (``items[].key_revision`` says which)."""
    return await take_current_keys(session, actor, worksheet_id)


@router.get("/{worksheet_id}/layout")
async def get_layout(worksheet_id: int, session: SessionDep, actor: TeacherDep) -> dict[str, Any]:
    """Every page's size, markers, QR and answer regions in PDF points from the page's
    top-left ``(x0, y0, x1, y1)``: the contract between printing and reading."""
    return await worksheet_layout(session, actor, worksheet_id)


@router.get("/{worksheet_id}/print.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def print_worksheet(
    worksheet_id: int, session: SessionDep, actor: TeacherDep, settings: SettingsDep,
    copies: Annotated[int, Query(ge=1, description="blank copies")] = 1,
    per_student: Annotated[bool, Query(description="one named copy per student")] = False,
    duplex: Annotated[bool, Query(description="pad every copy to an even page count for "
                                              "two-sided printing")] = True,
    seat_bubbles: Annotated[bool, Query(
        description="print seat-number bubbles (座号: the last two digits of the student "
                    "number, tens and units) in the footer of blank copies, so the scan "
                    "reader can tell whose copy a page is; named copies never carry them "
                    "(their owner is in the QR code); on by default: with them nearly "
                    "every anonymous page is placed without a teacher; on an answer "
                    "sheet, the student-number grid (学号填涂) under the comb")] = True,
) -> Response:
    """A print-ready PDF: ``copies`` blank copies, or with ``per_student=true`` the class
    set with each student's name printed and their id in every page's QR. Every copy is
    padded to an even page count for duplex printing unless ``duplex=false``. Blank copies
    carry a row of seat-number bubbles in the footer unless ``seat_bubbles=false``.
    The paper size is the worksheet's own ``page_size``, chosen when it was created (A4 or
    Letter)."""
    printout = await render(session, actor, worksheet_id, copies=copies,
                            per_student=per_student, max_copies=settings.limits.max_copies,
                            duplex=duplex, seat_bubbles=seat_bubbles,
                            language=settings.school_language)
    disposition = (f"inline; filename=\"worksheet-{printout.worksheet_id}.pdf\"; "
                   f"filename*=UTF-8''{quote(printout.filename)}")
    return Response(printout.data, media_type="application/pdf",
                    headers={"Content-Disposition": disposition})
