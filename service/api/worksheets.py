"""Worksheets: create, print, and export the layout (``/api/v1/worksheets``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, Query, Response, status

from errorbook.printing.fonts import FontNotFoundError
from errorbook.printing.layout import LayoutError, layout_worksheet
from service.api.deps import SessionDep, SettingsDep, TeacherDep
from service.db import WorksheetRow
from service.errors import InvalidInput, NotReady
from service.printing import CopyRequest, render_copies
from service.repositories.classes import ClassRepository
from service.repositories.questions import QuestionRepository, question_from_row
from service.repositories.worksheets import WorksheetRepository
from service.schemas.common import WorksheetCreate, WorksheetItemOut, WorksheetOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/worksheets", tags=["worksheets"])


async def _out(repo: WorksheetRepository, row: WorksheetRow) -> WorksheetOut:
    items = await repo.items(row.id)
    base = f"/api/v1/worksheets/{row.id}"
    return WorksheetOut(
        id=row.id, title=row.title, class_id=row.class_id, page_size=row.page_size,
        page_count=row.page_count,
        items=[WorksheetItemOut(position=i.position, question_id=q.external_id,
                                key_revision=i.question_revision) for i, q in items],
        links={"self": base, "layout": f"{base}/layout", "print": f"{base}/print.pdf",
               "print_per_student": f"{base}/print.pdf?per_student=true"},
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_worksheet(body: WorksheetCreate, session: SessionDep, actor: TeacherDep,
                           settings: SettingsDep) -> WorksheetOut:
    """Create a worksheet for a class from bank questions, in the given order. The page
    layout is computed now and frozen with the worksheet."""
    limit = settings.limits.max_questions_per_worksheet
    if len(body.question_ids) > limit:
        raise InvalidInput(f"a worksheet holds at most {limit} questions", error="too_many")
    if len(set(body.question_ids)) != len(body.question_ids):
        dup = next(q for q in body.question_ids if body.question_ids.count(q) > 1)
        raise InvalidInput(f"question '{dup}' is listed twice", error="duplicate_question")
    await ClassRepository(session, actor).get(body.class_id)
    found = await QuestionRepository(session, actor).by_external_ids(body.question_ids)
    unknown = [q for q in body.question_ids if q not in found]
    if unknown:
        raise InvalidInput(f"unknown question id(s): {', '.join(unknown[:10])}",
                           error="unknown_question",
                           errors=[{"question_id": q, "message": "not in the bank"}
                                   for q in unknown])
    rows = [found[q] for q in body.question_ids]
    questions = [question_from_row(r) for r in rows]
    try:
        layout = await to_thread.run_sync(layout_worksheet, body.title, questions, body.page_size)
    except LayoutError as exc:
        raise InvalidInput(str(exc), error="layout_error") from exc
    except FontNotFoundError as exc:
        raise NotReady(str(exc), error="font_missing") from exc
    repo = WorksheetRepository(session, actor)
    row = await repo.create(title=body.title, class_id=body.class_id, page_size=body.page_size,
                            layout=layout.to_dict(), questions=rows)
    return await _out(repo, row)


@router.get("/{worksheet_id}")
async def get_worksheet(worksheet_id: int, session: SessionDep, actor: TeacherDep) -> WorksheetOut:
    repo = WorksheetRepository(session, actor)
    return await _out(repo, await repo.get(worksheet_id))


@router.get("/{worksheet_id}/layout")
async def get_layout(worksheet_id: int, session: SessionDep, actor: TeacherDep) -> dict[str, Any]:
    """Every page's size, markers, QR and answer regions in PDF points from the page's
    top-left ``(x0, y0, x1, y1)``: the contract between printing and reading."""
    row = await WorksheetRepository(session, actor).get(worksheet_id)
    pages = [{k: v for k, v in page.items() if k != "blocks"} for page in row.layout["pages"]]
    return {"worksheet_id": row.id, "title": row.title, "page_size": row.page_size,
            "units": "pt", "origin": "top-left", "pages": pages}


@router.get("/{worksheet_id}/print.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def print_worksheet(
    worksheet_id: int, session: SessionDep, actor: TeacherDep, settings: SettingsDep,
    copies: Annotated[int, Query(ge=1, description="blank copies")] = 1,
    per_student: Annotated[bool, Query(description="one named copy per student")] = False,
) -> Response:
    """A print-ready PDF: ``copies`` blank copies, or with ``per_student=true`` the class
    set with each student's name printed and their id in every page's QR. Every copy is
    padded to an even page count for duplex printing."""
    if copies > settings.limits.max_copies:
        raise InvalidInput(f"at most {settings.limits.max_copies} copies", error="too_many")
    repo = WorksheetRepository(session, actor)
    row = await repo.get(worksheet_id)
    classes = ClassRepository(session, actor)
    school_class = await classes.get(row.class_id)
    if per_student:
        students = await classes.students(row.class_id)
        if not students:
            raise InvalidInput("the class has no students yet; import a roster first",
                               error="empty_class")
        await repo.ensure_copies(row.id, [s.id for s in students])
        requests = [CopyRequest(s.id, s.name, s.student_no) for s in students]
    else:
        requests = [CopyRequest()] * copies
    try:
        pdf = await render_copies(row.layout, row.id, school_class.name, requests)
    except FontNotFoundError as exc:
        raise NotReady(str(exc), error="font_missing") from exc
    suffix = "class-set" if per_student else "blank"
    name = f"{row.title}-{suffix}.pdf"
    disposition = f"inline; filename=\"worksheet-{row.id}.pdf\"; filename*=UTF-8''{quote(name)}"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": disposition})
