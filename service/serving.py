"""``markbook serve --processes N``: several web processes on one port, and the embedded job
runner in a process of its own.

One web process answers every request on one event loop, so on a busy morning 50 uploads
and a hundred teachers' pages queue behind each other on one core while the other cores
read pages. With ``--processes N`` uvicorn's supervisor starts N web processes sharing the
listening socket (the kernel hands each connection to one of them), and this process
starts the job runner (``markbook worker`` on the embedded backend: it claims jobs from the
database and stores graded pages) beside them, restarting it if it dies. Works on SQLite
(the processes queue their writers on a lock file beside the database, see
:mod:`service.db.sqlite_writes`) and on PostgreSQL; with the Celery backend there is no
runner here, the workers run elsewhere.

What happens once, here, before any child starts: the database migration, the default
school and local admin, the signing key. The web processes then start with migrations off
(N processes upgrading one database at once would race), and every child exits when this
process dies, even by ``kill -9`` (:func:`service.jobs.orphans.exit_with_parent`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from typing import Any

from fastapi import FastAPI

from service.config import Settings, get_settings

__all__ = ["RunnerProcess", "serve_processes", "web_app"]

log = logging.getLogger(__name__)
# A runner that keeps dying is restarted after a pause that doubles up to this.
_MAX_BACKOFF_S = 30.0


def web_app() -> FastAPI:
    """The app of one web process (uvicorn's factory in each child)."""
    from service.app import create_app
    from service.jobs.orphans import exit_with_parent

    exit_with_parent()
    return create_app(get_settings())


def _run_jobs() -> None:
    from service.jobs.orphans import exit_with_parent
    from service.jobs.standalone import run_standalone

    exit_with_parent()
    asyncio.run(run_standalone(get_settings()))


class RunnerProcess:
    """The job runner as a child process, started again whenever it exits unasked."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="markbook-runner-watch",
                                         daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        self._process = self._context.Process(target=_run_jobs, name="markbook-runner")
        self._process.start()

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            self._process.join(timeout=1.0)
            if self._process.is_alive() or self._stopping.is_set():
                continue
            log.error("the job runner exited (code %s); starting it again in %.0f s",
                      self._process.exitcode, backoff)
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
            self._spawn()

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM (a job cut off keeps its stored pages and is resumed by the next runner),
        then SIGKILL after ``timeout_s``."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self._process is None or not self._process.is_alive():
            return
        self._process.terminate()
        self._process.join(timeout=timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)


def _prepare(settings: Settings) -> None:
    """The start-up work that must happen once: migrate, the local admin, the signing key."""
    from service.actor import ensure_local_actor
    from service.auth.tokens import load_secret_key
    from service.db.engine import create_engine, make_session_factory, sqlite_file
    from service.db.migrate import upgrade
    from service.private_files import make_private

    load_secret_key(settings)
    make_private(settings.data_dir, settings.storage_dir, sqlite_file(settings.database_url))
    if settings.db.auto_migrate:
        upgrade(settings.database_url)

    async def local_admin() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with make_session_factory(engine)() as session:
                await ensure_local_actor(session, settings.school_name)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(local_admin())


def serve_processes(settings: Settings, processes: int, **uvicorn_options: Any) -> None:
    """Serve with ``processes`` web processes (and the job runner beside them when this
    server runs the jobs); returns when uvicorn's supervisor stops (SIGTERM, Ctrl-C)."""
    import uvicorn

    _prepare(settings)
    # Read by the children's settings: this process already migrated, and the runner
    # process (not each web process) runs the jobs.
    os.environ["MARKBOOK_DB__AUTO_MIGRATE"] = "false"
    runs_jobs = settings.jobs.backend == "inprocess" and settings.jobs.run_in_app
    os.environ["MARKBOOK_JOBS__RUN_IN_APP"] = "false"
    runner = RunnerProcess() if runs_jobs else None
    if runner is not None:
        runner.start()
    try:
        uvicorn.run("service.serving:web_app", factory=True, workers=processes,
                    **uvicorn_options)
    finally:
        if runner is not None:
            runner.stop()
