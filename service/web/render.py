"""Rendering a page: the Jinja2 templates with the request's language, user and CSRF token.

Every page extends ``templates/base.html`` and gets in its context:

* ``_``: the :class:`service.web.i18n.Translator` of the request's language;
* ``lang`` and ``languages``: the current language tag and the ones on offer;
* ``user``: the signed-in :class:`service.web.sessions.PageUser`, or ``None``;
* ``csrf_token``: the token every POST form carries as the ``csrf_token`` field;
* ``here``: the current path and query (where the language switch comes back to; home
  for a page that answers a form);
* ``section``: the main-menu entry the page belongs to (highlighted in the menu).

Responses carry a Content-Security-Policy that allows nothing but this server (the pages
work offline, and an injected script or style from elsewhere would not load), and are
never cached (they hold pupils' data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from service.web.i18n import LANGUAGES, Catalogue, language_of
from service.web.sessions import (
    ANON_COOKIE,
    CsrfSigner,
    PageUser,
    csrf_subject,
    new_browser_id,
    set_cookie,
)

__all__ = ["MENU", "SECURITY_HEADERS", "TEMPLATE_DIR", "Pages", "render", "section_of"]

TEMPLATE_DIR = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back the stored UTC time without its zone
        value = value.replace(tzinfo=UTC)
    # The server's local time: a school's server runs in the school's time zone.
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Pages:
    """What rendering needs, made once when the app is created.

    Attributes:
        catalogue: every language's messages.
        env: the template environment (autoescaping, undefined names are errors).
    """

    catalogue: Catalogue
    env: Environment

    @classmethod
    def create(cls, catalogue: Catalogue, template_dir: Path = TEMPLATE_DIR) -> Pages:
        """The environment over ``template_dir`` with the pages' filters."""
        env = Environment(loader=FileSystemLoader(template_dir),
                          autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, auto_reload=False)
        env.filters["when"] = _when
        return cls(catalogue, env)


# The main menu's entries; a page belongs to the entry whose path its own path starts with
# (``/jobs/3`` is part of uploading, a student's page part of the classes).
MENU = ("/", "/classes", "/bank", "/worksheets", "/uploads", "/review", "/results",
        "/errorbooks", "/devices")
_SECTION_ALIASES = {"/jobs": "/uploads", "/students": "/classes"}


def section_of(path: str) -> str:
    """The main-menu entry a page path belongs to (``""`` for none, e.g. the sign-in)."""
    if path.startswith("/worksheets/") and path.endswith("/results"):
        return "/results"
    for prefix, section in _SECTION_ALIASES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return section
    for entry in MENU[1:]:
        if path == entry or path.startswith(entry + "/"):
            return entry
    return "/" if path == "/" else ""


def render(request: Request, template: str, *, user: PageUser | None, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """A page as an HTML response.

    Args:
        request: the request (language cookie, session, path).
        template: the template's name under ``templates/``.
        user: the signed-in teacher, or ``None``.
        status_code: the response's status.
        headers: extra response headers.
        context: the template's own variables.

    Returns:
        The response; a signed-out browser without a ``markbook_csrf`` id gets one.
    """
    pages: Pages = request.app.state.pages
    csrf: CsrfSigner = request.app.state.csrf
    lang = language_of(request)
    subject = csrf_subject(request, user)
    browser_id = None
    if subject is None:
        subject = browser_id = new_browser_id()
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # a form's answer: switching language goes home, not back
        here = "/"
    html = pages.env.get_template(template).render(
        _=pages.catalogue.translator(lang), lang=lang, languages=LANGUAGES, user=user,
        csrf_token=csrf.token(subject), here=here, section=section_of(request.url.path),
        **context)
    response = HTMLResponse(html, status_code=status_code,
                            headers={**SECURITY_HEADERS, **(headers or {})})
    if browser_id is not None:
        set_cookie(response, request, ANON_COOKIE, browser_id, max_age=None)
    return response
