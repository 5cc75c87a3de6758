"""The class report PDF on its own: it renders on A4 with the CJK font embedded, prints
every name it is given (knowledge points by name, split into column blocks when there are
many), draws its charts, and says so when there is nothing to show."""

from __future__ import annotations

import io

import pypdfium2

from errorbook.printing.report.model import ClassReport, HeatRow, SheetBar, Trend
from errorbook.printing.report.pdf import HEAT_COLUMNS, render_class_report

HEADINGS = {"worksheets": "各次作业得分率", "heatmap": "知识点热力图", "trends": "每周得分率",
            "attention": "需要关注的学生", "student": "学生", "point": "知识点",
            "first": "第一周", "last": "最近一周", "change": "变化", "reasons": "原因",
            "none": "暂无数据。", "legend": "图例"}


def _text(pdf: bytes) -> tuple[str, int]:
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))), len(doc)


def test_report_prints_names_charts_and_blocks() -> None:
    points = tuple(f"点{chr(0x4E00 + i)}" for i in range(HEAT_COLUMNS + 2))
    report = ClassReport(
        title="三年级(2)班 学情报告", subtitle="生成日期 2026-12-05", headings=HEADINGS,
        figures=(("学生人数", "30"), ("错题解决率", "41%")),
        sheets=(SheetBar("第一周练习", 0.72, "交 29/30 · 72%"), SheetBar("第二周练习", None, "–")),
        points=points,
        heat=tuple(HeatRow(f"学生{i}", tuple((i + j) % 10 / 10 for j in range(len(points))))
                   for i in range(30)),
        trends=(Trend("进位加法", (("2026-W46", 0.5), ("2026-W47", 0.75)), "+25%"),),
        attention=(("王小明", "作业平均得分率只有 45%"),), notes=("得分率：……",))
    pdf = render_class_report(report)
    assert pdf.startswith(b"%PDF")
    assert b"MarkbookCJK" in pdf or b"FontFile2" in pdf  # the TrueType font is embedded
    text, pages = _text(pdf)
    assert pages >= 2
    for expected in ("三年级(2)班 学情报告", "第一周练习", "交 29/30 · 72%", points[0], points[-1],
                     "学生29", "进位加法", "+25%", "王小明", "作业平均得分率只有 45%", "2026-W47"):
        assert expected in text, expected
    # The last knowledge points go to a second block: the 学生 column heads it again.
    assert text.count("学生") >= 2 + 30


def test_empty_report_says_there_is_nothing() -> None:
    report = ClassReport(title="一年级(1)班 学情报告", subtitle="", figures=(),
                         headings=HEADINGS)
    text, pages = _text(render_class_report(report))
    assert pages == 1
    assert text.count("暂无数据。") == 4
