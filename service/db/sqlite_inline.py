"""SQLite reads on the event loop's own thread; writes and commits on the driver's thread.

``aiosqlite`` runs every call on a thread of its own and hands the result back through
the event loop. SQLAlchemy makes four such calls for each statement (open a cursor,
execute, fetch, close), and each round trip costs about a tenth of a millisecond of CPU on
both sides: a request reading two rows spent five times more CPU on the hops than on
SQLite. On a busy two-core box (50 uploads and a hundred teachers' reads at once) that was
most of what a web process did.

A read cannot wait on a lock in WAL mode (readers never block and are never blocked by
the one writer), and it is CPU work either way, so :class:`InlineReads` runs these calls
where they are asked: opening, fetching from and closing a cursor; a ``SELECT``; a commit
or rollback with no transaction open (no work); and an ``INSERT``, ``UPDATE`` or
``DELETE`` in a transaction that has already written (it holds SQLite's write lock, and a
write statement does not touch the disk until the commit). Anything that can wait stays
on the driver's thread, as before: a transaction's first write (it may meet the write
lock of another process and sleep in SQLite's busy handler; but see
:attr:`InlineReads.queued_writer`), a commit (it syncs the
write-ahead log to disk, and now and then checkpoints it), a rollback of a transaction,
savepoints, closing the connection (the last one checkpoints), and every other call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["InlineReads", "connector", "runs_inline"]

# Calls of a cursor that never wait: stepping a read, or handing back rows already made.
_CURSOR_CALLS = frozenset({"fetchone", "fetchmany", "fetchall", "close"})
_WRITES = ("INSERT", "UPDATE", "DELETE")


def runs_inline(fn: Callable[..., Any], args: tuple[Any, ...], writer: bool = False) -> bool:
    """Whether the driver call ``fn(*args)`` can run on the caller's thread.

    Args:
        fn: a bound method of the ``sqlite3`` connection or one of its cursors.
        args: its arguments.
        writer: the connection's open transaction has written (it holds the write lock).
    """
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", "")
    if isinstance(owner, sqlite3.Cursor):
        if name in _CURSOR_CALLS:
            return True
        if name not in ("execute", "executemany") or not args or not isinstance(args[0], str):
            return False
        verb = _verb(args[0])
        return (verb == "SELECT" and name == "execute") or (writer and verb in _WRITES)
    if isinstance(owner, sqlite3.Connection):
        if name == "cursor":
            return True
        if name in ("commit", "rollback"):
            return not owner.in_transaction
    return False


def _verb(statement: str) -> str:
    return statement.lstrip()[:6].upper()


def _writes(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    return (isinstance(getattr(fn, "__self__", None), sqlite3.Cursor) and bool(args)
            and isinstance(args[0], str) and _verb(args[0]) in _WRITES)


class InlineReads(aiosqlite.Connection):
    """An ``aiosqlite`` connection whose reads run on the calling thread (see the module
    docstring); its other calls go to its thread, one at a time, as in ``aiosqlite``."""

    # A write statement succeeded in the open transaction: it holds SQLite's write lock.
    _wrote = False
    # Set while this connection holds the writers' lock that every markbook process on the
    # file queues on (service.db.sqlite_writes): no markbook writer holds SQLite's lock,
    # so the transaction's first write runs here too, unless something outside markbook
    # (the sqlite3 shell) holds it: then it goes to the thread and waits there.
    queued_writer = False
    _busy_ms: int | None = None
    # Calls handed to the thread, and calls it has finished. Each is written by one thread
    # only, so they need no lock. They differ while a call handed over is still running,
    # which happens when its caller was cancelled (a client went away mid-commit): the
    # caller no longer waits for it, and the next call must queue behind it on the thread
    # rather than use the ``sqlite3`` connection at the same time.
    _queued = 0
    _finished = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        if self._running and connection is not None and self._queued == self._finished:
            if not connection.in_transaction:
                self._wrote = False  # a transaction ended: its lock went with it
            if runs_inline(fn, args, self._wrote):
                return fn(*args, **kwargs)
            if self.queued_writer and not connection.in_transaction and _writes(fn, args):
                done, result = self._first_write(connection, fn, args, kwargs)
                if done:
                    self._wrote = True
                    return result
        self._queued += 1
        result = await super()._execute(self._counted, fn, args, kwargs)
        if _writes(fn, args):
            self._wrote = True
        return result

    def _first_write(self, connection: sqlite3.Connection, fn: Callable[..., Any],
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
        """Try the transaction's first write here, never waiting on SQLite's lock: (True,
        its result), or (False, None) when the lock was taken, with nothing written."""
        if self._busy_ms is None:
            self._busy_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return True, fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            if connection.in_transaction:  # begun by sqlite3 for this write: nothing in it
                connection.rollback()
            return False, None
        finally:
            connection.execute(f"PRAGMA busy_timeout={self._busy_ms}")

    def _counted(self, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
        """Runs ``fn`` on the connection's thread and counts it finished, however it ends."""
        try:
            return fn(*args, **kwargs)
        finally:
            self._finished += 1


def connector(database: Path, **kwargs: Any) -> Callable[[], Any]:
    """SQLAlchemy's ``async_creator``: opens ``database`` as an :class:`InlineReads`.

    Args:
        database: the SQLite file.
        kwargs: ``sqlite3.connect``'s arguments (e.g. ``timeout``).
    """
    def open_file() -> sqlite3.Connection:
        # Used from two threads, never at once: each call is awaited before the next.
        return sqlite3.connect(str(database), check_same_thread=False, **kwargs)

    async def create() -> InlineReads:
        connection = InlineReads(open_file, 64)
        connection._thread.daemon = True  # as SQLAlchemy does: never holds the exit up
        await connection  # starts its thread and opens the file there
        return connection

    return create
