"""Printed error books (错题本) for the API: one student's book as data or PDF, a class set
in one PDF, and the teacher's answer key. Each export is recorded in the audit log; PDF
rendering runs in a worker thread.

Routers in :mod:`service.api.errorbooks` call these and only wrap the bytes in a response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.printing.book.model import BookOptions, ClassCover
from errorbook.printing.book.pdf import render_answer_key, render_class_books, render_student_book
from service.actor import Actor
from service.config import MasterySettings
from service.errors import NotFound
from service.mastery.books import build_book
from service.repositories import audit
from service.repositories.mastery import MasteryRepository
from service.schemas.errorbooks import (
    ErrorBookEntryOut,
    ErrorBookOut,
    ErrorBookSummaryOut,
    PracticeItemOut,
)
from service.storage import LocalStorage

__all__ = ["class_books_pdf", "class_key_pdf", "student_book_data", "student_book_pdf"]

KeyPlacement = Literal["end", "none"]


async def student_book_data(session: AsyncSession, actor: Actor, storage: LocalStorage,
                            student_id: int, settings: MasterySettings) -> ErrorBookOut:
    """The student's current book as data (built exactly as the PDF is, and reused)."""
    student, cls = await MasteryRepository(session, actor).student(student_id)
    built = await build_book(session, storage, student, cls, settings,
                             created_by=actor.teacher_id)
    book = built.book
    practice = book.practice.items if book.practice else ()
    return ErrorBookOut(
        errorbook_id=built.errorbook_id, worksheet_id=built.worksheet_id,
        reused=built.reused, title=book.title,
        summary=ErrorBookSummaryOut(open=book.summary.open_count,
                                    practising=book.summary.practising_count,
                                    resolved=book.summary.resolved_count,
                                    resolution_rate=book.summary.resolution_rate),
        entries=[ErrorBookEntryOut(
            entry_id=e.entry_id, number=e.number, question_id=e.question.id,
            stem=e.question.stem, student_answer=e.student_answer_text,
            correct_answer=e.correct_answer, cause_zh=e.cause_zh,
            knowledge_point=e.kp_name_zh, mastery=e.mastery, state=e.state)
            for e in book.entries],
        practice=[PracticeItemOut(
            number=i.number, question=i.question.model_dump(mode="json"),
            answer=i.answer_text, entry_id=i.entry_id, reason_zh=i.reason_zh)
            for i in practice],
    )


async def student_book_pdf(session: AsyncSession, actor: Actor, storage: LocalStorage,
                           student_id: int, settings: MasterySettings,
                           answer_key: KeyPlacement, *, duplex: bool = True,
                           language: str = "zh") -> tuple[bytes, str]:
    """The student's book as a PDF, and its file name (``duplex``: padded for two-sided
    printing, see :class:`errorbook.printing.book.model.BookOptions`; ``language``: the
    school's, ``Settings.school_language``)."""
    student, cls = await MasteryRepository(session, actor).student(student_id)
    built = await build_book(session, storage, student, cls, settings,
                             created_by=actor.teacher_id, language=language)
    options = BookOptions(answer_key=answer_key, duplex=duplex, language=language)
    data = await to_thread.run_sync(lambda: render_student_book(built.book, options=options))
    await audit.record(session, actor, "errorbook.export", "student", student.id,
                       detail={"errorbook_id": built.errorbook_id,
                               "worksheet_id": built.worksheet_id, "reused": built.reused})
    return data, f"errorbook-{student.student_no}.pdf"


async def class_books_pdf(session: AsyncSession, actor: Actor, storage: LocalStorage,
                          class_id: int, settings: MasterySettings,
                          answer_key: KeyPlacement,
                          progress: Callable[[int, int], None] | None = None,
                          checkpoint: Callable[[], Awaitable[None]] | None = None,
                          duplex: bool = True, language: str = "zh",
                          ) -> tuple[bytes, str]:
    """Every student's book in one PDF behind a class cover, and its file name.

    ``duplex`` (the default) pads the cover and every book to whole sheets, so each book
    starts on a front page of a two-sided print; without it no page is padded (a class
    printed one-sided gets no blank pages).

    ``progress(done, total)``, if given, is called once the roster is known and after each
    student's book is built (the web page's background build shows it); rendering the
    PDF follows the last call. ``checkpoint()``, if given, is awaited after each student's
    book is stored: the background build commits there, so building a whole class never
    holds the database's write lock for long (on SQLite, grading waits for it). A request
    keeps one unit of work and passes none.

    Raises:
        NotFound: ``no_students`` for a class without a roster yet.
    """
    cls, students = await MasteryRepository(session, actor).school_class(class_id)
    if not students:
        raise NotFound("this class has no students yet: add the roster first / "
                       "本班还没有学生名单", error="no_students")
    books = []
    if progress is not None:
        progress(0, len(students))
    for n, student in enumerate(students, start=1):
        built = await build_book(session, storage, student, cls, settings,
                                 created_by=actor.teacher_id, language=language)
        books.append(built.book)
        if checkpoint is not None:
            await checkpoint()
        if progress is not None:
            progress(n, len(students))
    options = BookOptions(answer_key=answer_key, duplex=duplex, language=language)
    cover = ClassCover()  # titled "<class> · 错题本" in the school's language
    data = await to_thread.run_sync(
        lambda: render_class_books(books, class_name=cls.name, cover=cover, options=options))
    await audit.record(session, actor, "errorbook.export", "class", cls.id,
                       detail={"students": len(books), "duplex": duplex})
    return data, f"class-{cls.id}-errorbooks.pdf"


async def class_key_pdf(session: AsyncSession, actor: Actor, storage: LocalStorage,
                        class_id: int, settings: MasterySettings, *, language: str = "zh"
                        ) -> tuple[bytes, str]:
    """The teacher's answer key for the class's books, and its file name.

    Raises:
        NotFound: ``no_practice`` when no student has anything to practise.
    """
    cls, students = await MasteryRepository(session, actor).school_class(class_id)
    books = [(await build_book(session, storage, s, cls, settings,
                               created_by=actor.teacher_id, language=language)).book
             for s in students]
    if not any(b.practice for b in books):
        raise NotFound("no student of this class has practice to key: nothing is open in "
                       "their error books / 本班学生暂无需要订正的错题", error="no_practice")
    options = BookOptions(language=language)
    data = await to_thread.run_sync(
        lambda: render_answer_key(books, class_name=cls.name, options=options))
    await audit.record(session, actor, "errorbook.export", "class", cls.id,
                       detail={"students": len(books), "answer_key": True})
    return data, f"class-{cls.id}-errorbooks-key.pdf"
