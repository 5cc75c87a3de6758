"""File storage for uploads, answer crops and generated files, addressed by string keys.

The embedded default is a directory on local disk (``Settings.storage_dir``). Keys are
relative POSIX paths such as ``uploads/ab/ab12….pdf`` or ``crops/17/q3_b0.png``; they are
validated so a key can never escape the storage root. Writes are atomic (temp file +
rename), so a crash never leaves a half-written file under a real key; an upload spooled
into ``tmp/`` when the process died belongs to nobody and is swept at the next start
(:meth:`LocalStorage.sweep_temp`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

__all__ = ["TEMP_MAX_AGE_S", "WRITE_BATCH", "LocalStorage", "StorageKeyError", "StoredBlob",
           "free_bytes", "write_atomic"]

log = logging.getLogger(__name__)

WRITE_BATCH = 1024 * 1024
# A spooled upload is written at least every WRITE_BATCH bytes and renamed as soon as it is
# accepted, so a temp file untouched this long belongs to a process that died.
TEMP_MAX_AGE_S = 10 * 60
_KEY = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*$")


def write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place, so a crash
    never leaves a half-written file under the real name (blocking; small files).

    Args:
        path: the file to write (its folder is created).
        data: the bytes.
        durable: also ``fsync`` before the rename (state files that must survive a power
            cut; not for the many small crops, where it would cost more than it saves).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_replace(path, data, durable)


def _write_replace(path: Path, data: bytes, durable: bool = False) -> None:
    """:func:`write_atomic` into a folder that exists. The temporary name is the target's
    with a random part (several processes, in several containers, may share the folder),
    made and written with plain system calls: a graded page writes a crop per answer, and
    ``tempfile.mkstemp`` with a file object cost about five times the CPU per crop."""
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def free_bytes(folder: Path) -> int:
    """Bytes free for us on the file system holding ``folder`` (its nearest existing
    parent when it does not exist yet)."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


class StorageKeyError(ValueError):
    """A key that is not a plain relative path under the storage root."""


@dataclass(frozen=True)
class StoredBlob:
    """What :meth:`LocalStorage.put_stream` wrote: its size and SHA-256."""

    key: str
    size: int
    sha256: str


class _Spool:
    """A spooled body's temp file, made at its first write (called in a worker thread)."""

    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage
        self.path: Path | None = None
        self._fh: BinaryIO | None = None

    def write(self, data: bytes, last: bool = False) -> Path:
        if self.path is None:
            self.path = self.storage.temp_path()
            self._fh = self.path.open("wb")
        assert self._fh is not None
        self._fh.write(data)
        if last:
            self._fh.close()
        return self.path

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class LocalStorage:
    """Blobs on the local file system under ``root``.

    Constructing it (the app does at start-up) sweeps temp files that a process which died
    left in ``tmp/`` (:meth:`sweep_temp`).

    Args:
        root: the storage directory (created on demand).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sweep_temp()

    def sweep_temp(self, max_age_s: float = TEMP_MAX_AGE_S) -> int:
        """Remove temp files in ``tmp/`` not written for ``max_age_s``: partial uploads of a
        process that stopped mid-body. Accepted uploads are renamed out of ``tmp/``, so none
        of these belongs to an upload; a live one is younger (it is written every MB).

        Args:
            max_age_s: how long a file must have been left alone.

        Returns:
            How many files were removed.
        """
        tmp_dir = self.root / "tmp"
        cutoff = time.time() - max_age_s
        removed = 0
        try:
            entries = list(tmp_dir.iterdir())
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:  # another process swept it first
                continue
        if removed:
            log.info("removed partial uploads left by a stopped process",
                     extra={"files": removed})
        return removed

    def path(self, key: str) -> Path:
        """The file behind ``key``. Raises StorageKeyError for keys that could escape."""
        if not _KEY.match(key) or ".." in key.split("/"):
            raise StorageKeyError(f"invalid storage key {key!r}")
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` atomically (blocking; small files only)."""
        write_atomic(self.path(key), data)

    def put_many(self, files: Mapping[str, bytes]) -> None:
        """Write each of ``files`` (key: bytes) as :meth:`put_bytes` would, making each
        folder once (a page's crops share one; blocking; small files only)."""
        folders: set[Path] = set()
        for key, data in files.items():
            path = self.path(key)
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            _write_replace(path, data)

    def get_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def temp_path(self) -> Path:
        """A fresh temporary file inside the storage root (same file system: cheap rename)."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
        os.close(fd)
        return Path(tmp)

    async def spool(self, chunks: AsyncIterator[bytes], limit: int) -> tuple[Path, StoredBlob]:
        """Stream ``chunks`` into a temporary file, hashing as it goes, never holding the
        whole body in memory.

        Args:
            chunks: the request body.
            limit: maximum size in bytes.

        Returns:
            The temporary file and its size and SHA-256 (``key`` is empty until
            :meth:`commit` gives it one).

        Raises:
            OverflowError: the body is larger than ``limit`` (the temp file is removed).
        """
        digest = hashlib.sha256()
        size = 0
        spool = _Spool(self)
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise OverflowError(f"body larger than {limit} bytes")
                digest.update(chunk)
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= WRITE_BATCH:
                    # One thread hop per megabyte, not per 64 KB chunk: under load each
                    # hop waits for the loop, and that wait is the upload's latency.
                    await to_thread.run_sync(spool.write, b"".join(pending))
                    pending, buffered = [], 0
            if spool.path is None:
                # A body of a megabyte or less (most scans: a photo, a few copied pages)
                # is written here, on the loop: a write to the page cache takes a fraction
                # of a millisecond, less than a hop to a thread and back costs a busy
                # process, and the hop made the upload wait for the loop once more.
                tmp = spool.write(b"".join(pending), True)
            else:
                tmp = await to_thread.run_sync(spool.write, b"".join(pending), True)
        except BaseException:
            spool.discard()  # no write is under way: each was awaited to its end
            raise
        return tmp, StoredBlob(key="", size=size, sha256=digest.hexdigest())

    def commit(self, tmp: Path, key: str) -> None:
        """Move a spooled temp file to ``key`` (atomic rename; replaces an equal file)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
