"""``markbook serve`` keeps an idle connection open longer than clients keep theirs.

httpx and requests drop an idle pooled connection after 5 s; uvicorn's own default closed
it after 5 s too, so a client sending on it at that instant got a reset (a failed read in
the load drill every few thousand requests). A connection idle for longer than a client's
5 s must still answer.
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

from drills.live import Server, drill_env, free_port

_REQUEST = b"GET /healthz/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _answer(sock: socket.socket) -> bytes:
    sock.sendall(_REQUEST)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data  # closed by the server
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_an_idle_connection_outlives_a_clients_keep_alive() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = drill_env(data, f"sqlite+aiosqlite:///{data / 'markbook.db'}", None, "ka", {})
        server = Server(env, free_port(), data / "server.log")
        server.start()
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                assert _answer(sock).startswith(b"HTTP/1.1 200")
                time.sleep(7)  # idle past httpx's and requests' 5 s (and uvicorn's default)
                assert _answer(sock).startswith(b"HTTP/1.1 200")
        finally:
            server.stop()
