"""Error-book entries from graded answers: open on a wrong answer, practise, resolve.

An entry's schedule is always recomputed from its wrong answer and its attempts (a fold in
:func:`errorbook.learner.schedule.replay_entry`), so a teacher's override of any of those answers
gives the same entry a fresh computation would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.schedule import EntryState, ScheduleSettings, replay_entry
from service.db import ErrorAttemptRow, ErrorEntryRow
from service.mastery.answers import AnswerFact, is_wrong
from service.repositories.errorbook import ErrorBookRepository

__all__ = ["refold_entries", "sync_entries"]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def refold_entries(session: AsyncSession, entries: Sequence[ErrorEntryRow],
                         schedule: ScheduleSettings) -> None:
    """Recompute these entries' schedules from their wrong answers and attempts."""
    if not entries:
        return
    attempts = await ErrorBookRepository(session).attempts_of([e.id for e in entries])
    for entry in entries:
        _refold(entry, attempts.get(entry.id, []), schedule)


def _refold(entry: ErrorEntryRow, attempts: Sequence[ErrorAttemptRow],
            schedule: ScheduleSettings) -> None:
    folded = replay_entry(_aware(entry.wrong_at), [(_aware(a.at), a.correct) for a in attempts],
                          schedule)
    was_resolved = entry.state == EntryState.RESOLVED.value
    entry.state, entry.successes, entry.step = folded.state.value, folded.successes, folded.step
    entry.due_at, entry.last_attempt_at = folded.due_at, folded.last_attempt_at
    entry.times_wrong = 1 + sum(1 for a in attempts if not a.correct)
    if folded.state is EntryState.RESOLVED:
        if not was_resolved or entry.resolved_at is None:
            entry.resolved_at = folded.last_attempt_at
    else:
        entry.resolved_at = None


async def sync_entries(session: AsyncSession, facts: Sequence[AnswerFact],
                       schedule: ScheduleSettings | None = None, *, new: bool = False) -> None:
    """Open, practise or resolve entries for these answers (flush only).

    Rules: a wrong answer to a question opens its entry (once per student and question; a
    later wrong answer to the same question is a failed attempt). A later answer to the same
    question, or to a practice item printed for the entry (a similar or variant question),
    is an attempt. Answers on practice sheets never open entries of their own, so the book
    does not grow from its own exercises. An answer no longer counted (overridden to needs
    review, moved to another student) is taken back out, and a wrong answer overridden to
    right closes the entry it opened.

    Args:
        session: the unit of work.
        facts: the answers that changed, in answer order.
        schedule: the review spacing; the documented defaults when omitted.
        new: the answers were stored in this unit of work: none made an attempt or opened
            an entry yet.
    """
    schedule = schedule or ScheduleSettings()
    repo = ErrorBookRepository(session)
    # By object, not id: the entries opened here have no id until the flush below. (The
    # session's identity map gives one object per entry, whichever query found it.)
    touched: dict[int, ErrorEntryRow] = {}
    dropped: set[int] = set()
    rids = [f.response_id for f in facts]
    # Take back every attempt these answers made, then add the ones that still hold.
    origins: dict[int, ErrorEntryRow] = {}
    if not new:
        for a in await repo.attempts_by_responses(rids):
            entry = await repo.entry(a.entry_id)
            if entry is not None:
                touched[id(entry)] = entry
            await repo.delete(a)
        origins = await repo.entries_opened_by(rids)
        await repo.flush()
    same, practised = await _lookups(repo, facts)
    tries: list[tuple[ErrorEntryRow, AnswerFact]] = []
    opened: list[ErrorEntryRow] = []
    for f in facts:
        origin = origins.get(f.response_id)
        if origin is not None and (f.student_id != origin.student_id or not is_wrong(f)):
            touched.pop(id(origin), None)
            dropped.add(id(origin))
            same.pop((origin.student_id, origin.question_id), None)
            await repo.drop_entry(origin)
            continue
        if f.student_id is None or f.credit is None or origin is not None:
            continue
        targets: dict[int, ErrorEntryRow] = {}
        entry = same.get((f.student_id, f.question_id))
        # A later try at the same question (an older scan arriving late is not a retry).
        if entry is not None and entry.response_id != f.response_id \
                and _aware(entry.wrong_at) <= f.at:
            targets[id(entry)] = entry
        for e in practised.get((f.worksheet_id, f.question_id), ()):
            if e.student_id == f.student_id:
                targets[id(e)] = e
        is_practice = (f.worksheet_id, f.question_id) in practised
        if entry is None and is_wrong(f) and not is_practice:
            entry = ErrorEntryRow(school_id=f.school_id, student_id=f.student_id,
                                  question_id=f.question_id, response_id=f.response_id,
                                  wrong_at=f.at, cause=f.cause, times_wrong=1,
                                  state=EntryState.OPEN.value, successes=0, step=0, due_at=f.at)
            repo.add(entry)
            touched[id(entry)] = entry
            opened.append(entry)
            same[(f.student_id, f.question_id)] = entry
            continue
        for e in targets.values():
            tries.append((e, f))
            touched[id(e)] = e
    # An entry opened here that no answer of this batch tries is folded now, before its
    # insert: its schedule needs no attempts read back and no second statement.
    tried = {id(e) for e, _ in tries}
    for entry in opened:
        if id(entry) not in tried:
            _refold(entry, (), schedule)
            touched.pop(id(entry), None)
    await repo.flush()  # the new entries, in one statement: their ids for the attempts
    for e, f in tries:
        if id(e) not in dropped:  # an entry taken back by a later answer has no attempts
            repo.add(ErrorAttemptRow(entry_id=e.id, response_id=f.response_id, at=f.at,
                                     correct=not is_wrong(f)))
    await repo.flush()
    await refold_entries(session, [e for k, e in touched.items() if k not in dropped],
                         schedule)
    await repo.flush()


async def _lookups(repo: ErrorBookRepository, facts: Sequence[AnswerFact]
                   ) -> tuple[dict[tuple[int, int], ErrorEntryRow],
                              dict[tuple[int, int], list[ErrorEntryRow]]]:
    """Two queries for the whole batch: the students' entries for these questions, and the
    practice items (with their entries) on these worksheets for these questions."""
    students = {f.student_id for f in facts if f.student_id is not None}
    questions = {f.question_id for f in facts}
    same: dict[tuple[int, int], ErrorEntryRow] = {}
    if students:
        same = await repo.entries_for(students, questions)
    practised: dict[tuple[int, int], list[ErrorEntryRow]] = {}
    rows = await repo.practice_items({f.worksheet_id for f in facts}, questions)
    for item, entry in rows:
        bucket = practised.setdefault((item.worksheet_id, item.question_id), [])
        if entry is not None:
            bucket.append(entry)
    return same, practised
