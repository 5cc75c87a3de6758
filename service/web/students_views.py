"""What the teacher's student page shows, gathered from the API's own service functions:
scores over time (a line chart), mastery per knowledge point (a bar chart with the points'
names), and the error book's entries grouped open / practising / resolved.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.schedule import EntryState
from service.actor import Actor
from service.mastery.report import student_mastery, student_progress
from service.results import cause_out
from service.results_pages import StudentScore, student_scores
from service.schemas.mastery import EntryOut, KpMastery, ProgressOut, StudentMasteryOut
from service.web.charts import LinePoint, hbar_chart, line_chart, percent
from service.web.i18n import Translator

__all__ = ["EntryGroup", "StudentView", "student_view"]

STATES = (EntryState.OPEN.value, EntryState.PRACTISING.value, EntryState.RESOLVED.value)


@dataclass(frozen=True)
class EntryGroup:
    """The entries in one state, with each entry's error cause in the page's language."""

    state: str
    entries: list[tuple[EntryOut, str]]


@dataclass(frozen=True)
class StudentView:
    """The student page's data.

    Attributes:
        mastery: the API's mastery document (student, class, knowledge points).
        progress: the API's progress document (entries, resolution rate).
        scores: the student's result per worksheet, oldest first.
        scores_chart: the scores-over-time line chart (SVG).
        mastery_chart: the mastery-per-knowledge-point bar chart (SVG).
        groups: entries by state (open, practising, resolved).
        resolution: the resolution rate as text.
    """

    mastery: StudentMasteryOut
    progress: ProgressOut
    scores: list[StudentScore]
    scores_chart: Markup
    mastery_chart: Markup
    groups: list[EntryGroup]
    resolution: str


def kp_name(kp: KpMastery, language: str) -> str:
    """A knowledge point's name in the page's language (its Chinese name when it has no
    English one; its code only when it has no name at all)."""
    if language == "en" and kp.name_en:
        return kp.name_en
    return kp.name_zh or kp.code


def _cause(code: str | None, language: str) -> str:
    cause = cause_out(code)
    if cause is None:
        return ""
    return (cause.en if language == "en" else cause.zh) or cause.code


def _short(title: str, limit: int = 8) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


async def student_view(session: AsyncSession, actor: Actor, student_id: int,
                       _: Translator) -> StudentView:
    """The student page of one of the actor's students.

    Raises:
        NotFound: no such student, or one of another teacher's class.
    """
    mastery = await student_mastery(session, actor, student_id)
    progress = await student_progress(session, actor, student_id)
    scores = await student_scores(session, actor, student_id)
    lang = _.language
    points = [LinePoint(label=_short(s.title), rate=s.rate,
                        title=f"{s.title} ({s.scanned_at:%Y-%m-%d})")
              for s in scores if s.rate is not None]
    kps = [(kp_name(k, lang), k.p_mastery) for k in mastery.knowledge_points]
    by_state: dict[str, list[tuple[EntryOut, str]]] = {s: [] for s in STATES}
    for e in progress.entries:
        by_state.setdefault(e.state, []).append((e, _cause(e.cause, lang)))
    return StudentView(
        mastery=mastery, progress=progress, scores=scores,
        scores_chart=line_chart(points, title=_("students.scores.chart")),
        mastery_chart=hbar_chart(kps, title=_("students.mastery.chart")),
        groups=[EntryGroup(s, by_state[s]) for s in STATES],
        resolution=percent(progress.resolution_rate))
