"""Lay out the class report (学情报告) as an A4 PDF: summary figures, the worksheets'
score rates, the knowledge-point heatmap (students × points, split across pages and column
blocks as needed), the weekly score-rate lines per point, and the students who need
attention. Text uses the embedded CJK font; colours come from :mod:`.palette`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from errorbook.printing.fonts import register_cjk_font
from errorbook.printing.report.charts import pct, sheet_bars, trend_lines
from errorbook.printing.report.model import ClassReport
from errorbook.printing.report.palette import HEAT, HEAT_TEXT, heat_bin

__all__ = ["HEAT_COLUMNS", "render_class_report"]

HEAT_COLUMNS = 12  # knowledge points per heatmap block (more go to the next block)
_LINE = HexColor("#C8CDD3")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13,
                          wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=22,
                                spaceAfter=2),
        "sub": ParagraphStyle("sub", parent=base, textColor=HexColor("#52606D")),
        # A heading never ends a page apart from what it heads.
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=10,
                             spaceAfter=4, keepWithNext=1),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=9),
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=10,
                               textColor=HexColor("#52606D")),
    }


def _figures(report: ClassReport, st: dict[str, ParagraphStyle]) -> Flowable:
    if not report.figures:
        return Spacer(1, 1)
    cells = [[Paragraph(label, st["note"]), Paragraph(f"<b>{value}</b>", st["body"])]
             for label, value in report.figures]
    rows = [[c for pair in cells[i:i + 3] for c in pair] for i in range(0, len(cells), 3)]
    width = max(len(r) for r in rows) if rows else 2
    rows = [r + [""] * (width - len(r)) for r in rows]
    t = Table(rows, hAlign="LEFT")
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, _LINE),
                           ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
    return t


def _heat_blocks(report: ClassReport, st: dict[str, ParagraphStyle],
                 font: str) -> list[Flowable]:
    out: list[Flowable] = []
    for start in range(0, len(report.points), HEAT_COLUMNS):
        names = report.points[start:start + HEAT_COLUMNS]
        header: list[Any] = [Paragraph(report.headings["student"], st["small"])]
        header += [Paragraph(n, st["small"]) for n in names]
        rows: list[list[Any]] = [header]
        style: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), font, 7), ("GRID", (0, 0), (-1, -1), 0.4, _LINE),
            ("ALIGN", (1, 1), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
        for y, row in enumerate(report.heat, start=1):
            rates = row.rates[start:start + HEAT_COLUMNS]
            rows.append([row.name, *[pct(r) if r is not None else "" for r in rates]])
            for x, r in enumerate(rates, start=1):
                if r is None:
                    continue
                b = heat_bin(r)
                style.append(("BACKGROUND", (x, y), (x, y), HexColor(HEAT[b])))
                style.append(("TEXTCOLOR", (x, y), (x, y), HexColor(HEAT_TEXT[b])))
        first = 24 * mm
        other = min(16 * mm, (A4[0] - 30 * mm - first) / max(1, len(names)))
        t = Table(rows, colWidths=[first] + [other] * len(names), repeatRows=1,
                  hAlign="LEFT")
        t.setStyle(TableStyle(style))
        out += [t, Spacer(1, 4)]
    return out


def _legend(report: ClassReport, st: dict[str, ParagraphStyle], font: str) -> Table:
    edges = ("0", "40%", "60%", "75%", "90%", "100%")
    cells = [f"{edges[i]}–{edges[i + 1]}" for i in range(len(HEAT))]
    t = Table([[report.headings["legend"], *cells]], hAlign="LEFT")
    style: list[tuple[Any, ...]] = [("FONT", (0, 0), (-1, -1), font, 7),
                                    ("BOX", (1, 0), (-1, 0), 0.4, _LINE)]
    for i, colour in enumerate(HEAT, start=1):
        style.append(("BACKGROUND", (i, 0), (i, 0), HexColor(colour)))
        style.append(("TEXTCOLOR", (i, 0), (i, 0), HexColor(HEAT_TEXT[i - 1])))
    t.setStyle(TableStyle(style))
    return t


def _trend_table(report: ClassReport, st: dict[str, ParagraphStyle], font: str) -> Table:
    h = report.headings
    rows: list[list[Any]] = [[h["point"], h["first"], h["last"], h["change"]]]
    for t in report.trends:
        first = pct(t.points[0][1]) if t.points else "–"
        last = pct(t.points[-1][1]) if t.points else "–"
        rows.append([Paragraph(t.name, st["small"]), first, last, t.change])
    table = Table(rows, colWidths=[60 * mm, 25 * mm, 25 * mm, 25 * mm], repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 8),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.6, _LINE),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    return table


def _attention(report: ClassReport, st: dict[str, ParagraphStyle], font: str) -> Flowable:
    h = report.headings
    if not report.attention:
        return Paragraph(h["none"], st["body"])
    rows: list[list[Any]] = [[h["student"], h["reasons"]]]
    rows += [[Paragraph(name, st["body"]), Paragraph(reasons, st["body"])]
             for name, reasons in report.attention]
    t = Table(rows, colWidths=[30 * mm, 145 * mm], repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 9),
                           ("LINEBELOW", (0, 0), (-1, -1), 0.4, _LINE),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return t


def _story(report: ClassReport, font: str) -> Sequence[Flowable]:
    st = _styles(font)
    h = report.headings
    story: list[Flowable] = [Paragraph(report.title, st["title"]),
                             Paragraph(report.subtitle, st["sub"]), Spacer(1, 6),
                             _figures(report, st)]
    story.append(Paragraph(h["worksheets"], st["h2"]))
    story.append(sheet_bars(report.sheets, font) if report.sheets
                 else Paragraph(h["none"], st["body"]))
    story.append(Paragraph(h["heatmap"], st["h2"]))
    if report.points:
        story += [_legend(report, st, font), Spacer(1, 4), *_heat_blocks(report, st, font)]
    else:
        story.append(Paragraph(h["none"], st["body"]))
    if report.trends:
        # The heading goes with its chart: never alone at the foot of a page.
        story += [KeepTogether([Paragraph(h["trends"], st["h2"]),
                                trend_lines(report.trends, font)]), Spacer(1, 6),
                  _trend_table(report, st, font)]
    else:
        story += [Paragraph(h["trends"], st["h2"]), Paragraph(h["none"], st["body"])]
    story.append(Paragraph(h["attention"], st["h2"]))
    story.append(_attention(report, st, font))
    if report.notes:
        story.append(Spacer(1, 10))
        story += [Paragraph(n, st["note"]) for n in report.notes]
    return story


def render_class_report(report: ClassReport, *, font_path: str | None = None) -> bytes:
    """The class report as PDF bytes (A4, the CJK font embedded).

    Args:
        report: what to print (text already in the reader's language).
        font_path: a CJK TrueType font; None: the one already registered (or the first
            found, see :mod:`errorbook.printing.fonts`).

    Returns:
        The PDF.

    Raises:
        FontNotFoundError: no embeddable CJK font.
    """
    font = register_cjk_font(font_path)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm, title=report.title,
                            author="markbook", invariant=1)

    def footer(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.setFillColor(colors.grey)
        # 10 mm up, as the worksheets' footers: clear of any printer's unprintable edge.
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm,
                               f"{report.title} · {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(list(_story(report, font)), onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
