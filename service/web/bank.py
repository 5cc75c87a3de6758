"""The question bank pages: browse by knowledge point, kind, difficulty and words; each
question previewed as printed; import a bank file (its problems listed per question and
field); export the bank.

Everything goes through the service functions the JSON API uses
(:mod:`service.questions`), with the signed-in teacher's actor: one bank per school.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from grading.questions import QUESTION_KINDS
from service.api.deps import SessionDep, SettingsDep
from service.errors import InvalidInput
from service.questions import (
    KnowledgePointNode,
    browse_bank,
    export_bank,
    import_bank,
    knowledge_point_tree,
    question_preview,
)
from service.repositories.bank_pages import BankFilter
from service.web.bank_problems import Problem, describe_problems
from service.web.deps import FormUser, RequiredUser, see_other
from service.web.i18n import Translator, language_of
from service.web.render import Pages, render
from service.web.sessions import PageUser

__all__ = ["PAGE_SIZE", "bank_filter", "router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
# A bank file larger than this is refused before it is parsed.
MAX_BANK_FILE_BYTES = 16 * 1024 * 1024
# How long a browser may keep a question's preview before asking again (it revalidates
# with the ETag after that, which costs one query and no rendering).
PREVIEW_MAX_AGE_S = 300


def translator(request: Request) -> Translator:
    """The request's ``_`` (what templates get), for text made in a route."""
    pages: Pages = request.app.state.pages
    return pages.catalogue.translator(language_of(request))


def bank_filter(kp: str = "", kind: str = "", difficulty: str = "", q: str = "") -> BankFilter:
    """The filter from a page's query (blank or unknown values are no filter)."""
    level = int(difficulty) if difficulty.isdigit() and 1 <= int(difficulty) <= 5 else None
    return BankFilter(kp=kp.strip() or None, kind=kind if kind in QUESTION_KINDS else None,
                      difficulty=level, text=q.strip()[:100] or None)


def _query(f: BankFilter, **extra: object) -> str:
    params = {"kp": f.kp or "", "kind": f.kind or "", "difficulty": f.difficulty or "",
              "q": f.text or "", **extra}
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _names(nodes: list[KnowledgePointNode], lang: str) -> dict[str, str]:
    """Each knowledge point's name in the page's language, by code."""
    out: dict[str, str] = {}
    for n in nodes:
        out[n.code] = n.name_en if lang == "en" and n.name_en else n.name_zh
        out.update(_names(n.children, lang))
    return out


async def _bank_page(request: Request, session: AsyncSession, user: PageUser, f: BankFilter,
                     page: int, *, problems: list[Problem] | None = None,
                     import_error: str | None = None, status_code: int = 200) -> Response:
    page = max(page, 1)
    found = await browse_bank(session, user.actor, f, limit=PAGE_SIZE,
                              offset=(page - 1) * PAGE_SIZE)
    pages = max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    imported = {k: request.query_params.get(k) for k in ("created", "updated", "unchanged")}
    tree = await knowledge_point_tree(session, user.actor)
    return render(
        request, "bank/index.html", user=user, status_code=status_code,
        tree=tree, kp_names=_names(tree, language_of(request)), found=found, filter=f,
        kinds=QUESTION_KINDS, page=page, pages=pages,
        prev_url=f"/bank?{_query(f, page=page - 1)}" if page > 1 else None,
        next_url=f"/bank?{_query(f, page=page + 1)}" if page < pages else None,
        kp_url=lambda code: f"/bank?{_query(BankFilter(code, f.kind, f.difficulty, f.text))}",
        problems=problems, import_error=import_error,
        imported=imported if all(v is not None and v.isdigit() for v in imported.values())
        else None)


@router.get("/bank")
async def bank(request: Request, session: SessionDep, user: RequiredUser, kp: str = "",
               kind: str = "", difficulty: str = "", q: str = "", page: int = 1) -> Response:
    """The bank: the knowledge point tree, filters, a page of questions with previews,
    import and export."""
    return await _bank_page(request, session, user, bank_filter(kp, kind, difficulty, q), page)


@router.get("/bank/questions/{question_id}/preview.png")
async def preview(request: Request, question_id: str, session: SessionDep,
                  user: RequiredUser) -> Response:
    """One question as it prints on a worksheet (rendered once per version of the
    question, then served from memory; the browser revalidates with the ETag)."""
    png = await question_preview(session, user.actor, question_id)
    etag = f'"{hashlib.sha256(png).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={PREVIEW_MAX_AGE_S}",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)


@router.post("/bank/import")
async def import_file(request: Request, session: SessionDep, settings: SettingsDep,
                      user: FormUser,
                      bank_file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import a ``markbook-questions/1`` file through the API's import: the whole file is
    checked first and any problem rejects all of it (nothing is imported); the problems are
    listed per question and field."""
    _ = translator(request)
    f = BankFilter()
    data = await bank_file.read(MAX_BANK_FILE_BYTES + 1) if bank_file is not None else b""
    if not data:
        return await _bank_page(request, session, user, f, 1, status_code=400,
                                import_error=_("bank.import.error.no_file"))
    if len(data) > MAX_BANK_FILE_BYTES:
        return await _bank_page(request, session, user, f, 1, status_code=413,
                                import_error=_("bank.import.error.too_large",
                                               limit=MAX_BANK_FILE_BYTES // (1024 * 1024)))
    try:
        document: Any = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return await _bank_page(request, session, user, f, 1, status_code=422,
                                import_error=_("bank.import.error.encoding"))
    except json.JSONDecodeError as exc:
        return await _bank_page(request, session, user, f, 1, status_code=422,
                                import_error=_("bank.import.error.json", line=exc.lineno,
                                               column=exc.colno))
    try:
        result = await import_bank(session, user.actor, document,
                                   settings.limits.max_import_questions)
    except InvalidInput as exc:
        if exc.error != "invalid_question_bank":
            raise
        problems = describe_problems(exc.errors, _)
        return await _bank_page(request, session, user, f, 1, status_code=422,
                                problems=problems,
                                import_error=_("bank.import.error.problems",
                                               count=len(problems)))
    return see_other(f"/bank?created={result.created}&updated={result.updated}"
                     f"&unchanged={result.unchanged}")


@router.get("/bank/export.json")
async def export(session: SessionDep, user: RequiredUser) -> Response:
    """The whole bank as a file that imports back unchanged (the API's export)."""
    document = await export_bank(session, user.actor, kp=None, subject=None)
    return Response(json.dumps(document, ensure_ascii=False, indent=1),
                    media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="question-bank.json"',
                             "Cache-Control": "no-store"})
