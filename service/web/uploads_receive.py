"""Reading the upload page's form: several scan files in one multipart body.

A browser without script posts every chosen file in one form; the page's script sends the
photos of one choice in one request and each other file in its own. The body is read through a counting
``receive`` (so a body over ``files x size limit`` stops early, whatever it claims to be),
parsed by Starlette's multipart parser (files spooled to disk past 1 MB), and each file is
then copied into the storage's temporary area while hashing, exactly as the API would have
spooled it: each becomes a :class:`service.uploads.ReceivedFile` for the same ingestion
function the API calls. A file over the per-file limit is reported for that file alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from service.errors import BadRequest, InsufficientStorage, PayloadTooLarge, disk_full
from service.storage import LocalStorage
from service.uploads import ReceivedFile

__all__ = ["MAX_FILES", "SpoolFailure", "UploadForm", "read_upload_form", "spool_file"]

# As many files as the API takes in one request (a class's photos); the body is bounded by
# _BODY_FILES files at the per-file limit.
MAX_FILES = 200
_BODY_FILES = 30
_CHUNK = 1 << 20


@dataclass
class UploadForm:
    """The parsed form: its small fields and its files (still in Starlette's spool)."""

    fields: dict[str, str]
    files: list[UploadFile] = field(default_factory=list)

    async def close(self) -> None:
        for f in self.files:
            await f.close()


@dataclass(frozen=True)
class SpoolFailure:
    """A file that could not even be spooled (over the size limit, or the disk is full)."""

    filename: str
    error: PayloadTooLarge | InsufficientStorage


def _limited(request: Request, cap: int) -> Request:
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise PayloadTooLarge(f"the files together are larger than {cap // 2**20} MB",
                                      error="file_too_large")
        return message

    return Request(request.scope, receive)


async def read_upload_form(request: Request, per_file_limit: int) -> UploadForm:
    """Parse the upload page's multipart form.

    Args:
        request: the POST (its body not read yet).
        per_file_limit: the largest file accepted, in bytes.

    Returns:
        The form's text fields and its non-empty files.

    Raises:
        PayloadTooLarge: the whole body is larger than 30 files at the limit.
        BadRequest: not a multipart form, more than ``MAX_FILES`` files, or malformed.
    """
    cap = _BODY_FILES * per_file_limit + 64 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(f"the files together are larger than {cap // 2**20} MB",
                              error="file_too_large")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("send the upload form (multipart/form-data)", error="bad_multipart")
    try:
        form = await _limited(request, cap).form(max_files=MAX_FILES, max_fields=20,
                                                 max_part_size=4096)
    except PayloadTooLarge:
        raise
    except Exception as exc:  # Starlette's parser: too many files, malformed body
        if "too many files" in str(exc).lower():
            raise BadRequest(f"more than {MAX_FILES} files at once; send them in smaller "
                             "groups", error="too_many_files") from None
        raise BadRequest(f"the upload form could not be read ({exc})",
                         error="bad_multipart") from None
    out = UploadForm(fields={})
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if value.filename or value.size:
                out.files.append(value)
            else:  # the empty part a form sends when no file was chosen
                await value.close()
        else:
            out.fields.setdefault(name, value.strip())
    return out


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(_CHUNK):
        yield chunk


async def spool_file(upload: UploadFile, storage: LocalStorage,
                     limit: int) -> ReceivedFile | SpoolFailure:
    """Copy one form file into the storage's temporary area, hashing it (as the API spools
    a body), or say it is over ``limit`` or that the disk is full (the temp file is gone)."""
    filename = (upload.filename or "scan")[:255]
    try:
        path, blob = await storage.spool(_chunks(upload), limit)
    except OverflowError:
        return SpoolFailure(filename, PayloadTooLarge(
            f"the file is larger than the {limit // 2**20} MB limit", error="file_too_large"))
    except OSError as exc:
        if not disk_full(exc):
            raise
        return SpoolFailure(filename, InsufficientStorage())
    return ReceivedFile(path, blob.size, blob.sha256, filename, upload.content_type or "")
