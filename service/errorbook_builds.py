"""Building a class's error books (一键生成全班错题本) in the background of the server.

A class set takes a while (a book per student, then one PDF), longer than a page should
wait, so the web page starts a build and shows its progress. A build is an asyncio task in
the server process that calls the very service functions of the API's
``GET /api/v1/classes/{id}/errorbooks.pdf`` and ``errorbooks-key.pdf``
(:func:`service.mastery.exports.class_books_pdf`, :func:`class_key_pdf`) in its own unit of
work, as the teacher who asked.

Its state is kept in files under ``<data dir>/errorbooks/`` (no table):

* ``class-<id>.json``: ``state`` (``building``, ``done`` or ``failed``), when it started
  and finished, the message of a failure, the PDF's page count, whether a teacher's key was
  made, and which server process (``pid`` and a per-start ``boot`` id) runs it;
* ``class-<id>.pdf`` and ``class-<id>-key.pdf``: the last finished build, each written
  to a temporary file and renamed into place, so a download never sees half a file.

A second start while a class is building starts nothing. A ``building`` file that no live
build of this server owns (the server was restarted or killed mid-build, or it is older
than :data:`STALE_AFTER`) reads as ``stale``: the page offers to build again, so nothing
shows "building" forever. Students done so far are kept in memory while a build runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pypdfium2 as pdfium
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ocr.pdfium_lock import PDFIUM
from service.actor import Actor
from service.config import MasterySettings
from service.errors import MarkbookError, NotFound
from service.mastery.exports import class_books_pdf, class_key_pdf
from service.repositories.mastery import MasteryRepository
from service.storage import LocalStorage, write_atomic

__all__ = ["STALE_AFTER", "BuildState", "BuildStatus", "ErrorBookBuilds", "check_class"]

log = logging.getLogger(__name__)

BuildState = Literal["none", "building", "done", "failed", "stale"]
# A build still "building" after this long is taken as lost, whatever its process.
STALE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class BuildStatus:
    """Where a class's error-book build stands.

    Attributes:
        class_id: the class.
        state: ``none`` (never built), ``building``, ``done``, ``failed`` or ``stale``
            (building when the server stopped: build again).
        started_at: when the last build started.
        finished_at: when it finished (done or failed).
        message: why it failed.
        pages: the class set's page count (done).
        students_done: books built so far (building; all of them when done).
        students_total: students in the class (0 until the roster is read).
        has_key: a teacher's key was made with it (none when nobody has practice).
        ready: a finished PDF is there to download (from this or an earlier build).
        duplex: the last build was padded for two-sided printing.
    """

    class_id: int
    state: BuildState
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""
    pages: int | None = None
    students_done: int = 0
    students_total: int = 0
    has_key: bool = False
    ready: bool = False
    duplex: bool = True

    @property
    def elapsed_seconds(self) -> int:
        """Seconds since the build started (until it finished)."""
        if self.started_at is None:
            return 0
        end = self.finished_at or datetime.now(UTC)
        return max(0, int((end - self.started_at).total_seconds()))

    def to_json(self) -> dict[str, Any]:
        """The status as JSON for the page's status route."""
        out = asdict(self)
        for k in ("started_at", "finished_at"):
            out[k] = out[k].isoformat() if out[k] else None
        out["elapsed_seconds"] = self.elapsed_seconds
        return out


@dataclass
class _Record:
    """The JSON file's content."""

    state: str
    started_at: str
    pid: int
    boot: str
    finished_at: str | None = None
    message: str = ""
    pages: int | None = None
    students: int = 0
    has_key: bool = False
    duplex: bool = True


def _now() -> datetime:
    return datetime.now(UTC)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, data, durable=True)


def _page_count(data: bytes) -> int:
    with PDFIUM:
        doc = pdfium.PdfDocument(data)
        try:
            return len(doc)
        finally:
            doc.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def check_class(session: AsyncSession, actor: Actor, class_id: int) -> None:
    """Raise :class:`NotFound` unless the actor may see the class (as the API's error-book
    routes do)."""
    await MasteryRepository(session, actor).school_class(class_id)


@dataclass
class ErrorBookBuilds:
    """The server's class error-book builds (one per app).

    Args:
        root: the folder of the status files and PDFs (``<data dir>/errorbooks``).
        session_factory: makes each build's own unit of work.
        storage: the stored scans (the books show each student's own answer).
        settings: the error books' settings (``settings.mastery``).
        language: the school's language (``Settings.school_language``) the books print in.
    """

    root: Path
    session_factory: async_sessionmaker[AsyncSession]
    storage: LocalStorage
    settings: MasterySettings
    language: str = "zh"
    boot: str = field(default_factory=lambda: uuid.uuid4().hex)
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _progress: dict[int, tuple[int, int]] = field(default_factory=dict)

    def pdf_path(self, class_id: int) -> Path:
        """Where the class set's PDF is kept."""
        return self.root / f"class-{class_id}.pdf"

    def key_path(self, class_id: int) -> Path:
        """Where the teacher's key PDF is kept."""
        return self.root / f"class-{class_id}-key.pdf"

    def _status_path(self, class_id: int) -> Path:
        return self.root / f"class-{class_id}.json"

    def _read(self, class_id: int) -> _Record | None:
        try:
            raw = json.loads(self._status_path(class_id).read_text("utf-8"))
            return _Record(**raw)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:  # a damaged file: treat as a lost build
            log.warning("unreadable error-book status of class %s: %s", class_id, exc)
            return _Record(state="building", started_at=_now().isoformat(), pid=0, boot="")

    def _write(self, class_id: int, record: _Record) -> None:
        _write_atomic(self._status_path(class_id),
                      json.dumps(asdict(record), ensure_ascii=False).encode("utf-8"))

    def running(self, class_id: int) -> bool:
        """Whether this server is building the class's books now."""
        task = self._tasks.get(class_id)
        return task is not None and not task.done()

    def _lost(self, record: _Record) -> bool:
        started = _time(record.started_at) or _now()
        if _now() - started > STALE_AFTER:
            return True
        if record.boot == self.boot:
            return False  # ours: running() decides
        # Another process's build: alive only if that process is (and is not this one).
        return record.pid == os.getpid() or record.pid <= 0 or not _alive(record.pid)

    def status(self, class_id: int) -> BuildStatus:
        """The class's build status (no access check: callers check the class first)."""
        record = self._read(class_id)
        ready = self.pdf_path(class_id).is_file()
        has_key = self.key_path(class_id).is_file()
        if record is None:
            return BuildStatus(class_id, "none", ready=ready, has_key=has_key)
        state: BuildState = record.state  # type: ignore[assignment]
        done, total = self._progress.get(class_id, (record.students, record.students))
        lost = (record.boot == self.boot and not self.running(class_id)) or self._lost(record)
        if state == "building" and lost:
            state = "stale"
        if state == "done":
            done = total = record.students
        return BuildStatus(class_id, state, started_at=_time(record.started_at),
                           finished_at=_time(record.finished_at), message=record.message,
                           pages=record.pages, students_done=done, students_total=total,
                           has_key=has_key, ready=ready, duplex=record.duplex)

    def start(self, actor: Actor, class_id: int, *, duplex: bool = True) -> bool:
        """Start building the class's books unless a build is under way.

        ``duplex`` pads the set for two-sided printing (every book on a front page); False
        prints it with no blank page (one-sided).

        The caller has checked that the actor may see the class. Nothing is awaited
        between the check and the task's creation, so two clicks at once start one build.

        Returns:
            True if a build started, False if one was already running.
        """
        if self.running(class_id) or self.status(class_id).state == "building":
            return False
        self._progress[class_id] = (0, 0)
        self._write(class_id, _Record(state="building", started_at=_now().isoformat(),
                                      pid=os.getpid(), boot=self.boot, duplex=duplex))
        self._tasks[class_id] = asyncio.create_task(self._run(actor, class_id, duplex),
                                                    name=f"errorbooks-class-{class_id}")
        return True

    async def wait(self, class_id: int) -> None:
        """Until the class's running build (if any) has finished (tests, shutdown)."""
        task = self._tasks.get(class_id)
        if task is not None:
            await asyncio.wait({task})

    async def close(self) -> None:
        """Stop the builds under way (the server is shutting down): their database work is
        rolled back, and after the restart their classes show the build as interrupted,
        with a retry."""
        running = [task for task in self._tasks.values() if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)

    def _finish(self, class_id: int, state: str, *, message: str = "",
                pages: int | None = None, has_key: bool = False) -> None:
        old = self._read(class_id)
        _done, total = self._progress.pop(class_id, (0, 0))
        self._write(class_id, _Record(
            state=state, started_at=old.started_at if old else _now().isoformat(),
            pid=os.getpid(), boot=self.boot, finished_at=_now().isoformat(), message=message,
            pages=pages, students=total, has_key=has_key,
            duplex=old.duplex if old else True))

    async def _build(self, actor: Actor, class_id: int, duplex: bool
                     ) -> tuple[bytes, bytes | None]:
        def progress(done: int, total: int) -> None:
            self._progress[class_id] = (done, total)

        async with self.session_factory() as session:
            try:
                # Each student's book is committed as it is stored (checkpoint), not the
                # whole class at the end: a long build must not hold SQLite's write lock.
                books, _name = await class_books_pdf(session, actor, self.storage, class_id,
                                                     self.settings, "end", progress=progress,
                                                     checkpoint=session.commit, duplex=duplex,
                                                     language=self.language)
                try:
                    key: bytes | None = (await class_key_pdf(
                        session, actor, self.storage, class_id, self.settings,
                        language=self.language))[0]
                except NotFound as exc:
                    if exc.error != "no_practice":
                        raise
                    key = None  # nobody has anything to practise: no key to print
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        return books, key

    async def _run(self, actor: Actor, class_id: int, duplex: bool = True) -> None:
        log.info("error books of class %s: building", class_id)
        try:
            books, key = await self._build(actor, class_id, duplex)
            pages = await to_thread.run_sync(_page_count, books)
            await to_thread.run_sync(_write_atomic, self.pdf_path(class_id), books)
            if key is not None:
                await to_thread.run_sync(_write_atomic, self.key_path(class_id), key)
            else:
                self.key_path(class_id).unlink(missing_ok=True)
            self._finish(class_id, "done", pages=pages, has_key=key is not None)
            log.info("error books of class %s: done (%s pages)", class_id, pages)
        except asyncio.CancelledError:
            self._finish(class_id, "failed", message="cancelled: the server stopped")
            raise
        except MarkbookError as exc:
            self._finish(class_id, "failed", message=exc.detail)
            log.warning("error books of class %s: failed: %s", class_id, exc.error)
        except Exception as exc:  # a defect: record it, so the page offers a retry
            self._finish(class_id, "failed", message=f"{type(exc).__name__}: {exc}")
            log.exception("error books of class %s: failed", class_id)
