"""Accept a received scan file: validate it, deduplicate it, store it, queue its job.

Every ingestion path (HTTP upload, copier alias, watched folder) ends here, so the rules
are the same everywhere:

* the type is sniffed from the bytes, never trusted from a name or header;
* several files sent together, or a ZIP, become one upload and one job: the files are
  packed, in upload order (a ZIP's files in natural name order), into one bundle
  (:func:`ocr.bundle.pack`), and its pages are numbered across the files. A file that is
  not a scan, or cannot be read, refuses the whole request with an answer naming it
  (``"IMG_0003.HEIC" (file 3): ...``): nothing is stored, so sending the good files again
  is always safe. Several files are one upload by the SHA-256 of their SHA-256s in order;
  a ZIP by its own bytes;
* size, page count and pixels are checked before any page is decoded;
* the same bytes are one upload per school (copiers cannot send idempotency headers), and
  an ``Idempotency-Key`` names one body: re-sending it returns the same job, a different
  body under the same key is refused; when that job failed (or left pages unread), the
  answer says where to retry it;
* the spooled temp file never outlives the request: it is renamed into place, or removed
  whatever refused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ocr.bundle import pack
from ocr.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    LimitExceeded,
    ScanFileError,
    UnsupportedFile,
)
from ocr.ingest import count_pages, sniff
from ocr.pdfium_lock import PDFIUM
from service.actor import Actor
from service.config import Settings
from service.db import JobRow, WorksheetRow
from service.errors import (
    BadRequest,
    ClientError,
    Conflict,
    InsufficientStorage,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from service.jobs.recovery import retry_url
from service.jobs.runner import ingest_limits
from service.repositories import audit
from service.repositories.drills import DrillRepository
from service.repositories.uploads import SeenUpload, UploadRepository
from service.repositories.worksheets import WorksheetRepository
from service.storage import LocalStorage, free_bytes
from service.upload_records import UploadRecorder
from service.uploads import ReceivedBatch, ReceivedFile

__all__ = ["Accepted", "accept_scan", "check_room", "client_error", "receive_upload",
           "worksheet_hint"]

_EXT = {"pdf": "pdf", "tiff": "tif", "jpeg": "jpg", "png": "png", "heic": "heic", "zip": "zip"}
_CONTENT_TYPE = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg",
                 "png": "image/png", "heic": "image/heic", "zip": "application/zip"}

Received = ReceivedFile | ReceivedBatch
# A single scan up to this size is checked on the event loop (see _keep_soon).
ON_LOOP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Accepted:
    """The job a scan belongs to; ``duplicate`` when these bytes were received before, and
    ``retry`` (where to retry it) when that earlier job failed or left pages unread."""

    job_id: int
    upload_id: int
    duplicate: bool
    pages: int
    retry: str | None = None


def client_error(exc: ScanFileError) -> ClientError:
    message = str(exc)
    if isinstance(exc, EmptyFile):
        return BadRequest(message, error=exc.code)
    if isinstance(exc, UnsupportedFile):
        return UnsupportedMediaType(message, error=exc.code)
    if isinstance(exc, LimitExceeded):
        return PayloadTooLarge(message, error=exc.code)
    if isinstance(exc, CorruptFile | EncryptedFile):
        return InvalidInput(message, error=exc.code)
    return InvalidInput(message, error=exc.code)


async def _existing(session: AsyncSession, school_id: int, sha256: str) -> SeenUpload | None:
    return await UploadRepository(session).by_sha256(school_id, sha256)


async def _by_key(session: AsyncSession, actor: Actor, key: str) -> SeenUpload | None:
    return await UploadRepository(session).by_idempotency_key(
        actor.school_id, key, device_id=_device_id(actor), teacher_id=actor.teacher_id)


def _device_id(actor: Actor) -> int | None:
    return actor.device_id


class _Offload(Exception):
    """Checking this upload is work for a thread, not the event loop."""


def _validate(received: Received, settings: Settings, storage: LocalStorage,
              on_loop: bool = False) -> tuple[str, int, Path]:
    """The upload's kind, its page count and the file to keep: the received file, or a
    bundle packed from several files or a ZIP's (a temp file the caller owns).

    With ``on_loop``, raises :class:`_Offload` instead of unpacking a ZIP or waiting for
    pdfium while another thread holds it."""
    limits = ingest_limits(settings)
    if isinstance(received, ReceivedFile):
        if received.size == 0:
            raise EmptyFile("the file is empty")
        with received.path.open("rb") as fh:
            kind = sniff(fh.read(1024))
        if kind == "pdf" and on_loop:
            if not PDFIUM.acquire(blocking=False):
                raise _Offload
            try:
                return kind, count_pages(received.path, limits), received.path
            finally:
                PDFIUM.release()
        if kind != "zip":
            return kind, count_pages(received.path, limits), received.path
        if on_loop:
            raise _Offload
        sources = [(received.filename, received.path)]
    else:
        sources = [(f.filename, f.path) for f in received.files]
    bundle = storage.temp_path()
    try:
        pack(sources, bundle, limits)
        return "zip", count_pages(bundle, limits), bundle
    except BaseException:
        bundle.unlink(missing_ok=True)
        raise


def _keep(received: Received, settings: Settings, storage: LocalStorage,
          on_loop: bool = False) -> tuple[str, int, str]:
    """Check the upload and move the file to keep into place: its kind, page count and
    storage key (``on_loop``: see :func:`_validate`)."""
    kind, pages, path = _validate(received, settings, storage, on_loop)
    key = f"uploads/{received.sha256[:2]}/{received.sha256}.{_EXT[kind]}"
    try:
        storage.commit(path, key)
    finally:
        path.unlink(missing_ok=True)
    return kind, pages, key


async def _keep_soon(received: Received, settings: Settings, storage: LocalStorage
                     ) -> tuple[str, int, str]:
    """:func:`_keep`, here on the loop for one file of up to :data:`ON_LOOP_BYTES` (its
    check reads no pixels: well under a millisecond, less than the hop to a thread costs a
    busy process), else in one trip to a thread."""
    if isinstance(received, ReceivedFile) and received.size <= ON_LOOP_BYTES:
        try:
            return _keep(received, settings, storage, on_loop=True)
        except _Offload:
            pass
    return await to_thread.run_sync(_keep, received, settings, storage)


async def accept_scan(session: AsyncSession, storage: LocalStorage, settings: Settings,
                      actor: Actor, received: Received, *, worksheet_id: int | None = None,
                      idempotency_key: str | None = None,
                      student_id: int | None = None, in_roster_order: bool = False,
                      recorder: UploadRecorder | None = None, ip: str | None = None
                      ) -> Accepted:
    """Turn a spooled file into a stored upload and a queued job (flush only; with
    ``recorder``, the upload, its job and its audit event are committed by it).

    Args:
        session: the request's unit of work.
        storage: where the file is kept (the spooled files are moved or deleted).
        settings: limits.
        actor: the teacher or device uploading.
        received: the spooled body: one file, or several (one job, pages in their order).
        worksheet_id: optional hint: the worksheet the pages belong to.
        idempotency_key: the client's ``Idempotency-Key`` header, if any.
        student_id: a drill upload made for one student (``worksheet_id`` must name a
            drill assignment of the student's class).
        in_roster_order: a template's class stack in roster order, one copy per student
            (``worksheet_id`` must name a template; no ``student_id``).
        recorder: the web process's :class:`~service.upload_records.UploadRecorder`: a new
            upload is written and committed with others arriving at the same moment,
            with its ``scan.upload`` audit event (from ``ip``).
        ip: the client's address, for that audit event.

    Returns:
        The job (new, or the one these bytes already have).

    Raises:
        ClientError: empty, unsupported, corrupt, encrypted or over-limit files; an
            idempotency key reused for a different body; an unknown worksheet hint; a
            ``student_id`` without a drill assignment, or not of its class. For several
            files or a ZIP, the message names the file at fault.
    """
    try:
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 128:
                raise BadRequest("Idempotency-Key must be 1-128 characters",
                                 error="bad_idempotency_key")
            earlier = await _by_key(session, actor, idempotency_key)
            if earlier is not None:
                if earlier.sha256 != received.sha256:
                    raise InvalidInput("this Idempotency-Key was used for a different file",
                                       error="idempotency_key_reused")
                return await _duplicate(session, earlier)
        earlier = await _existing(session, actor.school_id, received.sha256)
        if earlier is not None and earlier.job_id is not None:
            if earlier.teacher_id != actor.teacher_id and not actor.is_admin:
                # Someone else's job: say no more than that it exists.
                raise Conflict("this exact file was already uploaded by another teacher of "
                               "your school", error="uploaded_by_another_teacher")
            return await _duplicate(session, earlier)
        if worksheet_id is not None:
            sheet = await WorksheetRepository(session, actor).get(worksheet_id)
            if student_id is not None:
                await _check_drill_student(session, sheet, student_id)
            if in_roster_order and (sheet.kind != "template" or student_id is not None):
                raise InvalidInput("in_roster_order is for a template's class stack, not "
                                   "with student_id", error="order_without_template")
        elif in_roster_order:
            raise InvalidInput("in_roster_order needs worksheet_id naming a template",
                               error="order_without_template")
        elif student_id is not None:
            raise InvalidInput("student_id needs worksheet_id naming a drill assignment or a "
                               "template", error="student_without_drill")
        try:
            kind, pages, key = await _keep_soon(received, settings, storage)
        except ScanFileError as exc:
            raise client_error(exc) from None
        return await _record(session, actor, received, kind, pages, key, worksheet_id,
                             idempotency_key, student_id, in_roster_order, recorder, ip)
    finally:
        received.discard()


async def _check_drill_student(session: AsyncSession, sheet: WorksheetRow,
                               student_id: int) -> None:
    """A per-student upload names a drill assignment or a template, and a student of its
    class."""
    if sheet.kind not in ("drill", "template"):
        raise InvalidInput("student_id is for drill assignments and templates: a markbook "
                           "worksheet's pages name their student themselves",
                           error="student_without_drill")
    if await DrillRepository(session).student_class(student_id) != sheet.class_id:
        raise InvalidInput(f"student {student_id} is not in this assignment's class",
                           error="student_not_in_class")


async def _duplicate(session: AsyncSession, upload: SeenUpload) -> Accepted:
    """The earlier upload's job, with where to retry it when it can be retried."""
    assert upload.job_id is not None
    job = await session.get(JobRow, upload.job_id)
    return Accepted(upload.job_id, upload.id, True, upload.page_count or 0,
                    retry=retry_url(job) if job is not None else None)


async def _record(session: AsyncSession, actor: Actor, received: Received, kind: str,
                  pages: int, key: str, worksheet_id: int | None,
                  idempotency_key: str | None, student_id: int | None = None,
                  in_roster_order: bool = False, recorder: UploadRecorder | None = None,
                  ip: str | None = None) -> Accepted:
    payload: dict[str, int | bool | None] = {"worksheet_id": worksheet_id}
    if student_id is not None:
        payload["student_id"] = student_id
    if in_roster_order:
        payload["in_roster_order"] = True
    job = {"school_id": actor.school_id, "kind": "scan", "status": "queued",
           "pages_total": pages, "payload": payload, "problems": []}
    upload = {"school_id": actor.school_id, "teacher_id": actor.teacher_id,
              "device_id": _device_id(actor), "worksheet_hint_id": worksheet_id,
              "filename": received.filename, "content_type": _CONTENT_TYPE[kind],
              "size_bytes": received.size, "sha256": received.sha256, "storage_key": key,
              "idempotency_key": idempotency_key, "page_count": pages}
    if recorder is not None:
        # The request's connection goes back to the pool first: the recorder needs one of
        # its own, and a burst's requests waiting for it must not hold them all.
        await session.commit()
        added = await recorder.record(job, upload, audit.event_row(
            actor, "scan.upload", "job", ip=ip, detail=_upload_detail(received, pages)))
    else:
        added = await UploadRepository(session).add_with_job(job, upload)
    if added is None:
        # The same bytes arrived concurrently and the other request won: same job.
        earlier = await _existing(session, actor.school_id, received.sha256)
        if earlier is None or earlier.job_id is None:
            raise RuntimeError("an upload of these bytes was recorded but cannot be read")
        return await _duplicate(session, earlier)
    upload_id, job_id = added
    return Accepted(job_id, upload_id, False, pages)


def _upload_detail(received: Received, pages: int) -> dict[str, int]:
    """What a new upload's audit event says of it."""
    return {"pages": pages, "bytes": received.size,
            "files": len(received.files) if isinstance(received, ReceivedBatch) else 1}


def check_room(storage: LocalStorage, settings: Settings, incoming: int = 0) -> None:
    """Refuse an upload before spooling it when the data folder would fall below its
    reserve (``limits.min_free_mb``): the reserve is for the pages of jobs already accepted.

    Args:
        storage: the upload storage.
        settings: the reserve.
        incoming: the body's declared size, when known.

    Raises:
        InsufficientStorage: 507 ``insufficient_storage``.
    """
    reserve = settings.limits.min_free_mb * 1024 * 1024
    if free_bytes(storage.root) - incoming < reserve:
        raise InsufficientStorage()


def worksheet_hint(query: int | None, field: str | None, name: str = "worksheet_id"
                   ) -> int | None:
    """The worksheet hint of an upload (or its ``student_id``, by ``name``): the query
    parameter, else the multipart field.

    Raises:
        InvalidInput: ``bad_worksheet_id`` (``bad_student_id``) for a field that is not a
            number.
    """
    if query is not None:
        return query
    if field in (None, ""):
        return None
    try:
        return int(str(field))
    except ValueError:
        raise InvalidInput(f"{name} must be a number", error=f"bad_{name}") from None


async def receive_upload(session: AsyncSession, storage: LocalStorage, settings: Settings,
                         actor: Actor, received: Received, *, worksheet_id: int | None,
                         idempotency_key: str | None, ip: str | None,
                         student_id: int | None = None, in_roster_order: bool = False,
                         recorder: UploadRecorder | None = None) -> Accepted:
    """Accept an HTTP upload (see :func:`accept_scan`) and audit a new one. The spooled
    files are gone when this returns or raises (renamed into place, or removed).

    Args:
        worksheet_id: the query parameter's hint; the multipart field is used without one.
        ip: the client's address, for the audit log.
        student_id: the query parameter's student (a drill upload for one student); the
            multipart field is used without one.
        in_roster_order: the query parameter (or the multipart field, ``1`` / ``true`` /
            ``on``): a template's stack in roster order.
        recorder: records a new upload with others arriving together (see
            :func:`accept_scan`); without one, in ``session``.
    """
    try:
        hint = worksheet_hint(worksheet_id, received.fields.get("worksheet_id"))
        student = worksheet_hint(student_id, received.fields.get("student_id"), "student_id")
        ordered = in_roster_order or received.fields.get("in_roster_order", "").lower() in (
            "1", "true", "on")
        accepted = await accept_scan(session, storage, settings, actor, received,
                                     worksheet_id=hint, idempotency_key=idempotency_key,
                                     student_id=student, in_roster_order=ordered,
                                     recorder=recorder, ip=ip)
    finally:
        # Refused before accept_scan took the file (a bad worksheet_id): still ours to remove.
        received.discard()
    if not accepted.duplicate and recorder is None:
        await audit.record(session, actor, "scan.upload", "job", accepted.job_id, ip=ip,
                           detail={"upload_id": accepted.upload_id,
                                   **_upload_detail(received, accepted.pages)})
    return accepted
