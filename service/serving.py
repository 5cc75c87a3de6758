"""``markbook serve --processes N``: several web processes on one port, and the embedded job
runner in a process of its own.

One web process answers every request on one event loop, so on a busy morning 50 uploads
and a hundred teachers' pages queue behind each other on one core while the other cores
read pages. With ``--processes N`` this process starts N web processes, each listening on
the port with ``SO_REUSEPORT`` so the kernel spreads new connections evenly over them (one
shared socket hands most of a burst to whichever process wakes first), and the job runner
(``markbook worker`` on the embedded backend: it claims jobs from the database and stores
graded pages) beside them, and starts any of them again that dies. It holds the port
itself, bound but not listening, so a port already taken fails here with one message. Works on SQLite
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
import errno
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from service.config import Settings, get_settings

__all__ = ["Supervised", "serve_processes", "web_app"]

log = logging.getLogger(__name__)
# A runner that keeps dying is restarted after a pause that doubles up to this.
_MAX_BACKOFF_S = 30.0


def web_app() -> FastAPI:
    """The app of one web process (uvicorn's factory in each child)."""
    from service.app import create_app
    from service.jobs.orphans import exit_with_parent

    exit_with_parent()
    return create_app(get_settings(), settle_heap=True)


def _listener(host: str, port: int) -> socket.socket:
    """A socket on ``host:port`` that shares the port with the other web processes."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _taken(host: str, port: int) -> bool:
    """Whether something already answers on the port (SO_REUSEPORT would let a second
    server bind beside it and split the connections with it)."""
    target = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    try:
        socket.create_connection((target, port), timeout=1).close()
    except OSError:
        return False
    return True


def _serve_web(options: dict[str, Any]) -> None:
    import uvicorn

    from service.jobs.orphans import exit_with_parent

    exit_with_parent()
    sock = _listener(options["host"], options["port"])
    sock.listen(2048)
    config = uvicorn.Config("service.serving:web_app", factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _run_jobs() -> None:
    from service.jobs.orphans import exit_with_parent
    from service.jobs.standalone import run_standalone

    exit_with_parent()
    asyncio.run(run_standalone(get_settings()))


class Supervised:
    """A child process running ``target(*args)``, started again whenever it exits unasked."""

    def __init__(self, name: str, target: Callable[..., None], *args: Any) -> None:
        self.name, self._target, self._args = name, target, args
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name=f"{self.name}-watch",
                                         daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        self._process = self._context.Process(target=self._target, args=self._args,
                                              name=self.name)
        self._process.start()

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            self._process.join(timeout=1.0)
            if self._process.is_alive() or self._stopping.is_set():
                continue
            log.error("%s exited (code %s); starting it again in %.0f s", self.name,
                      self._process.exitcode, backoff)
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
            self._spawn()

    def terminate(self) -> None:
        """SIGTERM: a web process finishes its requests, the runner stops between pages
        (a job cut off keeps its stored pages and is resumed by the next runner)."""
        self._stopping.set()
        if self._process is not None and self._process.is_alive():
            self._process.terminate()

    def join(self, timeout_s: float = 60.0) -> None:
        """Wait for the exit; SIGKILL after ``timeout_s``."""
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self._process is None:
            return
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
    server runs the jobs) until SIGTERM or Ctrl-C.

    Raises:
        OSError: the address cannot be had (the port is taken, the host is not this
            machine's).
    """
    from service.logs import configure_logging

    configure_logging(settings.log.format, settings.log.level)
    host, port = uvicorn_options["host"], uvicorn_options["port"]
    if _taken(host, port):
        raise OSError(errno.EADDRINUSE, f"something already answers on {host}:{port}")
    held = _listener(host, port)  # fails here if the address is not this machine's
    _prepare(settings)
    # Read by the children's settings: this process already migrated, and the runner
    # process (not each web process) runs the jobs.
    os.environ["MARKBOOK_DB__AUTO_MIGRATE"] = "false"
    runs_jobs = settings.jobs.backend == "inprocess" and settings.jobs.run_in_app
    os.environ["MARKBOOK_JOBS__RUN_IN_APP"] = "false"
    children = [Supervised(f"markbook-web-{n + 1}", _serve_web, uvicorn_options)
                for n in range(processes)]
    if runs_jobs:
        children.append(Supervised("markbook-runner", _run_jobs))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        for child in children:
            child.start()
        log.info("serving on %s:%s with %d web processes", uvicorn_options["host"],
                 uvicorn_options["port"], processes)
        stop.wait()
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join()
        held.close()
