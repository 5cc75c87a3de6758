"""A student's data (PIPL): ``GET /api/v1/students/{id}/export`` (a ZIP) and
``DELETE /api/v1/students/{id}`` (erasure, school admins only). See docs/privacy.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from service.actor import Actor
from service.api.deps import AdminDep, SessionDep, SettingsDep, TeacherDep, client_ip
from service.config import Settings
from service.jobs.runner import ingest_limits
from service.privacy.erase import erase_student
from service.privacy.export import StudentExport, export_student
from service.privacy.files import delete_queued
from service.schemas.privacy import ErasureOut
from service.storage import LocalStorage

__all__ = ["erase_and_delete_files", "router", "zip_response"]

router = APIRouter(prefix="/api/v1/students", tags=["students"])


def zip_response(export: StudentExport) -> FileResponse:
    """The export's ZIP, streamed from its temporary file, which is removed afterwards."""
    return FileResponse(export.path, media_type="application/zip", filename=export.filename,
                        headers={"Cache-Control": "private, no-store"},
                        background=BackgroundTask(Path.unlink, export.path, missing_ok=True))


async def erase_and_delete_files(session: AsyncSession, actor: Actor, settings: Settings,
                                 student_id: int, confirm: str, ip: str | None) -> ErasureOut:
    """Erase the student and commit, then delete their files (a failure stays queued and
    never undoes the erasure). Shared by the API and the student's web page."""
    erasure = await erase_student(session, actor, student_id, confirm, ip=ip)
    await session.commit()
    report = await delete_queued(session, settings.data_dir)
    await session.commit()
    return ErasureOut(class_id=erasure.class_id, counts=erasure.counts,
                      audit_anonymised=erasure.audit_anonymised,
                      files_queued=erasure.files_queued, files_deleted=report.deleted,
                      files_failed=report.failed, scans_kept=erasure.scans_kept)


@router.get("/{student_id}/export", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}}})
async def export(student_id: int, request: Request, session: SessionDep, actor: TeacherDep,
                 settings: SettingsDep) -> FileResponse:
    """Everything kept about one student, as a ZIP: ``student.json`` (the student, class,
    pages, answers with readings and every grade, mastery, error book, links, and for an
    admin the audit events about them) with their page images and answer crops. Open to
    the teacher of the student's class and the school's admins."""
    storage: LocalStorage = request.app.state.storage
    data = await export_student(session, actor, storage, student_id, ingest_limits(settings))
    return zip_response(data)


@router.delete("/{student_id}")
async def erase(student_id: int, request: Request, session: SessionDep, actor: AdminDep,
                settings: SettingsDep,
                confirm: Annotated[str, Query(description="the student's number, typed again "
                                              "to confirm")] = "") -> ErasureOut:
    """Erase every row and file about the student (admins only), keep a tombstone so their
    old pages are not read back, and anonymise the audit events about them. ``confirm``
    must be the student number (422 ``confirmation_mismatch`` otherwise)."""
    return await erase_and_delete_files(session, actor, settings, student_id, confirm,
                                        client_ip(request))
