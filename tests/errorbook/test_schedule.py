"""Error-book review schedule: spacing, separate occasions, resets, replay."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from errorbook.learner.schedule import (
    EntryState,
    ScheduleSettings,
    new_entry,
    record_attempt,
    replay_entry,
    resolution_rate,
)

T0 = datetime(2025, 3, 3, 9, 0)
DAY = timedelta(days=1)
S = ScheduleSettings()


def test_new_entry_is_open_and_due_after_the_first_interval() -> None:
    e = new_entry(T0, S)
    assert (e.state, e.successes, e.step, e.due_at) == (EntryState.OPEN, 0, 0, T0 + DAY)
    assert e.last_attempt_at is None
    assert e.history == ()
    assert not e.is_due(T0 + DAY / 2)
    assert e.is_due(T0 + DAY)
    assert new_entry(T0, ScheduleSettings(intervals_days=(2, 5))).due_at == T0 + 2 * DAY


def test_two_right_redos_on_separate_days_resolve() -> None:
    e = record_attempt(new_entry(T0, S), T0 + DAY, True, S)
    assert (e.state, e.successes, e.step) == (EntryState.PRACTISING, 1, 1)
    assert e.due_at == T0 + DAY + 3 * DAY
    e = record_attempt(e, T0 + 4 * DAY, True, S)
    assert (e.state, e.successes) == (EntryState.RESOLVED, 2)
    assert not e.is_due(T0 + 100 * DAY)


def test_right_redo_on_the_same_day_does_not_count() -> None:
    e = record_attempt(new_entry(T0, S), T0 + timedelta(hours=2), True, S)
    assert (e.state, e.successes, e.step, e.due_at) == (EntryState.PRACTISING, 0, 0, T0 + DAY)
    assert e.history == ((T0 + timedelta(hours=2), True),)
    e = record_attempt(e, T0 + DAY, True, S)
    e2 = record_attempt(e, T0 + DAY + timedelta(hours=3), True, S)  # same day again
    assert (e2.successes, e2.state, e2.due_at) == (1, EntryState.PRACTISING, e.due_at)
    # Within the 12 h tolerance before the due time still counts (the evening before).
    e3 = record_attempt(e, e.due_at - timedelta(hours=11), True, S)
    assert e3.state is EntryState.RESOLVED


def test_wrong_redo_resets_and_reopens_a_resolved_entry() -> None:
    e = replay_entry(T0, [(T0 + DAY, True), (T0 + 4 * DAY, False)], S)
    assert (e.state, e.successes, e.step) == (EntryState.PRACTISING, 0, 0)
    assert e.due_at == T0 + 5 * DAY
    resolved = replay_entry(T0, [(T0 + DAY, True), (T0 + 4 * DAY, True)], S)
    assert resolved.state is EntryState.RESOLVED
    reopened = record_attempt(resolved, T0 + 30 * DAY, False, S)
    assert (reopened.state, reopened.successes) == (EntryState.PRACTISING, 0)
    wrong_first = record_attempt(new_entry(T0, S), T0 + DAY, False, S)
    assert wrong_first.state is EntryState.PRACTISING


def test_steps_advance_through_intervals_and_the_last_repeats() -> None:
    s = ScheduleSettings(intervals_days=(1, 3, 7), successes_to_resolve=5)
    e, at = new_entry(T0, s), T0
    gaps = []
    for _ in range(4):
        at = e.due_at
        e = record_attempt(e, at, True, s)
        gaps.append((e.due_at - at).days)
    assert gaps == [3, 7, 7, 7]
    assert e.successes == 4
    assert e.state is EntryState.PRACTISING
    assert record_attempt(e, e.due_at, True, s).state is EntryState.RESOLVED


def test_replay_is_order_independent_and_equals_the_fold() -> None:
    attempts = [(T0 + DAY, True), (T0 + 2 * DAY, False), (T0 + 3 * DAY, True),
                (T0 + 6 * DAY, True)]
    folded = new_entry(T0, S)
    for at, ok in attempts:
        folded = record_attempt(folded, at, ok, S)
    assert replay_entry(T0, attempts, S) == folded
    assert replay_entry(T0, list(reversed(attempts)), S) == folded
    assert folded.state is EntryState.RESOLVED
    assert folded.last_attempt_at == T0 + 6 * DAY
    assert replay_entry(T0, [], S) == new_entry(T0, S)


def test_settings_validation_and_resolution_rate() -> None:
    for bad in ({"intervals_days": ()}, {"intervals_days": (1, 0)},
                {"successes_to_resolve": 0}, {"early_tolerance_hours": -1}):
        with pytest.raises(ValueError, match=r"intervals_days must be positive|"
                           r"successes_to_resolve must be >= 1|early_tolerance_hours must be >= 0"):
            ScheduleSettings(**bad)
    assert resolution_rate([]) is None
    assert resolution_rate([EntryState.RESOLVED, EntryState.OPEN, EntryState.PRACTISING,
                            EntryState.RESOLVED]) == 0.5
    assert resolution_rate(["resolved", "open"]) == 0.5  # type: ignore[list-item]
