"""File-system helpers of the watched folder: listing, hashing, safe moves, the ledger.

All functions here are blocking; :mod:`service.watch.folder` calls them in a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.storage import write_atomic

__all__ = [
    "FAILED_DIR",
    "LEDGER_NAME",
    "PROCESSED_DIR",
    "Ledger",
    "is_ignored",
    "list_candidates",
    "move_no_clobber",
    "read_and_hash",
    "sniff_kind",
    "write_reason",
]

log = logging.getLogger(__name__)

PROCESSED_DIR = "processed"
FAILED_DIR = "failed"
LEDGER_NAME = ".markbook-watch.json"
_TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
HEAD_BYTES = 1024
_CHUNK = 1 << 20


def is_ignored(name: str) -> bool:
    """Names a writer uses while a file is not finished, and our own files."""
    lower = name.lower()
    return (name.startswith((".", "~$")) or lower.endswith(_TEMP_SUFFIXES)
            or name in (PROCESSED_DIR, FAILED_DIR))


def list_candidates(folder: Path) -> list[tuple[str, tuple[int, int]]]:
    """Regular files directly in ``folder`` with their (size, mtime in ns), sorted by name.

    Raises:
        OSError: the folder cannot be listed.
    """
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if is_ignored(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue  # subfolders (processed/, failed/, anything else), links
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished between listing and stat
            out.append((entry.name, (st.st_size, st.st_mtime_ns)))
    return sorted(out)


def read_and_hash(path: Path) -> tuple[bytes, str, int]:
    """Open the file, return its first bytes, sha256 and size.

    Raises:
        OSError: it cannot be opened or read (still locked by its writer, or gone).
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
        digest.update(head)
        size += len(head)
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return head, digest.hexdigest(), size


def _fallback_sniff(head: bytes) -> str:
    for magic, kind in ((b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"\xff\xd8\xff", "jpeg"),
                        (b"\x89PNG\r\n\x1a\n", "png"), (b"PK\x03\x04", "zip")):
        if head.startswith(magic):
            return kind
    if b"%PDF-" in head[:1024]:  # after the magics, as ocr.ingest.sniff: a ZIP may hold one
        return "pdf"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "heic"
    raise ValueError("not a PDF, TIFF, JPEG, PNG, HEIC or ZIP file")


def _sniffer() -> Callable[[bytes], str]:
    try:
        from ocr.ingest import sniff
    except ImportError:  # a slim install without the OCR stack: our own magic bytes
        return _fallback_sniff
    return sniff


def sniff_kind(head: bytes) -> tuple[str | None, tuple[str, str]]:
    """The scan format judged by content, or ``None`` with an error (code, message)."""
    try:
        return _sniffer()(head), ("", "")
    except Exception as exc:  # ocr's typed errors or our ValueError: all mean "not a scan"
        code = str(getattr(exc, "code", "unsupported_file"))
        return None, (code, str(exc) or "not a scan file")


def _link_or_rename(src: Path, dst: Path) -> None:
    """Move without ever replacing ``dst`` (raises FileExistsError if it exists)."""
    try:
        # A hard link fails atomically when the name is taken; then drop the old name.
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP,
                             errno.EACCES, errno.EMLINK):
            raise
        # No hard links here (some network or FAT file systems): check, then rename.
        if dst.exists():
            raise FileExistsError(dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def move_no_clobber(src: Path, folder: Path) -> Path:
    """Move ``src`` into ``folder`` keeping its name, or ``stem-1.ext``… on a clash.

    Returns:
        The new path.
    """
    folder.mkdir(exist_ok=True)
    stem, suffix = os.path.splitext(src.name)
    for n in range(10_000):
        dst = folder / (src.name if n == 0 else f"{stem}-{n}{suffix}")
        try:
            _link_or_rename(src, dst)
        except FileExistsError:
            continue
        return dst
    raise FileExistsError(f"no free name for {src.name} in {folder}")


def _atomic_write(path: Path, data: bytes) -> None:
    write_atomic(path, data, durable=True)


def write_reason(moved: Path, code: str, detail: str, status: int | None) -> Path:
    """Write ``NAME.reason.txt`` beside a file moved to ``failed/``."""
    when = datetime.now(UTC).isoformat(timespec="seconds")
    text = (f"file: {moved.name}\nerror: {code}\ndetail: {detail}\n"
            f"http_status: {status if status is not None else '-'} "
            f"({'server' if status is not None else 'checked before upload'})\n"
            f"time: {when}\n")
    reason = moved.with_name(moved.name + ".reason.txt")
    _atomic_write(reason, text.encode("utf-8"))
    return reason


class Ledger:
    """sha256 → what the server said, kept in a small JSON file written atomically.

    Args:
        path: the ledger file (``DIR/.markbook-watch.json``).
        max_entries: oldest entries are dropped beyond this (the server deduplicates too).
    """

    def __init__(self, path: Path, max_entries: int = 50_000) -> None:
        self.path = path
        self.max_entries = max_entries
        self.entries: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text("utf-8"))
            files = document["files"]
            if not isinstance(files, dict):
                raise ValueError("files is not an object")
            return files
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Unreadable: keep it for inspection, start afresh (re-uploads are deduplicated).
            log.warning("ledger %s unreadable (%s); starting a new one", self.path, exc)
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
            return {}

    def get(self, sha256: str) -> dict[str, Any] | None:
        """The entry for these bytes, if they were uploaded before."""
        return self.entries.get(sha256)

    def add(self, sha256: str, entry: dict[str, Any]) -> None:
        """Record an accepted upload and save the ledger (atomically)."""
        self.entries[sha256] = {**entry, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        while len(self.entries) > self.max_entries:
            del self.entries[next(iter(self.entries))]
        data = json.dumps({"version": 1, "files": self.entries}, ensure_ascii=False, indent=0)
        _atomic_write(self.path, data.encode("utf-8"))
