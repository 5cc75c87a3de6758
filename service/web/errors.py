"""Errors on a page answer as a page: the same status as the API would give, in the
reader's language, with the service's message and a way back.

The app's JSON error handlers (:mod:`service.errors`) stay for ``/api``, ``/healthz`` and
the API docs; :func:`install_page_errors` wraps them so that any other path (a page) gets
``templates/error.html`` instead. The page's heading is the message ``error.<code>`` (for
example ``error.not_found``) when the catalogue has one, else ``error.status.<status>``;
the service's own detail is shown below it, as the API would return it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.bounds import bad_value
from service.errors import InsufficientStorage, MarkbookError, disk_full
from service.web.deps import CsrfRefused
from service.web.render import render

__all__ = ["NOT_PAGES", "install_page_errors", "is_page"]

log = logging.getLogger(__name__)

# Paths that answer JSON (or are files), never a page.
NOT_PAGES = ("/api/", "/healthz", "/docs", "/redoc", "/openapi.json", "/static/")

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page(request: Request) -> bool:
    """Whether the request is for a page (an HTML answer) rather than the API."""
    path = request.url.path
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_PAGES)


def _error_page(request: Request, status: int, code: str, detail: str,
                headers: dict[str, str] | None = None) -> Response:
    # The user is not resolved again here (the error may have come from resolving it): the
    # header then shows no name, which is right for a 404 or 403 page.
    return render(request, "error.html", user=None, status_code=status, headers=headers,
                  status=status, code=code, detail=detail)


def _wrap(json_handler: Handler | None, page: Callable[[Request, Exception], Response]
          ) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if is_page(request) or json_handler is None:
            return page(request, exc)
        return await json_handler(request, exc)
    return handler


def _markbook(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MarkbookError)
    return _error_page(request, exc.status_code, exc.error, exc.detail,
                       dict(exc.headers or {}) or None)


def _validation(request: Request, exc: Exception) -> Response:
    # A page's parameters come from links and forms of its own; a malformed one (an id that
    # is not a number) is a page that does not exist.
    log.info("page request with invalid parameters: %s", exc)
    return _error_page(request, 404, "not_found", "")


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _error_page(request, exc.status_code, code, "")


def _server(request: Request, exc: Exception) -> Response:
    log.exception("page failed: %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "internal_error", "")


def _no_space(request: Request, exc: Exception) -> Response:
    # A full disk is the administrator's to fix, not a defect: 507 with what to do.
    if not disk_full(exc):
        raise exc
    log.error("disk full: %s %s not stored", request.method, request.url.path)
    return _markbook(request, InsufficientStorage())


def _value(request: Request, exc: Exception) -> Response:
    if disk_full(exc):
        return _no_space(request, exc)
    refused = bad_value(exc)
    if refused is None:
        raise exc
    return _markbook(request, refused)


def _csrf(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfRefused)
    return render(request, "csrf.html", user=exc.user, status_code=403)


def install_page_errors(app: FastAPI) -> None:
    """Answer errors on pages with the error page (after the JSON handlers are installed)."""
    handlers = app.exception_handlers
    for exc_type, page in ((MarkbookError, _markbook), (RequestValidationError, _validation),
                           (StarletteHTTPException, _http), (OverflowError, _value),
                           (DBAPIError, _value), (OSError, _no_space),
                           (Exception, _server)):
        json_handler = cast(Handler | None, handlers.get(exc_type))  # the app's are async
        app.add_exception_handler(exc_type, _wrap(json_handler, page))
    app.add_exception_handler(CsrfRefused, _wrap(None, _csrf))
