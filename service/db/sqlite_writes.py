"""One writer at a time on SQLite, queued in the process instead of sleeping in SQLite.

SQLite lets one connection write at a time. A connection that finds the write lock taken
waits in SQLite's busy handler, which sleeps and retries on a fixed back-off (1, 2, 5, 10,
…, then 100 ms a try) and is never woken when the lock frees: with a few dozen uploads and
a job runner writing at once, most writers sleep far longer than the writes they wait for
(50 simultaneous uploads were acknowledged in about a second at p99, nearly all of it
asleep). Here the process's own writers queue on an :class:`asyncio.Lock` instead, taken
just before a connection's first write statement and released as soon as its transaction
commits or rolls back, so the next writer starts the moment the last one finished.

Between processes (``markbook serve --processes N``: several web processes and a job
runner on one file) the writer holding the process's lock also takes an exclusive
``flock`` on ``<database>-writers`` beside the file, in a thread of its own, so a writer in
one process is woken the moment one in another commits instead of sleeping in SQLite's
busy handler while the other process's queue takes the lock again and again. Processes
that do not use this module (the ``sqlite3`` shell) still meet SQLite's own lock, which is
what guards the file either way: both queues only decide who asks first.

It never makes anything wait that SQLite would not have made wait: a task that already
holds the lock through another connection goes on without it, and a writer that waited
:data:`WAIT_S` goes on without it too (then SQLite's busy timeout decides, as before).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import os
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.util.concurrency import await_, in_greenlet

from service.db.sqlite_inline import InlineReads

__all__ = ["WAIT_S", "queue_sqlite_writers"]

# How long a writer queues before it goes on to SQLite's own busy handling.
WAIT_S = 10.0
_WRITES = ("insert", "update", "delete", "replace")


class _FileLock:
    """The writers' lock between processes: ``flock`` on a file beside the database.

    One per database file in a process, shared by its engines. Within a process it is
    counted, not waited for (the process's own queue orders its writers; engines of one
    process never wait on each other here, as they did not before). A wait that is given
    up (cancelled, or past :data:`WAIT_S`) unlocks as soon as the abandoned ``flock``
    returns, so the lock is never left held by nobody.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="markbook-sqlite-writers")
        self._holders = 0

    async def acquire(self) -> bool:
        """Take the lock (or count one more holder); False when it was not had within
        :data:`WAIT_S` (the writer goes on; SQLite's busy timeout decides)."""
        if self._holders:
            self._holders += 1
            return True
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return False  # e.g. a read-only folder: SQLite's own lock decides alone
        fd = self._fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no thread hop
        except BlockingIOError:
            waiting = asyncio.get_running_loop().run_in_executor(
                self._thread, fcntl.flock, fd, fcntl.LOCK_EX)
            try:
                await asyncio.wait_for(asyncio.shield(waiting), WAIT_S)
            except BaseException as exc:
                waiting.add_done_callback(lambda done: self._abandoned(fd, done))
                if isinstance(exc, TimeoutError):
                    return False
                raise
        self._holders = 1
        return True

    def _abandoned(self, fd: int, done: asyncio.Future[None]) -> None:
        if not done.cancelled() and done.exception() is None and not self._holders:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)

    def release(self) -> None:
        if not self._holders:
            return
        self._holders -= 1
        if not self._holders and self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_FILE_LOCKS: dict[tuple[int, Path], _FileLock] = {}


def _file_lock(database: Path) -> _FileLock:
    """This process's lock for ``database`` (a forked child makes its own)."""
    path = database.with_name(database.name + "-writers")
    key = (os.getpid(), path)
    found = _FILE_LOCKS.get(key)
    if found is None:
        found = _FILE_LOCKS[key] = _FileLock(path)
    return found


class _Writers:
    """The lock of each event loop (tests run several loops; a lock belongs to one), which
    connection holds it, and the lock shared with other processes."""

    def __init__(self, file_lock: _FileLock | None) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
            weakref.WeakKeyDictionary()
        # dbapi connection -> (lock, owning task, whether it holds the file lock too)
        self.held: dict[int, tuple[asyncio.Lock, asyncio.Task[Any] | None, bool]] = {}
        # Writers of each loop queued for its lock (one just woken has not taken it yet).
        self.waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = \
            weakref.WeakKeyDictionary()
        self.file_lock = file_lock

    def lock(self, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
        found = self._locks.get(loop)
        if found is None:
            found = self._locks[loop] = asyncio.Lock()
        return found

    def release(self, connection: Any) -> None:
        # The dialect is handed the pool's proxy of a connection, the pool's events the
        # driver's connection itself: both name the same one.
        dbapi = getattr(connection, "dbapi_connection", connection)
        entry = self.held.pop(id(dbapi), None)
        driver = getattr(dbapi, "_connection", None)
        if isinstance(driver, InlineReads):
            driver.queued_writer = False
        if entry is not None and entry[0].locked():
            if entry[2] and self.file_lock is not None:
                self.file_lock.release()
            entry[0].release()


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].lower().startswith(_WRITES)


def queue_sqlite_writers(engine: Engine, database: Path | None = None) -> None:
    """Make ``engine``'s (a SQLite async engine's sync side) writers queue in-process, and
    with other processes on ``database``.

    Args:
        engine: ``AsyncEngine.sync_engine`` of a ``sqlite+aiosqlite`` engine.
        database: its file (None for an in-memory database: no other process sees it).
    """
    writers = _Writers(_file_lock(database) if database is not None else None)
    dialect = engine.dialect

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any,
                _many: bool) -> None:
        if not _is_write(statement) or not in_greenlet():
            return
        dbapi = conn.connection.dbapi_connection
        if id(dbapi) in writers.held:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = asyncio.current_task(loop)
        if any(owner is task and task is not None for _, owner, _ in writers.held.values()):
            return  # this task writes on another connection already: waiting would deadlock
        lock = writers.lock(loop)
        if not lock.locked() and not writers.waiting.get(loop, 0):
            # Free and no one queued: taken now. ``wait_for`` would run the acquire as a
            # task of its own, a trip round a busy loop while every other writer waits.
            await_(lock.acquire())
        else:
            writers.waiting[loop] = writers.waiting.get(loop, 0) + 1
            try:
                await_(asyncio.wait_for(lock.acquire(), WAIT_S))
            except TimeoutError:
                return
            finally:
                writers.waiting[loop] -= 1
        shared = False
        if writers.file_lock is not None:
            try:
                shared = await_(writers.file_lock.acquire())
            except BaseException:
                lock.release()
                raise
        writers.held[id(dbapi)] = (lock, task, shared)
        driver = getattr(dbapi, "_connection", None)
        if shared and isinstance(driver, InlineReads):
            driver.queued_writer = True  # its first write need not wait on the thread

    # The transaction ends in the dialect's commit or rollback (a pool's reset on return
    # is a rollback too): the lock is released once the database has finished it.
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            writers.release(dbapi_connection)

    def _rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            writers.release(dbapi_connection)

    dialect.do_commit = _commit  # type: ignore[method-assign]
    dialect.do_rollback = _rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "close")
    def _closed(dbapi_connection: Any, _record: Any) -> None:
        writers.release(dbapi_connection)

    @event.listens_for(engine, "invalidate")
    def _invalidated(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        writers.release(dbapi_connection)
