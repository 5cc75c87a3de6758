"""Run the real app on a free loopback port inside this process (demo, benchmarks).

Clients then talk real HTTP over TCP, as a browser or a copier would, while the demo
keeps one process and one clean shutdown.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings

__all__ = ["free_port", "serve_locally"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serve_locally(settings: Settings, port: int | None = None
                        ) -> AsyncIterator[tuple[str, FastAPI]]:
    """Start the service on 127.0.0.1 and yield its base URL and app; stop it on exit."""
    port = port or free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():  # start-up failed: surface its error
                await task
                raise RuntimeError("the service stopped during start-up")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await task
