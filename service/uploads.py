"""Receive a scan from an HTTP request body, streaming it to storage as it arrives.

Copiers differ: some send ``multipart/form-data`` with the file under any field name, some
send the raw file as the body. Both are parsed incrementally (python-multipart's push
parser) and written to a temporary file in the storage root while hashing, so a 200 MB
scan never sits in memory and the size limit stops an oversized body early.

The temp file is removed on every way out but success (a refusal, a full disk, the client
going away); after success the caller owns it (:func:`service.ingestion.receive_upload`
renames it into place or removes it, whatever it decides).
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

__all__ = ["ReceivedFile", "receive_scan"]

MAX_FIELD_BYTES = 4096
MAX_PARTS = 16


@dataclass
class ReceivedFile:
    """A spooled upload: where it is, its size and hash, and any small form fields."""

    path: Path
    size: int
    sha256: str
    filename: str
    declared_type: str
    fields: dict[str, str] = field(default_factory=dict)


async def receive_scan(body: AsyncIterator[bytes], content_type: str, storage: LocalStorage,
                       limit: int, filename: str = "scan") -> ReceivedFile:
    """Spool the request body (raw or multipart) to a temporary file.

    Args:
        body: the request's body chunks.
        content_type: the request's Content-Type header.
        storage: where the temporary file goes.
        limit: maximum file size in bytes.
        filename: the name to record for a raw body.

    Returns:
        The received file (the caller moves or deletes ``path``).

    Raises:
        PayloadTooLarge: over ``limit``.
        BadRequest: malformed multipart, no file part, or several file parts.
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


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the file is larger than the {limit // (1024 * 1024)} MB limit",
                           error="file_too_large")


class _MultipartSink:
    """Callbacks for the push parser: the first file part goes to disk, small fields to a
    dict. Data arrives in slices of the chunk being fed; file bytes are queued and written
    by the caller between chunks (off the event loop)."""

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
        self.filename = ""
        self.declared_type = ""
        self.files = 0
        self.pending: list[bytes] = []
        self.size = 0
        self.digest = hashlib.sha256()
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
            self.files += 1
            if self.files > 1:
                self.error = BadRequest("send one scan file per request", error="multiple_files")
                self.current = "skip"
                return
            self.current = "file"
            self.filename = (filename or b"scan").decode("utf-8", "replace")[:255]
            self.declared_type = part_type
        else:
            self.current = "field"
            self.field_name = name
            self.field_value = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current == "file":
            self.size += end - start
            if self.size > self.limit:
                self.error = _too_large(self.limit)
                return
            chunk = bytes(data[start:end])
            self.digest.update(chunk)
            self.pending.append(chunk)
        elif self.current == "field":
            self.field_value += data[start:end]
            if len(self.field_value) > MAX_FIELD_BYTES:
                self.error = BadRequest(f"form field {self.field_name!r} is too long",
                                        error="bad_multipart")

    def _part_end(self) -> None:
        if self.current == "field" and self.field_name:
            self.fields[self.field_name] = self.field_value.decode("utf-8", "replace").strip()
        self.current = None


async def _receive_multipart(body: AsyncIterator[bytes], boundary: bytes,
                             storage: LocalStorage, limit: int) -> ReceivedFile:
    sink = _MultipartSink(limit)
    parser = MultipartParser(boundary, sink.callbacks())
    tmp = await to_thread.run_sync(storage.temp_path)
    fh = await to_thread.run_sync(tmp.open, "wb")
    try:
        try:
            async for chunk in body:
                parser.write(chunk)
                if sink.error is not None:
                    raise sink.error
                if sum(map(len, sink.pending)) >= WRITE_BATCH:
                    data = b"".join(sink.pending)
                    sink.pending.clear()
                    await to_thread.run_sync(fh.write, data)
            parser.finalize()
            if sink.pending:
                await to_thread.run_sync(fh.write, b"".join(sink.pending))
                sink.pending.clear()
        except (BadRequest, PayloadTooLarge, OSError):
            raise  # OSError: our disk (full?), never the client's malformed body
        except Exception as exc:  # the parser's own errors: malformed input
            raise BadRequest(f"malformed multipart body: {exc}", error="bad_multipart") from None
        finally:
            await to_thread.run_sync(fh.close)
        if sink.files == 0:
            raise BadRequest("no file in the multipart body", error="no_file")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ReceivedFile(tmp, sink.size, sink.digest.hexdigest(), sink.filename,
                        sink.declared_type, sink.fields)
