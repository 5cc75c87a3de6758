"""Wiring the pages into the app: routes, static files, the sign-in redirect, CSRF key."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from service.web import (
    analytics,
    bank,
    builder,
    classes,
    devices,
    drills,
    errorbooks,
    pages,
    results,
    review,
    student_links,
    students,
    templates_editor,
    uploads,
)
from service.web.errors import install_page_errors
from service.web.i18n import load_catalogue
from service.web.render import Pages
from service.web.sessions import CsrfSigner, SessionRenewal, SignInRequired, login_url

__all__ = ["AREAS", "STATIC_DIR", "STATIC_URL", "install_web", "start_web"]

# Each area of the app is one module with a ``router`` (and its templates under
# ``templates/<area>/``, its messages in ``locale/*/LC_MESSAGES/<area>.po``).
AREAS = (pages, classes, students, student_links, bank, builder, uploads, review, results,
         errorbooks, devices, analytics, drills, templates_editor)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static"


async def _to_login(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


def install_web(app: FastAPI) -> None:
    """Add the pages, ``/static`` and the redirect of signed-out page views to ``/login``;
    read the message catalogue (once, here, not per request).

    Args:
        app: the app being created.

    Raises:
        FileNotFoundError: a catalogue file is missing (a broken install).
    """
    app.state.pages = Pages.create(load_catalogue())
    for area in AREAS:
        app.include_router(area.router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(SignInRequired, _to_login)
    app.add_middleware(SessionRenewal)
    install_page_errors(app)


def start_web(app: FastAPI, secret_key: str) -> None:
    """Key the CSRF tokens (the app's lifespan calls this once the secret key is loaded)."""
    app.state.csrf = CsrfSigner(secret_key)
