"""``markbook worker`` on the embedded backend: the job runner without the web server.

The same runner as inside ``markbook serve`` (``service.jobs.runner.InProcessRunner``),
claiming jobs from the shared database until SIGTERM or SIGINT, then stopping gracefully
(a job cut off keeps its stored pages; its lease lapses and the next runner resumes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from service.config import Settings
from service.db.engine import create_engine, make_session_factory
from service.jobs.runner import InProcessRunner
from service.logs import configure_logging
from service.storage import LocalStorage

__all__ = ["run_standalone"]


async def run_standalone(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run jobs until ``stop`` is set (or a SIGTERM/SIGINT arrives)."""
    configure_logging(settings.log.format, settings.log.level)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    engine = create_engine(settings.database_url, pool_size=settings.db.pool_size)
    runner = InProcessRunner(settings, make_session_factory(engine),
                             LocalStorage(settings.storage_dir))
    await runner.start(warm=True)
    try:
        await stop.wait()
    finally:
        await runner.stop()
        await engine.dispose()
