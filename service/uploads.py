"""Receive a scan from an HTTP request body, streaming it to storage as it arrives.

Copiers differ: some send ``multipart/form-data`` with the file under any field name, some
send the raw file as the body. Both are parsed incrementally (python-multipart's push
parser) and written to a temporary file in the storage root while hashing, so a 200 MB
scan never sits in memory and the size limit stops an oversized body early.

A multipart body may carry several files (a phone's photos of one assignment, up to
``MAX_FILES``); each is spooled to a temp file of its own, in the order they arrive, and
together they are one :class:`ReceivedBatch` that becomes one job. ``limit`` is on the
whole body, however many files it holds.

The temp files are removed on every way out but success (a refusal, a full disk, the
client going away); after success the caller owns them
(:func:`service.ingestion.receive_upload` renames them into place or removes them,
whatever it decides).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anyio import to_thread
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from service.errors import BadRequest, PayloadTooLarge
from service.storage import WRITE_BATCH, LocalStorage

__all__ = ["MAX_FILES", "ReceivedBatch", "ReceivedFile", "bundle_digest", "receive_scan"]

MAX_FIELD_BYTES = 4096
# Files in one request (a class's photos); ocr.ingest.IngestLimits.max_files is the same
# number for a ZIP's files.
MAX_FILES = 200
MAX_PARTS = MAX_FILES + 16


@dataclass
class ReceivedFile:
    """A spooled upload: where it is, its size and hash, and any small form fields."""

    path: Path
    size: int
    sha256: str
    filename: str
    declared_type: str
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        """Remove the spooled file (a no-op once it was renamed into place)."""
        self.path.unlink(missing_ok=True)


def bundle_digest(digests: list[str]) -> str:
    """The identity of several files sent together: a SHA-256 over their SHA-256s in
    order. The same photos in the same order are the same upload; another order is not."""
    text = "markbook-bundle-v1\n" + "".join(f"{d}\n" for d in digests)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass
class ReceivedBatch:
    """Several spooled files of one request, in upload order: one upload, one job.

    Attributes:
        files: the files, each spooled as a :class:`ReceivedFile` would be.
        fields: the form's small fields.
    """

    files: list[ReceivedFile]
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def sha256(self) -> str:
        return bundle_digest([f.sha256 for f in self.files])

    @property
    def filename(self) -> str:
        """How the job is listed: the first file's name and how many more there are."""
        first = self.files[0].filename
        more = f" +{len(self.files) - 1}"
        return first[:255 - len(more)] + more

    def discard(self) -> None:
        for f in self.files:
            f.discard()


async def receive_scan(body: AsyncIterator[bytes], content_type: str, storage: LocalStorage,
                       limit: int, filename: str = "scan") -> ReceivedFile | ReceivedBatch:
    """Spool the request body (raw or multipart) to temporary files.

    Args:
        body: the request's body chunks.
        content_type: the request's Content-Type header.
        storage: where the temporary files go.
        limit: maximum size of all the files together, in bytes.
        filename: the name to record for a raw body.

    Returns:
        The received file, or the files when the body held several (the caller moves or
        deletes them).

    Raises:
        PayloadTooLarge: over ``limit``.
        BadRequest: malformed multipart, no file part (``no_file``), or more than
            ``MAX_FILES`` files (``too_many_files``).
    """
    mime, params = parse_options_header(content_type or "")
    if mime == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise BadRequest("multipart body without a boundary", error="bad_multipart")
        return await _receive_multipart(body, boundary, storage, limit)
    try:
        path, blob = await storage.spool(body, limit)
    except OverflowError:
        raise _too_large(limit) from None
    return ReceivedFile(path, blob.size, blob.sha256, filename, mime.decode("latin-1"))


def _too_large(limit: int, several: bool = False) -> PayloadTooLarge:
    what = "the files together are" if several else "the file is"
    return PayloadTooLarge(f"{what} larger than the {limit // (1024 * 1024)} MB limit",
                           error="file_too_large")


@dataclass
class _Part:
    filename: str
    declared_type: str
    named: bool
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


class _MultipartSink:
    """Callbacks for the push parser: file parts go to disk, small fields to a dict. Data
    arrives in slices of the chunk being fed; file bytes are queued with their part's
    number and written by the caller between chunks (off the event loop)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self.parts = 0
        self.current: str | None = None  # "file" | "field" | "skip"
        self.field_name = ""
        self.field_value = bytearray()
        self.fields: dict[str, str] = {}
        self.files: list[_Part] = []
        self.pending: list[tuple[int, bytes]] = []
        self.size = 0
        self.error: Exception | None = None

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._acc("_name", d[s:e]),
            "on_header_value": lambda d, s, e: self._acc("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _acc(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.error = BadRequest(f"more than {MAX_PARTS} form parts", error="bad_multipart")
        self.headers = {}

    def _header_end(self) -> None:
        self.headers[self._name.lower()] = self._value
        self._name = self._value = b""

    def _headers_finished(self) -> None:
        _, disp = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        part_type = self.headers.get(b"content-type", b"").decode("latin-1")
        is_file = filename is not None or (part_type and not part_type.startswith("text/"))
        if is_file:
            if len(self.files) >= MAX_FILES:
                self.error = BadRequest(f"more than {MAX_FILES} files in one request; send "
                                        "them in smaller groups", error="too_many_files")
                self.current = "skip"
                return
            self.current = "file"
            name = (filename or b"scan").decode("utf-8", "replace")[:255]
            self.files.append(_Part(name, part_type, bool(filename)))
        else:
            self.current = "field"
            self.field_name = name
            self.field_value = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current == "file":
            self.size += end - start
            if self.size > self.limit:
                self.error = _too_large(self.limit, several=len(self.files) > 1)
                return
            chunk = bytes(data[start:end])
            part = self.files[-1]
            part.size += len(chunk)
            part.digest.update(chunk)
            self.pending.append((len(self.files) - 1, chunk))
        elif self.current == "field":
            self.field_value += data[start:end]
            if len(self.field_value) > MAX_FIELD_BYTES:
                self.error = BadRequest(f"form field {self.field_name!r} is too long",
                                        error="bad_multipart")

    def _part_end(self) -> None:
        if self.current == "field" and self.field_name:
            self.fields[self.field_name] = self.field_value.decode("utf-8", "replace").strip()
        self.current = None


class _Spool:
    """The temp files of a multipart body's file parts, opened as their bytes arrive.

    Each flush of queued bytes is one synchronous call (:meth:`_flush`): new part files
    opened, bytes written, and at the end every file made and closed. Flushes of a megabyte
    or more go to a thread; the last flush of a body that small runs on the loop, where it
    costs less than the hop (see :meth:`service.storage.LocalStorage.spool`).
    """

    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage
        self.paths: list[Path] = []
        self._fh: Any = None

    async def write(self, pending: list[tuple[int, bytes]], *, files: int | None = None
                    ) -> None:
        """Write the queued ``(part, bytes)`` and empty the queue; with ``files`` (the
        body's end), also make a file for every part that sent no bytes and close them."""
        size = sum(len(chunk) for _, chunk in pending)
        if files is not None and size <= WRITE_BATCH:
            self._flush(pending, files)
        else:
            await to_thread.run_sync(self._flush, pending, files)
        pending.clear()

    def _flush(self, pending: list[tuple[int, bytes]], files: int | None) -> None:
        index = 0
        while index < len(pending):
            part = pending[index][0]
            run = []
            while index < len(pending) and pending[index][0] == part:
                run.append(pending[index][1])
                index += 1
            self._open_through(part)  # a new file part (an empty one writes nothing)
            self._fh.write(b"".join(run))
        if files is not None:
            self._open_through(files - 1)
            self.close()

    def _open_through(self, part: int) -> None:
        while len(self.paths) <= part:
            self.close()
            path = self.storage.temp_path()
            self.paths.append(path)
            self._fh = path.open("wb")

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()

    def remove(self) -> None:
        self.close()
        for path in self.paths:
            path.unlink(missing_ok=True)


async def _receive_multipart(body: AsyncIterator[bytes], boundary: bytes,
                             storage: LocalStorage, limit: int) -> ReceivedFile | ReceivedBatch:
    sink = _MultipartSink(limit)
    parser = MultipartParser(boundary, sink.callbacks())
    spool = _Spool(storage)
    try:
        try:
            async for chunk in body:
                parser.write(chunk)
                if sink.error is not None:
                    raise sink.error
                if sum(len(c) for _, c in sink.pending) >= WRITE_BATCH:
                    await spool.write(sink.pending)
            parser.finalize()
            if sink.error is not None:
                raise sink.error
            await spool.write(sink.pending, files=len(sink.files))
        except (BadRequest, PayloadTooLarge, OSError):
            raise  # OSError: our disk (full?), never the client's malformed body
        except Exception as exc:  # the parser's own errors: malformed input
            raise BadRequest(f"malformed multipart body: {exc}", error="bad_multipart") from None
        files = [ReceivedFile(path, part.size, part.digest.hexdigest(), part.filename,
                              part.declared_type, sink.fields)
                 for path, part in zip(spool.paths, sink.files, strict=True)]
        if not files:
            raise BadRequest("no file in the multipart body", error="no_file")
        # A form's file input with nothing chosen sends an empty part without a name: left
        # out beside real files (alone, it is refused as the empty file it is).
        keep = [i for i, part in enumerate(sink.files) if part.size or part.named] or [0]
        for i, f in enumerate(files):
            if i not in keep:
                f.discard()
        chosen = [files[i] for i in keep]
    except BaseException:
        spool.remove()
        raise
    if len(chosen) == 1:
        return chosen[0]
    return ReceivedBatch(chosen, sink.fields)
