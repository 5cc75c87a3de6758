"""Fold answers stored in this unit of work into mastery, with table statements.

A graded page adds a few dozen events and moves as many states and item ratings. Nothing
in the unit of work holds those rows as objects (the page's answers were inserted a moment
before), so they are read as values, folded here, and written back with one statement per
kind of change, rather than through the ORM's unit of work, which cost more than the
statements themselves. The fold is :func:`service.mastery.sync.sync_answers`' for new
answers, step for step: the same events, the same O(1) updates in the same order, the same
late-scan replays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.bkt import BktParams, MasteryState, Observation, initial_state
from errorbook.learner.bkt import update as fold
from errorbook.learner.difficulty import ItemDifficulty, ability_from_mastery, prior_from_bank
from errorbook.learner.difficulty import update_difficulty as elo_update
from service.db import ItemDifficultyRow, MasteryEventRow, MasteryStateRow
from service.db.base import utcnow
from service.mastery.answers import AnswerFact

__all__ = ["fold_new_answers"]

Key = tuple[int, int]  # (student id, knowledge point id)

_EVENTS = cast(Table, MasteryEventRow.__table__)
_STATES = cast(Table, MasteryStateRow.__table__)
_ITEMS = cast(Table, ItemDifficultyRow.__table__)
# Built once (the page store runs them for every page).
_ITEMS_OF = select(_ITEMS.c.question_id, _ITEMS.c.rating, _ITEMS.c.n).where(
    _ITEMS.c.question_id.in_(bindparam("questions", expanding=True)))
_STATES_OF = select(
    _STATES.c.student_id, _STATES.c.knowledge_point_id, _STATES.c.p_mastery,
    _STATES.c.attempts, _STATES.c.correct, _STATES.c.last_seen, _STATES.c.history,
).where(_STATES.c.student_id.in_(bindparam("students", expanding=True)),
        _STATES.c.knowledge_point_id.in_(bindparam("kps", expanding=True)))
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
_UPDATE_STATE = update(_STATES).where(and_(_STATES.c.student_id == bindparam("sid"),
                                           _STATES.c.knowledge_point_id == bindparam("kp")))
_UPDATE_ITEM = update(_ITEMS).where(_ITEMS.c.question_id == bindparam("qid"))


@dataclass(frozen=True)
class _Event:
    id: int
    student_id: int
    kp_id: int
    response_id: int
    question_id: int
    credit: float
    difficulty: float
    at: datetime


@dataclass
class _Item:
    rating: float
    n: int
    stored: bool
    changed: bool = False


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


async def fold_new_answers(session: AsyncSession, facts: Sequence[AnswerFact],
                           params_of: Callable[[set[int]], Awaitable[dict[int, BktParams]]]
                           ) -> set[Key]:
    """Write the events of these new answers, fold them into their states in O(1) each and
    learn item difficulty (flush-free: table statements in the caller's transaction).

    Args:
        session: the unit of work that inserted the answers.
        facts: the answers, in answer order (:func:`service.mastery.answers.answer_facts`).
        params_of: ``await params_of(kp_ids)`` → the school's BKT parameters per kp id.

    Returns:
        The (student, knowledge point) states to replay from their events: those an older
        scan reached after a newer one (order matters there).
    """
    items = await _items(session, facts)
    events = await _insert_events(session, facts, items)
    if not events:
        await _write_items(session, items)
        return set()
    keys = {(e.student_id, e.kp_id) for e in events}
    states = await _states(session, keys)
    params = await params_of({kp for _, kp in keys})
    replay: set[Key] = set()
    folded: dict[Key, tuple[MasteryState, int]] = {}
    seen: set[int] = set()
    for e in events:
        key = (e.student_id, e.kp_id)
        if key in replay:
            continue
        p = params[e.kp_id]
        before = folded[key][0] if key in folded else states.get(key) or initial_state(p)
        if before.last_seen is not None and e.at < before.last_seen:
            replay.add(key)  # an older scan arrived late: order matters, replay
            continue
        folded[key] = (fold(before, Observation(correct=e.credit, difficulty=e.difficulty,
                                                at=e.at), p), e.id)
        if e.response_id not in seen:
            # One rating step per answer (not per knowledge point), against the student's
            # level on the first knowledge point before this answer.
            seen.add(e.response_id)
            item = items[e.question_id]
            rated = elo_update(ItemDifficulty(item.rating, item.n),
                               ability_from_mastery(before.p_mastery), e.credit)
            item.rating, item.n, item.changed = rated.rating, rated.n, True
    await _write_states(session, {k: v for k, v in folded.items() if k not in replay},
                        set(states))
    await _write_items(session, items)
    return replay


async def _items(session: AsyncSession, facts: Sequence[AnswerFact]) -> dict[int, _Item]:
    """Every answered question's rating: stored, or the bank's prior for a new one."""
    rows = (await session.execute(_ITEMS_OF, {
        "questions": sorted({f.question_id for f in facts})})).all()
    items = {qid: _Item(rating, n, stored=True) for qid, rating, n in rows}
    for f in facts:
        if f.question_id not in items:
            items[f.question_id] = _Item(prior_from_bank(f.bank_difficulty), 0, stored=False)
    return items


async def _insert_events(session: AsyncSession, facts: Sequence[AnswerFact],
                         items: dict[int, _Item]) -> list[_Event]:
    """One event per (learnable answer, knowledge point), at the item's rating before this
    batch, in answer order then knowledge point order."""
    rows: list[dict[str, Any]] = []
    for f in facts:
        credit = f.credit
        if f.student_id is None or credit is None:
            continue
        for kp in sorted(set(f.kp_ids)):
            rows.append({"school_id": f.school_id, "student_id": f.student_id,
                         "knowledge_point_id": kp, "question_id": f.question_id,
                         "response_id": f.response_id, "credit": credit,
                         "difficulty": items[f.question_id].rating, "at": f.at})
    if not rows:
        return []
    ids = (await session.execute(_INSERT_EVENTS, rows)).scalars().all()
    return [_Event(i, r["student_id"], r["knowledge_point_id"], r["response_id"],
                   r["question_id"], r["credit"], r["difficulty"], r["at"])
            for i, r in zip(ids, rows, strict=True)]


async def _states(session: AsyncSession, keys: set[Key]) -> dict[Key, MasteryState]:
    """The stored states of these (student, knowledge point) pairs."""
    rows = (await session.execute(_STATES_OF, {"students": sorted({s for s, _ in keys}),
                                                "kps": sorted({k for _, k in keys})})).all()
    return {(s, k): MasteryState(p_mastery=p, attempts=n, correct=right,
                                 last_seen=_aware(seen), history=tuple(history or ()))
            for s, k, p, n, right, seen, history in rows if (s, k) in keys}


async def _write_states(session: AsyncSession, folded: dict[Key, tuple[MasteryState, int]],
                        stored: set[Key]) -> None:
    now = utcnow()
    values = [{"sid": s, "kp": k, "p_mastery": st.p_mastery, "attempts": st.attempts,
               "correct": st.correct, "last_seen": st.last_seen, "history": list(st.history),
               "last_event_id": event_id, "updated_at": now}
              for (s, k), (st, event_id) in sorted(folded.items())]
    new = [v for v in values if (v["sid"], v["kp"]) not in stored]
    old = [v for v in values if (v["sid"], v["kp"]) in stored]
    if new:
        await session.execute(insert(_STATES), [
            {"student_id": v["sid"], "knowledge_point_id": v["kp"],
             **{k: v[k] for k in _STATE_COLUMNS}} for v in new])
    if old:
        # The SET clause comes from the parameters' column names; sid and kp pick the row.
        await session.execute(_UPDATE_STATE, old)


_STATE_COLUMNS = ("p_mastery", "attempts", "correct", "last_seen", "history", "last_event_id",
                  "updated_at")


async def _write_items(session: AsyncSession, items: dict[int, _Item]) -> None:
    now = utcnow()
    new = [{"question_id": q, "rating": i.rating, "n": i.n, "updated_at": now}
           for q, i in sorted(items.items()) if not i.stored]
    old = [{"qid": q, "rating": i.rating, "n": i.n, "updated_at": now}
           for q, i in sorted(items.items()) if i.stored and i.changed]
    if new:
        await session.execute(insert(_ITEMS), new)
    if old:
        await session.execute(_UPDATE_ITEM, old)

