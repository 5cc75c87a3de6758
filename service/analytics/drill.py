"""The answers behind a figure (``/api/v1/analytics/answers``, ``/analytics/answers``).

Every analytics figure links here with the filters that select exactly the answers it was
computed from. Filters (all optional, at least one scope among ``class_id``,
``worksheet_id``, ``student_id``, ``students``):

=============  =====================================================================
``class_id``   answers of the class's students
``worksheet_id``  answers on the worksheet
``student_id`` / ``students``  one student / a comma-separated set
``question``   the question's bank id
``kp``         a knowledge point code: answers its mastery events came from
``week``       ISO week (``2026-W47``) the answer was scanned in (with ``kp``: the week
               its mastery event counts in)
``answer``     the answer as read (multi-blank answers joined with `` | ``)
``verdict``    ``correct``, ``incorrect``, ``partially_correct``, ``blank``; ``wrong``
               (decided, not fully right), ``decided``, ``pending``
``entries``    answers kept in the error book: ``any``, ``open`` (not resolved),
               ``resolved``; ``entry_id`` one entry
=============  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.analytics.figures import iso_week
from service.bounds import MAX_ID
from service.errors import InvalidInput, NotFound
from service.repositories.analytics import AnalyticsRepository, AnswerFilter, DrillRow
from service.repositories.mastery import MasteryRepository
from service.repositories.results import ResultsRepository
from service.results import cause_out, crop_url
from service.schemas.analytics import AnswersOut, DrillAnswerOut
from service.schemas.results import StudentRef

__all__ = ["VERDICTS", "DrillQuery", "answers_of", "load_answers"]

VERDICTS = ("correct", "incorrect", "partially_correct", "blank", "wrong", "decided",
            "pending")
ENTRY_STATES = ("any", "open", "resolved")
_WEEK = re.compile(r"^\d{4}-W\d{2}$")
_WRONG = ("incorrect", "partially_correct", "blank")
MAX_STUDENTS = 200


@dataclass(frozen=True)
class DrillQuery:
    """The drill-down's filters as received (see the module docstring)."""

    class_id: int | None = None
    worksheet_id: int | None = None
    student_id: int | None = None
    students: str | None = None
    question: str | None = None
    kp: str | None = None
    week: str | None = None
    answer: str | None = None
    verdict: str | None = None
    entries: str | None = None
    entry_id: int | None = None

    def filters(self) -> dict[str, str]:
        """The filters given, as text (what the page and the document echo)."""
        return {k: str(v) for k, v in self.__dict__.items() if v is not None}


def _student_set(text: str) -> frozenset[int]:
    try:
        ids = frozenset(int(p) for p in text.split(",") if p.strip())
    except ValueError as exc:
        raise InvalidInput("students is a comma-separated list of student ids",
                           error="invalid_filter") from exc
    if any(not 0 < i <= MAX_ID for i in ids):
        raise InvalidInput(f"student ids are between 1 and {MAX_ID}", error="invalid_filter")
    if len(ids) > MAX_STUDENTS:
        raise InvalidInput(f"at most {MAX_STUDENTS} students", error="invalid_filter")
    return ids


def _check(q: DrillQuery) -> None:
    if all(v is None for v in (q.class_id, q.worksheet_id, q.student_id, q.students)):
        raise InvalidInput("give class_id, worksheet_id, student_id or students",
                           error="filter_required")
    if q.verdict is not None and q.verdict not in VERDICTS:
        raise InvalidInput(f"verdict is one of {', '.join(VERDICTS)}", error="invalid_filter")
    if q.entries is not None and q.entries not in ENTRY_STATES:
        raise InvalidInput(f"entries is one of {', '.join(ENTRY_STATES)}",
                           error="invalid_filter")
    if q.week is not None and not _WEEK.match(q.week):
        raise InvalidInput("week is an ISO week such as 2026-W47", error="invalid_filter")


def _status(r: DrillRow) -> str:
    g = r.grade
    if g is None:
        return "ungraded"
    return "needs_review" if g.needs_review or g.verdict == "needs_review" else "graded"


def _keep(verdict: str | None, status: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted == "pending":
        return status != "graded"
    if status != "graded":
        return False
    if wanted == "decided":
        return True
    if wanted == "wrong":
        return verdict in _WRONG
    return verdict == wanted


def answers_of(rows: Sequence[DrillRow], q: DrillQuery) -> list[DrillAnswerOut]:
    """Rows grouped into answers (one per student and question; blanks joined), then
    narrowed by the week, answer and verdict filters."""
    groups: dict[tuple[int, int], list[DrillRow]] = {}
    for r in rows:
        groups.setdefault((r.response.page_id, r.response.question_id), []).append(r)
    out = []
    for parts in groups.values():
        first = parts[0]
        texts = [p.response.text for p in parts]
        answer = texts[0] if len(texts) == 1 else " | ".join(t or "" for t in texts)
        status = _status(first)
        g = first.grade
        verdict = g.verdict if g is not None and status == "graded" else None
        if q.week is not None and iso_week(first.kp_at or first.scanned_at) != q.week:
            continue
        if q.answer is not None and (answer or "").strip() != q.answer.strip():
            continue
        if not _keep(verdict, status, q.verdict):
            continue
        crop = next((p.response.id for p in parts if p.response.crop_key), None)
        out.append(DrillAnswerOut(
            response_id=first.response.id, worksheet_id=first.worksheet_id,
            worksheet_title=first.worksheet_title, question_id=first.question_id,
            student=StudentRef(id=first.student_id, student_no=first.student_no,
                               name=first.student_name),
            answer=answer, status=status, verdict=verdict,
            score=g.score if g is not None and status == "graded" else None,
            max_score=g.max_score if g is not None else None,
            cause=cause_out(g.cause) if g is not None else None,
            scanned_at=first.scanned_at, crop_url=crop_url(crop) if crop else None,
            review=f"/review/responses/{first.response.id}"))
    return out


async def load_answers(session: AsyncSession, actor: Actor, q: DrillQuery) -> AnswersOut:
    """The answers matching the filters, among those the actor may see.

    Raises:
        InvalidInput: ``filter_required`` without a scope; ``invalid_filter`` for a bad
            value.
        NotFound: a class, worksheet or student the actor may not see (or a device).
    """
    _check(q)
    if actor.is_device:
        raise NotFound("no analytics for a device key")
    # The scopes named must be the caller's (404 otherwise, as everywhere); the query
    # itself only ever reads worksheets the caller may see.
    mrepo = MasteryRepository(session, actor)
    if q.class_id is not None:
        await mrepo.school_class(q.class_id)
    if q.worksheet_id is not None:
        await ResultsRepository(session, actor).worksheet(q.worksheet_id)
    if q.student_id is not None:
        await mrepo.student(q.student_id)
    students = _student_set(q.students) if q.students else None
    repo = AnalyticsRepository(session, actor)
    f = AnswerFilter(class_id=q.class_id, worksheet_id=q.worksheet_id,
                     student_id=q.student_id, student_ids=students, question=q.question,
                     kp=q.kp, entries="any" if q.entry_id is not None and q.entries is None
                     else q.entries, entry_id=q.entry_id)
    answers = answers_of(await repo.drill(f), q)
    if q.entry_id is not None and not answers:
        raise NotFound(f"error-book entry {q.entry_id} not found")
    return AnswersOut(filters=q.filters(), count=len(answers), answers=answers)
