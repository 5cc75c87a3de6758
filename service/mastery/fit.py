"""`markbook mastery fit`: re-estimate each knowledge point's BKT parameters from the
school's stored answers (EM), then replay every state with them.

EM runs on the events (one per answer and knowledge point, in answer order); knowledge
points below the minimum-data rule keep their current parameters and say why.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.bkt import BktParams, initial_state, update
from errorbook.learner.fit import FitResult, fit_all
from service.config import MasterySettings
from service.db import KpParamsRow, MasteryEventRow, MasteryStateRow
from service.db.base import utcnow
from service.mastery.sync import observation_of, params_from_row, write_state
from service.repositories.learner import LearnerRepository

__all__ = ["FitReport", "fit_school"]


@dataclass(frozen=True)
class FitReport:
    """What a fit did, per knowledge point code."""

    results: dict[str, FitResult]
    answers: int
    seconds: float
    states_replayed: int


async def fit_school(session: AsyncSession, school_id: int, settings: MasterySettings
                     ) -> FitReport:
    """Fit every knowledge point with answers in this school and replay its states.

    Args:
        session: the unit of work (the caller commits).
        school_id: the school.
        settings: the minimum-data rule.

    Returns:
        Per knowledge point the fit result, and timing.
    """
    started = time.perf_counter()
    repo = LearnerRepository(session)
    events = await repo.school_events(school_id)
    codes = await repo.knowledge_point_codes({e.knowledge_point_id for e in events})
    current = await repo.school_params(school_id)
    sequences: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for e in events:
        sequences[codes[e.knowledge_point_id]][e.student_id].append(e.credit)
    by_kp = {code: list(per_student.values()) for code, per_student in sequences.items()}

    def run() -> dict[str, FitResult]:
        # EM starts from the documented defaults (not the last fit), so a fit depends only
        # on the data.
        return fit_all(by_kp, min_answers=settings.fit_min_answers,
                       min_students=settings.fit_min_students)

    results = await to_thread.run_sync(run)
    ids = {code: kp for kp, code in codes.items()}
    params: dict[int, BktParams] = {}
    for code, result in results.items():
        kp = ids[code]
        row = current.get(kp)
        if not result.fitted:
            params[kp] = params_from_row(row)
            continue
        if row is None:
            row = KpParamsRow(school_id=school_id, knowledge_point_id=kp)
            repo.add(row)
        p = result.params
        row.prior, row.learn, row.guess, row.slip = p.prior, p.learn, p.guess, p.slip
        row.fitted, row.n_answers, row.n_students = True, result.n_answers, result.n_students
        row.log_likelihood, row.note, row.fitted_at = result.log_likelihood, result.reason[:200], \
            utcnow()
        params[kp] = p
    await repo.flush()
    replayed = await _replay_all(repo, events, params)
    return FitReport(results=results, answers=len(events),
                     seconds=time.perf_counter() - started, states_replayed=replayed)


async def _replay_all(repo: LearnerRepository, events: list[MasteryEventRow],
                      params: dict[int, BktParams]) -> int:
    """Recompute every state from its events under the (new) parameters."""
    grouped: dict[tuple[int, int], list[MasteryEventRow]] = defaultdict(list)
    for e in events:
        grouped[(e.student_id, e.knowledge_point_id)].append(e)
    existing = {(r.student_id, r.knowledge_point_id): r for r in
                await repo.states_of_students({s for s, _ in grouped})} if grouped else {}
    for key, evs in grouped.items():
        evs.sort(key=lambda e: (e.at, e.id))
        p = params.get(key[1], BktParams())
        state = initial_state(p)
        for e in evs:
            state = update(state, observation_of(e), p)
        row = existing.get(key)
        if row is None:
            row = MasteryStateRow(student_id=key[0], knowledge_point_id=key[1])
            repo.add(row)
        write_state(row, state, evs[-1].id)
    await repo.flush()
    return len(grouped)
