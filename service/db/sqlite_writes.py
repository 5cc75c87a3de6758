"""One writer at a time on SQLite, queued in the process instead of sleeping in SQLite.

SQLite lets one connection write at a time. A connection that finds the write lock taken
waits in SQLite's busy handler, which sleeps and retries on a fixed back-off (1, 2, 5, 10,
…, then 100 ms a try) and is never woken when the lock frees: with a few dozen uploads and
a job runner writing at once, most writers sleep far longer than the writes they wait for
(50 simultaneous uploads were acknowledged in about a second at p99, nearly all of it
asleep). Here the process's own writers queue on an :class:`asyncio.Lock` instead, taken
just before a connection's first write statement and released as soon as its transaction
commits or rolls back, so the next writer starts the moment the last one finished.

The lock only orders this process's writers; SQLite's own lock still guards the file, and
another process (a CLI command, the folder watcher) waits in the busy handler as before.
It never makes anything wait that SQLite would not have made wait: a task that already
holds the lock through another connection goes on without it, and a writer that waited
:data:`WAIT_S` goes on without it too (then SQLite's busy timeout decides, as before).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.util.concurrency import await_, in_greenlet

__all__ = ["WAIT_S", "queue_sqlite_writers"]

# How long a writer queues before it goes on to SQLite's own busy handling.
WAIT_S = 10.0
_WRITES = ("insert", "update", "delete", "replace")


class _Writers:
    """The lock of each event loop (tests run several loops; a lock belongs to one) and
    which connection holds it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
            weakref.WeakKeyDictionary()
        # dbapi connection -> (lock, owning task)
        self.held: dict[int, tuple[asyncio.Lock, asyncio.Task[Any] | None]] = {}

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
        if entry is not None and entry[0].locked():
            entry[0].release()


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].lower().startswith(_WRITES)


def queue_sqlite_writers(engine: Engine) -> None:
    """Make ``engine``'s (a SQLite async engine's sync side) writers queue in-process.

    Args:
        engine: ``AsyncEngine.sync_engine`` of a ``sqlite+aiosqlite`` engine.
    """
    writers = _Writers()
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
        if any(owner is task and task is not None for _, owner in writers.held.values()):
            return  # this task writes on another connection already: waiting would deadlock
        lock = writers.lock(loop)
        try:
            await_(asyncio.wait_for(lock.acquire(), WAIT_S))
        except TimeoutError:
            return
        writers.held[id(dbapi)] = (lock, task)

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
