"""A class over time: its worksheets, the knowledge-point heatmap (students × points), each
point's score rate per week and its change, the error-resolution rate, and the students who
need attention.

Knowledge-point figures are score rates: the mean credit of the answers the mastery model
saw for the point (right 1, wrong or blank 0, part-right its share), so each one lists its
answers exactly (the drill-down filters on the same mastery events). The BKT estimate is on
the student portrait and ``/mastery``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.analytics.attention import SheetScore, attention
from service.analytics.figures import kp_ref, r4, resolution, weekly_sums
from service.analytics.links import answers_url
from service.db import SchoolClassRow, StudentRow, WorksheetRow
from service.errors import NotFound
from service.repositories.analytics import AnalyticsRepository, EntryFact, KpCell, KpMoment
from service.repositories.mastery import MasteryRepository
from service.repositories.results_pages import ResultsPagesRepository, StudentTotal
from service.schemas.analytics import (
    ClassAnalyticsOut,
    HeatCellOut,
    HeatRowOut,
    KpTrendOut,
    StudentResolutionOut,
    WorksheetLineOut,
)
from service.schemas.results import StudentRef

__all__ = ["ClassData", "class_analytics", "load_class_analytics", "load_class_data"]


@dataclass(frozen=True)
class ClassData:
    """Everything a class's analysis is made from (read once, used by page and PDF).

    Attributes:
        school_class: the class.
        students: its roster in student-number order.
        sheets: its worksheets, oldest first, each with its students' totals (students
            with a live page; :class:`service.repositories.results_pages.StudentTotal`).
        cells: the students' mastery events added up per student and knowledge point.
        moments: the same added up per knowledge point and moment of scanning.
        entries: their error-book entries.
        kp_names: knowledge point code -> (Chinese, English) name.
    """

    school_class: SchoolClassRow
    students: list[StudentRow]
    sheets: list[tuple[WorksheetRow, dict[int, StudentTotal]]]
    cells: list[KpCell]
    moments: list[KpMoment]
    entries: list[EntryFact]
    kp_names: dict[str, tuple[str, str]]


def _ref(s: StudentRow) -> StudentRef:
    return StudentRef(id=s.id, student_no=s.student_no, name=s.name)


def _sheet_scores(data: ClassData) -> dict[int, list[SheetScore]]:
    out: dict[int, list[SheetScore]] = defaultdict(list)
    for ws, totals in data.sheets:
        for s in data.students:
            t = totals.get(s.id)
            rate = t.score / t.decided_max if t is not None and t.decided_max > 0 else None
            out[s.id].append(SheetScore(ws.id, ws.title, t is not None, rate))
    return out


def _line(ws: WorksheetRow, totals: dict[int, StudentTotal], roster: int) -> WorksheetLineOut:
    # The class's decided score rate, as the results summary's ``mean_rate``: points
    # earned over decided full marks, every student who handed in.
    decided = sum(t.decided_max for t in totals.values())
    return WorksheetLineOut(worksheet_id=ws.id, title=ws.title, created_at=ws.created_at,
                            roster=roster, submitted=len(totals),
                            mean_rate=r4(sum(t.score for t in totals.values()) / decided)
                            if decided else None,
                            answers=answers_url(worksheet_id=ws.id))


def _heatmap(data: ClassData, codes: Sequence[str]) -> list[HeatRowOut]:
    cells = {(c.student_id, c.kp_code): c for c in data.cells}
    rows = []
    for s in data.students:
        row = []
        for code in codes:
            c = cells.get((s.id, code))
            row.append(HeatCellOut(code=code, rate=r4(c.total / c.n) if c and c.n else None,
                                   n=c.n if c else 0,
                                   answers=answers_url(student_id=s.id, kp=code)))
        rows.append(HeatRowOut(student=_ref(s), cells=row))
    return rows


def _trends(data: ClassData, codes: Sequence[str]) -> list[KpTrendOut]:
    by_kp: dict[str, list[KpMoment]] = defaultdict(list)
    for m in data.moments:
        by_kp[m.kp_code].append(m)
    cid = data.school_class.id
    out = []
    for code in codes:
        weeks = weekly_sums(by_kp[code], class_id=cid, kp=code)
        n = sum(m.n for m in by_kp[code])
        out.append(KpTrendOut(
            kp=kp_ref(code, data.kp_names), weeks=weeks,
            change=r4(weeks[-1].rate - weeks[0].rate) if len(weeks) > 1 else None,
            rate=r4(sum(m.total for m in by_kp[code]) / n) if n else 0.0, n=n,
            answers=answers_url(class_id=cid, kp=code)))
    return out


def class_analytics(data: ClassData) -> ClassAnalyticsOut:
    """The class's analysis (see the module docstring).

    Args:
        data: from :func:`load_class_data`.

    Returns:
        The analysis; every figure with the drill-down path of its answers.
    """
    cid = data.school_class.id
    codes = sorted({c.kp_code for c in data.cells})
    by_student: dict[int, list[EntryFact]] = defaultdict(list)
    for e in data.entries:
        by_student[e.student_id].append(e)
    students = []
    for s in data.students:
        res = resolution(by_student.get(s.id, []), student_id=s.id)
        students.append(StudentResolutionOut(student=_ref(s), entries=res.entries,
                                             redone_right=res.redone_right,
                                             resolved=res.resolved, rate=res.rate,
                                             answers=res.answers))
    lines = [_line(ws, totals, len(data.students)) for ws, totals in data.sheets]
    names = {c: n[0] or c for c, n in data.kp_names.items()}
    return ClassAnalyticsOut(
        class_id=cid, name=data.school_class.name, worksheets=lines,
        knowledge_points=[kp_ref(c, data.kp_names) for c in codes],
        heatmap=_heatmap(data, codes), trends=_trends(data, codes),
        resolution=resolution(data.entries, class_id=cid), students=students,
        attention=attention(data.students, _sheet_scores(data), data.cells, data.entries,
                            names),
        links={"self": f"/api/v1/classes/{cid}/analytics",
               "report_pdf": f"/api/v1/classes/{cid}/report.pdf",
               "page": f"/classes/{cid}/analytics"})


async def load_class_data(session: AsyncSession, actor: Actor, class_id: int) -> ClassData:
    """What the class's analysis is made from, for a class the actor may see.

    Raises:
        NotFound: no such class, or another teacher's (or the caller is a device).
    """
    if actor.is_device:
        raise NotFound(f"class {class_id} not found")
    cls, students = await MasteryRepository(session, actor).school_class(class_id)
    repo = AnalyticsRepository(session, actor)
    worksheets = await repo.class_worksheets(cls.id)
    per_sheet: dict[int, dict[int, StudentTotal]] = defaultdict(dict)
    for t in await ResultsPagesRepository(session, actor).student_totals(
            [w.id for w in worksheets]):
        per_sheet[t.worksheet_id][t.student_id] = t
    sheets = [(ws, per_sheet.get(ws.id, {})) for ws in worksheets]
    ids = [s.id for s in students]
    cells = await repo.kp_cells(ids)
    moments = await repo.kp_moments(ids)
    entries = await repo.entry_facts(ids)
    names = await repo.kp_names({c.kp_code for c in cells})
    return ClassData(cls, students, sheets, cells, moments, entries, names)


async def load_class_analytics(session: AsyncSession, actor: Actor,
                               class_id: int) -> ClassAnalyticsOut:
    """The analysis of a class the actor may see.

    Raises:
        NotFound: no such class for the actor.
    """
    return class_analytics(await load_class_data(session, actor, class_id))

