"""A web process builds its route tables before it reports ready, so the first burst of
requests after a start does not pay for them (its database pool is opened beside this, by
:func:`service.db.engine.open_pool`)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message

__all__ = ["warm_routes"]

# A path no route serves: finding that out walks every route of every router.
_NOWHERE = "/.well-known/markbook-warm-up"


async def warm_routes(app: ASGIApp) -> int:
    """Send the app one request for a path it does not serve, and return its status.

    FastAPI builds each included router's table of routes (their dependencies, their
    validators) the first time a request looks through it; a request that matches
    nothing looks through all of them. Measured on a two-core box: the first wave of 50
    uploads after a start cost the web processes about a fifth more CPU than later ones
    until the tables and the pool were made ready here.
    """
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": _NOWHERE, "raw_path": _NOWHERE.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    return status
