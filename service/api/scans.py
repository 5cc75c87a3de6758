"""Scan ingestion over HTTP: the endpoint teachers' browsers and copiers post to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response

from service.api.deps import IngestActorDep, SessionDep, SettingsDep
from service.errors import PayloadTooLarge
from service.ingestion import check_room, receive_upload
from service.ratelimit import limit_per_actor, upload_rate
from service.schemas.scans import ScanAccepted
from service.storage import LocalStorage
from service.uploads import receive_scan

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["scans"])
# Per teacher or device key: a runaway copier cannot flood the queue.
_upload_limit = [Depends(limit_per_actor("uploads", upload_rate, "uploads"))]


async def _ingest(request: Request, response: Response, background: BackgroundTasks,
                  session: SessionDep, actor: IngestActorDep, settings: SettingsDep,
                  worksheet_id: int | None, idempotency_key: str | None,
                  student_id: int | None = None, in_roster_order: bool = False
                  ) -> ScanAccepted:
    storage: LocalStorage = request.app.state.storage
    limit = settings.limits.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(f"the upload (its files together) is larger than the "
                              f"{settings.limits.max_upload_mb} MB limit", error="file_too_large")
    check_room(storage, settings, int(declared) if declared and declared.isdigit() else 0)
    received = await receive_scan(request.stream(), request.headers.get("content-type", ""),
                                  storage, limit,
                                  filename=request.headers.get("x-filename", "scan")[:255])
    accepted = await receive_upload(session, storage, settings, actor, received,
                                    worksheet_id=worksheet_id, idempotency_key=idempotency_key,
                                    ip=request.client.host if request.client else None,
                                    student_id=student_id, in_roster_order=in_roster_order,
                                    recorder=request.app.state.upload_recorder)
    runner = request.app.state.runner
    if runner is not None and not accepted.duplicate:
        background.add_task(runner.notify, accepted.job_id)  # runs after the commit and the response
    url = f"/api/v1/jobs/{accepted.job_id}"
    response.headers["Location"] = url
    return ScanAccepted(job_id=accepted.job_id, upload_id=accepted.upload_id,
                        duplicate=accepted.duplicate, pages=accepted.pages, status_url=url,
                        retry=accepted.retry)


_DOC = """Upload a scan (PDF, TIFF, JPEG, PNG, HEIC, or a ZIP of them): multipart with the
file under any field name, or the raw file as the body. Several files in one multipart body
(up to 200; the size limit is for all of them together) are one job whose pages are in
upload order: file by file, and page by page within each file; a ZIP's files are taken in
natural name order (``p2`` before ``p10``), skipping folders, ``__MACOSX/`` and dotfiles.
A file that is not a scan or cannot be read refuses the whole request, and the ``detail``
names it (``"IMG_0003.HEIC" (file 3): ...``); nothing is stored, so send the request again
without it. More than 200 files: 400 ``too_many_files``; a ZIP with more than 200 files or
more than the size limit unpacked: 413 ``limit_exceeded``.

Drill pages (口算 sheets from anywhere, no markbook code): name a drill assignment (a
worksheet created with ``kind: "drill"``) as ``worksheet_id``, and add ``student_id`` (query
or form field) when the upload is one student's pages; every page without a markbook code
is then read by the drill reader, each item graded by computing its expression. A
``student_id`` without a drill assignment: 422 ``student_without_drill``; one not in the
assignment's class: 422 ``student_not_in_class``; an assignment the caller may not see: 404.
A drill page with no items is stored with the job problem ``no_items`` (never graded zero).

Template pages (a teacher's own worksheet or a school's answer sheet, made from an uploaded
blank: ``kind: "template"``): name the template as ``worksheet_id``. Each page is registered
to the template's blank by its print, then read and graded as a worksheet page; a page that
matches no blank gets the problem ``not_this_page`` and is never graded. Whose copy it is:
``student_id`` (one student's pages), or the name, 学号 or bubbled number the template has a
region for, or ``in_roster_order=true`` (a class stack in roster order by student number, one
copy per student: a stack with another number of copies is left for review, and says so).

Returns 202 with the job that reads and grades it; the same bytes (or the same
``Idempotency-Key``) always map to the same job (several files: the same files in the same
order), and when that job failed (or left pages unread) the answer's ``retry`` is the URL
to ``POST`` to retry it.

A refused upload leaves nothing behind. When the server's disk is full, or would fall
below its reserve (``MARKBOOK_LIMITS__MIN_FREE_MB``), the answer is 507
``insufficient_storage``: nothing was stored; send it again once space is freed."""


_RESPONSES: dict[int | str, dict[str, str]] = {
    507: {"description": "the server's disk is full (insufficient_storage); nothing stored"}}


@router.post("/scans", status_code=202, response_model=ScanAccepted, description=_DOC,
             dependencies=_upload_limit, responses=_RESPONSES,
             openapi_extra={"requestBody": {"content": {
                 "multipart/form-data": {"schema": {"type": "object"}},
                 "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_scan(
    request: Request, response: Response, background: BackgroundTasks, session: SessionDep,
    actor: IngestActorDep, settings: SettingsDep,
    worksheet_id: Annotated[int | None, Query(
        description="hint: the worksheet scanned; for drill pages, the drill assignment "
                    "(required)")] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    student_id: Annotated[int | None, Query(
        description="a drill or template upload of one student's pages: that student (of "
                    "the assignment's class)")] = None,
    in_roster_order: Annotated[bool, Query(
        description="a template's class stack in roster order (by student number), one "
                    "copy per student: each copy goes to the student in its place")] = False,
) -> ScanAccepted:
    return await _ingest(request, response, background, session, actor, settings,
                         worksheet_id, idempotency_key, student_id, in_roster_order)


@router.post("/documents/post_document/", status_code=202, response_model=ScanAccepted,
             dependencies=_upload_limit, responses=_RESPONSES,
             description="Paperless-ngx-compatible alias of POST /api/v1/scans, for scanners "
                         "and apps that already speak that API (field name ``document``).")
async def paperless_alias(
    request: Request, response: Response, background: BackgroundTasks, session: SessionDep,
    actor: IngestActorDep, settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ScanAccepted:
    return await _ingest(request, response, background, session, actor, settings, None,
                         idempotency_key)
