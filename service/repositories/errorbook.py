"""Error-book rows: entries, their attempts, printed books and the practice items on their
sheets, plus the answers and questions a book's cards show.

Used by :mod:`service.mastery.entries` and :mod:`service.mastery.books` inside the caller's
unit of work (flush only). The student was checked visible by the caller, so nothing here is
scoped by actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, func, insert, select, update

from service.db import (
    ErrorAttemptRow,
    ErrorBookRow,
    ErrorEntryRow,
    KnowledgePointRow,
    PracticeItemRow,
    QuestionRow,
    ResponseRow,
    WorksheetCopyRow,
    WorksheetItemRow,
    WorksheetRow,
)
from service.repositories.base import StagingRepository

__all__ = ["ErrorBookRepository"]

# Built once: storing every graded page runs them.
_ATTEMPTS_OF = (
    select(ErrorAttemptRow)
    .where(ErrorAttemptRow.entry_id.in_(bindparam("entries", expanding=True)))
    .order_by(ErrorAttemptRow.entry_id, ErrorAttemptRow.at, ErrorAttemptRow.id))
_ENTRIES_FOR = select(ErrorEntryRow).where(
    ErrorEntryRow.student_id.in_(bindparam("students", expanding=True)),
    ErrorEntryRow.question_id.in_(bindparam("questions", expanding=True)))
_PRACTICE_ITEMS = (
    select(PracticeItemRow, ErrorEntryRow)
    .outerjoin(ErrorEntryRow, ErrorEntryRow.id == PracticeItemRow.entry_id)
    .where(PracticeItemRow.worksheet_id.in_(bindparam("worksheets", expanding=True)),
           PracticeItemRow.question_id.in_(bindparam("questions", expanding=True))))


class ErrorBookRepository(StagingRepository):
    """Queries and writes behind error-book entries and printed books."""

    # -- entries and attempts -----------------------------------------------------------

    async def entry(self, entry_id: int) -> ErrorEntryRow | None:
        """One entry, or None."""
        return await self.session.get(ErrorEntryRow, entry_id)

    async def attempts_of(self, entry_ids: Sequence[int]) -> dict[int, list[ErrorAttemptRow]]:
        """These entries' attempts, by entry, each in the order they happened (time, then
        id); an entry without attempts is left out."""
        rows = await self.session.execute(_ATTEMPTS_OF, {"entries": list(entry_ids)})
        out: dict[int, list[ErrorAttemptRow]] = {}
        for a in rows.scalars():
            out.setdefault(a.entry_id, []).append(a)
        return out

    async def attempts_by_responses(self, response_ids: Sequence[int]) -> list[ErrorAttemptRow]:
        """The attempts these answers made."""
        rows = await self.session.execute(
            select(ErrorAttemptRow).where(ErrorAttemptRow.response_id.in_(response_ids)))
        return list(rows.scalars())

    async def entries_opened_by(self, response_ids: Sequence[int]) -> dict[int, ErrorEntryRow]:
        """The entries these answers opened, by response id."""
        rows = await self.session.execute(
            select(ErrorEntryRow).where(ErrorEntryRow.response_id.in_(response_ids)))
        return {e.response_id: e for e in rows.scalars()}

    async def entries_for(self, student_ids: set[int], question_ids: set[int]
                          ) -> dict[tuple[int, int], ErrorEntryRow]:
        """These students' entries for these questions, by (student, question)."""
        rows = await self.session.execute(_ENTRIES_FOR, {"students": sorted(student_ids),
                                                         "questions": sorted(question_ids)})
        return {(e.student_id, e.question_id): e for e in rows.scalars()}

    async def practice_items(self, worksheet_ids: set[int], question_ids: set[int]
                             ) -> list[tuple[PracticeItemRow, ErrorEntryRow | None]]:
        """Practice items on these worksheets for these questions, with their entries."""
        rows = await self.session.execute(_PRACTICE_ITEMS, {
            "worksheets": sorted(worksheet_ids), "questions": sorted(question_ids)})
        return [(item, entry) for item, entry in rows.all()]

    async def drop_entry(self, entry: ErrorEntryRow) -> None:
        """Delete an entry with its attempts, unlinking the practice items printed for it."""
        # SQLite may run without foreign-key enforcement: unlink practice items by hand.
        await self.session.execute(update(PracticeItemRow)
                                   .where(PracticeItemRow.entry_id == entry.id)
                                   .values(entry_id=None))
        await self.session.execute(delete(ErrorAttemptRow)
                                   .where(ErrorAttemptRow.entry_id == entry.id))
        await self.session.delete(entry)

    async def open_entries(self, student_id: int, states: Sequence[str], limit: int
                           ) -> list[ErrorEntryRow]:
        """The student's entries in these states, most overdue first."""
        rows = await self.session.execute(
            select(ErrorEntryRow).where(ErrorEntryRow.student_id == student_id,
                                        ErrorEntryRow.state.in_(states))
            .order_by(ErrorEntryRow.due_at, ErrorEntryRow.id).limit(limit))
        return list(rows.scalars())

    async def entry_states(self, student_id: int) -> list[str]:
        """The state of each of the student's entries."""
        rows = await self.session.execute(
            select(ErrorEntryRow.state).where(ErrorEntryRow.student_id == student_id))
        return [str(s) for (s,) in rows.all()]

    # -- books and their practice sheets ------------------------------------------------

    async def book_by_digest(self, student_id: int, digest: str) -> ErrorBookRow | None:
        """The student's latest book printed for this set of entries, if any."""
        rows = await self.session.execute(
            select(ErrorBookRow).where(ErrorBookRow.student_id == student_id,
                                       ErrorBookRow.digest == digest)
            .order_by(ErrorBookRow.id.desc()).limit(1))
        return rows.scalar_one_or_none()

    async def book_count(self, student_id: int) -> int:
        """How many books the student has had."""
        n = await self.session.scalar(select(func.count(ErrorBookRow.id)).where(
            ErrorBookRow.student_id == student_id))
        return int(n or 0)

    async def worksheet(self, worksheet_id: int) -> WorksheetRow | None:
        """A worksheet by id, or None."""
        return await self.session.get(WorksheetRow, worksheet_id)

    async def add_sheet_items(self, worksheet: WorksheetRow, book: ErrorBookRow, student_id: int,
                              items: Sequence[tuple[QuestionRow, int, str, str]]) -> None:
        """Put the practice items on a book's new sheet: (question, entry, reason zh, reason en)
        in print order, the student's copy, and the links from items to entries."""
        # Core executemany: one statement for all items rather than one per row.
        await self.session.execute(insert(WorksheetItemRow), [
            {"worksheet_id": worksheet.id, "position": i, "question_id": r.id,
             "question_revision": r.key_revision} for i, (r, *_) in enumerate(items, start=1)])
        self.session.add(WorksheetCopyRow(worksheet_id=worksheet.id, student_id=student_id))
        await self.session.execute(insert(PracticeItemRow), [
            {"errorbook_id": book.id, "worksheet_id": worksheet.id, "question_id": r.id,
             "entry_id": entry_id, "reason_zh": zh[:300], "reason_en": en[:300]}
            for r, entry_id, zh, en in items])

    async def sheet_items(self, worksheet_id: int
                          ) -> list[tuple[WorksheetItemRow, QuestionRow, PracticeItemRow]]:
        """A practice sheet's items in print order, with their questions and entry links."""
        rows = await self.session.execute(
            select(WorksheetItemRow, QuestionRow, PracticeItemRow)
            .join(QuestionRow, QuestionRow.id == WorksheetItemRow.question_id)
            .join(PracticeItemRow,
                  (PracticeItemRow.worksheet_id == WorksheetItemRow.worksheet_id)
                  & (PracticeItemRow.question_id == WorksheetItemRow.question_id))
            .where(WorksheetItemRow.worksheet_id == worksheet_id)
            .order_by(WorksheetItemRow.position))
        return [(w, q, p) for w, q, p in rows.all()]

    # -- what the cards show ------------------------------------------------------------

    async def questions(self, ids: Iterable[int]) -> dict[int, QuestionRow]:
        """Questions by row id."""
        rows = await self.session.execute(select(QuestionRow).where(QuestionRow.id.in_(ids)))
        return {q.id: q for q in rows.scalars()}

    async def knowledge_point_names(self, codes: set[str], language: str = "zh"
                                    ) -> dict[str, str]:
        """Knowledge point names by code, in ``language`` (``zh``, or ``en`` falling back to
        the Chinese name where a point has no English one)."""
        rows = await self.session.execute(
            select(KnowledgePointRow).where(KnowledgePointRow.code.in_(codes)))
        return {k.code: (k.name_en or k.name_zh) if language == "en" else k.name_zh
                for k in rows.scalars()}

    async def responses(self, response_ids: Sequence[int]) -> list[ResponseRow]:
        """Responses by id."""
        rows = await self.session.execute(
            select(ResponseRow).where(ResponseRow.id.in_(response_ids)))
        return list(rows.scalars().all())

    async def blank_texts(self, page_ids: set[int]) -> list[tuple[int, int, str | None]]:
        """(page, question, text) of every blank on these pages, in blank order."""
        rows = await self.session.execute(
            select(ResponseRow.page_id, ResponseRow.question_id, ResponseRow.text)
            .where(ResponseRow.page_id.in_(page_ids))
            .order_by(ResponseRow.page_id, ResponseRow.question_id, ResponseRow.blank))
        return [(int(p), int(q), t) for p, q, t in rows.all()]
