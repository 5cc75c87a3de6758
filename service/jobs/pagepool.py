"""The page workers' pool: spawned processes that say, when one dies, what it was reading
and how it died.

A plain :class:`~concurrent.futures.ProcessPoolExecutor` that loses a worker fails every
future in flight with the same ``BrokenProcessPool``: it cannot say which page was in the
dead worker, nor whether the worker crashed (a native fault, an abort) or was killed from
outside (``kill -9``, the OOM killer). :class:`PagePool` keeps both:

* each worker notes the page it is reading in a small file named by its pid (8 bytes
  written in place: a page index, :data:`IDLE` or :data:`STARTING`), so the note survives
  the worker's death, however abrupt;
* the pool keeps its worker processes, so after a break their exit codes tell a crash
  (any other signal or exit) from a kill (``SIGKILL``) and from the pool's own clean-up of
  its healthy workers (``SIGTERM``).

:meth:`PagePool.deaths` turns that into :class:`~service.jobs.recovery.WorkerDeath` records
for the crash rule (:mod:`service.jobs.recovery`).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from service.jobs.recovery import IDLE, STARTING, WorkerDeath

__all__ = ["PagePool"]

T = TypeVar("T")
_NOTE = struct.Struct("<q")
_note_fd: int | None = None  # this worker's note (in a worker process)
_PREFIX = "markbook-pages-"  # + the service's pid: a folder of notes per pool


def _write_note(value: int) -> None:
    if _note_fd is not None:
        os.pwrite(_note_fd, _NOTE.pack(value), 0)  # one 8-byte write in place


def _init_noted(notes: str, initializer: Callable[..., None] | None, *args: Any) -> None:
    """A worker's start: open its note (``STARTING`` until the initializer returns, then
    ``IDLE``)."""
    global _note_fd
    _note_fd = os.open(Path(notes) / str(os.getpid()), os.O_RDWR | os.O_CREAT, 0o600)
    _write_note(STARTING)
    if initializer is not None:
        initializer(*args)
    _write_note(IDLE)
    _write_note(IDLE)


def _started() -> None:
    """A worker's first task when the pool is warmed: it has run the initializer."""


def _read_noted(index: int, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` with page ``index`` noted as the one this worker is reading."""
    _write_note(index)
    try:
        return fn(*args)
    finally:
        _write_note(IDLE)


def _sweep_stale_notes() -> None:
    """Remove the notes of pools whose service process is gone (killed: it could not)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        pid = folder.name[len(_PREFIX):].partition("-")[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists() or not Path("/proc").is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)


class PagePool(ProcessPoolExecutor):
    """A spawned process pool whose workers note the page they read.

    Args:
        workers: how many worker processes at most.
        initializer: run once in each worker (loads the models).
        initargs: its arguments.
    """

    def __init__(self, workers: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = ()) -> None:
        _sweep_stale_notes()
        self.notes = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        # spawn, not fork: the service has started threads (and OpenCV's pool); a forked
        # child can inherit a held lock and hang for ever.
        super().__init__(workers, mp_context=multiprocessing.get_context("spawn"),
                         initializer=_init_noted,
                         initargs=(str(self.notes), initializer, *initargs))
        self._workers: dict[int, BaseProcess] = {}
        self._size = workers
        self._final: list[WorkerDeath] | None = None

    def submit_page(self, index: int, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Submit the reading of page ``index`` (``fn(*args)``), noted in its worker."""
        future = self.submit(_read_noted, index, fn, *args)
        # The pool starts its workers on demand, inside submit: keep them, so their exit
        # codes can be read after the pool has broken and forgotten them.
        self._workers.update(getattr(self, "_processes", None) or {})
        return future

    def warm(self) -> None:
        """Start every worker now and wait until each has run the initializer (loaded the
        models). Blocking: call it from a thread.

        Raises:
            BrokenProcessPool: a worker died starting.
        """
        # Each submit finds no idle worker (the first is still loading) and starts one;
        # one worker may run two of them, so each worker's note says when it is ready.
        futures = [self.submit(_started) for _ in range(self._size)]
        self._workers.update(getattr(self, "_processes", None) or {})
        for future in futures:
            future.result()
        while True:
            loading = [pid for pid, proc in self._workers.items()
                       if proc.exitcode is None and self._note(pid) == STARTING]
            if any(proc.exitcode is not None for proc in self._workers.values()):
                raise BrokenProcessPool("a page worker exited while starting")
            if not loading:
                return
            time.sleep(0.05)

    def deaths(self) -> list[WorkerDeath]:
        """The workers that have exited, with their exit codes and the page each was
        reading; after ``shutdown(wait=True)`` the final account of every worker."""
        if self._final is not None:
            return list(self._final)
        out = []
        for pid, proc in sorted(self._workers.items()):
            code = proc.exitcode
            if code is not None:
                out.append(WorkerDeath(pid, code, self._note(pid)))
        return out

    def _note(self, pid: int) -> int:
        try:
            raw = (self.notes / str(pid)).read_bytes()
        except OSError:
            return STARTING  # it died before it could open its note
        return int(_NOTE.unpack(raw[:_NOTE.size])[0]) if len(raw) >= _NOTE.size else STARTING

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait and self._final is None:
            self._final = self.deaths()  # every worker joined: their codes are final
            shutil.rmtree(self.notes, ignore_errors=True)
