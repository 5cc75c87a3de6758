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
        └── NotReady              503 not_ready

Unexpected exceptions become a logged 500 ``internal_error`` that never leaks internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "BadRequest",
    "ClientError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "MarkbookError",
    "NotFound",
    "NotReady",
    "PayloadTooLarge",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
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

    async def _refused_value(request: Request, exc: Exception) -> JSONResponse:
        refused = bad_value(exc)
        if refused is None:
            raise exc  # not the caller's value: the 500 handler's
        log.info("a value was refused by the database: %s", type(exc).__name__)
        return await _markbook(request, refused)

    for value_error in (OverflowError, DBAPIError):
        app.add_exception_handler(value_error, _refused_value)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal_error", "detail": "an internal error occurred"},
                            status_code=500)
