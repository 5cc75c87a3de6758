"""The watched folder: upload scans that copiers drop into a directory (``markbook watch``).

Copiers save scans to a folder over SMB, FTP or their own scan-to-folder feature; this
module turns that folder into uploads to ``POST /api/v1/scans``. The rules, in order:

* a file is taken only when it is completely written: its size and mtime are unchanged
  across two polls at least ``settle_s`` apart, it is not empty, and it can be opened.
  Dotfiles, ``*.part``, ``*.tmp``, ``~$*`` and subfolders are never touched;
* its content is sniffed by bytes (never by name); a file that is not a scan goes to
  ``failed/`` without being uploaded. A ZIP (of scans or photos) and a HEIC photo are
  uploaded like any scan: the server unpacks the ZIP into one job, its files in natural
  name order, or refuses it (a file in it that is not a scan, a ZIP bomb: ``failed/``
  with the server's reason naming the file);
* the sha256 is looked up in a ledger (``.markbook-watch.json``): a file dropped in again
  is recognised and filed under ``processed/`` without another upload;
* otherwise it is uploaded (multipart field ``file``, ``Idempotency-Key`` = its sha256).
  ``202`` → recorded in the ledger, then moved to ``processed/``. A 4xx that is about the
  file → moved to ``failed/`` with ``NAME.reason.txt``. A 5xx, a refused connection or a
  4xx that is about the set-up (401/403 bad key, 404/405 wrong URL, 408, 429) → the file
  stays where it is and the whole folder waits with exponential backoff.

Nothing is moved before the server acknowledged it, and nothing is ever overwritten: a
name clash gets a ``-1``, ``-2``… suffix. A crash between the server's answer and the
move only means the next pass uploads again, which the server deduplicates by content.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio import to_thread

from service.watch.files import (
    FAILED_DIR,
    LEDGER_NAME,
    PROCESSED_DIR,
    Ledger,
    list_candidates,
    move_no_clobber,
    read_and_hash,
    sniff_kind,
    write_reason,
)

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_TEMPFAIL",
    "FAILED_DIR",
    "LEDGER_NAME",
    "PROCESSED_DIR",
    "FolderWatcher",
    "Outcome",
    "PassReport",
    "WatchOptions",
    "exit_code",
    "watch_command",
]

log = logging.getLogger(__name__)

_MIME = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg",
         "png": "image/png", "heic": "image/heic", "zip": "application/zip"}
# 4xx answers that say nothing about the file (wrong key, wrong URL, slow down): retry.
_SETUP_4XX = {401, 403, 404, 405, 408, 429}


class Outcome(Enum):
    """What became of one file in one pass."""

    UPLOADED = "uploaded"    # accepted by the server, moved to processed/
    KNOWN = "known"          # already in the ledger, moved to processed/ without upload
    FAILED = "failed"        # rejected (locally or by the server), moved to failed/
    DEFERRED = "deferred"    # server trouble: left in place for a later retry
    WAITING = "waiting"      # still being written (or cannot be opened yet)


@dataclass(frozen=True)
class WatchOptions:
    """How the watcher behaves.

    Attributes:
        settle_s: a file's size and mtime must stay the same this long before it is taken.
        retry_base_s: first wait after a server failure; doubles on each further failure.
        retry_max_s: the longest wait between retries.
        upload_path: the ingestion endpoint, relative to the client's base URL.
    """

    settle_s: float = 5.0
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    upload_path: str = "/api/v1/scans"


@dataclass
class PassReport:
    """File names by outcome, for one or more passes."""

    files: dict[Outcome, list[str]] = field(default_factory=lambda: {o: [] for o in Outcome})

    def add(self, outcome: Outcome, name: str) -> None:
        self.files[outcome].append(name)

    def merge(self, other: PassReport) -> None:
        """Add another pass's files (a file waiting earlier and uploaded later counts once)."""
        for outcome, names in other.files.items():
            self.files[outcome].extend(names)
        settled = {n for o, ns in self.files.items() if o is not Outcome.WAITING for n in ns}
        self.files[Outcome.WAITING] = sorted(set(self.files[Outcome.WAITING]) - settled)

    def __getitem__(self, outcome: Outcome) -> list[str]:
        return self.files[outcome]


@dataclass
class _Sighting:
    signature: tuple[int, int]
    since: float


class FolderWatcher:
    """Uploads completed scan files from ``folder`` through ``client``.

    Args:
        folder: the watched directory (``processed/`` and ``failed/`` are created in it).
        client: an ``httpx.AsyncClient`` whose base URL is the markbook server: a remote
            one (with the device key in its headers) or the in-process app.
        options: timings and the endpoint path.
        clock: monotonic seconds (tests pass a fake one to step time).
    """

    def __init__(self, folder: Path, client: httpx.AsyncClient,
                 options: WatchOptions | None = None, *,
                 clock: Callable[[], float] | None = None) -> None:
        import time

        self.folder = Path(folder)
        self.client = client
        self.options = options or WatchOptions()
        self.clock = clock or time.monotonic
        self.ledger = Ledger(self.folder / LEDGER_NAME)
        self._seen: dict[str, _Sighting] = {}
        self._failures = 0
        self._retry_at = 0.0

    async def poll(self) -> PassReport:
        """One pass: note what changed, take every file that has settled."""
        report = PassReport()
        now = self.clock()
        entries = await to_thread.run_sync(list_candidates, self.folder)
        for gone in set(self._seen) - {name for name, _ in entries}:
            del self._seen[gone]
        server_down = now < self._retry_at
        for name, signature in entries:
            seen = self._seen.get(name)
            if seen is None or seen.signature != signature:
                self._seen[name] = _Sighting(signature, now)
                report.add(Outcome.WAITING, name)
                continue
            if now - seen.since < self.options.settle_s or signature[0] == 0:
                report.add(Outcome.WAITING, name)
                continue
            if server_down:
                report.add(Outcome.DEFERRED, name)
                continue
            try:
                outcome = await self._take(name)
            except OSError as exc:
                # Cannot move it (permissions on processed/ or failed/, disk full): an
                # administrator must act; the file stays and is tried again next pass.
                log.error("%s: %s", name, exc)
                outcome = Outcome.WAITING
            report.add(outcome, name)
            if outcome is Outcome.DEFERRED:
                server_down = True
            elif outcome is not Outcome.WAITING:
                self._seen.pop(name, None)
        return report

    async def run_once(self) -> PassReport:
        """Look, wait ``settle_s``, look again and take what settled (``--once``)."""
        report = await self.poll()
        # A little over settle_s, so a coarse loop clock cannot wake us a hair early.
        await anyio.sleep(self.options.settle_s + 0.01)
        report.merge(await self.poll())
        return report

    async def run(self, stop: anyio.Event | Any, poll_s: float) -> None:
        """Poll every ``poll_s`` seconds until ``stop`` is set (the file in hand finishes)."""
        while not stop.is_set():
            try:
                await self.poll()
            except OSError as exc:  # the folder vanished (unmounted share): keep trying
                log.error("cannot read %s: %s", self.folder, exc)
            except Exception:  # a watcher daemon outlives one bad pass; the files stay put
                log.exception("watch pass failed")
            with anyio.move_on_after(poll_s):
                await stop.wait()

    async def _take(self, name: str) -> Outcome:
        path = self.folder / name
        try:
            head, sha256, size = await to_thread.run_sync(read_and_hash, path)
        except OSError as exc:
            # Locked by the writer (SMB share mode) or gone: not ready, look again later.
            log.debug("%s: cannot open yet (%s)", name, exc)
            return Outcome.WAITING
        kind, problem = sniff_kind(head)
        if kind is None:
            code, detail = problem
            return await self._fail(path, code, detail, None)
        earlier = self.ledger.get(sha256)
        if earlier is not None:
            dest = await to_thread.run_sync(move_no_clobber, path, self.folder / PROCESSED_DIR)
            log.info("%s: already uploaded (job %s) → %s/%s", name, earlier.get("job_id"),
                     PROCESSED_DIR, dest.name)
            return Outcome.KNOWN
        return await self._upload(path, kind, sha256, size)

    async def _upload(self, path: Path, kind: str, sha256: str, size: int) -> Outcome:
        name = path.name
        try:
            fh = await to_thread.run_sync(path.open, "rb")
        except OSError:
            return Outcome.WAITING
        try:
            resp = await self.client.post(
                self.options.upload_path, headers={"Idempotency-Key": sha256},
                files={"file": (name, fh, _MIME.get(kind, "application/octet-stream"))})
        except httpx.HTTPError as exc:
            return self._defer(name, f"{type(exc).__name__}: {exc}")
        finally:
            fh.close()
        if 200 <= resp.status_code < 300:
            body = _json(resp)
            entry = {"job_id": body.get("job_id"), "upload_id": body.get("upload_id"),
                     "name": name, "size": size}
            await to_thread.run_sync(self.ledger.add, sha256, entry)
            dest = await to_thread.run_sync(move_no_clobber, path, self.folder / PROCESSED_DIR)
            self._failures, self._retry_at = 0, 0.0
            dup = " (duplicate of an earlier upload)" if body.get("duplicate") else ""
            log.info("%s: uploaded → job %s%s → %s/%s", name, body.get("job_id"), dup,
                     PROCESSED_DIR, dest.name)
            return Outcome.UPLOADED
        if resp.status_code >= 500 or resp.status_code in _SETUP_4XX:
            body = _json(resp)
            return self._defer(name, f"HTTP {resp.status_code} {body.get('error', '')}".strip())
        body = _json(resp)
        code = str(body.get("error") or f"http_{resp.status_code}")
        detail = str(body.get("detail") or resp.text[:500])
        return await self._fail(path, code, detail, resp.status_code)

    async def _fail(self, path: Path, code: str, detail: str, status: int | None) -> Outcome:
        dest = await to_thread.run_sync(move_no_clobber, path, self.folder / FAILED_DIR)
        await to_thread.run_sync(write_reason, dest, code, detail, status)
        log.warning("%s: rejected (%s: %s) → %s/%s", path.name, code, detail, FAILED_DIR,
                    dest.name)
        return Outcome.FAILED

    def _defer(self, name: str, why: str) -> Outcome:
        self._failures += 1
        wait = min(self.options.retry_base_s * 2 ** (self._failures - 1),
                   self.options.retry_max_s)
        self._retry_at = self.clock() + wait
        log.warning("%s: server unavailable (%s); left in place, retrying in %.0f s",
                    name, why, wait)
        return Outcome.DEFERRED


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: try again later (cron retries)


def exit_code(report: PassReport) -> int:
    """``--once`` exit status: 75 if the server left files for later, 1 if any file was
    rejected into ``failed/``, else 0 (files still being written do not count)."""
    if report[Outcome.DEFERRED]:
        return EXIT_TEMPFAIL
    if report[Outcome.FAILED]:
        return EXIT_REJECTED
    return EXIT_OK


def _install_stop(stop: anyio.Event) -> None:
    import asyncio
    import signal

    loop = asyncio.get_running_loop()

    def first(sig: signal.Signals) -> None:
        log.info("stopping after the current file (%s); press Ctrl-C again to abort",
                 sig.name)
        stop.set()
        # A second Ctrl-C gets Python's default behaviour: an immediate KeyboardInterrupt.
        loop.remove_signal_handler(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises as usual
            loop.add_signal_handler(sig, first, sig)


async def watch_command(folder: Path, client: httpx.AsyncClient, options: WatchOptions, *,
                        once: bool, poll_s: float) -> int:
    """What ``markbook watch`` runs once its client is built.

    Args:
        folder: the watched directory (must exist).
        client: the server (remote, or the in-process app).
        options: settle time and retry timings.
        once: process what is there and return an exit status; else poll until stopped.
        poll_s: seconds between passes when watching.

    Returns:
        The process exit status (see :func:`exit_code`; 0 after a clean stop).
    """
    watcher = FolderWatcher(folder, client, options)
    if once:
        report = await watcher.run_once()
        counts = ", ".join(f"{len(v)} {k.value}" for k, v in report.files.items() if v)
        log.info("done: %s", counts or "nothing to do")
        return exit_code(report)
    stop = anyio.Event()
    _install_stop(stop)
    log.info("watching %s every %.1f s (settle %.1f s); Ctrl-C stops", folder, poll_s,
             options.settle_s)
    await watcher.run(stop, poll_s)
    log.info("stopped")
    return EXIT_OK
