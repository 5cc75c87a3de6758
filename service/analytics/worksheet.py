"""One worksheet's analysis: score distribution, per-question facility and discrimination,
distractors of choice questions, the most common wrong answers with their error causes, and
who handed in.

It is computed from the results document (:func:`service.results.load_results`), so it
follows the results' rules: only decided answers count, an answer waiting for review is
never a zero, and a student's total counts in the distribution only once every answer is
decided.

Definitions (``docs/analytics.md``):

- *facility* = answers fully right / decided answers; *score rate* = points earned /
  points possible over the decided answers.
- *discrimination* is the upper-lower index: students who handed in are ranked by their
  score rate on the worksheet (decided points / decided full marks); the top and bottom
  27 % (at least one student each, none under 4 ranked students) form the groups; the index
  is the upper group's mean credit on the question minus the lower group's (credit =
  score / full marks of the answer), from -1 to 1. Under 0.2 a question separates poorly.
- *distractor analysis* counts each option marked among decided answers, overall and in
  the two groups, with the bank's note on the misconception each distractor shows.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.analytics.links import answers_url, id_set
from service.errors import NotFound
from service.repositories.analytics import AnalyticsRepository
from service.repositories.results import ItemInfo
from service.results import cause_out
from service.results_pages import ResultsState, page_results, results_state
from service.schemas.analytics import (
    BinOut,
    CauseCountOut,
    ChoiceOut,
    DistributionOut,
    QuestionStatsOut,
    SubmissionOut,
    WorksheetAnalyticsOut,
    WrongAnswerStatsOut,
)
from service.schemas.results import QuestionCellOut, ResultsOut, StudentRef

__all__ = ["GROUP_SHARE", "MIN_RANKED", "Mark", "WorksheetBasis", "analytics_of",
           "discrimination", "groups", "load_worksheet_analytics", "worksheet_analytics",
           "worksheet_basis"]

GROUP_SHARE = 0.27  # Kelley's 27 %: the usual split for the upper-lower index
MIN_RANKED = 4
WRONG_LIMIT = 5
_WRONG = ("incorrect", "partially_correct", "blank")


@dataclass(frozen=True)
class Mark:
    """One decided answer: whose, the credit (0..1), what was written."""

    student_id: int
    credit: float
    verdict: str
    answer: str
    cause: str | None


def _r(value: float) -> float:
    return round(value + 0.0, 4)


def groups(rates: Mapping[int, float], student_no: Mapping[int, str]
           ) -> tuple[list[int], list[int]]:
    """The upper and lower 27 % of the ranked students (empty under ``MIN_RANKED``).

    Args:
        rates: student id -> score rate on the worksheet.
        student_no: student id -> student number (ties are broken by it, then by id, so
            the split is the same on every run).

    Returns:
        (upper, lower) student ids.
    """
    if len(rates) < MIN_RANKED:
        return [], []
    ranked = sorted(rates, key=lambda s: (-rates[s], student_no.get(s, ""), s))
    size = max(1, int(GROUP_SHARE * len(ranked) + 0.5))
    return ranked[:size], ranked[-size:]


def discrimination(marks: Sequence[Mark], upper: Sequence[int], lower: Sequence[int]
                   ) -> float | None:
    """Upper group's mean credit minus the lower group's, over their decided answers
    (None when either group has none on this question)."""
    by = {m.student_id: m.credit for m in marks}
    up = [by[s] for s in upper if s in by]
    low = [by[s] for s in lower if s in by]
    if not up or not low:
        return None
    return _r(sum(up) / len(up) - sum(low) / len(low))


def _credit(cell: QuestionCellOut) -> float:
    if not cell.max_score:
        return 0.0
    return max(0.0, min(1.0, (cell.score or 0.0) / cell.max_score))


def _choices(item: ItemInfo, wid: int, marks: Sequence[Mark], upper: set[int],
             lower: set[int]) -> list[ChoiceOut]:
    doc: dict[str, Any] = item.document
    options = {str(o.get("label", "")): str(o.get("text", "")) for o in doc.get("options", [])}
    key = doc.get("key") or {}
    answer_key = str(key.get("answer", ""))
    notes: dict[str, str] = {str(k): str(v) for k, v in (key.get("misconceptions") or {}).items()}
    counts = Counter(m.answer for m in marks)
    total = len(marks)
    out = []
    for option in [*options, *sorted(o for o in counts if o not in options)]:
        chosen = [m for m in marks if m.answer == option]
        blank = option == ""
        out.append(ChoiceOut(
            option=option, text=options.get(option, ""), is_key=option == answer_key,
            count=len(chosen), share=_r(len(chosen) / total) if total else 0.0,
            upper=sum(1 for m in chosen if m.student_id in upper),
            lower=sum(1 for m in chosen if m.student_id in lower),
            misconception=notes.get(option, ""),
            answers=answers_url(worksheet_id=wid, question=item.external_id,
                                verdict="blank" if blank else "decided",
                                answer=None if blank else option)))
    return out


def _wrong(item: ItemInfo, wid: int, marks: Sequence[Mark]) -> list[WrongAnswerStatsOut]:
    wrong = [m for m in marks if m.verdict in _WRONG]
    by_answer: dict[str, list[Mark]] = defaultdict(list)
    for m in wrong:
        by_answer[m.answer].append(m)
    ranked = sorted(by_answer.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:WRONG_LIMIT]
    out = []
    for answer, ms in ranked:
        causes = Counter(m.cause for m in ms if m.cause)
        out.append(WrongAnswerStatsOut(
            answer=answer, count=len(ms),
            causes=[CauseCountOut(cause=c, count=n) for code, n in
                    sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
                    if (c := cause_out(code)) is not None],
            answers=answers_url(worksheet_id=wid, question=item.external_id,
                                verdict="blank" if answer == "" else "wrong",
                                answer=None if answer == "" else answer)))
    return out


def _distribution(results: ResultsOut) -> DistributionOut:
    wid = results.worksheet_id
    complete = [r for r in results.students if r.complete]
    full = results.max_score
    rates = {r.student.id: (max(0.0, min(1.0, r.total / full)) if full else 0.0)
             for r in complete}
    members: list[list[StudentRef]] = [[] for _ in range(10)]
    for r in complete:
        members[min(9, int(rates[r.student.id] * 10))].append(r.student)
    values = list(rates.values())
    return DistributionOut(
        scored=len(complete), mean_rate=_r(statistics.fmean(values)) if values else None,
        median_rate=_r(statistics.median(values)) if values else None,
        bins=[BinOut(low=i / 10, high=(i + 1) / 10, count=len(m), students=m,
                     answers=answers_url(worksheet_id=wid, students=id_set(s.id for s in m)))
              for i, m in enumerate(members)])


def worksheet_analytics(results: ResultsOut, items: Sequence[ItemInfo],
                        kp_names: Mapping[int, list[str]]) -> WorksheetAnalyticsOut:
    """The analysis of one worksheet (see the module docstring for the definitions).

    Args:
        results: the worksheet's results document.
        items: its questions in order, with the key documents (options, misconceptions).
        kp_names: question row id -> its knowledge points' names.

    Returns:
        The analysis; every figure with the drill-down path of its answers.
    """
    wid = results.worksheet_id
    done = [r for r in results.students if r.submitted]
    rates = {r.student.id: r.total / r.decided_max for r in done if r.decided_max > 0}
    upper, lower = groups(rates, {r.student.id: r.student.student_no for r in done})
    questions = []
    for n, item in enumerate(items):
        cells = [(r.student.id, r.questions[n]) for r in done]
        marks = [Mark(sid, _credit(c), c.verdict or "", (c.answer or "").strip(),
                      c.cause.code if c.cause else None)
                 for sid, c in cells if c.status == "graded"]
        correct = sum(1 for m in marks if m.verdict == "correct")
        possible = sum(c.max_score for _, c in cells if c.status == "graded")
        earned = sum(c.score or 0.0 for _, c in cells if c.status == "graded")
        questions.append(QuestionStatsOut(
            position=item.position, question_id=item.external_id, kind=item.kind,
            max_score=item.max_score, knowledge_points=list(kp_names.get(item.question_row_id, [])),
            decided=len(marks), correct=correct,
            facility=_r(correct / len(marks)) if marks else None,
            score_rate=_r(earned / possible) if possible else None,
            discrimination=discrimination(marks, upper, lower),
            pending_review=sum(1 for _, c in cells if c.status in ("needs_review", "ungraded")),
            choices=_choices(item, wid, marks, set(upper), set(lower))
            if item.kind == "choice" else None,
            wrong_answers=_wrong(item, wid, marks),
            answers=answers_url(worksheet_id=wid, question=item.external_id)))
    s = results.summary
    return WorksheetAnalyticsOut(
        worksheet_id=wid, title=results.title, class_id=results.class_id,
        max_score=results.max_score,
        submission=SubmissionOut(roster=s.roster, submitted=s.submitted, complete=s.complete,
                                 missing=results.missing, incomplete=results.incomplete,
                                 pending_review=s.needs_review,
                                 answers=answers_url(worksheet_id=wid)),
        distribution=_distribution(results), groups_size=len(upper), questions=questions,
        links={"self": f"/api/v1/worksheets/{wid}/analytics",
               "results": f"/api/v1/worksheets/{wid}/results",
               "page": f"/worksheets/{wid}/analytics"})


@dataclass(frozen=True)
class WorksheetBasis:
    """What a worksheet's analysis is made from short of its answers, with a version that
    changes whenever the analysis may (the results' version and the points' names).

    Attributes:
        state: the worksheet, items, roster and results version
            (:func:`service.results_pages.results_state`).
        kp_names: question row id -> its knowledge points' names.
    """

    state: ResultsState
    kp_names: dict[int, list[str]]

    @property
    def version(self) -> Hashable:
        """Equal for two reads exactly when the analysis would be the same."""
        return (self.state.version,
                tuple(sorted((q, tuple(n)) for q, n in self.kp_names.items())))


async def worksheet_basis(session: AsyncSession, actor: Actor,
                          worksheet_id: int) -> WorksheetBasis:
    """The basis of a worksheet's analysis, for a worksheet the actor may see (a few small
    queries).

    Raises:
        NotFound: no such worksheet for the actor (or a device).
    """
    if actor.is_device:
        raise NotFound(f"worksheet {worksheet_id} not found")
    state = await results_state(session, actor, worksheet_id)
    repo = AnalyticsRepository(session, actor)
    kps = await repo.question_kps({i.question_row_id for i in state.items})
    names = await repo.kp_names({c for codes in kps.values() for c in codes})
    return WorksheetBasis(state, {q: [names.get(c, (c, ""))[0] for c in codes]
                                  for q, codes in kps.items()})


async def analytics_of(session: AsyncSession, actor: Actor,
                       basis: WorksheetBasis) -> WorksheetAnalyticsOut:
    """The analysis from its basis (the results document read as the results page reads
    it: the same rows as the API's, as plain objects)."""
    results = await page_results(session, actor, basis.state)
    return worksheet_analytics(results, basis.state.items, basis.kp_names)


async def load_worksheet_analytics(session: AsyncSession, actor: Actor,
                                   worksheet_id: int) -> WorksheetAnalyticsOut:
    """The analysis of a worksheet the actor may see.

    Raises:
        NotFound: no such worksheet for the actor.
    """
    return await analytics_of(session, actor,
                              await worksheet_basis(session, actor, worksheet_id))
