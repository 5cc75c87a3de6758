"""Bundles: several scan files, or a ZIP of them, read as one ordered stack of pages.

A teacher's phone sends a class's homework as many photos (or a ZIP of them); the service
keeps them as one upload, one job. This module owns that container:

* :func:`zip_members` lists a ZIP's scan files in *natural* name order (``p2`` before
  ``p10``), skipping folders, macOS's ``__MACOSX/`` and ``._*`` companions, dotfiles and
  Windows' ``Thumbs.db``/``desktop.ini``. It guards against ZIP bombs before unpacking:
  the entry count is read from the archive's end record (at most ``4 × max_files``
  entries, no ZIP64), at most ``max_files`` scan files, at most ``max_bytes`` unpacked in
  all (the sizes a member declares are enforced while it is read), and no encrypted member.
* :func:`pack` writes files given in order (a ZIP among them unpacked in place, in natural
  order) into a new uncompressed ZIP whose member names start ``0001-``, ``0002-``… so the
  order is fixed once, when the upload is accepted. Member names are never used as paths.
* :func:`member_label` names a member for the teacher: ``"IMG_0003.HEIC" (file 3)``.

Reading a bundle's pages is :func:`ocr.ingest.iter_pages` (one member at a time, copied to
a temporary file while it is read).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ocr.errors import CorruptFile, EmptyFile, EncryptedFile, LimitExceeded, UnsupportedFile

if TYPE_CHECKING:
    from ocr.ingest import IngestLimits

__all__ = ["extracted", "is_skipped", "member_label", "natural_key", "pack", "zip_members"]

_SKIPPED_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
_EOCD = b"PK\x05\x06"
_DIGITS = re.compile(r"(\d+)")
_NUMBERED = re.compile(r"^(\d{4})-(.+)$", re.DOTALL)
_COPY = 1 << 20


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for file names as people read them: ``p2`` before ``p10``, case-folded."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in _DIGITS.split(name) if part)


def is_skipped(name: str) -> bool:
    """Whether a ZIP entry (or an uploaded file's name) is not a scan a person put there:
    folders, ``__MACOSX/``, dotfiles (``._IMG_0001.jpg``, ``.DS_Store``), ``Thumbs.db``."""
    if not name or name.endswith("/"):
        return True
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith(".") or p.casefold() in _SKIPPED_NAMES for p in parts)


def member_label(name: str) -> str:
    """How an error names a bundle member: ``"IMG_0003.HEIC" (file 3)`` for a packed
    member, the name in quotes for any other ZIP's member."""
    m = _NUMBERED.match(name)
    if m:
        return f'"{m.group(2)}" (file {int(m.group(1))})'
    return f'"{name}"'


def _entry_count(path: Path) -> int:
    """The entry count from the ZIP's end record, read before :mod:`zipfile` builds an
    object per entry (a 200 MB archive can declare millions of them)."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        tail_len = min(size, 22 + 65535)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        raise CorruptFile("the ZIP file is damaged (its directory cannot be found)")
    (entries,) = struct.unpack("<H", tail[at + 10:at + 12])
    return int(entries)


def zip_members(zf: zipfile.ZipFile, limits: IngestLimits) -> list[zipfile.ZipInfo]:
    """A ZIP's scan files in natural name order, after the ZIP-bomb guards.

    Args:
        zf: the open archive (opened by :func:`open_zip`, which checked the entry count).
        limits: ``max_files`` and ``max_bytes`` (unpacked, all members together).

    Returns:
        The members to read, in order.

    Raises:
        EmptyFile: no scan file in it.
        LimitExceeded: too many files, or too many bytes unpacked.
        EncryptedFile: a password-protected member.
    """
    members = [i for i in zf.infolist() if not i.is_dir() and not is_skipped(i.filename)]
    if not members:
        raise EmptyFile("the ZIP holds no scan files")
    if len(members) > limits.max_files:
        raise LimitExceeded(f"the ZIP holds {len(members)} files; the limit is "
                            f"{limits.max_files}")
    total = sum(i.file_size for i in members)
    if total > limits.max_bytes:
        raise LimitExceeded(f"the files in the ZIP come to {total / 2**20:.0f} MiB unpacked; "
                            f"the limit is {limits.max_bytes / 2**20:.0f} MiB")
    for info in members:
        if info.flag_bits & 0x1:
            raise EncryptedFile(f"{member_label(info.filename)} in the ZIP is "
                                "password-protected; send the ZIP without a password")
    return sorted(members, key=lambda i: natural_key(i.filename))


@contextlib.contextmanager
def open_zip(path: Path, limits: IngestLimits) -> Iterator[zipfile.ZipFile]:
    """Open a ZIP after checking its declared entry count (``4 × max_files`` at most).

    Raises:
        LimitExceeded: too many entries (or a ZIP64 archive, only needed past 65,535).
        CorruptFile: not a readable ZIP.
    """
    entries = _entry_count(path)
    if entries == 0xFFFF or entries > 4 * limits.max_files:
        raise LimitExceeded(f"the ZIP has more than {4 * limits.max_files} entries; the limit "
                            f"is {limits.max_files} scan files")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptFile(f"the ZIP file cannot be read ({exc})") from exc
    with zf:
        yield zf


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile | Path,
                 arcname: str = "") -> None:
    # zipfile stops at the size the member declares and checks its CRC at the end: a
    # member cannot unpack to more than the bytes counted against max_bytes.
    try:
        with zf.open(info) as src:
            if isinstance(dst, Path):
                with dst.open("wb") as out:
                    shutil.copyfileobj(src, out, _COPY)
            else:
                target = zipfile.ZipInfo(arcname, date_time=info.date_time)
                with dst.open(target, "w", force_zip64=False) as out:
                    shutil.copyfileobj(src, out, _COPY)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise CorruptFile(f"{member_label(info.filename)} in the ZIP cannot be unpacked "
                          f"({exc})") from exc


@contextlib.contextmanager
def extracted(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[Path]:
    """One member copied to a temporary file, removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix="markbook-bundle-") as tmp:
        path = Path(tmp) / "member"
        _copy_member(zf, info, path)
        yield path


def _member_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with zf.open(info) as fh:
            return fh.read(1024)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise CorruptFile(f"{member_label(info.filename)} in the ZIP cannot be unpacked "
                          f"({exc})") from exc


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(1024)


def pack(sources: Sequence[tuple[str, Path]], out: Path, limits: IngestLimits) -> int:
    """Write scan files, in the order given, into one bundle (an uncompressed ZIP).

    A ZIP among the sources is unpacked in its place, its files in natural name order.
    Only the container is checked here (each file's type by its first bytes, the counts
    and sizes); :func:`ocr.ingest.count_pages` on ``out`` then checks every file's pages.

    Args:
        sources: (name as the teacher knows it, spooled file), in upload order.
        out: where the bundle is written (overwritten).
        limits: ``max_files`` and ``max_bytes`` for the bundle as a whole.

    Returns:
        How many files the bundle holds.

    Raises:
        ScanFileError: a subclass naming the file at fault (and its position).
    """
    from ocr.ingest import sniff

    count = 0
    total = 0

    def next_name(name: str) -> str:
        nonlocal count
        count += 1
        if count > limits.max_files:
            raise LimitExceeded(f"more than {limits.max_files} files in one upload")
        return f"{count:04d}-{name}"

    def add_bytes(n: int) -> None:
        nonlocal total
        total += n
        if total > limits.max_bytes:
            raise LimitExceeded(f"the files together are larger than the "
                                f"{limits.max_bytes / 2**20:.0f} MiB limit")

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=False) as dst:
        for name, path in sources:
            position = count + 1
            try:
                kind = sniff(_head(path))
            except (EmptyFile, UnsupportedFile) as exc:
                raise type(exc)(f'"{name}" (file {position}): {exc}') from None
            if kind != "zip":
                add_bytes(path.stat().st_size)
                dst.write(path, next_name(name))
                continue
            try:
                with open_zip(path, limits) as zf:
                    for info in zip_members(zf, limits):
                        inner = f"{name}/{info.filename}"
                        arcname = next_name(inner)
                        add_bytes(info.file_size)
                        try:
                            member_kind = sniff(_member_head(zf, info))
                        except (EmptyFile, UnsupportedFile) as exc:
                            raise type(exc)(f"{member_label(arcname)}: {exc}") from None
                        if member_kind == "zip":
                            raise UnsupportedFile(f"{member_label(arcname)}: a ZIP inside a "
                                                  "ZIP; put the scans in one ZIP")
                        _copy_member(zf, info, dst, arcname)
            except LimitExceeded as exc:
                raise LimitExceeded(f'"{name}": {exc}') from None
            except (EmptyFile, CorruptFile, EncryptedFile) as exc:
                if str(exc).startswith('"'):
                    raise
                raise type(exc)(f'"{name}" (file {position}): {exc}') from None
    return count
