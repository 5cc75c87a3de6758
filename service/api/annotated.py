"""Annotated papers (批改痕迹) as PDFs, generated on demand from the stored scans."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.annotated import export_annotated
from service.api.deps import ActorDep, SessionDep

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
    return _pdf(*await export_annotated(session, actor, request.app.state.storage,
                                        worksheet_id,
                                        language=request.app.state.settings.school_language))


@router.get("/{worksheet_id}/students/{student_id}/annotated.pdf", response_class=Response)
async def student_annotated(worksheet_id: int, student_id: int, request: Request,
                            session: SessionDep, actor: ActorDep) -> Response:
    """One student's annotated paper (404 ``no_scanned_pages`` if none was scanned)."""
    return _pdf(*await export_annotated(session, actor, request.app.state.storage,
                                        worksheet_id, student_id,
                                        request.app.state.settings.school_language))
