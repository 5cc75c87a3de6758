"""Results pages: the teacher's worksheets with hand-in counts and averages (``/results``),
and one worksheet's class table, hand-in status, per-question accuracy and downloads
(``/worksheets/{id}/results``).

Downloads answer from the same service functions as the API (``results.csv``,
``annotated.pdf``), with the browser session's teacher as the actor, so the policy and
the audit log treat them exactly as the API's.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from service.annotated import export_annotated
from service.api.deps import SessionDep
from service.results import export_results_csv
from service.results_pages import page_results, results_overview, results_state
from service.storage import LocalStorage
from service.web.deps import RequiredUser
from service.web.i18n import Translator, language_of
from service.web.render import Pages, render
from service.web.results_views import CELL_KINDS, ViewCache, results_view

__all__ = ["router", "translator"]

router = APIRouter(include_in_schema=False)


def _storage(request: Request) -> LocalStorage:
    storage: LocalStorage = request.app.state.storage
    return storage


def translator(request: Request) -> Translator:
    """The request's language's messages (for text drawn into a chart)."""
    pages: Pages = request.app.state.pages
    return pages.catalogue.translator(language_of(request))


def _view_cache(request: Request) -> ViewCache[Markup]:
    """The app's rendered results bodies (made on first use, kept in ``app.state``)."""
    found: ViewCache[Markup] | None = getattr(request.app.state, "results_views", None)
    if found is None:
        found = request.app.state.results_views = ViewCache()
    return found


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@router.get("/results")
async def results_list(request: Request, session: SessionDep, user: RequiredUser) -> Response:
    """My worksheets, newest first: handed in / class size, average score, waiting review."""
    sheets = await results_overview(session, user.actor)
    return render(request, "results/index.html", user=user, sheets=sheets)


@router.get("/worksheets/{worksheet_id}/results")
async def worksheet_results(worksheet_id: int, request: Request, session: SessionDep,
                            user: RequiredUser) -> Response:
    """The class table (students × questions), who has not handed in, per-question
    accuracy with the common wrong answers, and the downloads."""
    state = await results_state(session, user.actor, worksheet_id)
    cache = _view_cache(request)
    key = (state.worksheet.id, language_of(request))
    body = cache.get(key, state.version)
    if body is None:
        _ = translator(request)
        view = results_view(await page_results(session, user.actor, state),
                            _("results.accuracy"))
        pages: Pages = request.app.state.pages
        body = Markup(pages.env.get_template("results/worksheet_body.html").render(
            _=_, view=view, kinds=CELL_KINDS))
        cache.put(key, state.version, body)
    return render(request, "results/worksheet.html", user=user, title=state.worksheet.title,
                  body=body)


@router.get("/worksheets/{worksheet_id}/results.csv")
async def worksheet_results_csv(
    worksheet_id: int, session: SessionDep, user: RequiredUser,
    by: Annotated[Literal["student", "question"], Query()] = "student",
) -> Response:
    """The results as CSV (the API's export: UTF-8 with BOM), per student or per question."""
    data, name = await export_results_csv(session, user.actor, worksheet_id, by)
    disposition = (f"attachment; filename=\"worksheet-{worksheet_id}-{by}.csv\"; "
                   f"filename*=UTF-8''{quote(name)}")
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@router.get("/worksheets/{worksheet_id}/annotated.pdf")
async def class_annotated(worksheet_id: int, request: Request, session: SessionDep,
                          user: RequiredUser) -> Response:
    """Every scanned student's annotated paper in one PDF (the API's export)."""
    return _pdf(*await export_annotated(session, user.actor, _storage(request), worksheet_id,
                                        language=request.app.state.settings.school_language))


@router.get("/worksheets/{worksheet_id}/students/{student_id}/annotated.pdf")
async def student_annotated(worksheet_id: int, student_id: int, request: Request,
                            session: SessionDep, user: RequiredUser) -> Response:
    """One student's annotated paper (the API's export; 404 if none was scanned)."""
    return _pdf(*await export_annotated(session, user.actor, _storage(request), worksheet_id,
                                        student_id, request.app.state.settings.school_language))
