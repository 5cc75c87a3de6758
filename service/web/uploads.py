"""Pages of the web app's ``uploads`` area: upload scans, and follow their jobs.

* ``GET /uploads`` (``?worksheet_id=`` preselects a worksheet): the upload form (several
  files; the page's script adds a drop zone and sends each file as its own request with a
  progress bar) and the teacher's recent jobs.
* ``POST /uploads``: the form's files, each handed to :func:`service.ingestion.receive_upload`
  (what ``POST /api/v1/scans`` calls): one upload and one job per file. A bad file is
  refused alone; the others are kept. Answers the page with each file's outcome, or JSON
  (``Accept: application/json``, the script's per-file requests).
* ``GET /jobs/{job_id}`` and ``GET /jobs/{job_id}/events``: see :mod:`service.web.uploads_jobs`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response

from service.api.deps import SessionDep
from service.config import Settings
from service.errors import ClientError, InsufficientStorage
from service.ingestion import check_room, receive_upload, worksheet_hint
from service.job_status import TERMINAL, recent_jobs
from service.ratelimit import limiter, upload_rate
from service.storage import LocalStorage
from service.uploads import ReceivedFile
from service.web import uploads_jobs
from service.web.deps import CsrfRefused, RequiredUser, csrf_ok
from service.web.i18n import language_of
from service.web.render import SECURITY_HEADERS, Pages, render
from service.web.sessions import PageUser
from service.web.uploads_receive import SpoolFailure, read_upload_form, spool_file
from service.web.uploads_views import FileOutcome, accept_attribute, heic_supported
from service.worksheets import get_worksheet, list_worksheets

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(uploads_jobs.router)

RECENT_JOBS = 20


async def _page(request: Request, user: PageUser, session: SessionDep, *,
                worksheet_id: int | None, outcomes: list[FileOutcome] | None = None,
                status_code: int = 200, submitted: bool = False) -> Response:
    settings: Settings = request.app.state.settings
    jobs = (await recent_jobs(session, user.actor))[:RECENT_JOBS]
    return render(request, "uploads/index.html", user=user, status_code=status_code,
                  worksheets=await list_worksheets(session, user.actor),
                  selected=worksheet_id, jobs=jobs, outcomes=outcomes or [],
                  submitted=submitted,
                  running=any(j.status not in TERMINAL for j in jobs),
                  accept=accept_attribute(), heic=heic_supported(),
                  max_mb=settings.limits.max_upload_mb)


@router.get("/uploads")
async def uploads_page(request: Request, user: RequiredUser, session: SessionDep,
                       worksheet_id: Annotated[int | None, Query()] = None) -> Response:
    """The upload form and the teacher's recent jobs."""
    return await _page(request, user, session, worksheet_id=worksheet_id)


async def _ingest(request: Request, session: SessionDep, user: PageUser,
                  received: ReceivedFile | SpoolFailure, worksheet_id: int | None) -> FileOutcome:
    settings: Settings = request.app.state.settings
    storage: LocalStorage = request.app.state.storage
    if isinstance(received, SpoolFailure):
        return FileOutcome.refused(received.filename, received.error)
    try:
        # The same per-teacher budget as the API's uploads (one bucket for both).
        limiter(request, "uploads", *upload_rate(settings)).take(
            ("teacher", user.actor.teacher_id), "uploads")
        accepted = await receive_upload(
            session, storage, settings, user.actor, received, worksheet_id=worksheet_id,
            idempotency_key=None, ip=request.client.host if request.client else None)
    except (ClientError, InsufficientStorage) as exc:
        return FileOutcome.refused(received.filename, exc)
    finally:
        received.path.unlink(missing_ok=True)
    return FileOutcome(received.filename, job_id=accepted.job_id, duplicate=accepted.duplicate,
                       pages=accepted.pages, retry=accepted.retry)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/uploads")
async def post_uploads(request: Request, user: RequiredUser, session: SessionDep,
                       background: BackgroundTasks) -> Response:
    """Upload the form's files (one job each); the CSRF token is checked before any file
    is stored. The body is read here, not by FastAPI, so its size is bounded first."""
    settings: Settings = request.app.state.settings
    storage: LocalStorage = request.app.state.storage
    limit = settings.limits.max_upload_mb * 1024 * 1024
    form = await read_upload_form(request, limit)
    try:
        if not csrf_ok(request, user, form.fields.get("csrf_token", "")):
            raise CsrfRefused(user)
        worksheet_id = worksheet_hint(None, form.fields.get("worksheet_id"))
        if worksheet_id is not None:
            await get_worksheet(session, user.actor, worksheet_id)  # 404 before any file
        outcomes = []
        if form.files:
            check_room(storage, settings, sum(f.size or 0 for f in form.files))
        for upload in form.files:
            received = await spool_file(upload, storage, limit)
            outcomes.append(await _ingest(request, session, user, received, worksheet_id))
    finally:
        await form.close()
    runner = request.app.state.runner
    if runner is not None and any(o.ok and not o.duplicate for o in outcomes):
        background.add_task(runner.notify)  # after the commit and the response
    if _wants_json(request):
        pages: Pages = request.app.state.pages
        _ = pages.catalogue.translator(language_of(request))
        body = {"files": [o.as_json(_(o.message_key, name=o.filename)) for o in outcomes]}
        status = 200 if len(outcomes) != 1 else (202 if outcomes[0].ok else outcomes[0].status)
        return JSONResponse(body, status_code=status, headers=SECURITY_HEADERS)
    # Something accepted: 200; nothing chosen: 400; all refused: the first refusal's status.
    status = 400 if not outcomes else \
        200 if any(o.ok for o in outcomes) else outcomes[0].status
    return await _page(request, user, session, worksheet_id=worksheet_id, outcomes=outcomes,
                       status_code=status, submitted=True)
