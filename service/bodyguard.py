"""JSON and form bodies are bounded and free of NUL characters before anything parses them.

A pure ASGI middleware, so it runs before routing and authentication: an anonymous client
cannot make the server hold a huge JSON document in memory (FastAPI reads and parses the
whole body before a route's dependencies run). Scan uploads (multipart, PDF, images) are not
touched here; their own reader counts bytes against ``limits.max_upload_mb``. A NUL
character cannot be stored in a PostgreSQL text column, so a body carrying one, raw or
escaped (``\\u0000`` in JSON, ``%00`` in a form), is refused alike on every database.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyGuard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_GUARDED = (b"application/json", b"application/x-www-form-urlencoded")
_NUL = (b"\x00", b"\\u0000", b"%00")


class BodyGuard:
    """Refuse over-size (413) or NUL-carrying (422) JSON and form bodies.

    Args:
        app: the application.
        max_bytes: the largest body accepted.
    """

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guarded(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, 413, "body_too_large", self._too_large())
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.max_bytes:
                await self._refuse(send, 413, "body_too_large", self._too_large())
                return
        if any(marker in body for marker in _NUL):
            await self._refuse(send, 422, "validation_error",
                               "the request contains a NUL character, which no field may hold")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _guarded(self, scope: Scope) -> bool:
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return False
        kind = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        return kind in _GUARDED or kind.endswith(b"+json")

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes // 2**20} MiB"

    @staticmethod
    async def _refuse(send: Send, status: int, error: str, detail: str) -> None:
        payload = json.dumps({"error": error, "detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})
