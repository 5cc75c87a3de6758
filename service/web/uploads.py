"""Pages of the web app's ``uploads`` area: upload scans, and follow their jobs.

* ``GET /uploads`` (``?worksheet_id=`` preselects a worksheet): the upload form (several
  files; the page's script adds a drop zone and sends the photos of one choice together,
  and each other file as its own request, each request with a progress bar) and the
  teacher's recent jobs.
* ``POST /uploads``: the form's files, handed to :func:`service.ingestion.receive_upload`
  (what ``POST /api/v1/scans`` calls). The photos among them (JPEG, PNG, HEIC, judged by
  their bytes) are pages of one stack, so together they are one upload and one job, in
  file-name order (natural: ``IMG_2`` before ``IMG_10``; a phone numbers its photos in
  the order they were taken; equal names keep the order the browser sent them). Each
  other file (a PDF, a TIFF, a ZIP) is its own job. A bad photo refuses its group, naming
  it; any other bad file is refused alone; the other jobs are kept. Answers the page with
  each job's outcome, or JSON (``Accept: application/json``, the script's requests).
* ``GET /jobs/{job_id}`` and ``GET /jobs/{job_id}/events``: see :mod:`service.web.uploads_jobs`.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response

from ocr.bundle import natural_key
from ocr.errors import ScanFileError
from ocr.ingest import sniff
from service.api.deps import SessionDep
from service.config import Settings
from service.errors import ClientError, InsufficientStorage, PayloadTooLarge
from service.ingestion import check_room, receive_upload, worksheet_hint
from service.job_status import TERMINAL, recent_jobs
from service.ratelimit import limiter, upload_rate
from service.storage import LocalStorage
from service.uploads import ReceivedBatch, ReceivedFile
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
_PHOTOS = frozenset({"jpeg", "png", "heic"})


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


def _is_photo(received: ReceivedFile) -> bool:
    with received.path.open("rb") as fh:
        head = fh.read(1024)
    try:
        return sniff(head) in _PHOTOS
    except ScanFileError:
        return False  # refused on its own, as any other file


async def _jobs_of(spooled: list[ReceivedFile | SpoolFailure], limit: int
                   ) -> list[ReceivedFile | ReceivedBatch | SpoolFailure]:
    """What becomes a job: the photos together (in file-name order), every other file
    alone; a file that could not be spooled is reported alone."""
    photos: list[ReceivedFile] = []
    out: list[ReceivedFile | ReceivedBatch | SpoolFailure] = []
    at = 0  # the photos' job is listed where the first photo was
    for item in spooled:
        if isinstance(item, ReceivedFile) and await to_thread.run_sync(_is_photo, item):
            at = at if photos else len(out)
            photos.append(item)
        else:
            out.append(item)
    photos.sort(key=lambda f: natural_key(f.filename))  # stable: equal names keep order
    if len(photos) == 1:
        out.insert(at, photos[0])
    elif photos:
        batch = ReceivedBatch(photos)
        if batch.size > limit:
            batch.discard()
            out.insert(at, SpoolFailure(batch.filename, PayloadTooLarge(
                f"the {len(photos)} photos together are larger than the {limit // 2**20} MB "
                "limit; send them in smaller groups", error="file_too_large")))
        else:
            out.insert(at, batch)
    return out


async def _ingest(request: Request, session: SessionDep, user: PageUser,
                  received: ReceivedFile | ReceivedBatch | SpoolFailure,
                  worksheet_id: int | None, student_id: int | None = None) -> FileOutcome:
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
            idempotency_key=None, ip=request.client.host if request.client else None,
            student_id=student_id)
    except (ClientError, InsufficientStorage) as exc:
        return FileOutcome.refused(received.filename, exc)
    finally:
        received.discard()
    return FileOutcome(received.filename, job_id=accepted.job_id, duplicate=accepted.duplicate,
                       pages=accepted.pages, retry=accepted.retry,
                       files=len(received.files) if isinstance(received, ReceivedBatch) else 1)


def _message(_: Any, outcome: FileOutcome) -> str:
    text = str(_(outcome.message_key, name=outcome.filename, files=outcome.files))
    if outcome.culprit:
        text += " " + str(_("uploads.result.culprit", **outcome.culprit))
    return text


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/uploads")
async def post_uploads(request: Request, user: RequiredUser, session: SessionDep,
                       background: BackgroundTasks) -> Response:
    """Upload the form's files (the photos one job, each other file one job); the CSRF
    token is checked before any file is stored. The body is read here, not by FastAPI, so
    its size is bounded first."""
    settings: Settings = request.app.state.settings
    storage: LocalStorage = request.app.state.storage
    limit = settings.limits.max_upload_mb * 1024 * 1024
    form = await read_upload_form(request, limit)
    try:
        if not csrf_ok(request, user, form.fields.get("csrf_token", "")):
            raise CsrfRefused(user)
        worksheet_id = worksheet_hint(None, form.fields.get("worksheet_id"))
        # A drill assignment's page uploads one student's pages (service.web.drills).
        student_id = worksheet_hint(None, form.fields.get("student_id"), "student_id")
        if worksheet_id is not None:
            await get_worksheet(session, user.actor, worksheet_id)  # 404 before any file
        outcomes = []
        if form.files:
            check_room(storage, settings, sum(f.size or 0 for f in form.files))
        spooled: list[ReceivedFile | SpoolFailure] = []
        try:
            for upload in form.files:
                spooled.append(await spool_file(upload, storage, limit))
            jobs = await _jobs_of(spooled, limit)
        except BaseException:
            for item in spooled:
                if isinstance(item, ReceivedFile):
                    item.discard()
            raise
        for received in jobs:
            outcomes.append(await _ingest(request, session, user, received, worksheet_id,
                                          student_id))
    finally:
        await form.close()
    runner = request.app.state.runner
    if runner is not None and any(o.ok and not o.duplicate for o in outcomes):
        background.add_task(runner.notify)  # after the commit and the response
    if _wants_json(request):
        pages: Pages = request.app.state.pages
        _ = pages.catalogue.translator(language_of(request))
        body = {"files": [o.as_json(_message(_, o)) for o in outcomes]}
        status = 200 if len(outcomes) != 1 else (202 if outcomes[0].ok else outcomes[0].status)
        return JSONResponse(body, status_code=status, headers=SECURITY_HEADERS)
    # Something accepted: 200; nothing chosen: 400; all refused: the first refusal's status.
    status = 400 if not outcomes else \
        200 if any(o.ok for o in outcomes) else outcomes[0].status
    return await _page(request, user, session, worksheet_id=worksheet_id, outcomes=outcomes,
                       status_code=status, submitted=True)
