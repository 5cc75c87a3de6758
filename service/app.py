"""The FastAPI application factory and its lifespan (migrate, bootstrap, dispose)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from anyio import to_thread
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from errorbook.printing.fonts import FontNotFoundError, find_cjk_font, register_cjk_font
from service import heap
from service.actor import ensure_local_actor
from service.api import (
    analytics,
    annotated,
    audit,
    auth,
    classes,
    devices,
    errorbooks,
    health,
    jobs,
    mastery,
    questions,
    results,
    review,
    scans,
    school,
    students_data,
    templates,
    worksheets,
)
from service.auth.tokens import TokenSigner, load_secret_key
from service.bodyguard import BodyGuard
from service.bounds import ids_fit
from service.config import Settings, get_settings
from service.db.engine import create_engine, make_session_factory, open_pool, sqlite_file
from service.db.migrate import upgrade
from service.errors import install_error_handlers
from service.jobs.runner import InProcessRunner
from service.logs import configure_logging
from service.privacy.retention import run_retention
from service.private_files import make_private
from service.storage import LocalStorage
from service.tasks import stop_gracefully
from service.upload_records import UploadRecorder
from service.warmup import warm_routes
from service.web.docs import install_docs
from service.web.install import install_web, start_web
from service.webhooks import run_deliveries

__all__ = ["ConfigurationError", "check_configured_font", "create_app"]

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    """A setting names something that cannot be used; the service does not start."""


_Webhooks = tuple[asyncio.Task[None], asyncio.Event, httpx.AsyncClient]


def _start_webhooks(settings: Settings,
                    factory: async_sessionmaker[AsyncSession]) -> _Webhooks | None:
    """Start the webhook delivery loop as a background task (if enabled)."""
    if not settings.webhooks.enabled:
        return None
    stop = asyncio.Event()
    # No redirects: a 3xx from a receiver is a failed delivery, not a hop elsewhere.
    http = httpx.AsyncClient(timeout=settings.webhooks.timeout_seconds, follow_redirects=False)
    task = asyncio.create_task(run_deliveries(factory, http, stop=stop,
                                              settings=settings.webhooks),
                               name="markbook-webhooks")
    return task, stop, http


async def _stop_webhooks(task: asyncio.Task[None], stop: asyncio.Event,
                         http: httpx.AsyncClient) -> None:
    stop.set()
    # A delivery still in flight after the grace period is abandoned; its lease lapses
    # and the next start retries it.
    await stop_gracefully(task)
    await http.aclose()


def _start_retention(settings: Settings, factory: async_sessionmaker[AsyncSession]
                     ) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Start the image retention loop: it first retries file deletions left queued (an
    erasure's, a purge's), then purges expired images at most hourly (none while both
    retention settings are 0)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_retention(factory, settings.retention, settings.data_dir,
                                             stop=stop), name="markbook-retention")
    return task, stop


def check_configured_font(settings: Settings) -> None:
    """Fail fast, before a server starts, when the configured font cannot be embedded
    (for a command line that prefers one clear line to the lifespan's traceback).

    Raises:
        ConfigurationError: ``MARKBOOK_CJK_FONT`` names a file that is not an embeddable
            TrueType font.
    """
    if settings.cjk_font is None:
        return
    try:
        find_cjk_font(settings.cjk_font)
    except FontNotFoundError as exc:
        raise ConfigurationError(f"MARKBOOK_CJK_FONT={settings.cjk_font}: {exc}") from exc


async def _register_font(settings: Settings) -> str | None:
    """Register the PDF font; returns why printing is unavailable, if it is.

    A configured font that cannot be used stops start-up (the admin asked for that file);
    with none configured, a missing system font leaves the service up with printing marked
    unavailable in ``/healthz/ready``.
    """
    try:
        await to_thread.run_sync(register_cjk_font, settings.cjk_font)
    except FontNotFoundError as exc:
        if settings.cjk_font is not None:
            raise ConfigurationError(f"MARKBOOK_CJK_FONT={settings.cjk_font}: {exc}") from exc
        log.error("%s", exc)
        return str(exc)
    return None


def create_app(settings: Settings | None = None, *, settle_heap: bool = False,
               warm_workers: bool = False) -> FastAPI:
    """Build the app. Nothing heavy happens here; start-up work runs in the lifespan.

    Args:
        settings: explicit settings (tests); defaults to the environment's.
        settle_heap: a served process: once started, keep start-up's objects out of the
            garbage collector's full passes (:mod:`service.heap`).
        warm_workers: the embedded runner starts its page workers (and loads their
            models) at start-up, not at the first job (``markbook serve``).
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = False
        configure_logging(settings.log.format, settings.log.level)
        # First: a configured font that cannot be used stops start-up before any other work.
        app.state.font_error = await _register_font(settings)
        key = await to_thread.run_sync(load_secret_key, settings)
        app.state.tokens = TokenSigner(key, timedelta(minutes=settings.auth.token_minutes))
        start_web(app, key)
        url = settings.database_url
        await to_thread.run_sync(make_private, settings.data_dir, settings.storage_dir,
                                 sqlite_file(url))
        if settings.db.auto_migrate:
            # Alembic drives its own event loop, so it runs in a worker thread.
            await to_thread.run_sync(upgrade, url)
        engine = create_engine(url, echo=settings.db.echo, pool_size=settings.db.pool_size,
                               max_overflow=settings.db.max_overflow,
                               pool_timeout_s=settings.db.pool_timeout_s)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        await open_pool(engine)
        async with app.state.session_factory() as session:
            app.state.local_actor = await ensure_local_actor(session, settings.school_name)
            await session.commit()
        app.state.storage = LocalStorage(settings.storage_dir)
        app.state.upload_recorder = UploadRecorder(app.state.session_factory)
        app.state.redis = None
        if settings.limits.redis_url:
            from service.ratelimit_shared import redis_client

            app.state.redis = redis_client(settings.limits.redis_url)
        app.state.runner = None
        if settings.jobs.backend == "celery":
            from service.jobs.celery_backend import CeleryDispatcher

            # The workers run elsewhere (`markbook worker`); this process only sends them
            # the jobs that need one.
            app.state.runner = CeleryDispatcher(settings, app.state.session_factory)
            await app.state.runner.start()
        elif settings.jobs.run_in_app:
            app.state.runner = InProcessRunner(settings, app.state.session_factory,
                                               app.state.storage)
            await app.state.runner.start(warm=warm_workers)
        webhooks = _start_webhooks(settings, app.state.session_factory)
        retention_task, retention_stop = _start_retention(settings, app.state.session_factory)
        await warm_routes(app)
        if settle_heap:
            heap.settle()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            builds = getattr(app.state, "errorbook_builds", None)  # started by the pages
            if builds is not None:
                await builds.close()
            if app.state.runner is not None:
                await app.state.runner.stop()
            if webhooks is not None:
                await _stop_webhooks(*webhooks)
            retention_stop.set()
            await stop_gracefully(retention_task)
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="markbook",
        version="0.1.0",
        description="Self-hostable homework grading and error-book (错题本) service.",
        lifespan=lifespan,
        # /docs and /redoc come from install_docs, with their assets served locally (offline).
        docs_url=None,
        redoc_url=None,
        # Before any route's own work: an id no row can have is a 404 or 422, not a 500.
        dependencies=[Depends(ids_fit)],
    )
    app.state.settings = settings
    app.state.ready = False
    install_error_handlers(app)
    install_docs(app)
    for module in (health, auth, devices, audit, classes, questions, worksheets, scans, jobs,
                   results, review, annotated, school, mastery, errorbooks, students_data,
                   analytics, templates):
        app.include_router(module.router)
    install_web(app)
    app.add_middleware(BodyGuard, max_bytes=settings.limits.max_body_mb * 2**20)
    return app
