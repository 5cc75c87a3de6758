"""Assemble a student's error book: the entries to review and a practice worksheet that
scans back through normal ingestion (the closed paper loop).

A book's practice sheet is a personalised worksheet (markers, a QR per page naming the
worksheet, page, student and the entries on that page). Its items are linked to the
entries they practise, so when the redone sheet is scanned, the grades update mastery and
move the entries towards resolution. An unchanged set of entries reuses the last book, so
printing twice gives the same sheet rather than a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from anyio import to_thread
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.contract import PageCode, WorksheetLayout, format_page_code, page_layout_hash
from errorbook.learner.schedule import EntryState, resolution_rate
from errorbook.printing.book.model import (
    BookEntry,
    BookSummary,
    PracticeItem,
    PracticeSheet,
    StudentBook,
)
from errorbook.printing.key_text import key_answer_text
from errorbook.printing.layout import layout_worksheet
from grading.causes import CauseCode, cause_labels
from grading.questions import Question
from service.config import MasterySettings
from service.db import (
    ErrorBookRow,
    ErrorEntryRow,
    QuestionRow,
    SchoolClassRow,
    StudentRow,
    WorksheetRow,
)
from service.install import install_id
from service.mastery.practice import plan_practice, store_variants, teacher_reason_text
from service.mastery.sync import state_from_row
from service.repositories.errorbook import ErrorBookRepository
from service.repositories.learner import LearnerRepository
from service.storage import LocalStorage, StorageKeyError

__all__ = ["BuiltBook", "build_book"]

_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)
_OPEN = (EntryState.OPEN.value, EntryState.PRACTISING.value)


@dataclass(frozen=True)
class BuiltBook:
    """A book ready to render, and the stored book it prints."""

    book: StudentBook
    errorbook_id: int | None
    worksheet_id: int | None
    reused: bool


def _digest(entries: Sequence[ErrorEntryRow], settings: MasterySettings) -> str:
    data = [[e.id, e.state, e.successes, e.times_wrong] for e in entries]
    raw = json.dumps([data, settings.book_practice], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


async def build_book(session: AsyncSession, storage: LocalStorage, student: StudentRow,
                     cls: SchoolClassRow, settings: MasterySettings, *,
                     created_by: int | None, today: date | None = None,
                     language: str = "zh") -> BuiltBook:
    """The student's current error book (creating its practice worksheet if needed).

    Args:
        session: the unit of work (the new book, worksheet and variants are flushed).
        storage: where the students' answer crops are.
        student: the student (already checked visible to the caller).
        cls: the student's class.
        settings: how many entries and practice items a book holds.
        created_by: the teacher asking.
        today: the date printed (default: today, UTC).
        language: the school's language (``zh`` or ``en``): the title, knowledge-point
            names, key answers and practice reasons come in it (a practice sheet made
            earlier keeps its title).

    Returns:
        The book model and the stored book's ids (None when nothing is open).
    """
    today = today or datetime.now(UTC).date()
    repo = ErrorBookRepository(session)
    entries = await repo.open_entries(student.id, _OPEN, settings.book_entries)
    summary = await _summary(session, student.id, language)
    title = f"{'错题本' if language == 'zh' else 'Error book'} · {today.isoformat()}"
    if not entries:
        return BuiltBook(_student_book(student, cls, title, today, (), None, summary),
                         None, None, False)
    digest = _digest(entries, settings)
    previous = await repo.book_by_digest(student.id, digest)
    reused = previous is not None and previous.worksheet_id is not None
    if reused:
        assert previous is not None
        book_row = previous
    else:
        book_row = await _new_book(session, student, cls, entries, settings, digest,
                                   created_by, title, language)
    practice = await _practice_sheet(repo, book_row, student.id, await install_id(session),
                                     language)
    cards = await _cards(session, storage, student.id, entries, language)
    return BuiltBook(_student_book(student, cls, title, today, cards, practice, summary),
                     book_row.id, book_row.worksheet_id, reused)


def _student_book(student: StudentRow, cls: SchoolClassRow, title: str, today: date,
                  cards: tuple[BookEntry, ...], practice: PracticeSheet | None,
                  summary: BookSummary) -> StudentBook:
    return StudentBook(student_name=student.name, student_no=student.student_no,
                       class_name=cls.name, title=title, generated_on=today, entries=cards,
                       practice=practice, summary=summary)


async def _new_book(session: AsyncSession, student: StudentRow, cls: SchoolClassRow,
                    entries: list[ErrorEntryRow], settings: MasterySettings, digest: str,
                    created_by: int | None, title: str, language: str = "zh") -> ErrorBookRow:
    repo = ErrorBookRepository(session)
    count = await repo.book_count(student.id)
    planned = await plan_practice(session, cls.school_id, student.id, entries,
                                  settings.book_practice, salt=f"book{count + 1}")
    variants = await store_variants(session, cls.school_id,
                                    [p.question for p in planned if p.row_id is None])
    bank_ids = [p.row_id for p in planned if p.row_id is not None]
    bank = await repo.questions(bank_ids) if bank_ids else {}
    rows: list[tuple[QuestionRow, int, str, str]] = []
    for item in planned:
        row = bank.get(item.row_id) if item.row_id is not None \
            else variants.get(item.question.id)
        if row is None or any(r[0].id == row.id for r in rows):
            continue
        rows.append((row, item.entry_id, item.reason_zh, item.reason_en))
    book = ErrorBookRow(school_id=cls.school_id, student_id=student.id, created_by=created_by,
                        entry_ids=[e.id for e in entries], digest=digest)
    repo.add(book)
    await repo.flush()
    if not rows:
        return book
    questions = [_QUESTION.validate_python(r.document) for r, *_ in rows]
    sheet_title = f"{title} · {'巩固练习' if language == 'zh' else 'Practice'}"
    layout = await to_thread.run_sync(layout_worksheet, sheet_title, questions, "A4")
    data = layout.to_dict()
    # The class teacher owns the sheet, so their scans (or their copier's) read it back.
    ws = WorksheetRow(class_id=cls.id, teacher_id=cls.teacher_id, title=sheet_title,
                      page_size="A4", page_count=len(data["pages"]), layout=data)
    repo.add(ws)
    await repo.flush()
    await repo.add_sheet_items(ws, book, student.id, rows)
    book.worksheet_id = ws.id
    await repo.flush()
    return book


async def _practice_sheet(repo: ErrorBookRepository, book: ErrorBookRow, student_id: int,
                          install: str, language: str = "zh") -> PracticeSheet | None:
    if book.worksheet_id is None:
        return None
    ws = await repo.worksheet(book.worksheet_id)
    if ws is None:
        return None
    items = await repo.sheet_items(ws.id)
    layout = WorksheetLayout.from_dict(ws.layout)
    entry_of = {q.external_id: p.entry_id for _, q, p in items}
    codes = []
    for page in layout.pages:
        on_page = sorted({e for r in page.regions if (e := entry_of.get(r.question_id))})
        codes.append(format_page_code(PageCode(ws.id, page.number, student_id, tuple(on_page),
                                               install=install,
                                               layout=page_layout_hash(page))))
    practice_items = []
    questions = [_QUESTION.validate_python(q.document) for _, q, _ in items]
    kp_codes = {c for q in questions for c in q.knowledge_points}
    names = await repo.knowledge_point_names(kp_codes)
    for position, ((_, _, p), question) in enumerate(zip(items, questions, strict=True),
                                                       start=1):
        # The key prints the reason in the school's language (the stored English one).
        reason = teacher_reason_text(p.reason_zh, names) if language == "zh" else p.reason_en
        practice_items.append(PracticeItem(number=position, question=question,
                                           answer_text=key_answer_text(question, language),
                                           entry_id=p.entry_id, reason_zh=reason))
    return PracticeSheet(layout=layout, page_codes=tuple(codes), items=tuple(practice_items))


async def _cards(session: AsyncSession, storage: LocalStorage, student_id: int,
                 entries: list[ErrorEntryRow], language: str = "zh") -> tuple[BookEntry, ...]:
    repo = ErrorBookRepository(session)
    qrows = await repo.questions([e.question_id for e in entries])
    answers = await _answers(repo, [e.response_id for e in entries])
    mastery = {code: (p, band) for code, p, band in await _mastery(session, student_id)}
    names = await repo.knowledge_point_names(
        {c for q in qrows.values() for c in q.document.get("knowledge_points", ())}, language)
    cards = []
    for number, e in enumerate(entries, start=1):
        q = qrows[e.question_id]
        question = _QUESTION.validate_python(q.document)
        text, crop_key, blank = answers.get(e.response_id, ("", None, False))
        crop = None
        # A blank's crop is its empty box: the card says 未作答 instead.
        if crop_key and not blank:
            try:
                crop = await to_thread.run_sync(storage.get_bytes, crop_key)
            except (StorageKeyError, OSError):
                crop = None  # the card then shows the text read
        kp = question.knowledge_points[0]
        p, band = mastery.get(kp, (None, None))
        cause_zh, cause_en = _cause_text(e.cause)
        wrong_at = e.wrong_at if e.wrong_at.tzinfo else e.wrong_at.replace(tzinfo=UTC)
        cards.append(BookEntry(
            entry_id=e.id, number=number, question=question, student_answer_text=text,
            answer_crop_png=crop, correct_answer=key_answer_text(question, language),
            explanation=question.explanation, cause_zh=cause_zh, cause_en=cause_en,
            kp_name_zh=names.get(kp, kp), mastery=p, band=band, wrong_on=wrong_at.date(),
            state=e.state, times_wrong=e.times_wrong, cause_code=e.cause or "",
            unanswered=blank))
    return tuple(cards)


def _cause_text(code: str | None) -> tuple[str, str]:
    try:
        return cause_labels(CauseCode(code)) if code else ("", "")
    except ValueError:
        return code or "", ""


async def _answers(repo: ErrorBookRepository, response_ids: list[int]
                   ) -> dict[int, tuple[str, str | None, bool]]:
    """What the student wrote (all blanks), the first blank's crop, and whether the answer
    was left blank, per answer."""
    primaries = await repo.responses(response_ids)
    wanted = {(p.page_id, p.question_id) for p in primaries}
    texts: dict[tuple[int, int], list[str]] = {}
    for page_id, question_id, text in await repo.blank_texts({p.page_id for p in primaries}):
        if (page_id, question_id) in wanted:
            texts.setdefault((page_id, question_id), []).append(text or "")
    out = {}
    for p in primaries:
        text = " | ".join(texts.get((p.page_id, p.question_id), [])).strip(" |")
        blank = not text and p.status == "blank"
        out[p.id] = ("未作答" if blank else text, p.crop_key, blank)
    return out


async def _mastery(session: AsyncSession, student_id: int
                   ) -> list[tuple[str, float, tuple[float, float]]]:
    out = []
    for srow, code in await LearnerRepository(session).states_with_codes(student_id):
        state = state_from_row(srow)
        out.append((code, state.p_mastery, state.band()))
    return out


async def _summary(session: AsyncSession, student_id: int, language: str = "zh"
                   ) -> BookSummary:
    states = [EntryState(s) for s in await ErrorBookRepository(session).entry_states(student_id)]
    weakest = await LearnerRepository(session).weakest(student_id, 3, language)
    return BookSummary(
        open_count=states.count(EntryState.OPEN),
        practising_count=states.count(EntryState.PRACTISING),
        resolved_count=states.count(EntryState.RESOLVED),
        resolution_rate=resolution_rate(states),
        weakest_kps=tuple(weakest))
