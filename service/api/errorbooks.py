"""Printed error books (错题本): one student's, or a class set in one file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response

from errorbook.printing.book.model import BookOptions, ClassCover
from errorbook.printing.book.pdf import render_answer_key, render_class_books, render_student_book
from service.api.deps import ActorDep, SessionDep, SettingsDep
from service.errors import NotFound
from service.mastery.books import build_book
from service.repositories import audit
from service.repositories.mastery import MasteryRepository

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["error books"])

KeyPlacement = Annotated[Literal["end", "none"], Query(
    description="answer key on a separate page at the end of each book, or left out "
                "(print the teacher copy separately)")]


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/students/{student_id}/errorbook")
async def student_errorbook_json(student_id: int, request: Request, session: SessionDep,
                                 actor: ActorDep, settings: SettingsDep) -> dict[str, Any]:
    """The student's current error book as data: the entries it reviews and its practice
    sheet (worksheet id, each item's question with its key, the entry it practises and
    why it was chosen). Builds the book exactly as the PDF does (and reuses it)."""
    repo = MasteryRepository(session, actor)
    student, cls = await repo.student(student_id)
    built = await build_book(session, request.app.state.storage, student, cls,
                             settings.mastery, created_by=actor.teacher_id)
    book = built.book
    practice = book.practice.items if book.practice else ()
    return {
        "errorbook_id": built.errorbook_id, "worksheet_id": built.worksheet_id,
        "reused": built.reused, "title": book.title,
        "summary": {"open": book.summary.open_count,
                    "practising": book.summary.practising_count,
                    "resolved": book.summary.resolved_count,
                    "resolution_rate": book.summary.resolution_rate},
        "entries": [{"entry_id": e.entry_id, "number": e.number, "question_id": e.question.id,
                     "stem": e.question.stem, "student_answer": e.student_answer_text,
                     "correct_answer": e.correct_answer, "cause_zh": e.cause_zh,
                     "knowledge_point": e.kp_name_zh, "mastery": e.mastery, "state": e.state}
                    for e in book.entries],
        "practice": [{"number": i.number, "question": i.question.model_dump(mode="json"),
                      "answer": i.answer_text, "entry_id": i.entry_id,
                      "reason_zh": i.reason_zh} for i in practice],
    }


@router.get("/students/{student_id}/errorbook.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def student_errorbook(student_id: int, request: Request, session: SessionDep,
                            actor: ActorDep, settings: SettingsDep,
                            answer_key: KeyPlacement = "end") -> Response:
    """The student's error book: each open entry (question, the student's own answer cut
    from the scan, the right answer, explanation, error cause, knowledge point and mastery),
    then a practice sheet of similar and variant questions with answer boxes, markers and a
    QR per page, so the redone sheet scans back through normal ingestion and updates
    mastery and resolution. An unchanged set of entries reprints the same sheet."""
    repo = MasteryRepository(session, actor)
    student, cls = await repo.student(student_id)
    built = await build_book(session, request.app.state.storage, student, cls,
                             settings.mastery, created_by=actor.teacher_id)
    options = BookOptions(answer_key=answer_key)
    data = await to_thread.run_sync(lambda: render_student_book(built.book, options=options))
    await audit.record(session, actor, "errorbook.export", "student", student.id,
                       detail={"errorbook_id": built.errorbook_id,
                               "worksheet_id": built.worksheet_id, "reused": built.reused})
    return _pdf(data, f"errorbook-{student.student_no}.pdf")


@router.get("/classes/{class_id}/errorbooks.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def class_errorbooks(class_id: int, request: Request, session: SessionDep,
                           actor: ActorDep, settings: SettingsDep,
                           answer_key: KeyPlacement = "end") -> Response:
    """Every student's error book in one file: a cover sheet with the class summary, then
    a section per student, each starting on a right-hand page (duplex-safe)."""
    repo = MasteryRepository(session, actor)
    cls, students = await repo.school_class(class_id)
    books = []
    for student in students:
        built = await build_book(session, request.app.state.storage, student, cls,
                                 settings.mastery, created_by=actor.teacher_id)
        books.append(built.book)
    cover = ClassCover(title=f"{cls.name} · 错题本")
    options = BookOptions(answer_key=answer_key)
    data = await to_thread.run_sync(
        lambda: render_class_books(books, class_name=cls.name, cover=cover, options=options))
    await audit.record(session, actor, "errorbook.export", "class", cls.id,
                       detail={"students": len(books)})
    return _pdf(data, f"class-{cls.id}-errorbooks.pdf")


@router.get("/classes/{class_id}/errorbooks-key.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def class_errorbooks_key(class_id: int, request: Request, session: SessionDep,
                               actor: ActorDep, settings: SettingsDep) -> Response:
    """The teacher's copy: every student's practice answers with why each item was
    chosen (print books with ``answer_key=none`` and keep this one)."""
    repo = MasteryRepository(session, actor)
    cls, students = await repo.school_class(class_id)
    books = [(await build_book(session, request.app.state.storage, s, cls, settings.mastery,
                               created_by=actor.teacher_id)).book for s in students]
    if not any(b.practice for b in books):
        raise NotFound("no student of this class has practice to key: nothing is open in "
                       "their error books / 本班学生暂无需要订正的错题", error="no_practice")
    data = await to_thread.run_sync(lambda: render_answer_key(books, class_name=cls.name))
    await audit.record(session, actor, "errorbook.export", "class", cls.id,
                       detail={"students": len(books), "answer_key": True})
    return _pdf(data, f"class-{cls.id}-errorbooks-key.pdf")
