"""The data generation: one number that changes whenever what a teacher reads may change.

A class's results, roster and progress are costly to build (a class of 200 is a few
thousand answers) and are read far more often than they change. A web process may keep an
answer it built (:mod:`service.api.read_cache`) and serve it again while the database's
generation is still the one it was built at; every transaction that wrote to a table such
a read depends on adds one to ``data_generation.n`` just before it commits, in the same
transaction, so the count and the data always change together, for every process on the
database.

It is done at the connection, not in the ORM: every write is seen, whether it came from a
flush, a bulk ``update()``, a ``text()`` statement or a raw connection. A write to a table
in :data:`UNTRACKED` (job progress, uploads, the audit log, sessions, device check-ins,
webhook and deletion queues) changes nothing a cached read shows, and does not count: a job
storing its progress every page would otherwise end every cached answer at once. A table
not listed counts, so a new table is safe by default.

Two counts are kept. ``n`` moves on with every such write. ``edits`` moves on with every
one except the pages a grading job stores (written inside :func:`grading_writes`), and
when a job ends (:func:`count_as_edit`): a cached read may lag a running job's pages by a
moment (``jobs.results_refresh_s``), so a class of teachers watching a job does not rebuild
its results once for every page graded, while a teacher's own edit, anyone's edit and a
finished job show at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["UNTRACKED", "Generation", "count_as_edit", "count_generations", "current_generation",
           "grading_writes"]

UNTRACKED = frozenset({
    "jobs", "scan_uploads", "audit_events", "revoked_sessions", "device_keys",
    "webhook_deliveries", "file_deletions", "image_expiry", "installation",
    "data_generation"})
_WRITE = re.compile(r'\s*(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from|replace\s+into)'
                    r'\s+"?(\w+)', re.IGNORECASE)
_BUMP = "UPDATE data_generation SET n = n + 1 WHERE id = 1"
_BUMP_EDIT = "UPDATE data_generation SET n = n + 1, edits = edits + 1 WHERE id = 1"
# Whether the table (with its ``edits``) is there: a database made without the migrations,
# or one not yet migrated, has none, and its writes must still commit. Asked without an
# error, which on PostgreSQL would end the transaction.
_EXISTS = {"sqlite": "SELECT count(*) FROM pragma_table_info('data_generation') "
                     "WHERE name = 'edits'",
           "postgresql": "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                         "to_regclass('data_generation') AND attname = 'edits' "
                         "AND NOT attisdropped"}
# Set while a grading job stores a page: its writes are not edits.
_GRADING: ContextVar[bool] = ContextVar("markbook_grading_writes", default=False)
# The open transactions that wrote to a tracked table, by driver connection: whether any
# of those writes was an edit. (Keys are ids of live connections, unique in the process.)
_CHANGED: dict[int, bool] = {}


class Generation(NamedTuple):
    """The counts now: ``n`` for every tracked write, ``edits`` for all but a running
    job's pages."""

    n: int
    edits: int


@contextmanager
def grading_writes() -> Iterator[None]:
    """Writes made in this block (in this task) store the pages a job read: they move
    ``n`` on but are not edits."""
    token = _GRADING.set(True)
    try:
        yield
    finally:
        _GRADING.reset(token)


def _key(connection: Any) -> int:
    # The dialect is handed the pool's proxy of a connection, the events the connection
    # itself: both name the same driver connection.
    return id(getattr(connection, "dbapi_connection", connection))


async def count_as_edit(session: AsyncSession) -> None:
    """Make the session's transaction count as an edit when it commits, whatever it wrote
    (a job's end: every page it stored must now show in cached reads)."""
    connection = await session.connection()
    _CHANGED[_key(await connection.get_raw_connection())] = True


def changed_table(statement: str) -> str | None:
    """The table a write statement changes, or None for anything else."""
    found = _WRITE.match(statement)
    return found.group(1).lower() if found else None


def count_generations(engine: Engine) -> None:
    """Make every committed transaction of ``engine`` (an async engine's sync side) that
    wrote to a tracked table move the data generation on."""
    dialect = engine.dialect
    found = False  # the table exists (once seen, it stays)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any,
                _many: bool) -> None:
        table = changed_table(statement)
        if table is not None and table not in UNTRACKED:
            key = _key(conn.connection)
            _CHANGED[key] = _CHANGED.get(key, False) or not _GRADING.get()

    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _commit(dbapi_connection: Any) -> None:
        nonlocal found
        edit = _CHANGED.pop(_key(dbapi_connection), None)
        if edit is not None:
            cursor = dbapi_connection.cursor()
            try:
                if not found:
                    cursor.execute(_EXISTS.get(dialect.name, _EXISTS["postgresql"]))
                    row = cursor.fetchone()
                    found = bool(row and row[0])
                if found:
                    cursor.execute(_BUMP_EDIT if edit else _BUMP)
            finally:
                cursor.close()
        commit(dbapi_connection)

    def _rollback(dbapi_connection: Any) -> None:
        _CHANGED.pop(_key(dbapi_connection), None)
        rollback(dbapi_connection)

    @event.listens_for(engine, "close")
    def _closed(dbapi_connection: Any, _record: Any) -> None:
        _CHANGED.pop(_key(dbapi_connection), None)

    dialect.do_commit = _commit  # type: ignore[method-assign]
    dialect.do_rollback = _rollback  # type: ignore[method-assign]


async def current_generation(session: AsyncSession) -> Generation | None:
    """The data generation now (read first: an answer built after it can only be newer);
    None when the row is missing (a database made without the migrations)."""
    row = (await session.execute(
        text("SELECT n, edits FROM data_generation WHERE id = 1"))).first()
    return Generation(int(row[0]), int(row[1])) if row is not None else None
