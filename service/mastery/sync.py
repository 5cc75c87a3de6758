"""Keep mastery in step with grades, in the grade's own unit of work.

A new answer later than everything a (student, knowledge point) state has seen is folded
in with one O(1) update. Anything else (a teacher's override, a page reassigned to another
student, an answer older than the state's newest) replays that state from its events, so
the stored state is always exactly the fold of the current events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.bkt import BktParams, MasteryState, Observation, initial_state, update
from errorbook.learner.difficulty import ItemDifficulty, ability_from_mastery, prior_from_bank
from errorbook.learner.difficulty import update_difficulty as elo_update
from errorbook.learner.schedule import ScheduleSettings
from service.db import ItemDifficultyRow, KpParamsRow, MasteryEventRow, MasteryStateRow
from service.db.base import utcnow
from service.mastery.answers import AnswerFact, answer_facts
from service.mastery.entries import sync_entries
from service.mastery.fresh import fold_new_answers
from service.repositories.learner import LearnerRepository

__all__ = ["load_params", "observation_of", "params_from_row", "replay_state", "state_from_row",
           "sync_answers", "sync_new_answers", "write_state"]

Key = tuple[int, int]  # (student id, knowledge point id)


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


def params_from_row(row: KpParamsRow | None) -> BktParams:
    if row is None:
        return BktParams()
    return BktParams(prior=row.prior, learn=row.learn, guess=row.guess, slip=row.slip)


async def load_params(session: AsyncSession, school_id: int, kp_ids: Iterable[int]
                      ) -> dict[int, BktParams]:
    """The school's parameters per knowledge point (documented defaults where unfitted)."""
    ids = sorted(set(kp_ids))
    if not ids:
        return {}
    rows = await LearnerRepository(session).param_values(school_id, ids)
    return {k: _params(*rows[k]) if k in rows else BktParams() for k in ids}


def _params(prior: float, learn: float, guess: float, slip: float) -> BktParams:
    return BktParams(prior=prior, learn=learn, guess=guess, slip=slip)


def state_from_row(row: MasteryStateRow) -> MasteryState:
    return MasteryState(p_mastery=row.p_mastery, attempts=row.attempts, correct=row.correct,
                        last_seen=_aware(row.last_seen), history=tuple(row.history or ()))


def write_state(row: MasteryStateRow, state: MasteryState, last_event_id: int | None) -> None:
    row.p_mastery, row.attempts, row.correct = state.p_mastery, state.attempts, state.correct
    row.last_seen, row.history = state.last_seen, list(state.history)
    row.last_event_id, row.updated_at = last_event_id, utcnow()


def observation_of(e: MasteryEventRow) -> Observation:
    at = _aware(e.at)
    assert at is not None
    return Observation(correct=e.credit, difficulty=e.difficulty, at=at)


async def replay_state(session: AsyncSession, key: Key, params: BktParams) -> None:
    """Recompute one (student, knowledge point) state from all its events, in order."""
    student_id, kp_id = key
    repo = LearnerRepository(session)
    events = await repo.events_of(student_id, kp_id)
    row = await repo.state(student_id, kp_id)
    if not events:
        if row is not None:
            await repo.delete(row)
        return
    state = initial_state(params)
    for e in events:
        state = update(state, observation_of(e), params)
    if row is None:
        row = MasteryStateRow(student_id=student_id, knowledge_point_id=kp_id)
        repo.add(row)
    write_state(row, state, events[-1].id)


async def _difficulties(repo: LearnerRepository, facts: Sequence[AnswerFact]
                        ) -> dict[int, ItemDifficultyRow]:
    rows = await repo.item_difficulties({f.question_id for f in facts})
    for f in facts:
        if f.question_id not in rows:
            row = ItemDifficultyRow(question_id=f.question_id,
                                    rating=prior_from_bank(f.bank_difficulty), n=0)
            repo.add(row)
            rows[f.question_id] = row
    return rows


async def _states(repo: LearnerRepository, keys: set[Key]) -> dict[Key, MasteryStateRow]:
    if not keys:
        return {}
    rows = await repo.states_of_students({s for s, _ in keys})
    return {(r.student_id, r.knowledge_point_id): r for r in rows
            if (r.student_id, r.knowledge_point_id) in keys}


async def sync_answers(session: AsyncSession, response_ids: Iterable[int],
                       schedule: ScheduleSettings | None = None, *, new: bool = False) -> None:
    """Bring events, states, item difficulty and error-book entries in line with the
    current grades of these answers (flush only; the caller's unit of work commits).

    Args:
        session: the unit of work that stored or changed the grades.
        response_ids: primary responses whose grade, student or page changed.
        schedule: the error-book review spacing (``settings.mastery``); defaults if omitted.
        new: the responses were inserted in this unit of work, so nothing refers to them
            yet (no events, attempts or entries): the queries for those are skipped, and
            events, states and item ratings are written as table statements
            (:mod:`service.mastery.fresh`).
    """
    facts = await answer_facts(session, response_ids)
    if not facts:
        return
    if new:
        await sync_new_answers(session, facts, schedule)
        return
    school_id = facts[0].school_id
    repo = LearnerRepository(session)
    existing: dict[int, list[MasteryEventRow]] = {}
    for e in await repo.events_of_responses([f.response_id for f in facts]):
        existing.setdefault(e.response_id, []).append(e)
    difficulty = await _difficulties(repo, facts)
    replay: set[Key] = set()
    fresh: list[tuple[AnswerFact, MasteryEventRow]] = []
    for f in facts:
        credit = f.credit
        wanted = set(f.kp_ids) if f.student_id is not None and credit is not None else set()
        for e in existing.get(f.response_id, ()):
            kp = e.knowledge_point_id
            if kp in wanted and e.student_id == f.student_id and e.credit == credit:
                wanted.discard(kp)
                continue
            # Changed by a teacher, moved to another student, or no longer live.
            replay.add((e.student_id, kp))
            if kp in wanted and credit is not None and f.student_id is not None:
                e.student_id, e.credit = f.student_id, credit
                replay.add((f.student_id, kp))
                wanted.discard(kp)
            else:
                await repo.delete(e)
        if not wanted or f.student_id is None or credit is None:
            continue
        item = difficulty[f.question_id]
        for kp in sorted(wanted):
            e = MasteryEventRow(school_id=f.school_id, student_id=f.student_id,
                                knowledge_point_id=kp, question_id=f.question_id,
                                response_id=f.response_id, credit=credit,
                                difficulty=item.rating, at=f.at)
            repo.add(e)
            fresh.append((f, e))
    await repo.flush()
    await _apply_fresh(session, fresh, replay, difficulty)
    await _replay(session, school_id, replay)
    await sync_entries(session, facts, schedule)


async def sync_new_answers(session: AsyncSession, facts: Sequence[AnswerFact],
                           schedule: ScheduleSettings | None = None) -> None:
    """:func:`sync_answers` for answers inserted in this unit of work, from their facts
    (:func:`service.mastery.answers.new_answer_facts`, so nothing is read back)."""
    if not facts:
        return
    school_id = facts[0].school_id
    late = await fold_new_answers(session, facts,
                                  lambda kps: load_params(session, school_id, kps))
    await _replay(session, school_id, late)
    await sync_entries(session, facts, schedule, new=True)


async def _replay(session: AsyncSession, school_id: int, replay: set[Key]) -> None:
    if not replay:
        return
    params = await load_params(session, school_id, {kp for _, kp in replay})
    for key in sorted(replay):
        await replay_state(session, key, params[key[1]])
    await session.flush()


async def _apply_fresh(session: AsyncSession, fresh: list[tuple[AnswerFact, MasteryEventRow]],
                       replay: set[Key], difficulty: dict[int, ItemDifficultyRow]) -> None:
    """Fold new events into their states in O(1) each, and learn item difficulty."""
    if not fresh:
        return
    keys = {(e.student_id, e.knowledge_point_id) for _, e in fresh}
    repo = LearnerRepository(session)
    states = await _states(repo, keys)
    params = await load_params(session, fresh[0][0].school_id, [k for _, k in keys])
    seen_items: set[int] = set()
    for f, e in fresh:
        key = (e.student_id, e.knowledge_point_id)
        if key in replay:
            continue
        row = states.get(key)
        p = params[e.knowledge_point_id]
        state = state_from_row(row) if row is not None else initial_state(p)
        if state.last_seen is not None and _aware(e.at) < state.last_seen:  # type: ignore[operator]
            replay.add(key)  # an older scan arrived late: order matters, replay
            continue
        ability = ability_from_mastery(state.p_mastery)
        if row is None:
            row = MasteryStateRow(student_id=e.student_id, knowledge_point_id=e.knowledge_point_id)
            repo.add(row)
            states[key] = row
        write_state(row, update(state, observation_of(e), p), e.id)
        if f.response_id not in seen_items:
            # One rating step per answer (not per knowledge point), against the student's
            # level on the first knowledge point before this answer.
            seen_items.add(f.response_id)
            item = difficulty[f.question_id]
            new = elo_update(ItemDifficulty(item.rating, item.n), ability, e.credit)
            item.rating, item.n, item.updated_at = new.rating, new.n, utcnow()
