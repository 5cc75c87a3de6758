"""Every row about one student, for their export and their erasure.

The tables that reference a student, directly or through their answers: ``pages``,
``responses`` (and ``grades``), ``mastery_events``, ``mastery_states``,
``errorbook_entries`` (and ``error_attempts``), ``errorbooks`` (and ``practice_items`` and
the practice worksheet made for the book), ``worksheet_copies``, ``student_links``, and
the audit events that name the student, one of their pages or one of their answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    AuditEventRow,
    ErasedStudentRow,
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
    ScanUploadRow,
    SchoolClassRow,
    StudentLinkRow,
    StudentRow,
    WorksheetCopyRow,
    WorksheetItemRow,
    WorksheetRow,
)
from service.errors import NotFound
from service.policy import scoped

__all__ = ["StudentData", "StudentDataRepository"]

T = TypeVar("T")
# Ids go into IN lists in chunks: both databases cap the parameters of one statement.
_CHUNK = 500


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


@dataclass
class StudentData:
    """The rows about one student (what the export writes and the erasure removes)."""

    student: StudentRow
    school_class: SchoolClassRow
    pages: list[PageRow] = field(default_factory=list)
    uploads: list[ScanUploadRow] = field(default_factory=list)
    responses: list[ResponseRow] = field(default_factory=list)
    grades: list[GradeRow] = field(default_factory=list)
    mastery_states: list[MasteryStateRow] = field(default_factory=list)
    mastery_events: list[MasteryEventRow] = field(default_factory=list)
    error_entries: list[ErrorEntryRow] = field(default_factory=list)
    error_attempts: list[ErrorAttemptRow] = field(default_factory=list)
    errorbooks: list[ErrorBookRow] = field(default_factory=list)
    practice_items: list[PracticeItemRow] = field(default_factory=list)
    links: list[StudentLinkRow] = field(default_factory=list)
    copies: list[WorksheetCopyRow] = field(default_factory=list)
    expired: list[ImageExpiryRow] = field(default_factory=list)

    @property
    def page_ids(self) -> list[int]:
        return [p.id for p in self.pages]

    @property
    def response_ids(self) -> list[int]:
        return [r.id for r in self.responses]


class StudentDataRepository:
    """Reads and removes one student's rows, within what the actor may see."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def _all(self, query: Any) -> list[Any]:
        return list((await self.session.execute(query)).scalars())

    async def _in(self, model: Any, column: Any, ids: Sequence[int],
                  *extra: ColumnElement[bool]) -> list[Any]:
        out: list[Any] = []
        for chunk in _chunks(ids):
            out += await self._all(select(model).where(column.in_(chunk), *extra)
                                   .order_by(model.id))
        return out

    async def student(self, student_id: int) -> tuple[StudentRow, SchoolClassRow]:
        """The student and their class, if the actor may see them.

        Raises:
            NotFound: no such student, or one the actor may not see.
        """
        row = (await self.session.execute(scoped(
            select(StudentRow, SchoolClassRow).join(
                SchoolClassRow, SchoolClassRow.id == StudentRow.class_id)
            .where(StudentRow.id == student_id), StudentRow, self.actor))).first()
        if row is None:
            raise NotFound(f"student {student_id} not found")
        return row[0], row[1]

    async def gather(self, student_id: int) -> StudentData:
        """Every row about the student (audit events apart: :meth:`audit_events`).

        Raises:
            NotFound: no such student, or one the actor may not see.
        """
        student, cls = await self.student(student_id)
        sid = student.id
        data = StudentData(student, cls)
        data.pages = await self._all(select(PageRow).where(PageRow.student_id == sid)
                                     .order_by(PageRow.id))
        upload_ids = sorted({p.upload_id for p in data.pages})
        data.uploads = await self._in(ScanUploadRow, ScanUploadRow.id, upload_ids)
        # An answer is theirs when it is on one of their pages or carries their id.
        responses = {r.id: r for r in await self._all(
            select(ResponseRow).where(ResponseRow.student_id == sid))}
        for r in await self._in(ResponseRow, ResponseRow.page_id, data.page_ids):
            responses[r.id] = r
        data.responses = [responses[i] for i in sorted(responses)]
        data.grades = await self._in(GradeRow, GradeRow.response_id, data.response_ids)
        data.mastery_states = await self._all(
            select(MasteryStateRow).where(MasteryStateRow.student_id == sid)
            .order_by(MasteryStateRow.knowledge_point_id))
        events = {e.id: e for e in await self._all(
            select(MasteryEventRow).where(MasteryEventRow.student_id == sid))}
        for e in await self._in(MasteryEventRow, MasteryEventRow.response_id, data.response_ids):
            events[e.id] = e
        data.mastery_events = [events[i] for i in sorted(events)]
        entries = {e.id: e for e in await self._all(
            select(ErrorEntryRow).where(ErrorEntryRow.student_id == sid))}
        for e in await self._in(ErrorEntryRow, ErrorEntryRow.response_id, data.response_ids):
            entries[e.id] = e
        data.error_entries = [entries[i] for i in sorted(entries)]
        attempts = {a.id: a for a in await self._in(
            ErrorAttemptRow, ErrorAttemptRow.entry_id, sorted(entries))}
        for a in await self._in(ErrorAttemptRow, ErrorAttemptRow.response_id, data.response_ids):
            attempts[a.id] = a
        data.error_attempts = [attempts[i] for i in sorted(attempts)]
        data.errorbooks = await self._all(select(ErrorBookRow).where(
            ErrorBookRow.student_id == sid).order_by(ErrorBookRow.id))
        data.practice_items = await self._in(PracticeItemRow, PracticeItemRow.errorbook_id,
                                             [b.id for b in data.errorbooks])
        data.links = await self._all(select(StudentLinkRow).where(
            StudentLinkRow.student_id == sid).order_by(StudentLinkRow.id))
        data.copies = await self._all(select(WorksheetCopyRow).where(
            WorksheetCopyRow.student_id == sid).order_by(WorksheetCopyRow.id))
        data.expired = await self._in(ImageExpiryRow, ImageExpiryRow.page_id, data.page_ids)
        return data

    async def audit_events(self, data: StudentData) -> list[AuditEventRow]:
        """The school's audit events that name the student, one of their pages or one of
        their answers (a page assigned to or away from them included)."""
        school = AuditEventRow.school_id == self.actor.school_id
        found = {e.id: e for e in await self._all(select(AuditEventRow).where(
            school, AuditEventRow.target_type == "student",
            AuditEventRow.target_id == data.student.id))}
        for kind, ids in (("page", data.page_ids), ("response", data.response_ids)):
            for e in await self._in(AuditEventRow, AuditEventRow.target_id, ids, school,
                                    AuditEventRow.target_type == kind):
                found[e.id] = e
        # The detail is JSON: which assignment named them is decided here, not in SQL.
        for e in await self._all(select(AuditEventRow).where(
                school, AuditEventRow.action == "review.assign_page")):
            detail = e.detail or {}
            if data.student.id in (detail.get("student_id"), detail.get("previous_student_id")):
                found[e.id] = e
        return [found[i] for i in sorted(found)]

    async def other_pages_in_uploads(self, upload_ids: Sequence[int],
                                     student_id: int) -> dict[int, int]:
        """Per upload, how many of its pages are someone else's or could be (pages of no
        one apart from blank ones): a scan file holding any of them is not only theirs."""
        out: dict[int, int] = {}
        for chunk in _chunks(upload_ids):
            rows = await self.session.execute(
                select(PageRow.upload_id, func.count(PageRow.id)).where(
                    PageRow.upload_id.in_(chunk),
                    or_(PageRow.student_id.is_(None), PageRow.student_id != student_id),
                    PageRow.status != "blank")
                .group_by(PageRow.upload_id))
            out.update({int(u): int(n) for u, n in rows.all()})
        return out

    async def evidence_pages(self, class_id: int) -> list[PageRow]:
        """Pages of the class's worksheets that keep handwriting evidence (every roster
        student's score: the erased student's is struck out)."""
        return await self._all(select(PageRow).where(
            PageRow.student_evidence.is_not(None),
            PageRow.worksheet_id.in_(select(WorksheetRow.id).where(
                WorksheetRow.class_id == class_id))).order_by(PageRow.id))

    async def unused_practice_worksheets(self, worksheet_ids: Sequence[int],
                                         errorbook_ids: Sequence[int]) -> list[int]:
        """The practice worksheets (of the given books) no page and no other book uses."""
        unused = []
        for wid in sorted(set(worksheet_ids)):
            pages = await self.session.scalar(
                select(func.count(PageRow.id)).where(PageRow.worksheet_id == wid))
            books = await self.session.scalar(select(func.count(ErrorBookRow.id)).where(
                ErrorBookRow.worksheet_id == wid, ErrorBookRow.id.not_in(list(errorbook_ids))))
            if not pages and not books:
                unused.append(wid)
        return unused

    async def delete_in(self, model: Any, column: Any, ids: Sequence[int]) -> int:
        """Delete the rows whose ``column`` is in ``ids``; returns how many went."""
        n = 0
        for chunk in _chunks(ids):
            result = await self.session.execute(delete(model).where(column.in_(chunk)))
            n += int(getattr(result, "rowcount", 0) or 0)
        return n

    async def delete_practice_worksheets(self, worksheet_ids: Sequence[int]) -> int:
        """Delete practice worksheets with their items and copies; returns how many."""
        ids = list(worksheet_ids)
        await self.delete_in(PracticeItemRow, PracticeItemRow.worksheet_id, ids)
        await self.delete_in(WorksheetItemRow, WorksheetItemRow.worksheet_id, ids)
        await self.delete_in(WorksheetCopyRow, WorksheetCopyRow.worksheet_id, ids)
        return await self.delete_in(WorksheetRow, WorksheetRow.id, ids)

    async def add_tombstone(self, row: ErasedStudentRow) -> None:
        self.session.add(row)
        await self.session.flush()

    async def flush(self) -> None:
        await self.session.flush()
