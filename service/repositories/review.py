"""Queries and writes of teacher review: answers to decide, grade overrides, page fixes.

A teacher's decision never edits a grade: it adds a new current grade row (``source`` =
``teacher``) and marks the earlier ones not current, so the trail stays whole. Every
override also writes an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import (
    GradeRow,
    PageRow,
    QuestionRow,
    ResponseRow,
    ScanUploadRow,
    StudentRow,
    WorksheetItemRow,
)
from service.errors import NotFound
from service.repositories.jobs import JobWorkRepository
from service.repositories.results import ItemInfo, ResultsRepository
from service.repositories.visibility import visible_uploads, visible_worksheets

__all__ = ["AnySelect", "ReviewRepository", "ReviewTarget"]

AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


@dataclass(frozen=True)
class ReviewTarget:
    """One question's answer on one page, as review decides it.

    Attributes:
        primary: the response of the lowest blank; it carries the question's grade.
        blanks: every blank's response, in blank order (``primary`` first).
        page: the page the answer is on.
        grade: the primary response's current grade, if any.
        item: the worksheet question with its frozen key revision.
    """

    primary: ResponseRow
    blanks: list[ResponseRow]
    page: PageRow
    grade: GradeRow | None
    item: ItemInfo


def _pending_answers(actor: Actor, worksheet_id: int | None) -> AnySelect:
    q: AnySelect = (
        select(ResponseRow, GradeRow, PageRow, WorksheetItemRow.position,
               QuestionRow.external_id)
        .join(GradeRow, GradeRow.response_id == ResponseRow.id)
        .join(PageRow, PageRow.id == ResponseRow.page_id)
        .join(QuestionRow, QuestionRow.id == ResponseRow.question_id)
        .join(WorksheetItemRow, and_(WorksheetItemRow.worksheet_id == ResponseRow.worksheet_id,
                                     WorksheetItemRow.question_id == ResponseRow.question_id))
        .where(GradeRow.is_current.is_(True), GradeRow.needs_review.is_(True),
               PageRow.status.notin_(("duplicate", "dismissed")),
               ResponseRow.worksheet_id.in_(visible_worksheets(actor))))
    if worksheet_id is not None:
        q = q.where(ResponseRow.worksheet_id == worksheet_id)
    return q.order_by(ResponseRow.worksheet_id, WorksheetItemRow.position, ResponseRow.id)


def _pages(actor: Actor, kind: str, worksheet_id: int | None) -> AnySelect:
    q = select(PageRow)
    if kind == "unknown_student":
        # A misaligned page with no student code also waits for a name.
        q = q.where(PageRow.student_id.is_(None),
                    PageRow.status.in_(("unknown_student", "misaligned")),
                    PageRow.worksheet_id.in_(visible_worksheets(actor)))
    elif kind == "duplicate":
        q = q.where(PageRow.status == "duplicate",
                    PageRow.worksheet_id.in_(visible_worksheets(actor)))
    else:  # unidentified: no worksheet to scope by, so the uploader's own uploads
        q = q.where(PageRow.status == "unidentified",
                    PageRow.upload_id.in_(visible_uploads(actor)))
        if worksheet_id is not None:
            related = select(PageRow.upload_id).where(PageRow.worksheet_id == worksheet_id)
            hinted = select(ScanUploadRow.id).where(ScanUploadRow.worksheet_hint_id == worksheet_id)
            q = q.where(or_(PageRow.upload_id.in_(related), PageRow.upload_id.in_(hinted)))
        return q.order_by(PageRow.upload_id, PageRow.page_index)
    if worksheet_id is not None:
        q = q.where(PageRow.worksheet_id == worksheet_id)
    return q.order_by(PageRow.upload_id, PageRow.page_index)


# The queue's statements depend only on the actor (a frozen value: its ids and role), the
# kind and the worksheet filter, and building them costs more than running the small ones:
# they are built once and reused (statements only; no data is kept).
@lru_cache(maxsize=512)
def _queue_query(actor: Actor, kind: str, worksheet_id: int | None) -> AnySelect:
    if kind == "response":
        return _pending_answers(actor, worksheet_id)
    return _pages(actor, kind, worksheet_id)


@lru_cache(maxsize=512)
def _counts_query(actor: Actor, kinds: tuple[str, ...], worksheet_id: int | None,
                  answers_of_all: bool) -> AnySelect:
    parts = []
    if answers_of_all or "response" in kinds:
        q = _queue_query(actor, "response", None if answers_of_all else worksheet_id)
        parts.append(q.order_by(None).with_only_columns(
            literal("response", String).label("kind"), ResponseRow.worksheet_id,
            func.count().label("n")).group_by(ResponseRow.worksheet_id))
    for kind in kinds:
        if kind != "response":
            q = _queue_query(actor, kind, worksheet_id).order_by(None)
            parts.append(q.with_only_columns(
                literal(kind, String).label("kind"), cast(null(), Integer),
                func.count().label("n")).select_from(PageRow))
    if len(parts) == 1:
        return parts[0]
    return union_all(*parts)  # type: ignore[return-value]


class ReviewRepository:
    """Review reads and writes for one actor.

    Args:
        session: the unit of work.
        actor: the caller; every lookup is limited to what the caller may see.
    """

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def target(self, response_id: int) -> ReviewTarget:
        """The answer a review decision is about, its rows locked for the update.

        Args:
            response_id: any blank's response of the question.

        Raises:
            NotFound: no such response, or one the actor may not see.
        """
        resp = (await self.session.execute(
            select(ResponseRow).where(ResponseRow.id == response_id,
                                      ResponseRow.worksheet_id.in_(
                                          visible_worksheets(self.actor)))
        )).scalar_one_or_none()
        if resp is None:
            raise NotFound(f"response {response_id} not found")
        # Locking the question's rows serialises two reviewers deciding the same answer.
        blanks = list((await self.session.execute(
            select(ResponseRow).where(ResponseRow.page_id == resp.page_id,
                                      ResponseRow.question_id == resp.question_id)
            .order_by(ResponseRow.blank).with_for_update()
        )).scalars())
        page = await self.session.get(PageRow, resp.page_id)
        assert page is not None  # foreign key
        primary = blanks[0]
        grade = (await self.session.execute(
            select(GradeRow).where(GradeRow.response_id == primary.id,
                                   GradeRow.is_current.is_(True))
            .order_by(GradeRow.id.desc()).limit(1)
        )).scalar_one_or_none()
        items = await ResultsRepository(self.session, self.actor).items(resp.worksheet_id)
        item = next(i for i in items if i.question_row_id == resp.question_id)
        return ReviewTarget(primary, blanks, page, grade, item)

    async def replace_grade(self, responses: list[ResponseRow], new: GradeRow) -> None:
        """Make ``new`` the current grade of a question's answer; earlier grades of any of
        its blanks stay, not current."""
        await self.session.execute(
            update(GradeRow)
            .where(GradeRow.response_id.in_([r.id for r in responses]),
                   GradeRow.is_current.is_(True))
            .values(is_current=False))
        self.session.add(new)
        await self.session.flush()

    async def students(self, ids: set[int]) -> dict[int, StudentRow]:
        """Students by id (no scoping: callers pass ids from rows already scoped)."""
        if not ids:
            return {}
        rows = await self.session.execute(select(StudentRow).where(StudentRow.id.in_(list(ids))))
        return {s.id: s for s in rows.scalars()}

    # ------------------------------------------------------------------ the queue

    def queue_query(self, kind: str, worksheet_id: int | None) -> AnySelect:
        """The ordered query of one kind of review item (see ``service.review.queue``)."""
        return _queue_query(self.actor, kind, worksheet_id)

    async def counts(self, kinds: tuple[str, ...], worksheet_id: int | None, *,
                     answers_of_all: bool = False) -> list[tuple[str, int | None, int]]:
        """How many items of each kind wait, in one statement: ``(kind, worksheet id,
        count)`` rows; answers are counted per worksheet (only worksheets with some),
        pages in one row per kind with no worksheet.

        Args:
            kinds: the kinds to count.
            worksheet_id: only this worksheet's items.
            answers_of_all: count answers of every worksheet, whatever ``kinds`` and
                ``worksheet_id`` say (the filtered count is then the worksheet's row).
        """
        if not kinds:
            return []
        rows = await self.session.execute(
            _counts_query(self.actor, kinds, worksheet_id, answers_of_all))
        return [(str(k), None if w is None else int(w), int(n)) for k, w, n in rows.all()]

    async def count(self, query: AnySelect) -> int:
        n = await self.session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery()))
        return int(n or 0)

    async def fetch(self, query: AnySelect, offset: int, limit: int) -> list[Any]:
        """One page of a queue query's rows."""
        rows = await self.session.execute(query.offset(offset).limit(limit))
        return list(rows.all())

    async def siblings(self, answers: list[ResponseRow]) -> dict[tuple[int, int], list[ResponseRow]]:
        """Every blank's response of the given answers' questions, by (page, question)."""
        if not answers:
            return {}
        pages = {r.page_id for r in answers}
        questions = {r.question_id for r in answers}
        rows = await self.session.execute(
            select(ResponseRow).where(ResponseRow.page_id.in_(list(pages)),
                                      ResponseRow.question_id.in_(list(questions)))
            .order_by(ResponseRow.blank))
        out: dict[tuple[int, int], list[ResponseRow]] = {}
        for r in rows.scalars():
            out.setdefault((r.page_id, r.question_id), []).append(r)
        return out

    # ------------------------------------------------------------------ pages

    async def page(self, page_id: int) -> tuple[PageRow, ScanUploadRow]:
        """A page and its upload, if the actor may see either its worksheet or its upload.

        Raises:
            NotFound: no such page, or another teacher's.
        """
        row = (await self.session.execute(
            select(PageRow, ScanUploadRow).join(ScanUploadRow, ScanUploadRow.id == PageRow.upload_id)
            .where(PageRow.id == page_id,
                   or_(PageRow.worksheet_id.in_(visible_worksheets(self.actor)),
                       PageRow.upload_id.in_(visible_uploads(self.actor))))
        )).first()
        if row is None:
            raise NotFound(f"page {page_id} not found")
        return row[0], row[1]

    async def roster_student(self, class_id: int, student_id: int) -> StudentRow | None:
        """The student, if on the class's roster."""
        row = (await self.session.execute(
            select(StudentRow).where(StudentRow.id == student_id, StudentRow.class_id == class_id)
        )).scalar_one_or_none()
        return row

    async def live_page_of(self, worksheet_id: int, page_no: int, student_id: int,
                           exclude: int) -> PageRow | None:
        """Another live page holding this student's copy of this worksheet page."""
        row = (await self.session.execute(
            select(PageRow).where(PageRow.worksheet_id == worksheet_id,
                                  PageRow.page_no == page_no, PageRow.student_id == student_id,
                                  PageRow.status.in_(("graded", "misaligned")),
                                  PageRow.id != exclude)
            .order_by(PageRow.id).limit(1)
        )).scalar_one_or_none()
        return row

    async def primary_responses(self, page_ids: list[int]) -> list[int]:
        """The graded responses (first blank of each answer) on these pages."""
        return await JobWorkRepository(self.session).primary_responses(page_ids)

    async def flush(self) -> None:
        """Write pending changes to rows this repository handed out (no commit)."""
        await self.session.flush()

    async def set_page_student(self, page: PageRow, student_id: int | None) -> None:
        """Name the page's student, on the page and on every response read from it."""
        await JobWorkRepository(self.session).set_page_student(page, student_id)
