"""Small charts drawn on the server as SVG markup (no script, no chart library).

Each function is pure: numbers and labels in, an SVG string out (a
:class:`markupsafe.Markup`, so a template inserts it as it is). Every piece of text is
escaped here. The pages' Content-Security-Policy forbids ``style=`` attributes, so shapes
carry SVG presentation attributes (``x``, ``width``...) for geometry and CSS classes for
colour (``static/charts.css``: ``.chart-good``, ``.chart-mid``, ``.chart-bad``...). Every
chart has ``role="img"`` and a ``<title>`` naming what it shows, and the numbers are also
written as text, so nothing depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["GOOD", "MID", "LinePoint", "bar", "hbar_chart", "level_class", "line_chart",
           "percent"]

# Rates at or above GOOD are drawn green, at or above MID amber, below it red (the bands
# district reports use for 作业正确率: ≥ 85 % 优, ≥ 60 % 及格).
GOOD, MID = 0.85, 0.6


def percent(rate: float | None) -> str:
    """A rate (0..1) as a whole percentage (``85%``); ``–`` when there is none."""
    if rate is None:
        return "–"
    return f"{round(max(0.0, min(1.0, rate)) * 100):d}%"


def level_class(rate: float | None, good: float = GOOD, mid: float = MID) -> str:
    """The CSS class of a rate's colour band: ``chart-good``, ``chart-mid``, ``chart-bad``,
    or ``chart-none`` without a rate."""
    if rate is None:
        return "chart-none"
    return "chart-good" if rate >= good else "chart-mid" if rate >= mid else "chart-bad"


def _n(value: float) -> str:
    """A coordinate, short (SVG needs no more than a tenth of a pixel here)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _clamp(rate: float) -> float:
    return max(0.0, min(1.0, rate))


def bar(rate: float | None, *, label: str, width: int = 120, height: int = 14) -> Markup:
    """One horizontal bar of a rate (0..1) on a light track, with the percentage beside it.

    Args:
        rate: the filled share (clamped to 0..1); ``None`` draws the empty track only.
        label: what the bar measures (the SVG's title, read by screen readers).
        width: the track's width in pixels.
        height: the bar's height in pixels.

    Returns:
        The ``<svg>`` element.
    """
    text_w = 44
    fill = 0.0 if rate is None else _clamp(rate) * width
    parts = [
        f'<svg class="chart chart-bar" role="img" width="{width + text_w}" height="{height}" '
        f'viewBox="0 0 {width + text_w} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}: {escape(percent(rate))}</title>",
        f'<rect class="chart-track" x="0" y="0" width="{width}" height="{height}" rx="3"/>',
    ]
    if fill > 0:
        parts.append(f'<rect class="{level_class(rate)}" x="0" y="0" width="{_n(fill)}" '
                     f'height="{height}" rx="3"/>')
    parts.append(f'<text class="chart-value" x="{width + 6}" y="{height - 2}">'
                 f"{escape(percent(rate))}</text></svg>")
    return Markup("".join(parts))


def hbar_chart(items: Sequence[tuple[str, float | None]], *, title: str, width: int = 560,
               label_width: int = 180, row: int = 26) -> Markup:
    """A horizontal bar chart: one labelled row per item, its rate as a bar and a number.

    Args:
        items: (label, rate 0..1 or None) in the order to draw them.
        title: what the chart shows (its ``<title>``).
        width: the whole chart's width in pixels.
        label_width: the room for the labels on the left (long labels are cut with …).
        row: each row's height in pixels.

    Returns:
        The ``<svg>`` element (an empty chart with the title when there are no items).
    """
    value_w = 48
    track = max(40, width - label_width - value_w)
    height = max(row, row * len(items)) + 4
    max_chars = max(4, label_width // 14)
    parts = [
        f'<svg class="chart chart-hbar" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    bar_h = row - 10
    for i, (label, rate) in enumerate(items):
        y = 2 + i * row
        shown = label if len(label) <= max_chars else label[: max_chars - 1] + "…"
        parts.append(f'<g class="chart-row"><title>{escape(label)}: '
                     f"{escape(percent(rate))}</title>")
        parts.append(f'<text class="chart-label" x="{label_width - 8}" y="{y + bar_h}" '
                     f'text-anchor="end">{escape(shown)}</text>')
        parts.append(f'<rect class="chart-track" x="{label_width}" y="{y + 3}" '
                     f'width="{track}" height="{bar_h}" rx="3"/>')
        if rate is not None and _clamp(rate) > 0:
            parts.append(f'<rect class="{level_class(rate, 0.8, 0.5)}" x="{label_width}" '
                         f'y="{y + 3}" width="{_n(_clamp(rate) * track)}" height="{bar_h}" '
                         'rx="3"/>')
        parts.append(f'<text class="chart-value" x="{label_width + track + 6}" '
                     f'y="{y + bar_h}">{escape(percent(rate))}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class LinePoint:
    """One point of a line chart.

    Attributes:
        label: the x-axis label (a date, a worksheet's short name).
        rate: the y value, 0..1.
        title: the hover text (the whole name and the figure); the label if empty.
    """

    label: str
    rate: float
    title: str = ""


def line_chart(points: Sequence[LinePoint], *, title: str, width: int = 480,
               height: int = 220) -> Markup:
    """A line chart of rates (0..1) over time, with 0/50/100 % gridlines, a dot and its
    percentage at each point, and the x labels below.

    Args:
        points: the points in time order.
        title: what the chart shows (its ``<title>``).
        width: the chart's width in pixels.
        height: the chart's height in pixels.

    Returns:
        The ``<svg>`` element (gridlines and the title only when there are no points).
    """
    left, right, top, bottom = 40, 16, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg class="chart chart-line" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line class="chart-grid" x1="{left}" y1="{_n(y)}" '
                     f'x2="{left + plot_w}" y2="{_n(y)}"/>')
        parts.append(f'<text class="chart-axis" x="{left - 6}" y="{_n(y + 4)}" '
                     f'text-anchor="end">{percent(tick)}</text>')

    def xy(i: int, rate: float) -> tuple[float, float]:
        x = left + (plot_w / 2 if len(points) == 1 else plot_w * i / (len(points) - 1))
        return x, top + plot_h * (1 - _clamp(rate))

    coords = [xy(i, p.rate) for i, p in enumerate(points)]
    if len(coords) > 1:
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)
        parts.append(f'<polyline class="chart-path" points="{path}"/>')
    # Label every point when they fit; otherwise about ten, evenly spread, and the last.
    step = max(1, -(-len(points) // 10))
    for i, (p, (x, y)) in enumerate(zip(points, coords, strict=True)):
        hover = p.title or p.label
        parts.append(f'<g class="chart-point"><title>{escape(hover)}: '
                     f"{escape(percent(p.rate))}</title>")
        parts.append(f'<circle class="{level_class(p.rate)}" cx="{_n(x)}" cy="{_n(y)}" r="4"/>')
        if i % step == 0 or i == len(points) - 1:
            parts.append(f'<text class="chart-value" x="{_n(x)}" y="{_n(y - 8)}" '
                         f'text-anchor="middle">{escape(percent(p.rate))}</text>')
            parts.append(f'<text class="chart-axis" x="{_n(x)}" y="{height - 14}" '
                         f'text-anchor="middle">{escape(p.label)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
