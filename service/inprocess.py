"""Talk to the real app in-process over HTTP semantics (CLI commands and the demo)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.repositories.accounts import teacher_by_id

__all__ = ["inprocess_client", "local_token"]


async def local_token(app: FastAPI) -> str:
    """A fresh bearer token for the ``local`` admin of a started app.

    In-process callers already hold the database and the signing key, so acting as the
    local admin gives them nothing they did not have; over HTTP that account cannot sign in.

    Args:
        app: an app whose lifespan is running.

    Returns:
        The token.
    """
    actor = app.state.local_actor
    async with app.state.session_factory() as session:
        teacher = await teacher_by_id(session, actor.teacher_id)
    assert teacher is not None  # created by the lifespan
    token: str = app.state.tokens.mint(teacher.id, teacher.token_version)
    return token


@asynccontextmanager
async def inprocess_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app (lifespan included) and yield a client bound to it, signed in as the
    local admin."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {await local_token(app)}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://markbook.local",
                                     headers=headers, timeout=120) as client:
            yield client
