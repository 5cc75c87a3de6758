"""The class report's charts as reportlab drawings (vector, so they print sharp): the
worksheets' score-rate bars and the weekly score-rate lines per knowledge point. The page
versions are SVG (``service/web/analytics_charts.py``) from the same numbers and palette."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib.colors import HexColor

from errorbook.printing.report.model import SheetBar, Trend
from errorbook.printing.report.palette import BAR, SERIES

__all__ = ["pct", "sheet_bars", "trend_lines"]

_GRID = HexColor("#C8CDD3")
_TRACK = HexColor("#ECEFF3")
_INK = HexColor("#1F2933")


def pct(rate: float | None) -> str:
    """A rate as a whole percentage, ``–`` for none."""
    return "–" if rate is None else f"{round(max(0.0, min(1.0, rate)) * 100):d}%"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sheet_bars(bars: Sequence[SheetBar], font: str, width: float = 480) -> Drawing:
    """One horizontal bar per worksheet: its class score rate, the text beside it."""
    row, label_w, text_w = 18, 150, 110
    track = width - label_w - text_w
    d = Drawing(width, max(row, row * len(bars)) + 4)
    top = d.height - 2
    for i, b in enumerate(bars):
        y = top - (i + 1) * row + 4
        d.add(String(label_w - 6, y + 3, _cut(b.label, 12), fontName=font, fontSize=8,
                     textAnchor="end", fillColor=_INK))
        d.add(Rect(label_w, y, track, row - 8, fillColor=_TRACK, strokeColor=None))
        if b.rate is not None and b.rate > 0:
            d.add(Rect(label_w, y, track * min(1.0, b.rate), row - 8,
                       fillColor=HexColor(BAR), strokeColor=None))
        d.add(String(label_w + track + 6, y + 3, b.text, fontName=font, fontSize=8,
                     fillColor=_INK))
    return d


def _marker(i: int, x: float, y: float, colour: HexColor) -> Circle | Rect | Polygon:
    # A different shape per series as well as a different colour.
    shape = i % 3
    if shape == 0:
        return Circle(x, y, 2.6, fillColor=colour, strokeColor=colour)
    if shape == 1:
        return Rect(x - 2.4, y - 2.4, 4.8, 4.8, fillColor=colour, strokeColor=colour)
    return Polygon([x, y + 3.2, x - 3, y - 2.2, x + 3, y - 2.2], fillColor=colour,
                   strokeColor=colour)


def trend_lines(trends: Sequence[Trend], font: str, width: float = 480,
                height: float = 200) -> Drawing:
    """The weekly score rate of each knowledge point (up to eight, one colour and marker
    each, a legend under the plot), 0/50/100 % gridlines, the weeks along the bottom."""
    shown = list(trends)[: len(SERIES)]
    weeks = sorted({w for t in shown for w, _ in t.points})
    legend_rows = -(-len(shown) // 3)
    d = Drawing(width, height + 14 * legend_rows)
    left, right, bottom, top = 36, 10, 22 + 14 * legend_rows, 10
    plot_w, plot_h = width - left - right, d.height - bottom - top
    for tick in (0.0, 0.5, 1.0):
        y = bottom + plot_h * tick
        d.add(Line(left, y, left + plot_w, y, strokeColor=_GRID, strokeWidth=0.6))
        d.add(String(left - 4, y - 3, pct(tick), fontName=font, fontSize=7, textAnchor="end",
                     fillColor=_INK))

    def x_of(week: str) -> float:
        i = weeks.index(week)
        return left + (plot_w / 2 if len(weeks) == 1 else plot_w * i / (len(weeks) - 1))

    step = max(1, -(-len(weeks) // 8))
    for i, w in enumerate(weeks):
        if i % step == 0 or i == len(weeks) - 1:
            d.add(String(x_of(w), bottom - 12, w, fontName=font, fontSize=7,
                         textAnchor="middle", fillColor=_INK))
    for n, t in enumerate(shown):
        colour = HexColor(SERIES[n])
        pts = [(x_of(w), bottom + plot_h * max(0.0, min(1.0, r))) for w, r in t.points]
        if len(pts) > 1:
            d.add(PolyLine([c for p in pts for c in p], strokeColor=colour, strokeWidth=1.4))
        for x, y in pts:
            d.add(_marker(n, x, y, colour))
        lx = left + (n % 3) * (plot_w / 3)
        ly = 4 + 14 * (legend_rows - 1 - n // 3)
        d.add(_marker(n, lx + 4, ly + 3, colour))
        d.add(String(lx + 11, ly, _cut(f"{t.name} {t.change}", 16), fontName=font, fontSize=7,
                     fillColor=_INK))
    return d
