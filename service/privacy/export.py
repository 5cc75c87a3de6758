"""One student's data as a ZIP (``GET /api/v1/students/{id}/export``).

``student.json`` holds the student, their class, every page of theirs with its status,
every answer with its reading and its current and past grades, their mastery states and
events, error-book entries, attempts and books, their links (without the link hashes),
their printed copies and, for a school admin, the audit events about them. Beside it:
``pages/<page id>.png`` (each page image still kept: the stored one, else the page
re-rendered from the uploaded scan) and ``crops/<response id>.png`` (each answer crop).

The archive is written to a temporary file in a worker thread, one image at a time, so
memory stays flat however many pages the student has; the route streams the file and
removes it afterwards.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ocr.errors import ScanFileError
from ocr.ingest import IngestLimits, iter_pages
from service.actor import Actor
from service.db import AuditEventRow
from service.repositories import audit
from service.repositories.retention import RetentionRepository
from service.repositories.student_data import StudentData, StudentDataRepository
from service.storage import LocalStorage, StorageKeyError

__all__ = ["FORMAT", "StudentExport", "export_student"]

FORMAT = "markbook-student-export/1"
# Secrets and internals that are no one's personal data.
_LEAVE_OUT = {"token_hash", "salt", "insert_sentinel"}  # the last: see BatchInserts


@dataclass(frozen=True)
class StudentExport:
    """A written export: the ZIP's temporary file and the name to download it as."""

    path: Path
    filename: str


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
    return v


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__table__.columns
            if c.key not in _LEAVE_OUT}


def _document(data: StudentData, events: list[AuditEventRow] | None,
              pages: dict[int, str], crops: dict[int, str],
              expired_scans: set[int]) -> dict[str, Any]:
    grades: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for g in sorted(data.grades, key=lambda g: g.id, reverse=True):
        grades[g.response_id].append(_row(g))
    crop_expired = {e.page_id for e in data.expired if e.kind == "crops"}

    def page_out(p: Any) -> dict[str, Any]:
        image = pages.get(p.id)
        state = "included" if image else (
            "expired" if p.upload_id in expired_scans else "unavailable")
        return {**_row(p), "image": image, "image_state": state}

    def response_out(r: Any) -> dict[str, Any]:
        crop = crops.get(r.id)
        state = "included" if crop else ("expired" if r.page_id in crop_expired else "none")
        return {**_row(r), "crop": crop, "crop_state": state, "grades": grades.get(r.id, [])}

    return {
        "format": FORMAT,
        "exported_at": _value(datetime.now(UTC)),
        "student": _row(data.student),
        "class": _row(data.school_class),
        "pages": [page_out(p) for p in data.pages],
        "uploads": [{"id": u.id, "filename": u.filename, "content_type": u.content_type,
                     "page_count": u.page_count, "created_at": _value(u.created_at)}
                    for u in data.uploads],
        "responses": [response_out(r) for r in data.responses],
        "mastery": {"states": [_row(s) for s in data.mastery_states],
                    "events": [_row(e) for e in data.mastery_events]},
        "error_book": {"entries": [_row(e) for e in data.error_entries],
                       "attempts": [_row(a) for a in data.error_attempts],
                       "books": [_row(b) for b in data.errorbooks],
                       "practice_items": [_row(i) for i in data.practice_items]},
        "links": [_row(link) for link in data.links],
        "worksheet_copies": [_row(c) for c in data.copies],
        # The audit log is for school admins (docs/access-control.md): a teacher's export
        # leaves it out.
        "audit": None if events is None else [_row(e) for e in events],
    }


def _png(image: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(buf.tobytes())


@dataclass(frozen=True)
class _Plan:
    """What goes in the archive besides student.json: (archive name, storage key) for
    stored files, and per scan file the page indices to render (index → archive name)."""

    stored: list[tuple[str, str]]
    rendered: dict[str, dict[int, str]]


def _write_zip(out: Path, storage: LocalStorage, plan: _Plan, limits: IngestLimits,
               document: dict[str, Any]) -> None:
    # Blocking: runs in a worker thread. Images are already compressed: stored as they are.
    written: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, key in plan.stored:
            try:
                zf.write(storage.path(key), name)
                written.add(name)
            except (OSError, StorageKeyError):
                continue
        for key, wanted in plan.rendered.items():
            try:
                # One pass over the scan, one page in memory at a time.
                for page in iter_pages(storage.path(key), limits):
                    wanted_name = wanted.get(page.index)
                    if wanted_name is not None:
                        zf.writestr(wanted_name, _png(page.image))
                        written.add(wanted_name)
            except (OSError, StorageKeyError, ScanFileError, ValueError):
                continue
        # What could not be read after all is marked so, not listed as included.
        for p in document["pages"]:
            if p["image"] and p["image"] not in written:
                p["image"], p["image_state"] = None, "unavailable"
        for r in document["responses"]:
            if r["crop"] and r["crop"] not in written:
                r["crop"], r["crop_state"] = None, "unavailable"
        zf.writestr("student.json", json.dumps(document, ensure_ascii=False, indent=1),
                    compress_type=zipfile.ZIP_DEFLATED)


async def export_student(session: AsyncSession, actor: Actor, storage: LocalStorage,
                         student_id: int, limits: IngestLimits) -> StudentExport:
    """Write one student's export to a temporary file and record it in the audit log.

    Args:
        session: the unit of work.
        actor: a teacher of the student's class, or a school admin.
        storage: the stored scans and crops.
        student_id: the student.
        limits: the ingest limits (for re-rendering pages from their scans).

    Returns:
        The ZIP's temporary file (the caller removes it) and its download name.

    Raises:
        NotFound: no such student, or one the actor may not see.
    """
    repo = StudentDataRepository(session, actor)
    data = await repo.gather(student_id)
    events = await repo.audit_events(data) if actor.is_admin else None
    retention = RetentionRepository(session)
    expired_scans = {u.id for u in data.uploads if await retention.scan_expired(u.id)}
    uploads = {u.id: u for u in data.uploads}
    stored: list[tuple[str, str]] = []
    rendered: dict[str, dict[int, str]] = defaultdict(dict)
    pages: dict[int, str] = {}
    for p in data.pages:
        name = f"pages/{p.id}.png"
        if p.image_key:
            stored.append((name, p.image_key))
        elif p.upload_id not in expired_scans:
            rendered[uploads[p.upload_id].storage_key][p.page_index] = name
        else:
            continue
        pages[p.id] = name
    crops = {r.id: f"crops/{r.id}.png" for r in data.responses if r.crop_key}
    for r in data.responses:
        if r.crop_key:
            stored.append((crops[r.id], r.crop_key))
    document = _document(data, events, pages, crops, expired_scans)
    out = await to_thread.run_sync(storage.temp_path)
    try:
        await to_thread.run_sync(_write_zip, out, storage, _Plan(stored, dict(rendered)),
                                 limits, document)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    await audit.record(session, actor, "student.export", "student", data.student.id,
                       detail={"pages": len(data.pages), "responses": len(data.responses)})
    return StudentExport(out, f"student-{data.student.id}-export.zip")
