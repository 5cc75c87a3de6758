"""What the review pages show, read through the same service functions as the review API
(``review_queue``, ``list_groups``, ``get_class``...), so the same policy scopes them.

The queue page shows one item at a time: ``at`` is the item's offset in the queue (the
API's ``offset``), and only that item and the few after it are fetched, so a queue of a
thousand answers costs the same as one of ten.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.printing.key_text import key_answer_text
from grading.questions import Question
from service.actor import Actor
from service.classes import get_class
from service.db import PageRow, ResponseRow
from service.errors import NotFound
from service.review.decisions import list_groups, proposed_grade
from service.review.queue import (
    KINDS,
    review_answer,
    review_queue_page,
    worksheet_item,
    worksheet_items,
)
from service.schemas.common import StudentOut
from service.schemas.results import GroupsOut, ReviewItemOut, ReviewKind
from service.worksheets import WorksheetReviewCount, get_worksheet

__all__ = ["UPCOMING", "AnswerDetail", "GroupsView", "Nav", "PageDetail", "QueueView",
           "answer_view", "crop_page_url", "groups_view", "page_image_page_url", "queue_view",
           "verdict_score"]

UPCOMING = 8  # items listed after the current one
_QUESTION: TypeAdapter[Any] = TypeAdapter(Question)
_CROP = re.compile(r"^/api/v1/responses/(\d+)/crop\.png$")
# The verdicts the keys 1, 2, 3 set, with the share of the question's marks each earns.
_SHARES = {"correct": 1.0, "partially_correct": 0.5, "incorrect": 0.0}


def verdict_score(verdict: str, max_score: float) -> float:
    """The score a teacher's right / half / wrong earns on a question of ``max_score``."""
    return max_score * _SHARES[verdict]


def crop_page_url(response_id: int) -> str:
    """The page route of an answer's crop (session auth; the API's is bearer-only)."""
    return f"/review/responses/{response_id}/crop.png"


def page_image_page_url(page_id: int) -> str:
    """The page route of a scanned page's image."""
    return f"/review/pages/{page_id}/image.png"


def _page_crops(item: ReviewItemOut) -> list[str]:
    out = []
    for url in item.crop_urls:
        found = _CROP.match(url)
        if found:
            out.append(crop_page_url(int(found.group(1))))
    return out


@dataclass(frozen=True)
class Nav:
    """Where the teacher is in the queue: its filters and the current item's offset."""

    worksheet_id: int | None = None
    kind: ReviewKind | None = None
    at: int = 0

    def query(self, **changes: Any) -> str:
        """The query string of this position with ``changes`` (``at``, ``done``...)."""
        values: dict[str, Any] = {"worksheet_id": self.worksheet_id, "kind": self.kind,
                                  "at": self.at or None}
        values.update(changes)
        pairs = [(k, v) for k, v in values.items() if v is not None and v != ""]
        return urlencode(pairs)

    def url(self, **changes: Any) -> str:
        """The queue page at this position (with ``changes``)."""
        query = self.query(**changes)
        return f"/review?{query}" if query else "/review"

    def fields(self) -> list[tuple[str, str]]:
        """The hidden form fields that bring a decision back to this position."""
        pairs = [("worksheet_id", self.worksheet_id), ("kind", self.kind), ("at", self.at)]
        return [(k, str(v)) for k, v in pairs if v is not None]


@dataclass(frozen=True)
class AnswerDetail:
    """An answer's question and key, what confirming would decide, its crops.

    Attributes:
        stem: the question as printed.
        options: choice options as ``(label, text)``.
        key: the right answer as a teacher writes it.
        kind: the question kind.
        proposed: ``(verdict, score)`` that Enter (confirm) gives, or None when there is
            nothing to confirm (then Enter opens the reading field).
        crops: page URLs of the answer's crops, one per blank that has one.
        blanks: the per-blank readings (the correction form has one field each).
        alternatives: the other readings with their confidence.
    """

    stem: str
    options: list[tuple[str, str]]
    key: str
    kind: str
    proposed: tuple[str, float] | None
    crops: list[str]
    blanks: list[str]
    alternatives: list[tuple[str, float | None]]


@dataclass(frozen=True)
class PageDetail:
    """A scanned page waiting for a student (or explained): its image and roster.

    Attributes:
        read_as: the handwritten student number as read ("" when none was).
        candidates: the likeliest students from the handwriting, with their probability,
            best first; the first is preselected, so Enter confirms it.
        conflict: the number and the name (or seat) point to different students.
    """

    image: str
    roster: list[StudentOut] = field(default_factory=list)
    worksheet_title: str | None = None
    read_as: str = ""
    candidates: list[tuple[StudentOut, float]] = field(default_factory=list)
    conflict: bool = False


@dataclass(frozen=True)
class QueueView:
    """The queue page: one item, the next few, counts and the worksheets with work.

    Attributes:
        nav: the position (``nav.at`` may have been moved back inside the queue).
        total: items left (with the filters).
        counts: items left per kind.
        item: the current item, None when the queue is empty.
        answer: the details of an answer item.
        page: the details of a page item.
        upcoming: ``(offset, item)`` of the items after the current one.
        worksheets: worksheets with answers waiting, newest first.
        titles: worksheet id -> ``(title, class name)``.
        prefetch: the next answer's crops, fetched ahead so the next item shows at once.
    """

    nav: Nav
    total: int
    counts: dict[str, int]
    item: ReviewItemOut | None
    answer: AnswerDetail | None
    page: PageDetail | None
    upcoming: list[tuple[int, ReviewItemOut]]
    worksheets: list[WorksheetReviewCount]
    titles: dict[int, tuple[str, str]]
    prefetch: list[str] = field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        return self.item is not None and self.nav.at > 0

    @property
    def has_next(self) -> bool:
        return self.item is not None and self.nav.at + 1 < self.total


def _alternatives(item: ReviewItemOut) -> list[tuple[str, float | None]]:
    out = []
    for alt in item.reading.alternatives if item.reading else []:
        text = alt.get("text")
        blanks = alt.get("blanks")
        if text is None and isinstance(blanks, list):
            text = " | ".join(str(b) for b in blanks)
        conf = alt.get("confidence", alt.get("probability"))
        out.append((str(text or ""), float(conf) if isinstance(conf, int | float) else None))
    return out


async def _answer_detail(session: AsyncSession, actor: Actor, item: ReviewItemOut,
                         rows: list[ResponseRow] | None = None) -> AnswerDetail:
    assert item.response_id is not None
    assert item.worksheet_id is not None
    assert item.question_id is not None
    info = await worksheet_item(session, actor, item.worksheet_id, item.question_id)
    stem, key, kind, options = "", "", "", []
    if info is not None:
        kind = info.kind
        try:
            question = _QUESTION.validate_python(info.document)
            key = key_answer_text(question)
            stem = question.stem
            options = [(o.label, o.text) for o in getattr(question, "options", [])]
        except ValidationError:  # an old document that no longer validates: show its stem
            stem = str(info.document.get("stem", ""))
    proposed = await proposed_grade(session, actor, item.response_id,
                                    [info] if info is not None else [], rows)
    reading = item.reading
    blanks = [b or "" for b in reading.blanks] if reading else [""]
    return AnswerDetail(stem=stem, options=options, key=key, kind=kind, proposed=proposed,
                        crops=_page_crops(item), blanks=blanks or [""],
                        alternatives=_alternatives(item))


async def _page_detail(session: AsyncSession, actor: Actor, item: ReviewItemOut) -> PageDetail:
    image = page_image_page_url(item.page_id)
    if item.kind != "unknown_student" or item.worksheet_id is None:
        return PageDetail(image)
    worksheet = await get_worksheet(session, actor, item.worksheet_id)
    roster = (await get_class(session, actor, worksheet.class_id)).students
    row = await session.get(PageRow, item.page_id)  # visible: the queue listed it
    evidence = (row.student_evidence if row is not None else None) or {}
    by_id = {s.id: s for s in roster}
    candidates = [(by_id[int(c["student_id"])], float(c["p"]))
                  for c in evidence.get("candidates", []) if int(c["student_id"]) in by_id]
    return PageDetail(image, roster, worksheet.title, str(evidence.get("number", "")),
                      candidates, bool(evidence.get("conflict")))


async def queue_view(session: AsyncSession, actor: Actor, nav: Nav) -> QueueView:
    """The queue page at ``nav``.

    Raises:
        NotFound: a worksheet filter naming an unknown or invisible worksheet.
    """
    found = await review_queue_page(session, actor, worksheet_id=nav.worksheet_id,
                                    kind=nav.kind, limit=UPCOMING + 1, offset=nav.at)
    if not found.queue.items and found.queue.total and nav.at >= found.queue.total:
        # Past the end (the last items were just decided): show the last one left.
        nav = Nav(nav.worksheet_id, nav.kind, found.queue.total - 1)
        found = await review_queue_page(session, actor, worksheet_id=nav.worksheet_id,
                                        kind=nav.kind, limit=UPCOMING + 1, offset=nav.at)
    queue, worksheets = found.queue, found.worksheets
    titles = {w.worksheet_id: (w.title, w.class_name) for w in worksheets}
    item = queue.items[0] if queue.items else None
    answer = page = None
    if item is not None and item.kind == "response":
        answer = await _answer_detail(session, actor, item,
                                      found.blanks.get(item.response_id or 0))
    elif item is not None:
        page = await _page_detail(session, actor, item)
    upcoming = [(nav.at + i, it) for i, it in enumerate(queue.items[1:], start=1)]
    # Deciding this item brings the next one to the same place: its crops are next.
    prefetch = _page_crops(upcoming[0][1]) if upcoming else []
    return QueueView(nav=nav, total=queue.total, counts=queue.counts, item=item,
                     answer=answer, page=page, upcoming=upcoming, worksheets=worksheets,
                     titles=titles, prefetch=prefetch)


async def answer_view(session: AsyncSession, actor: Actor, response_id: int
                      ) -> tuple[ReviewItemOut, AnswerDetail, dict[int, tuple[str, str]]]:
    """One answer, decided or not (to reopen a decision), with its details.

    Raises:
        NotFound: an unknown, ungraded or invisible answer.
    """
    item = await review_answer(session, actor, response_id)
    detail = await _answer_detail(session, actor, item)
    titles: dict[int, tuple[str, str]] = {}
    if item.worksheet_id is not None:
        worksheet = await get_worksheet(session, actor, item.worksheet_id)
        titles[worksheet.id] = (worksheet.title, "")
    return item, detail, titles


@dataclass(frozen=True)
class GroupsView:
    """The answer groups of one question, with the worksheet's questions to move between."""

    groups: GroupsOut
    worksheet_title: str
    questions: list[tuple[str, int]]  # (bank id, position)
    stem: str
    key: str


async def groups_view(session: AsyncSession, actor: Actor, worksheet_id: int,
                      question_id: str) -> GroupsView:
    """The groups page of one worksheet question.

    Raises:
        NotFound: an unknown or invisible worksheet, or a question not on it.
    """
    groups = await list_groups(session, actor, worksheet_id, question_id)
    worksheet = await get_worksheet(session, actor, worksheet_id)
    items = await worksheet_items(session, actor, worksheet_id)
    info = next((i for i in items if i.external_id == question_id), None)
    if info is None:  # list_groups found it; kept for the type checker
        raise NotFound(f"question '{question_id}' is not on worksheet {worksheet_id}")
    stem, key = str(info.document.get("stem", "")), ""
    with contextlib.suppress(ValidationError):
        key = key_answer_text(_QUESTION.validate_python(info.document))
    return GroupsView(groups=groups, worksheet_title=worksheet.title,
                      questions=[(i.external_id, i.position) for i in items], stem=stem,
                      key=key)


def kinds() -> tuple[ReviewKind, ...]:
    """The queue's kinds, in queue order."""
    return KINDS
