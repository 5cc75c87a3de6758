"""The class report PDF (学情报告): the class's analysis (:mod:`service.analytics.classes`),
the same numbers as ``/classes/{id}/analytics``, laid out by
:mod:`errorbook.printing.report` with its labels from the message catalogue.

Knowledge points are printed by their names, students by theirs; no internal code or id
appears in the PDF.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.printing.report.charts import pct
from errorbook.printing.report.model import ClassReport, HeatRow, SheetBar, Trend
from errorbook.printing.report.pdf import render_class_report
from service.actor import Actor
from service.analytics.classes import class_analytics, load_class_data
from service.repositories import audit
from service.schemas.analytics import ClassAnalyticsOut, ReasonOut

__all__ = ["Messages", "class_report", "class_report_pdf", "reason_text"]

Messages = Callable[..., str]
_HEADINGS = ("worksheets", "heatmap", "trends", "attention", "student", "point", "first",
             "last", "change", "reasons", "none", "legend")


def _change(change: float | None) -> str:
    if change is None:
        return "–"
    points = round(change * 100)
    return f"{points:+d}%"


def reason_text(r: ReasonOut, _: Messages) -> str:
    """One attention reason as a sentence in the catalogue's language."""
    value = pct(r.value) if r.code in ("low_scores", "falling") else f"{r.value:g}"
    return _(f"analytics.reason.{r.code}", value=value, detail=r.detail)


def class_report(a: ClassAnalyticsOut, _: Messages, today: datetime | None = None
                 ) -> ClassReport:
    """What the PDF prints, from the class's analysis.

    Args:
        a: the class's analysis.
        _: the messages of the report's language (``analytics.*`` keys).
        today: the date printed (now by default).
    """
    lang_en = getattr(_, "language", "zh-CN") == "en"

    def kp_name(k: object) -> str:
        zh, en = getattr(k, "name_zh", ""), getattr(k, "name_en", "")
        return str(en if lang_en and en else zh)

    when = (today or datetime.now(UTC)).strftime("%Y-%m-%d")
    res = a.resolution
    rated = [w.mean_rate for w in a.worksheets if w.mean_rate is not None]
    figures = (
        (_("analytics.figure.students"), str(len(a.heatmap))),
        (_("analytics.figure.worksheets"), str(len(a.worksheets))),
        (_("analytics.figure.mean_rate"),
         pct(sum(rated) / len(rated)) if rated else "–"),
        (_("analytics.figure.resolution"), pct(res.rate)),
        (_("analytics.figure.entries"), _("analytics.figure.entries_value",
                                          resolved=res.resolved, entries=res.entries)),
        (_("analytics.figure.attention"), str(len(a.attention))),
    )
    return ClassReport(
        title=_("analytics.report.title", name=a.name),
        subtitle=_("analytics.report.subtitle", date=when, count=len(a.worksheets)),
        figures=figures,
        headings={k: _(f"analytics.report.{k}") for k in _HEADINGS},
        sheets=tuple(SheetBar(w.title, w.mean_rate,
                              _("analytics.report.sheet_text", submitted=w.submitted,
                                roster=w.roster, rate=pct(w.mean_rate)))
                     for w in a.worksheets),
        points=tuple(kp_name(k) for k in a.knowledge_points),
        heat=tuple(HeatRow(r.student.name, tuple(c.rate for c in r.cells)) for r in a.heatmap),
        trends=tuple(Trend(kp_name(t.kp), tuple((w.week, w.rate) for w in t.weeks),
                           _change(t.change)) for t in a.trends),
        attention=tuple((x.student.name, "；".join(reason_text(r, _) for r in x.reasons))
                        for x in a.attention),
        notes=(_("analytics.report.note_rates"), _("analytics.report.note_resolution")))


async def class_report_pdf(session: AsyncSession, actor: Actor, class_id: int,
                           _: Messages) -> tuple[bytes, str]:
    """The class report as PDF bytes and a file name; the export is audited.

    Raises:
        NotFound: no such class for the actor.
    """
    analysis = class_analytics(await load_class_data(session, actor, class_id))
    report = class_report(analysis, _)
    data = await to_thread.run_sync(render_class_report, report)
    await audit.record(session, actor, "analytics.report", "class", class_id,
                       detail={"format": "pdf"})
    return data, f"{analysis.name}-学情报告.pdf"
