"""Figures shared by the class and student analyses: ISO weeks, score rates of mastery
events per knowledge point and week, and the error-resolution rate (错题解决率)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

from service.analytics.links import answers_url
from service.repositories.analytics import EventRow, KpMoment
from service.schemas.analytics import KpRef, ResolutionOut, WeekRateOut

__all__ = ["EntryLike", "Rate", "iso_week", "kp_ref", "r4", "rate_of", "resolution", "weekly", "weekly_sums"]


def r4(value: float) -> float:
    """A figure rounded for the documents (4 places; -0.0 becomes 0.0)."""
    return round(value + 0.0, 4)


@lru_cache(maxsize=4096)
def iso_week(at: datetime) -> str:
    """The ISO week of a moment, ``2026-W47`` (naive times from SQLite are UTC). Cached:
    a class's answers share the few moments their uploads arrived."""
    year, week, _ = (at if at.tzinfo else at.replace(tzinfo=UTC)).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Rate:
    """A mean credit over ``n`` answers."""

    rate: float
    n: int


def rate_of(events: Iterable[EventRow]) -> Rate:
    """The mean credit of the events (0 answers: rate 0)."""
    credits = [e.credit for e in events]
    return Rate(r4(sum(credits) / len(credits)) if credits else 0.0, len(credits))


def weekly(events: Sequence[EventRow], **link: str | int | None) -> list[WeekRateOut]:
    """The events' mean credit per ISO week, oldest first, each linked to its answers.

    Args:
        events: one knowledge point's events (of a class or a student).
        link: the drill-down filters that select these events (``class_id`` and ``kp``,
            or ``student_id`` and ``kp``); the week is added.
    """
    by_week: dict[str, list[EventRow]] = defaultdict(list)
    for e in events:
        by_week[iso_week(e.at)].append(e)
    out = []
    for week in sorted(by_week):
        r = rate_of(by_week[week])
        out.append(WeekRateOut(week=week, rate=r.rate, n=r.n,
                               answers=answers_url(**link, week=week)))
    return out


def weekly_sums(moments: Sequence[KpMoment], **link: str | int | None) -> list[WeekRateOut]:
    """:func:`weekly` from answers already added up per moment (one knowledge point's)."""
    by_week: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for m in moments:
        acc = by_week[iso_week(m.at)]
        acc[0] += m.total
        acc[1] += m.n
    return [WeekRateOut(week=w, rate=r4(t / n), n=int(n),
                        answers=answers_url(**link, week=w))
            for w, (t, n) in sorted(by_week.items()) if n]


def kp_ref(code: str, names: Mapping[str, tuple[str, str]]) -> KpRef:
    """A knowledge point by code with its names (its code as the name when it has none)."""
    zh, en = names.get(code, ("", ""))
    return KpRef(code=code, name_zh=zh or code, name_en=en)


class EntryLike(Protocol):
    """An error-book entry as the figures read it (a row or a lighter fact)."""

    @property
    def student_id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def successes(self) -> int: ...


def resolution(entries: Sequence[EntryLike], **link: str | int | None) -> ResolutionOut:
    """The error-resolution figures of these error-book entries.

    An entry is one wrong (or blank, or part-right) answer kept in the error book. It is
    *redone right* once a later try at it was right, and *resolved* after the spaced redos
    the schedule asks for (``docs/mastery.md``). 错题解决率 = resolved / entries (the same
    rate as ``/progress``); ``redo_rate`` = redone right / entries.

    Args:
        entries: the entries.
        link: drill-down filters naming their owner (``class_id`` or ``student_id``).
    """
    total = len(entries)
    resolved = sum(1 for e in entries if e.state == "resolved")
    redone = sum(1 for e in entries if e.successes > 0 or e.state == "resolved")
    return ResolutionOut(entries=total, redone_right=redone, resolved=resolved,
                         rate=r4(resolved / total) if total else None,
                         redo_rate=r4(redone / total) if total else None,
                         answers=answers_url(**link, entries="any"))
