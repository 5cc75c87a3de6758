"""Analytics pages: one worksheet (``/worksheets/{id}/analytics``), a class over time
(``/classes/{id}/analytics``, its PDF report ``/classes/{id}/report.pdf``), a student's
portrait (``/students/{id}/analytics``), and the answers behind any figure
(``/analytics/answers``).

Each page shows the API's own document (:mod:`service.api.analytics`), with the browser
session's teacher as the actor, so the policy treats both alike (another teacher's class
is 404). Every figure links to ``/analytics/answers`` with the filters of its answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from service.analytics.classes import load_class_analytics
from service.analytics.drill import DrillQuery, load_answers
from service.analytics.links import web_url
from service.analytics.portrait import load_portrait
from service.analytics.report import class_report_pdf, reason_text
from service.analytics.worksheet import analytics_of, worksheet_basis
from service.api.deps import SessionDep
from service.schemas.analytics import ClassAnalyticsOut, KpRef, ReasonOut
from service.web.analytics_charts import Column, Series, columns, heat_class, rate_bar, trend_chart
from service.web.charts import percent
from service.web.deps import RequiredUser
from service.web.i18n import Translator
from service.web.render import Pages, render
from service.web.results import translator
from service.web.results_views import ViewCache

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_Text = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class Helpers:
    """What every analytics template uses (as ``h``): links to the answers, percentages,
    knowledge point names and attention reasons in the page's language, and the charts."""

    language: str
    translate: Translator

    link = staticmethod(web_url)
    pct = staticmethod(percent)
    rate_bar = staticmethod(rate_bar)
    heat_class = staticmethod(heat_class)

    def kp_name(self, kp: KpRef) -> str:
        """The point's name in the page's language (Chinese when it has no other)."""
        return kp.name_en if self.language == "en" and kp.name_en else kp.name_zh

    def reason(self, r: ReasonOut) -> str:
        """An attention reason as a sentence."""
        return reason_text(r, self.translate)


def _helpers(request: Request) -> Helpers:
    _ = translator(request)
    return Helpers(_.language, _)


def _view_cache(request: Request) -> ViewCache[Markup]:
    """The app's rendered analysis bodies (made on first use, kept in ``app.state``): a
    body is reused only while the version of what it shows is unchanged, so a review
    decision shows at once."""
    found: ViewCache[Markup] | None = getattr(request.app.state, "analytics_views", None)
    if found is None:
        found = request.app.state.analytics_views = ViewCache()
    return found


def _heat_rows(a: ClassAnalyticsOut, _: Translator) -> list[Markup]:
    """The heatmap's rows as HTML, made here once (50 students × 10 points are 500 cells,
    which cost a template loop more than the rest of the page)."""
    out = []
    for row in a.heatmap:
        st = row.student
        parts = [f'<tr data-student-id="{st.id}"><th scope="row">'
                 f'<a href="/students/{st.id}/analytics">{escape(st.name)}</a></th>']
        for c in row.cells:
            parts.append(f'<td class="{heat_class(c.rate)}" data-code="{escape(c.code)}">')
            if c.n:
                rate = percent(c.rate)
                title = _("analytics.heat.cell", name=st.name, rate=rate, n=c.n)
                parts.append(f'<a href="{escape(web_url(c.answers))}" title="{escape(title)}" '
                             f'data-testid="an-heat-link">{rate}</a>')
            parts.append("</td>")
        parts.append("</tr>")
        out.append(Markup("".join(parts)))
    return out


@router.get("/worksheets/{worksheet_id}/analytics")
async def worksheet_page(worksheet_id: int, request: Request, session: SessionDep,
                         user: RequiredUser) -> Response:
    """Score distribution, per-question facility, discrimination, distractors, common
    wrong answers with causes, and hand-in status of one worksheet."""
    basis = await worksheet_basis(session, user.actor, worksheet_id)
    _ = translator(request)
    cache = _view_cache(request)
    key = ("worksheet", basis.state.worksheet.id, _.language)
    body = cache.get(key, basis.version)
    if body is None:
        a = await analytics_of(session, user.actor, basis)
        dist = columns([Column(f"{round(b.low * 100)}–{round(b.high * 100)}%", b.count,
                               web_url(b.answers),
                               _("analytics.dist.bin_title", low=round(b.low * 100),
                                 high=round(b.high * 100), count=b.count))
                        for b in a.distribution.bins], title=_("analytics.dist.title"))
        pages: Pages = request.app.state.pages
        body = Markup(pages.env.get_template("analytics/worksheet_body.html").render(
            _=_, a=a, dist_chart=dist, h=_helpers(request)))
        cache.put(key, basis.version, body)
    return render(request, "analytics/worksheet.html", user=user,
                  title=basis.state.worksheet.title, body=body)


@router.get("/classes/{class_id}/analytics")
async def class_page(class_id: int, request: Request, session: SessionDep,
                     user: RequiredUser) -> Response:
    """The class over time: worksheets, heatmap, weekly score rates per knowledge point,
    error-resolution rate, students who need attention; the PDF report."""
    a = await load_class_analytics(session, user.actor, class_id)
    _ = translator(request)
    # The page is a function of the analysis and the language: the analysis (a few
    # queries and a few ms) is made on every view, the page (the heatmap and charts cost
    # more) only when the analysis changed.
    version = hashlib.sha256(a.model_dump_json().encode()).hexdigest()
    cache = _view_cache(request)
    key = ("class", a.class_id, _.language)
    body = cache.get(key, version)
    if body is None:
        h = _helpers(request)
        ranked = sorted(a.trends, key=lambda t: (-t.n, t.kp.code))
        chart = trend_chart([Series(h.kp_name(t.kp), tuple(
            (w.week, w.rate, web_url(w.answers)) for w in t.weeks)) for t in ranked],
            title=_("analytics.trends.chart"))
        pages: Pages = request.app.state.pages
        body = Markup(pages.env.get_template("analytics/class_body.html").render(
            _=_, a=a, trend_chart=chart, heat_rows=_heat_rows(a, _), h=h))
        cache.put(key, version, body)
    return render(request, "analytics/class.html", user=user, name=a.name, body=body)


@router.get("/classes/{class_id}/report.pdf")
async def class_report(class_id: int, request: Request, session: SessionDep,
                       user: RequiredUser) -> Response:
    """The class report PDF (the API's ``report.pdf``) in the page's language."""
    data, name = await class_report_pdf(session, user.actor, class_id, translator(request))
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"class-{class_id}-report.pdf\"; "
                               f"filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})


@router.get("/students/{student_id}/analytics")
async def student_page(student_id: int, request: Request, session: SessionDep,
                       user: RequiredUser) -> Response:
    """The student's portrait: points over time, strengths, weaknesses, persistent and
    resolved errors."""
    p = await load_portrait(session, user.actor, student_id)
    h = _helpers(request)
    _ = translator(request)
    ranked = sorted(p.knowledge_points, key=lambda k: (-k.n, k.kp.code))
    # Mastery at each week's end, each point linked to that week's answers on the point.
    chart = trend_chart([Series(h.kp_name(k.kp), tuple(
        (m.week, m.p_mastery, web_url(links[m.week])) for m in k.mastery_weeks))
        for k in ranked for links in [{w.week: w.answers for w in k.weeks}]],
        title=_("analytics.portrait.chart"))
    return render(request, "analytics/student.html", user=user, p=p, trend_chart=chart,
                  h=h)


@router.get("/analytics/answers")
async def answers_page(
    request: Request, session: SessionDep, user: RequiredUser,
    class_id: int | None = None, worksheet_id: int | None = None,
    student_id: int | None = None, students: _Text = None, question: _Text = None,
    kp: _Text = None, week: _Text = None, answer: _Text = None, verdict: _Text = None,
    entries: _Text = None, entry_id: int | None = None,
) -> Response:
    """The answers behind a figure, each with its crop and a link to review it."""
    q = DrillQuery(class_id=class_id, worksheet_id=worksheet_id, student_id=student_id,
                   students=students, question=question, kp=kp, week=week, answer=answer,
                   verdict=verdict, entries=entries, entry_id=entry_id)
    found = await load_answers(session, user.actor, q)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "analytics/answers.html", user=user, found=found,
                  back=quote(here, safe=""), h=_helpers(request))
