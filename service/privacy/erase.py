"""Erasing one student's data (``DELETE /api/v1/students/{id}``, admins only).

In one unit of work: every row about the student goes (their pages, answers, grades,
mastery, error-book entries and books, practice worksheets made only for them, printed
copies, links, and the roster row); audit events that name them keep the event but lose
what identified them; the handwriting evidence other pages keep loses the student's score;
a tombstone (:mod:`service.privacy.tombstones`) is written so a later scan of their pages
brings nothing back; and the files (answer crops, page images, a scan file holding only
their pages, the class's built error-book PDFs) are queued for deletion. The caller
commits, then runs :func:`service.privacy.files.delete_queued`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    AuditEventRow,
    ErrorAttemptRow,
    ErrorBookRow,
    ErrorEntryRow,
    GradeRow,
    ImageExpiryRow,
    MasteryEventRow,
    MasteryStateRow,
    PageRow,
    PracticeItemRow,
    ResponseRow,
    StudentLinkRow,
    StudentRow,
    WorksheetCopyRow,
)
from service.errors import Forbidden, InvalidInput
from service.privacy.files import storage_path
from service.privacy.tombstones import tombstone_for
from service.repositories import audit
from service.repositories.retention import RetentionRepository
from service.repositories.student_data import StudentData, StudentDataRepository

__all__ = ["ERASED_MARK", "Erasure", "erase_student"]

# What an anonymised audit event's detail becomes (and is marked with).
ERASED_MARK = "erased_student"


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed (counts only: nothing about the student).

    Attributes:
        class_id: the class the student was in.
        counts: rows deleted per table.
        audit_anonymised: audit events stripped of what named the student.
        files_queued: files queued for deletion.
        scans_kept: scan files kept because they also hold other children's pages (the
            student's pages in them are no longer reachable; retention removes the files).
    """

    class_id: int
    counts: dict[str, int]
    audit_anonymised: int
    files_queued: int
    scans_kept: int


def _anonymise(event: AuditEventRow, data: StudentData) -> None:
    theirs = ((event.target_type == "student" and event.target_id == data.student.id)
              or (event.target_type == "page" and event.target_id in set(data.page_ids))
              or (event.target_type == "response"
                  and event.target_id in set(data.response_ids)))
    if theirs:
        # The event stays (who acted, when, what kind of action); what it was about goes.
        event.target_id = None
        event.detail = {ERASED_MARK: True}
        return
    detail = dict(event.detail or {})
    for key in ("student_id", "previous_student_id"):
        if detail.get(key) == data.student.id:
            detail[key] = None
    detail[ERASED_MARK] = True
    event.detail = detail


def _strip_evidence(evidence: dict[str, Any], student_id: int) -> dict[str, Any]:
    out = dict(evidence)
    out["scores"] = [s for s in evidence.get("scores", []) if int(s[0]) != student_id]
    out["candidates"] = [c for c in evidence.get("candidates", [])
                         if c.get("student_id") != student_id]
    return out


async def _files(repo: StudentDataRepository, data: StudentData) -> tuple[list[str], int]:
    paths = [storage_path(r.crop_key) for r in data.responses if r.crop_key]
    paths += [storage_path(p.image_key) for p in data.pages if p.image_key]
    others = await repo.other_pages_in_uploads([u.id for u in data.uploads], data.student.id)
    kept = 0
    for upload in data.uploads:
        if others.get(upload.id):
            kept += 1
            continue
        paths.append(storage_path(upload.storage_key))
    # The class's built error books hold a book for every student: built again on demand.
    cid = data.school_class.id
    paths += [f"errorbooks/class-{cid}.pdf", f"errorbooks/class-{cid}-key.pdf"]
    return paths, kept


async def erase_student(session: AsyncSession, actor: Actor, student_id: int, confirm: str,
                        *, ip: str | None = None) -> Erasure:
    """Erase a student's data (flush only: the caller commits, then deletes the files).

    Args:
        session: the unit of work.
        actor: a school admin.
        student_id: the student.
        confirm: the student's number, typed again to confirm.
        ip: the client's address, for the audit event.

    Returns:
        What was removed, in counts.

    Raises:
        Forbidden: ``admin_only`` for anyone but a school admin.
        NotFound: no such student in the admin's school.
        InvalidInput: ``confirmation_mismatch`` when ``confirm`` is not the student number.
    """
    if not actor.is_admin or actor.is_device:
        raise Forbidden("only a school admin can erase a student's data", error="admin_only")
    repo = StudentDataRepository(session, actor)
    data = await repo.gather(student_id)
    if confirm.strip() != data.student.student_no:
        raise InvalidInput("type the student's number to confirm the erasure",
                           error="confirmation_mismatch")
    events = await repo.audit_events(data)
    for event in events:
        _anonymise(event, data)
    mine = set(data.page_ids)
    for page in await repo.evidence_pages(data.school_class.id):
        if page.id not in mine and page.student_evidence:
            page.student_evidence = _strip_evidence(page.student_evidence, data.student.id)
    paths, scans_kept = await _files(repo, data)
    counts = await _delete_rows(repo, data)
    for upload in data.uploads:
        if upload.storage_key and storage_path(upload.storage_key) in paths:
            # The file goes; what is left of the upload (blank pages) shows "not kept", and
            # its name (a photo may be named after the child) goes with it.
            await RetentionRepository(session).mark_expired(upload.id, None, "scan", "erasure")
            upload.filename = "erased"
    await repo.add_tombstone(tombstone_for(data.student, data.school_class, actor.teacher_id))
    await RetentionRepository(session).queue(paths, "erasure")
    await repo.flush()
    result = Erasure(class_id=data.school_class.id, counts=counts,
                     audit_anonymised=len(events), files_queued=len(set(paths)),
                     scans_kept=scans_kept)
    await audit.record(session, actor, "student.erase", "student", data.student.id, ip, detail={
        "class_id": result.class_id, "counts": counts,
        "audit_anonymised": result.audit_anonymised, "files_queued": result.files_queued,
        "scans_kept": scans_kept})
    return result


async def _delete_rows(repo: StudentDataRepository, data: StudentData) -> dict[str, int]:
    # Children before parents, explicitly: the counts are the erasure's record, and no
    # row is left to a cascade that a database might not apply.
    books = [b.id for b in data.errorbooks]
    practice = await repo.unused_practice_worksheets(
        [b.worksheet_id for b in data.errorbooks if b.worksheet_id is not None], books)
    responses = data.response_ids
    steps: list[tuple[str, Any, Any, list[int]]] = [
        ("error_attempts", ErrorAttemptRow, ErrorAttemptRow.id,
         [a.id for a in data.error_attempts]),
        ("practice_items", PracticeItemRow, PracticeItemRow.id,
         [p.id for p in data.practice_items]),
        ("errorbooks", ErrorBookRow, ErrorBookRow.id, books),
        ("errorbook_entries", ErrorEntryRow, ErrorEntryRow.id,
         [e.id for e in data.error_entries]),
        ("mastery_events", MasteryEventRow, MasteryEventRow.id,
         [e.id for e in data.mastery_events]),
        ("grades", GradeRow, GradeRow.response_id, responses),
        ("responses", ResponseRow, ResponseRow.id, responses),
        ("image_expiry", ImageExpiryRow, ImageExpiryRow.id, [e.id for e in data.expired]),
        ("pages", PageRow, PageRow.id, data.page_ids),
        ("worksheet_copies", WorksheetCopyRow, WorksheetCopyRow.id, [c.id for c in data.copies]),
        ("student_links", StudentLinkRow, StudentLinkRow.id, [link.id for link in data.links]),
    ]
    counts: dict[str, int] = {}
    for name, model, column, ids in steps:
        counts[name] = await repo.delete_in(model, column, ids)
    counts["mastery_states"] = await repo.delete_in(
        MasteryStateRow, MasteryStateRow.student_id, [data.student.id])
    counts["worksheets"] = await repo.delete_practice_worksheets(practice)
    counts["students"] = await repo.delete_in(StudentRow, StudentRow.id, [data.student.id])
    return counts
