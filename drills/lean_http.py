"""A small HTTP/1.1 client for load drills: keep-alive connections over asyncio streams.

A loopback drill's clients share the cores with the service they measure. ``httpx``
spends about 8 ms of a core on each request once a hundred connections are open (its
pool and its layers), so a hundred readers took half a core of the two the service has.
This client does what the drill needs and nothing else (a request with a body and
headers, a response with a ``Content-Length`` or chunked body, connections kept and
reused, a timeout), for a small fraction of that. Like httpx, it never reuses a
connection idle for more than :data:`KEEPALIVE_EXPIRY_S` or one the server has closed (a
server closes idle connections after its own keep-alive time, and a request sent on one
in that instant fails). A failed request is reported, never retried: any error the
service causes is counted by the drill.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KEEPALIVE_EXPIRY_S", "LeanClient", "LeanError", "LeanResponse"]

KEEPALIVE_EXPIRY_S = 5.0  # httpx's default


class LeanError(Exception):
    """The request failed: no connection, a closed or reset connection, a bad answer or
    a timeout."""


@dataclass
class LeanResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    def json(self) -> Any:
        return json.loads(self.content)


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanClient:
    """Requests to one ``host:port`` with default headers, at most ``max_connections``
    open at once."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None,
                 max_connections: int = 200, timeout_s: float = 120.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._defaults = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._idle: list[tuple[_Connection, float]] = []  # with when each was let go
        self._slots = asyncio.Semaphore(max_connections)

    async def get(self, path: str) -> LeanResponse:
        return await self.request("GET", path)

    async def post(self, path: str, content: bytes = b"",
                   headers: dict[str, str] | None = None) -> LeanResponse:
        return await self.request("POST", path, content, headers)

    async def request(self, method: str, path: str, content: bytes = b"",
                      headers: dict[str, str] | None = None) -> LeanResponse:
        async with self._slots:
            connection = self._reusable()
            try:
                if connection is None:
                    connection = await asyncio.wait_for(
                        asyncio.open_connection(self.host, self.port), self.timeout_s)
                response, keep = await asyncio.wait_for(
                    self._exchange(connection, method, path, content, headers or {}),
                    self.timeout_s)
            except (OSError, EOFError, ValueError, TimeoutError,
                    asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                if connection is not None:
                    connection[1].close()
                raise LeanError(f"{type(exc).__name__}: {exc}") from exc
            if keep:
                self._idle.append((connection, time.monotonic()))
            else:
                connection[1].close()
            return response

    def _reusable(self) -> _Connection | None:
        """The most recently used idle connection still fit for a request, if any."""
        now = time.monotonic()
        while self._idle:
            connection, since = self._idle.pop()
            if now - since <= KEEPALIVE_EXPIRY_S and not connection[0].at_eof() \
                    and not connection[1].is_closing():
                return connection
            connection[1].close()
        return None

    async def _exchange(self, connection: _Connection, method: str, path: str,
                        content: bytes, headers: dict[str, str]
                        ) -> tuple[LeanResponse, bool]:
        reader, writer = connection
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"{self._defaults}{extra}Content-Length: {len(content)}\r\n\r\n")
        writer.write(head.encode("latin-1") + content)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise EOFError("the server closed the connection")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP answer: {status_line[:40]!r}")
        status = int(parts[1])
        found: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            found[name.strip().lower()] = value.strip()
        if found.get("transfer-encoding", "").lower() == "chunked":
            body = await _chunked(reader)
        elif "content-length" in found:
            body = await reader.readexactly(int(found["content-length"]))
        else:
            body = await reader.read()  # ends when the server closes
            return LeanResponse(status, found, body), False
        keep = found.get("connection", "").lower() != "close"
        return LeanResponse(status, found, body), keep

    async def aclose(self) -> None:
        while self._idle:
            (_, writer), _ = self._idle.pop()
            writer.close()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
