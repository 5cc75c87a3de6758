"""A student's portrait (学生画像): each knowledge point's mastery estimate at the end of
each week and its score rate per week, strengths and weaknesses, persistent errors (error-book entries
not yet resolved, most often wrong first) and resolved errors.

Definitions (``docs/analytics.md``): a *strength* is a point answered at least twice with
a score rate of 85 % or more; a *weakness* one answered at least twice under 60 %.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.bkt import BktParams, Observation, initial_state, update
from service.actor import Actor
from service.analytics.figures import iso_week, kp_ref, r4, rate_of, resolution, weekly
from service.analytics.links import answers_url
from service.db import ErrorEntryRow, StudentRow
from service.errors import NotFound
from service.mastery.report import level_of
from service.mastery.sync import load_params
from service.repositories.analytics import AnalyticsRepository, EventRow
from service.repositories.mastery import MasteryRepository
from service.results import cause_out
from service.schemas.analytics import (
    EntryRefOut,
    PortraitKpOut,
    StudentPortraitOut,
    WeekMasteryOut,
)
from service.schemas.results import StudentRef

__all__ = ["MIN_ANSWERS", "STRONG_RATE", "WEAK_RATE", "load_portrait", "mastery_by_week",
           "portrait"]

STRONG_RATE = 0.85
WEAK_RATE = 0.6
MIN_ANSWERS = 2


def _entry(e: ErrorEntryRow, qid: str, kps: Sequence[str]) -> EntryRefOut:
    return EntryRefOut(id=e.id, question_id=qid, knowledge_points=list(kps),
                       cause=cause_out(e.cause), state=e.state, times_wrong=e.times_wrong,
                       successes=e.successes, wrong_at=e.wrong_at, resolved_at=e.resolved_at,
                       answers=answers_url(student_id=e.student_id, entry_id=e.id))


def mastery_by_week(events: Sequence[EventRow], params: BktParams) -> list[WeekMasteryOut]:
    """The mastery estimate at the end of each week, replaying one knowledge point's events
    in order from the prior (the same fold that gives the stored state)."""
    state = initial_state(params)
    out: dict[str, float] = {}
    for e in events:
        at = e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)
        state = update(state, Observation(correct=e.credit, difficulty=e.difficulty, at=at),
                       params)
        out[iso_week(e.at)] = state.p_mastery
    return [WeekMasteryOut(week=w, p_mastery=r4(p)) for w, p in sorted(out.items())]


def portrait(student: StudentRow, events: Sequence[EventRow],
             mastery: Mapping[str, float], entries: Sequence[tuple[ErrorEntryRow, str]],
             entry_kps: Mapping[int, list[str]],
             kp_names: Mapping[str, tuple[str, str]],
             params: Mapping[int, BktParams] | None = None) -> StudentPortraitOut:
    """The student's portrait (see the module docstring).

    Args:
        student: the student.
        events: their mastery events in time order.
        mastery: knowledge point code -> current mastery estimate.
        entries: their error-book entries with the question's bank id, oldest first.
        entry_kps: question row id -> knowledge point codes.
        kp_names: code -> (Chinese, English) name.
        params: knowledge point row id -> the school's BKT parameters (the defaults for
            any not given).
    """
    sid = student.id
    by_kp: dict[str, list[EventRow]] = defaultdict(list)
    for e in events:
        by_kp[e.kp_code].append(e)
    kps = []
    for code in sorted(by_kp):
        r = rate_of(by_kp[code])
        p = mastery.get(code)
        kps.append(PortraitKpOut(kp=kp_ref(code, kp_names), p_mastery=p,
                                 level=level_of(p) if p is not None else None,
                                 rate=r.rate, n=r.n,
                                 weeks=weekly(by_kp[code], student_id=sid, kp=code),
                                 mastery_weeks=mastery_by_week(
                                     by_kp[code], (params or {}).get(by_kp[code][0].kp_id,
                                                                     BktParams())),
                                 answers=answers_url(student_id=sid, kp=code)))
    strengths = sorted((k for k in kps if k.n >= MIN_ANSWERS and k.rate >= STRONG_RATE),
                       key=lambda k: (-k.rate, -k.n, k.kp.code))
    weaknesses = sorted((k for k in kps if k.n >= MIN_ANSWERS and k.rate < WEAK_RATE),
                        key=lambda k: (k.rate, -k.n, k.kp.code))

    def names(qrow: int) -> list[str]:
        return [kp_ref(c, kp_names).name_zh for c in entry_kps.get(qrow, [])]

    open_ = [(e, q) for e, q in entries if e.state != "resolved"]
    done = [(e, q) for e, q in entries if e.state == "resolved"]
    open_.sort(key=lambda eq: (-eq[0].times_wrong, eq[0].wrong_at, eq[0].id))
    done.sort(key=lambda eq: (eq[0].resolved_at or eq[0].wrong_at, eq[0].id), reverse=True)
    return StudentPortraitOut(
        student=StudentRef(id=sid, student_no=student.student_no, name=student.name),
        class_id=student.class_id, weeks=sorted({iso_week(e.at) for e in events}),
        knowledge_points=kps, strengths=strengths, weaknesses=weaknesses,
        persistent_errors=[_entry(e, q, names(e.question_id)) for e, q in open_],
        resolved_errors=[_entry(e, q, names(e.question_id)) for e, q in done],
        resolution=resolution([e for e, _ in entries], student_id=sid),
        links={"self": f"/api/v1/students/{sid}/analytics",
               "mastery": f"/api/v1/students/{sid}/mastery",
               "page": f"/students/{sid}/analytics"})


async def load_portrait(session: AsyncSession, actor: Actor,
                        student_id: int) -> StudentPortraitOut:
    """The portrait of a student the actor may see.

    Raises:
        NotFound: no such student, or one of another teacher's class (or a device).
    """
    if actor.is_device:
        raise NotFound(f"student {student_id} not found")
    mrepo = MasteryRepository(session, actor)
    student, _cls = await mrepo.student(student_id)
    repo = AnalyticsRepository(session, actor)
    events = await repo.events([student.id])
    states = {k.code: s.p_mastery for s, k in await mrepo.states([student.id])}
    entries = await repo.entries([student.id])
    entry_kps = await repo.question_kps({e.question_id for e, _ in entries})
    codes = {e.kp_code for e in events} | {c for v in entry_kps.values() for c in v}
    names = await repo.kp_names(codes)
    params = await load_params(session, _cls.school_id, {e.kp_id for e in events})
    return portrait(student, events, states, entries, entry_kps, names, params)
