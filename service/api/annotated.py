"""Annotated papers (批改痕迹) as PDFs, generated on demand from the stored scans."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.annotated import annotated_pdf
from service.api.deps import ActorDep, SessionDep
from service.repositories import audit
from service.repositories.worksheets import WorksheetRepository

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/worksheets", tags=["results"])


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/{worksheet_id}/annotated.pdf", response_class=Response)
async def class_annotated(worksheet_id: int, request: Request, session: SessionDep,
                          actor: ActorDep) -> Response:
    """Every scanned student's paper with red ✓/✗, scores and totals: one PDF, a section
    (and bookmark) per student, padded for duplex printing."""
    worksheet = await WorksheetRepository(session, actor).get(worksheet_id)
    data = await annotated_pdf(session, request.app.state.storage, worksheet)
    await audit.record(session, actor, "annotated.export", "worksheet", worksheet_id)
    return _pdf(data, f"worksheet-{worksheet_id}-annotated.pdf")


@router.get("/{worksheet_id}/students/{student_id}/annotated.pdf", response_class=Response)
async def student_annotated(worksheet_id: int, student_id: int, request: Request,
                            session: SessionDep, actor: ActorDep) -> Response:
    """One student's annotated paper (404 ``no_scanned_pages`` if none was scanned)."""
    worksheet = await WorksheetRepository(session, actor).get(worksheet_id)
    data = await annotated_pdf(session, request.app.state.storage, worksheet, [student_id])
    await audit.record(session, actor, "annotated.export", "worksheet", worksheet_id,
                       detail={"student_id": student_id})
    return _pdf(data, f"worksheet-{worksheet_id}-student-{student_id}.pdf")
