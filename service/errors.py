"""The service's error hierarchy and the one handler that renders it.

Every error a client can see has the same JSON shape ``{"error": code, "detail": message}``
(plus ``errors`` with per-item problems where there are several). The hierarchy::

    MarkbookError                 base; carries status_code, error code, human detail
    ├── ClientError               4xx: the request is wrong, our code is fine
    │   ├── BadRequest            400 bad_request
    │   ├── Unauthorized          401 not_authenticated / invalid_token / invalid_credentials
    │   │                         (always with a WWW-Authenticate challenge)
    │   ├── Forbidden             403 forbidden / forbidden_for_device / admin_only
    │   ├── NotFound              404 not_found (also for other tenants' ids)
    │   ├── Conflict              409 conflict (duplicates, state clashes)
    │   ├── PayloadTooLarge       413 payload_too_large
    │   ├── UnsupportedMediaType  415 unsupported_media_type
    │   ├── InvalidInput          422 invalid_input (validated content is wrong)
    │   └── TooManyRequests       429 rate_limited (with Retry-After)
    └── ServerError               5xx: our defect or a dependency is down
        ├── NotReady              503 not_ready
        ├── Busy                  503 busy (every database connection is in use; with
        │                         Retry-After: nothing was changed, send it again)
        └── InsufficientStorage   507 insufficient_storage (the data folder's disk is full)

Unexpected exceptions become a logged 500 ``internal_error`` that never leaks internals.
A full disk is not a defect: an ``OSError`` with ``ENOSPC``/``EDQUOT`` (or the database's
own "disk full") anywhere in a request answers 507 ``insufficient_storage``
(:func:`disk_full` tells them apart; every other ``OSError`` stays a 500).
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "DISK_FULL_DETAIL",
    "BadRequest",
    "Busy",
    "ClientError",
    "Conflict",
    "Forbidden",
    "InsufficientStorage",
    "InvalidInput",
    "MarkbookError",
    "NotFound",
    "NotReady",
    "PayloadTooLarge",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "disk_full",
    "install_error_handlers",
]

log = logging.getLogger(__name__)


class MarkbookError(Exception):
    """Base of every error the API renders.

    Args:
        detail: a human-readable message (shown to teachers and integrators).
        error: a machine-readable code; defaults to the class's code.
        errors: optional per-item problems (e.g. one per bad CSV line).
        headers: extra response headers (``WWW-Authenticate``, ``Retry-After``).
    """

    status_code = 500
    error = "internal_error"

    def __init__(self, detail: str, *, error: str | None = None,
                 errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if error:
            self.error = error
        self.errors = errors or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class ClientError(MarkbookError):
    """The request is wrong (4xx)."""

    status_code = 400
    error = "bad_request"


class BadRequest(ClientError):
    """Malformed request."""


class Unauthorized(ClientError):
    """No credentials, or credentials that are wrong, expired or revoked."""

    status_code = 401
    error = "not_authenticated"


class Forbidden(ClientError):
    """The caller is known but may not do this (a device on a teacher route, a teacher on
    an admin route)."""

    status_code = 403
    error = "forbidden"


class NotFound(ClientError):
    """No such object, or not one the caller may see."""

    status_code = 404
    error = "not_found"


class Conflict(ClientError):
    """The request clashes with stored state (e.g. a duplicate)."""

    status_code = 409
    error = "conflict"


class PayloadTooLarge(ClientError):
    """The body exceeds a configured limit."""

    status_code = 413
    error = "payload_too_large"


class UnsupportedMediaType(ClientError):
    """The body's type or encoding is not accepted."""

    status_code = 415
    error = "unsupported_media_type"


class InvalidInput(ClientError):
    """The body parsed but its content is invalid."""

    status_code = 422
    error = "invalid_input"


class TooManyRequests(ClientError):
    """A rate limit was hit; ``Retry-After`` says when to try again."""

    status_code = 429
    error = "rate_limited"


class ServerError(MarkbookError):
    """Our defect or an unavailable dependency (5xx)."""


class NotReady(ServerError):
    """The service is starting or a dependency is down."""

    status_code = 503
    error = "not_ready"


class Busy(ServerError):
    """Every database connection stayed in use for the pool's whole wait: the request did
    nothing (its unit of work never began) and may be sent again after ``Retry-After``."""

    status_code = 503
    error = "busy"

    def __init__(self, detail: str = "the server is busy: nothing was changed; try again in a "
                 "few seconds / 服务器繁忙，未做任何更改，请稍后重试", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(BUSY_RETRY_AFTER_S)})
        super().__init__(detail, **kwargs)


# A pool wait runs out under a burst; a few seconds later connections are free again.
BUSY_RETRY_AFTER_S = 5

DISK_FULL_DETAIL = ("the server's disk is full: nothing was stored; ask the administrator to "
                    "free space, then send it again / 服务器磁盘已满，未保存任何内容；"
                    "请联系管理员清理空间后重试")
# errno values meaning "no room": the disk is full, or the user's quota is spent.
_NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
# The database's own words for a full disk: SQLite's SQLITE_FULL, PostgreSQL's 53100.
_DB_FULL = ("database or disk is full", "disk full", "no space left on device")


class InsufficientStorage(ServerError):
    """The data folder's disk is full (or below its configured reserve): the request's data
    was not stored, and sending it again once space returns will work."""

    status_code = 507
    error = "insufficient_storage"

    def __init__(self, detail: str = DISK_FULL_DETAIL, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the disk is full.

    Args:
        exc: any exception: an ``OSError`` from a write, or a database driver's error.

    Returns:
        True for ``ENOSPC``/``EDQUOT`` and for a database's "disk full"; False otherwise.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _NO_SPACE:
            return True
        if getattr(current, "sqlstate", None) == "53100" or (
                not isinstance(current, OSError)
                and any(words in str(current).lower() for words in _DB_FULL)
                and type(current).__module__.split(".")[0] in ("sqlite3", "sqlalchemy",
                                                               "asyncpg", "aiosqlite")):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Render every error in the one shape (see the module docstring)."""

    @app.exception_handler(MarkbookError)
    async def _markbook(_: Request, exc: MarkbookError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("server error: %s", exc.detail)
        return JSONResponse(exc.body(), status_code=exc.status_code,
                            headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": _location(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            body = {"error": "malformed_json", "detail": "the request body is not valid JSON",
                    "errors": errors}
            return JSONResponse(body, status_code=400)
        first = errors[0] if errors else {"loc": "body", "message": "invalid request"}
        detail = f"{first['loc']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return JSONResponse({"error": "validation_error", "detail": detail, "errors": errors},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(exc.detail)},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    from sqlalchemy.exc import DBAPIError

    from service.bounds import bad_value  # it imports this module's errors

    async def _no_space(request: Request, exc: Exception) -> JSONResponse:
        if not disk_full(exc):
            raise exc  # any other OSError is a defect: the 500 handler's
        log.error("disk full: %s %s not stored", request.method, request.url.path)
        return await _markbook(request, InsufficientStorage())

    app.add_exception_handler(OSError, _no_space)

    async def _refused_value(request: Request, exc: Exception) -> JSONResponse:
        if disk_full(exc):
            return await _no_space(request, exc)
        refused = bad_value(exc)
        if refused is None:
            raise exc  # not the caller's value: the 500 handler's
        log.info("a value was refused by the database: %s", type(exc).__name__)
        return await _markbook(request, refused)

    for value_error in (OverflowError, DBAPIError):
        app.add_exception_handler(value_error, _refused_value)

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database pool exhausted: %s %s answered busy", request.method,
                    request.url.path)
        return await _markbook(request, Busy())

    app.add_exception_handler(PoolTimeout, _pool_exhausted)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "detail": "an internal error occurred"},
                            status_code=500)
