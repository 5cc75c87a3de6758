"""The analytics pages' charts, drawn on the server as SVG: the score distribution
(columns), a rate bar, and the weekly score-rate lines per knowledge point.

Like :mod:`service.web.charts`, every function is pure and escapes its text, geometry is
in SVG attributes and colour in CSS classes (``static/analytics.css``: ``an-bar``,
``series-0`` … ``series-7``, ``heat-0`` … ``heat-4``), with the hex values of
:mod:`errorbook.printing.report.palette` so the PDF and the pages match. Each mark that
stands for answers is a link to them, and every figure is also written as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from errorbook.printing.report.palette import SERIES, heat_bin
from service.web.charts import percent

__all__ = ["Column", "Series", "columns", "heat_class", "rate_bar", "trend_chart"]


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def heat_class(rate: float | None) -> str:
    """The CSS class of a heatmap cell (``heat-0`` low … ``heat-4`` high, ``heat-none``)."""
    return "heat-none" if rate is None else f"heat-{heat_bin(rate)}"


@dataclass(frozen=True)
class Column:
    """One column of :func:`columns`: its label, height (a count), link and hover text."""

    label: str
    count: int
    href: str
    title: str


def columns(items: Sequence[Column], *, title: str, width: int = 520,
            height: int = 180) -> Markup:
    """A column chart of counts (the score distribution), each column a link to its
    answers, its count above it and its label below.

    Args:
        items: the columns, left to right.
        title: what the chart shows (its ``<title>``).
        width: the chart's width in pixels.
        height: the chart's height in pixels.
    """
    left, bottom, top = 8, 22, 16
    plot_h = height - bottom - top
    slot = (width - 2 * left) / max(1, len(items))
    top_count = max((c.count for c in items), default=0) or 1
    parts = [f'<svg class="chart chart-columns" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line class="chart-grid" x1="{left}" y1="{height - bottom}" '
             f'x2="{width - left}" y2="{height - bottom}"/>']
    for i, c in enumerate(items):
        x = left + i * slot
        h = plot_h * c.count / top_count
        y = height - bottom - h
        parts.append(f'<g class="chart-column"><title>{escape(c.title)}</title>')
        if c.count:
            parts.append(f'<a href="{escape(c.href)}" data-testid="chart-link">'
                         f'<rect class="an-bar" x="{_n(x + 3)}" y="{_n(y)}" '
                         f'width="{_n(slot - 6)}" height="{_n(h)}" rx="2"/></a>')
        parts.append(f'<text class="chart-value" x="{_n(x + slot / 2)}" y="{_n(y - 4)}" '
                     f'text-anchor="middle">{c.count}</text>')
        parts.append(f'<text class="chart-axis" x="{_n(x + slot / 2)}" y="{height - 6}" '
                     f'text-anchor="middle">{escape(c.label)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_bar(rate: float | None, *, label: str, width: int = 100, height: int = 12) -> Markup:
    """A small bar of a rate (0..1) on a track, in the palette's blue (no judgement in
    colour: the number beside it says how much)."""
    fill = 0.0 if rate is None else max(0.0, min(1.0, rate)) * width
    return Markup(
        f'<svg class="chart an-rate" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}: {escape(percent(rate))}</title>"
        f'<rect class="chart-track" x="0" y="0" width="{width}" height="{height}" rx="3"/>'
        + (f'<rect class="an-bar" x="0" y="0" width="{_n(fill)}" height="{height}" rx="3"/>'
           if fill > 0 else "") + "</svg>")


@dataclass(frozen=True)
class Series:
    """One line of :func:`trend_chart`: a name and (week, rate, link) points."""

    name: str
    points: tuple[tuple[str, float, str], ...]


def _marker(i: int, x: float, y: float) -> str:
    # A shape per series as well as a colour (circle, square, triangle).
    cls = f"series-{i % len(SERIES)}"
    if i % 3 == 0:
        return f'<circle class="{cls}" cx="{_n(x)}" cy="{_n(y)}" r="4"/>'
    if i % 3 == 1:
        return f'<rect class="{cls}" x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7"/>'
    return (f'<polygon class="{cls}" points="{_n(x)},{_n(y - 4.5)} {_n(x - 4.2)},{_n(y + 3)} '
            f'{_n(x + 4.2)},{_n(y + 3)}"/>')


def trend_chart(series: Sequence[Series], *, title: str, width: int = 640,
                height: int = 240) -> Markup:
    """Weekly score rates of up to eight knowledge points: one coloured line and marker
    shape each, 0/50/100 % gridlines, the weeks below and a legend under the plot; each
    point links to the answers of that week.

    Args:
        series: the lines (the first eight are drawn).
        title: what the chart shows.
        width: the chart's width in pixels.
        height: the plot's height in pixels (the legend adds to it).
    """
    shown = list(series)[: len(SERIES)]
    weeks = sorted({w for s in shown for w, _, _ in s.points})
    legend_rows = -(-len(shown) // 3)
    total_h = height + 18 * legend_rows
    left, right, top, bottom = 40, 16, 12, 30 + 18 * legend_rows
    plot_w, plot_h = width - left - right, total_h - top - bottom
    parts = [f'<svg class="chart chart-trend" role="img" width="{width}" height="{total_h}" '
             f'viewBox="0 0 {width} {total_h}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line class="chart-grid" x1="{left}" y1="{_n(y)}" x2="{left + plot_w}" '
                     f'y2="{_n(y)}"/><text class="chart-axis" x="{left - 6}" y="{_n(y + 4)}" '
                     f'text-anchor="end">{percent(tick)}</text>')

    def x_of(week: str) -> float:
        i = weeks.index(week)
        return left + (plot_w / 2 if len(weeks) == 1 else plot_w * i / (len(weeks) - 1))

    step = max(1, -(-len(weeks) // 8))
    for i, w in enumerate(weeks):
        if i % step == 0 or i == len(weeks) - 1:
            parts.append(f'<text class="chart-axis" x="{_n(x_of(w))}" '
                         f'y="{top + plot_h + 16}" text-anchor="middle">{escape(w)}</text>')
    for n, s in enumerate(shown):
        cls = f"series-{n}"
        pts = [(x_of(w), top + plot_h * (1 - max(0.0, min(1.0, r))), w, r, href)
               for w, r, href in s.points]
        if len(pts) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y, *_ in pts)
            parts.append(f'<polyline class="line {cls}" points="{path}"/>')
        for x, y, w, r, href in pts:
            parts.append(f'<a href="{escape(href)}" data-testid="chart-link"><g>'
                         f"<title>{escape(s.name)} {escape(w)}: {percent(r)}</title>"
                         f"{_marker(n, x, y)}</g></a>")
        lx = left + (n % 3) * (plot_w / 3)
        ly = top + plot_h + 34 + 18 * (n // 3)
        parts.append(_marker(n, lx + 5, ly - 4))
        parts.append(f'<text class="chart-label" x="{_n(lx + 14)}" y="{_n(ly)}">'
                     f"{escape(s.name)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
