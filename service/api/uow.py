"""The unit of work and the settings, as request dependencies (see :mod:`service.api.deps`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings

__all__ = ["SessionDep", "SettingsDep", "get_session", "get_settings_dep"]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit on success, roll back on any error.

    Used with ``scope="function"`` so the commit finishes before the response is sent: a
    client never sees success for data that failed to commit.
    """
    factory = request.app.state.session_factory
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings (a coroutine: FastAPI would run a plain function in a worker
    thread, a thread hop per request for one attribute)."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
