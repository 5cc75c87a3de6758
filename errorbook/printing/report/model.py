"""What the class report prints: plain text and numbers, already in the reader's language
(the service makes it from the class's analysis; this package only lays it out)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ClassReport", "HeatRow", "SheetBar", "Trend"]


@dataclass(frozen=True)
class SheetBar:
    """One worksheet's bar: its title, its class score rate (None: nothing decided) and the
    text printed beside it (hand-ins and the rate)."""

    label: str
    rate: float | None
    text: str


@dataclass(frozen=True)
class HeatRow:
    """One student's row of the heatmap: a rate per knowledge point (None: no answer)."""

    name: str
    rates: tuple[float | None, ...]


@dataclass(frozen=True)
class Trend:
    """One knowledge point's class score rate per week, and the change as text."""

    name: str
    points: tuple[tuple[str, float], ...]
    change: str


@dataclass(frozen=True)
class ClassReport:
    """The class report's content.

    Attributes:
        title: the heading (class name and 学情报告).
        subtitle: the line under it (date, worksheets covered).
        figures: (label, value) pairs for the summary box.
        headings: section headings by key: ``summary``, ``worksheets``, ``heatmap``,
            ``trends``, ``attention``, ``student``, ``point``, ``first``, ``last``, ``change``,
            ``reasons``, ``none``, ``legend``.
        sheets: the worksheets' bars, oldest first.
        points: the heatmap's knowledge point names (columns).
        heat: the heatmap's rows (students).
        trends: weekly rate per knowledge point.
        attention: (student, reasons) pairs.
        notes: definitions printed at the end.
    """

    title: str
    subtitle: str
    figures: tuple[tuple[str, str], ...]
    headings: dict[str, str]
    sheets: tuple[SheetBar, ...] = ()
    points: tuple[str, ...] = ()
    heat: tuple[HeatRow, ...] = ()
    trends: tuple[Trend, ...] = ()
    attention: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
