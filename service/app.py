"""The FastAPI application factory and its lifespan (migrate, bootstrap, dispose)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from errorbook.fonts import FontNotFoundError, register_cjk_font
from service.actor import ensure_local_actor
from service.api import classes, health, questions, worksheets
from service.config import Settings, get_settings
from service.db.engine import create_engine, make_session_factory
from service.db.migrate import upgrade
from service.errors import install_error_handlers

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Nothing heavy happens here; start-up work runs in the lifespan.

    Args:
        settings: explicit settings (tests); defaults to the environment's.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = False
        url = settings.database_url
        if settings.db.auto_migrate:
            # Alembic drives its own event loop, so it runs in a worker thread.
            await to_thread.run_sync(upgrade, url)
        engine = create_engine(url, echo=settings.db.echo, pool_size=settings.db.pool_size)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        async with app.state.session_factory() as session:
            app.state.local_actor = await ensure_local_actor(session, settings.school_name)
            await session.commit()
        app.state.font_error = None
        try:
            await to_thread.run_sync(register_cjk_font, settings.cjk_font)
        except FontNotFoundError as exc:
            log.error("%s", exc)
            app.state.font_error = str(exc)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await engine.dispose()

    app = FastAPI(
        title="markbook",
        version="0.1.0",
        description="Self-hostable homework grading and error-book (错题本) service.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ready = False
    install_error_handlers(app)
    for module in (health, classes, questions, worksheets):
        app.include_router(module.router)
    return app
