"""Mastery and progress documents for a student or a class (the read side)."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.rollup import rollup
from errorbook.learner.schedule import EntryState, resolution_rate
from service.actor import Actor
from service.db import ErrorEntryRow, KnowledgePointRow, MasteryStateRow, QuestionRow, StudentRow
from service.mastery.sync import state_from_row
from service.repositories.mastery import MasteryRepository
from service.schemas.mastery import (
    ClassMasteryOut,
    ClassProgressOut,
    EntryOut,
    KpMastery,
    KpScoreRate,
    MasteryCell,
    ProgressOut,
    StudentMasteryOut,
    StudentProgressRow,
    StudentRef,
)

__all__ = ["class_mastery", "class_progress", "level_of", "student_mastery",
           "student_progress", "student_ref"]

MASTERED, DEVELOPING = 0.8, 0.5


def level_of(p: float) -> str:
    """A teacher-facing bucket: ≥ 0.8 mastered, ≥ 0.5 developing, else not mastered."""
    return "mastered" if p >= MASTERED else "developing" if p >= DEVELOPING else "not_mastered"


def student_ref(s: StudentRow) -> StudentRef:
    return StudentRef(id=s.id, student_no=s.student_no, name=s.name)


async def student_mastery(session: AsyncSession, actor: Actor, student_id: int) -> StudentMasteryOut:
    """Per knowledge point: the estimate, its band, attempts, trend, and the rolled-up
    parents of the points with data (``math.add`` from ``math.add.carry`` …)."""
    repo = MasteryRepository(session, actor)
    student, cls = await repo.student(student_id)
    rows = await repo.states([student.id])
    return StudentMasteryOut(student=student_ref(student), class_id=cls.id,
                             knowledge_points=await _kp_list(repo, rows))


async def _kp_list(repo: MasteryRepository,
                   rows: Sequence[tuple[MasteryStateRow, KnowledgePointRow]]) -> list[KpMastery]:
    leaves = {k.code: (s, k) for s, k in rows}
    rolled = rollup({c: (s.p_mastery, s.attempts) for c, (s, _) in leaves.items()}, leaves)
    names = await repo.knowledge_points(set(rolled) - set(leaves))
    out: list[KpMastery] = []
    # Deepest first, so each parent is summarised after the points below it.
    for code in sorted(rolled, key=lambda c: (-c.count("."), c)):
        est = rolled[code]
        if code in leaves:
            srow, kp = leaves[code]
            state = state_from_row(srow)
            lo, hi = state.band()
            out.append(KpMastery(
                code=code, name_zh=kp.name_zh, name_en=kp.name_en, p_mastery=state.p_mastery,
                band=(lo, hi), level=level_of(state.p_mastery), attempts=state.attempts,
                correct=state.correct, trend=state.trend(), last_seen=state.last_seen,
                rolled_up=bool(est.children), children=list(est.children)))
            continue
        if est.p_mastery is None:
            continue  # a branch with no answers anywhere below it
        p = est.p_mastery
        kp_row = names.get(code)
        # A parent's band spans its children's bands: the weighted mean can be no surer
        # than the parts it is made of.
        child = [r for r in out if r.code in est.children]
        lo = min((c.band[0] for c in child), default=p)
        hi = max((c.band[1] for c in child), default=p)
        out.append(KpMastery(
            code=code, name_zh=kp_row.name_zh if kp_row else code,
            name_en=kp_row.name_en if kp_row else "", p_mastery=p,
            band=(min(lo, p), max(hi, p)), level=level_of(p), attempts=est.attempts,
            correct=sum(c.correct for c in child),
            trend=sum(c.trend for c in child) / len(child) if child else 0.0,
            last_seen=max((c.last_seen for c in child if c.last_seen), default=None),
            rolled_up=True, children=list(est.children)))
    return sorted(out, key=lambda r: r.code)


async def class_mastery(session: AsyncSession, actor: Actor, class_id: int) -> ClassMasteryOut:
    """The class × knowledge-point matrix (leaf points with data) and the class mean."""
    repo = MasteryRepository(session, actor)
    cls, students = await repo.school_class(class_id)
    rows = await repo.states([s.id for s in students])
    matrix: dict[str, dict[str, MasteryCell]] = defaultdict(dict)
    names: dict[str, str] = {}
    per_kp: dict[str, list[float]] = defaultdict(list)
    for s, k in rows:
        matrix[str(s.student_id)][k.code] = MasteryCell(p_mastery=s.p_mastery,
                                                        attempts=s.attempts)
        names[k.code] = k.name_zh
        per_kp[k.code].append(s.p_mastery)
    return ClassMasteryOut(
        class_id=cls.id, knowledge_points=sorted(names), names_zh=names,
        students=[student_ref(s) for s in students], matrix=dict(matrix),
        class_mean={c: sum(v) / len(v) for c, v in sorted(per_kp.items())})


def _week(at: datetime) -> str:
    return _iso_week((at if at.tzinfo else at.replace(tzinfo=UTC)).date())


@functools.lru_cache(maxsize=4096)
def _iso_week(day: date) -> str:
    # A class's progress reads thousands of events over a few dozen days.
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def score_rates(events: Sequence[tuple[int, str, float, datetime]],
                names: dict[str, str]) -> list[KpScoreRate]:
    """Per knowledge point, the share of credit earned in each ISO week, and the change
    from the first week to the last (the figure district reports quote)."""
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for _student, code, credit, at in events:
        sums[code][_week(at)].append(credit)
    out = []
    for code in sorted(sums):
        weeks = {w: sum(v) / len(v) for w, v in sorted(sums[code].items())}
        rates = list(weeks.values())
        out.append(KpScoreRate(code=code, name_zh=names.get(code, code), weeks=weeks,
                               change=rates[-1] - rates[0] if len(rates) > 1 else None))
    return out


def _entry_out(e: ErrorEntryRow, q: QuestionRow | None) -> EntryOut:
    return EntryOut(id=e.id, question_id=q.external_id if q else "", stem=q.stem if q else "",
                    state=e.state, cause=e.cause, times_wrong=e.times_wrong,
                    successes=e.successes, wrong_at=e.wrong_at, due_at=e.due_at,
                    resolved_at=e.resolved_at)


async def student_progress(session: AsyncSession, actor: Actor, student_id: int) -> ProgressOut:
    """The student's error-book entries, resolution rate and weekly score rates."""
    repo = MasteryRepository(session, actor)
    student, _cls = await repo.student(student_id)
    entries = await repo.entries([student.id])
    questions = await repo.questions({e.question_id for e in entries})
    events = await repo.events([student.id])
    kps = await repo.knowledge_points({c for _, c, _, _ in events})
    counts = _counts(entries)
    return ProgressOut(
        student=student_ref(student), entries_open=counts[EntryState.OPEN],
        entries_practising=counts[EntryState.PRACTISING],
        entries_resolved=counts[EntryState.RESOLVED],
        resolution_rate=resolution_rate(_STATE[e.state] for e in entries),
        score_rates=score_rates(events, {c: k.name_zh for c, k in kps.items()}),
        entries=[_entry_out(e, questions.get(e.question_id)) for e in entries])


# A stored state to its member: a dict lookup, where calling the enum for each of a class's
# thousands of entries was most of building its progress.
_STATE = {s.value: s for s in EntryState}


def _counts(entries: Sequence[ErrorEntryRow]) -> dict[EntryState, int]:
    counts = dict.fromkeys(EntryState, 0)
    for e in entries:
        counts[_STATE[e.state]] += 1
    return counts


async def class_progress(session: AsyncSession, actor: Actor, class_id: int) -> ClassProgressOut:
    """Per student and for the class: entries, resolution rate; weekly score rates per
    knowledge point over the whole class."""
    repo = MasteryRepository(session, actor)
    cls, students = await repo.school_class(class_id)
    ids = [s.id for s in students]
    entries = await repo.entry_states(ids)
    by_student: dict[int, list[EntryState]] = defaultdict(list)
    for student_id, state in entries:
        by_student[student_id].append(_STATE[state])
    events = await repo.events(ids)
    kps = await repo.knowledge_points({c for _, c, _, _ in events})
    rows: list[StudentProgressRow] = []
    for s in students:
        mine = by_student.get(s.id, [])
        rows.append(StudentProgressRow(
            student=student_ref(s), entries=len(mine), open=mine.count(EntryState.OPEN),
            practising=mine.count(EntryState.PRACTISING),
            resolved=mine.count(EntryState.RESOLVED), resolution_rate=resolution_rate(mine)))
    states = [state for mine in by_student.values() for state in mine]
    return ClassProgressOut(
        class_id=cls.id, entries_total=len(states),
        entries_resolved=states.count(EntryState.RESOLVED),
        resolution_rate=resolution_rate(states),
        students=rows, score_rates=score_rates(events, {c: k.name_zh for c, k in kps.items()}))
