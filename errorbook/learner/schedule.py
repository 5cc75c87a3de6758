"""Review schedule of one error-book entry: when to redo a wrong item, and when it is resolved.

An entry opens when an item is answered wrong and is due again after ``intervals_days[0]``.
Each redo is recorded:

* **right, on a separate occasion** (``at >= due_at - 12 h``): one more success, the step
  advances and the next redo is due ``intervals_days[step]`` later (the last interval
  repeats); ``successes_to_resolve`` such successes resolve the entry;
* **right, too early** (the same sitting or day as the error or the last counted success):
  recorded, but it neither counts nor moves the due date, because redoing an item minutes
  after seeing the correction shows recall, not learning;
* **wrong**: successes go back to 0, the step to 0, the entry to *practising*, due again
  after ``intervals_days[0]``. A wrong redo re-opens a resolved entry.

The first redo moves *open* to *practising*. Everything is pure; :func:`replay_entry`
recomputes an entry from its attempts (after a teacher changes a grade).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "EntrySchedule",
    "EntryState",
    "ScheduleSettings",
    "new_entry",
    "record_attempt",
    "replay_entry",
    "resolution_rate",
]


class EntryState(StrEnum):
    """Where an error-book entry stands."""

    OPEN = "open"  # wrong, not yet redone
    PRACTISING = "practising"  # redone at least once, not yet resolved
    RESOLVED = "resolved"  # enough right redos on separate occasions


@dataclass(frozen=True)
class ScheduleSettings:
    """The spacing rule.

    Attributes:
        intervals_days: days until the next redo after 0, 1, 2, … counted successes.
        successes_to_resolve: right redos on separate occasions that resolve an entry.
        early_tolerance_hours: how long before ``due_at`` a right redo still counts.

    Raises:
        ValueError: no intervals, a non-positive interval, ``successes_to_resolve < 1`` or
            a negative tolerance.
    """

    intervals_days: tuple[float, ...] = (1, 3, 7, 14)
    successes_to_resolve: int = 2
    early_tolerance_hours: float = 12.0

    def __post_init__(self) -> None:
        if not self.intervals_days or any(not d > 0 for d in self.intervals_days):
            raise ValueError(f"intervals_days must be positive, got {self.intervals_days!r}")
        if self.successes_to_resolve < 1:
            raise ValueError(f"successes_to_resolve must be >= 1, got "
                             f"{self.successes_to_resolve!r}")
        if not self.early_tolerance_hours >= 0:
            raise ValueError(f"early_tolerance_hours must be >= 0, got "
                             f"{self.early_tolerance_hours!r}")

    def interval(self, step: int) -> timedelta:
        """The wait after reaching ``step`` (the last interval repeats).

        Args:
            step: counted successes so far (>= 0).

        Returns:
            The interval as a timedelta.
        """
        days = self.intervals_days[min(step, len(self.intervals_days) - 1)]
        return timedelta(days=days)


@dataclass(frozen=True)
class EntrySchedule:
    """One error-book entry's schedule.

    Attributes:
        state: open, practising or resolved.
        successes: counted right redos since the last wrong answer.
        step: index into ``intervals_days`` of the current wait.
        due_at: when the next redo is due.
        last_attempt_at: time of the latest redo (None before the first).
        history: every redo as ``(at, correct)``, in the order recorded.
    """

    state: EntryState
    successes: int
    step: int
    due_at: datetime
    last_attempt_at: datetime | None = None
    history: tuple[tuple[datetime, bool], ...] = ()

    def is_due(self, now: datetime) -> bool:
        """Whether the entry should be offered for a redo at ``now``.

        Args:
            now: the current time.

        Returns:
            True when not resolved and ``now >= due_at``.
        """
        return self.state is not EntryState.RESOLVED and now >= self.due_at


def new_entry(wrong_at: datetime, settings: ScheduleSettings | None = None) -> EntrySchedule:
    """The entry for an item answered wrong at ``wrong_at``.

    Args:
        wrong_at: when the wrong answer was written.
        settings: the spacing rule (default :class:`ScheduleSettings`).

    Returns:
        An open entry due ``intervals_days[0]`` later.
    """
    s = settings or ScheduleSettings()
    return EntrySchedule(EntryState.OPEN, successes=0, step=0, due_at=wrong_at + s.interval(0))


def record_attempt(entry: EntrySchedule, at: datetime, correct: bool,
                   settings: ScheduleSettings | None = None) -> EntrySchedule:
    """Fold one redo into the entry (the module docstring's rule).

    Args:
        entry: the entry before the redo.
        at: when the redo was written.
        correct: whether it was right.
        settings: the spacing rule (default :class:`ScheduleSettings`).

    Returns:
        The entry after the redo.
    """
    s = settings or ScheduleSettings()
    history = (*entry.history, (at, bool(correct)))
    last = at if entry.last_attempt_at is None else max(entry.last_attempt_at, at)
    if not correct:
        return EntrySchedule(EntryState.PRACTISING, successes=0, step=0,
                             due_at=at + s.interval(0), last_attempt_at=last, history=history)
    on_time = at >= entry.due_at - timedelta(hours=s.early_tolerance_hours)
    if not on_time:
        state = EntryState.PRACTISING if entry.state is EntryState.OPEN else entry.state
        return EntrySchedule(state, entry.successes, entry.step, entry.due_at, last, history)
    successes = entry.successes + 1
    step = min(entry.step + 1, len(s.intervals_days) - 1)
    resolved = successes >= s.successes_to_resolve or entry.state is EntryState.RESOLVED
    return EntrySchedule(EntryState.RESOLVED if resolved else EntryState.PRACTISING,
                         successes=successes, step=step, due_at=at + s.interval(step),
                         last_attempt_at=last, history=history)


def replay_entry(wrong_at: datetime, attempts: Iterable[tuple[datetime, bool]],
                 settings: ScheduleSettings | None = None) -> EntrySchedule:
    """Recompute an entry from its original error and all its redos.

    Redos are folded in time order (a stable sort: equal times keep the order given), so
    the result does not depend on the order rows come back from storage.

    Args:
        wrong_at: when the original wrong answer was written.
        attempts: ``(at, correct)`` per redo, any order.
        settings: the spacing rule (default :class:`ScheduleSettings`).

    Returns:
        The entry after the last redo.
    """
    entry = new_entry(wrong_at, settings)
    for at, correct in sorted(attempts, key=lambda a: a[0]):
        entry = record_attempt(entry, at, correct, settings)
    return entry


def resolution_rate(states: Iterable[EntryState]) -> float | None:
    """Share of entries resolved.

    Args:
        states: the entries' states.

    Returns:
        resolved / all, or None when there are no entries.
    """
    total = resolved = 0
    done = EntryState.RESOLVED.value  # a plain string: a class's thousands of entries
    for state in states:
        total += 1
        resolved += state == done
    return resolved / total if total else None
