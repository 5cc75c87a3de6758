"""What the upload and job pages show: each file's outcome, each page problem explained.

Messages are keys of ``uploads.po``; the service's own (English) detail is kept beside them
for the curious and for support.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Any

from service.errors import MarkbookError
from service.schemas.jobs import JobOut

__all__ = ["ACCEPTED_TYPES", "FileOutcome", "ProblemView", "error_key", "heic_supported",
           "job_error_view", "problem_views"]

# What the file picker offers (the server judges by content, never by name).
ACCEPTED_TYPES = (".pdf,.tif,.tiff,.jpg,.jpeg,.png,.zip,application/pdf,image/tiff,image/jpeg,"
                  "image/png,application/zip")
_HEIC_TYPES = ",.heic,.heif,image/heic,image/heif"

# Error codes with a message of their own in the catalogue (uploads.error.<code>).
_KNOWN_ERRORS = frozenset({
    "empty_file", "unsupported_file", "corrupt_file", "encrypted_file", "limit_exceeded",
    "file_too_large", "uploaded_by_another_teacher", "rate_limited", "heic_unsupported",
    "not_found", "bad_worksheet_id", "internal_error", "insufficient_storage",
    "too_many_files",
})
# How a refusal names the file at fault among several (service.ingestion, ocr.bundle).
_CULPRIT = re.compile(r'^"(?P<name>[^"]+)" \(file (?P<position>\d+)\)')
# Per-page problem statuses the job runner records (service.jobs.store).
_PROBLEMS = ("unidentified", "foreign_page", "duplicate", "unknown_student", "misaligned",
             "retake", "worker_crash")
# A foreign page (printed by another install) is stored unidentified: it waits there.
_REVIEW_KIND = {"unidentified": "unidentified", "foreign_page": "unidentified",
                "duplicate": "duplicate", "unknown_student": "unknown_student",
                "misaligned": None, "retake": None, "worker_crash": None}


def heic_supported() -> bool:
    """Whether this install can read HEIC photos (``pillow-heif``, a dependency: an install
    that left it out says so on the page)."""
    return importlib.util.find_spec("pillow_heif") is not None


def accept_attribute() -> str:
    """The file input's ``accept``: HEIC only where the server can read it."""
    return ACCEPTED_TYPES + (_HEIC_TYPES if heic_supported() else "")


def error_key(code: str, detail: str) -> str:
    """The catalogue key explaining an upload error (``uploads.error.other`` for codes
    without one of their own)."""
    if code == "unsupported_file" and "HEIC support" in detail:
        code = "heic_unsupported"
    return f"uploads.error.{code if code in _KNOWN_ERRORS else 'other'}"


@dataclass(frozen=True)
class FileOutcome:
    """One job's files (a file, or photos sent together): accepted (a job, maybe an
    earlier one), or refused and why.

    Attributes:
        filename: the file's name as the browser sent it (photos: the first's, ``+N``).
        job_id: the job that reads it (a duplicate: the earlier upload's job).
        duplicate: the same content was uploaded before.
        pages: pages in the file.
        retry: a duplicate whose job failed or left pages unread: where to retry it.
        error: the refusal's code; ``None`` when accepted.
        status: the HTTP status the API would have answered.
        detail: the service's message.
        files: how many files the job holds (photos sent together: more than one).
    """

    filename: str
    job_id: int | None = None
    duplicate: bool = False
    pages: int = 0
    retry: str | None = None
    error: str | None = None
    status: int = 202
    detail: str = ""
    files: int = 1

    @classmethod
    def refused(cls, filename: str, exc: MarkbookError) -> FileOutcome:
        return cls(filename, error=exc.error, status=exc.status_code, detail=exc.detail)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message_key(self) -> str:
        if self.error is None:
            if self.duplicate:
                return "uploads.result.duplicate"
            return "uploads.result.accepted_photos" if self.files > 1 else \
                "uploads.result.accepted"
        return error_key(self.error, self.detail)

    @property
    def culprit(self) -> dict[str, str] | None:
        """A refusal of several files (photos together, a ZIP): the file at fault, as
        ``{"name", "position"}`` for ``uploads.result.culprit``."""
        m = _CULPRIT.match(self.detail) if self.error else None
        return {"name": m.group("name"), "position": m.group("position")} if m else None

    def as_json(self, message: str) -> dict[str, Any]:
        """The outcome for the page's script (``message`` already translated, the
        culprit's sentence included)."""
        return {"filename": self.filename, "ok": self.ok, "job_id": self.job_id,
                "job_url": f"/jobs/{self.job_id}" if self.job_id else None,
                "duplicate": self.duplicate, "pages": self.pages, "retry": self.retry,
                "files": self.files,
                "error": self.error,
                "message": message, "detail": self.detail}


@dataclass(frozen=True)
class ProblemView:
    """A page problem in plain words: which page, what happened, what to do, and where."""

    page: int
    status: str
    title_key: str
    todo_key: str
    review_url: str | None
    detail: str
    dismissed: bool = False  # cleared from review by a teacher (the page is kept)


def problem_views(job: JobOut) -> list[ProblemView]:
    """The job's per-page problems, in page order, each with its explanation."""
    out = []
    for p in sorted(job.problems, key=lambda p: int(p.get("page_index", 0))):
        status = str(p.get("status", ""))
        known = status if status in _PROBLEMS else "other"
        kind = _REVIEW_KIND.get(status)
        url: str | None
        if known == "worker_crash":
            url = None  # nothing to review: the page was not read (retry the job)
        elif known in ("misaligned", "retake"):
            url = "/review"
        else:
            url = f"/review?kind={kind}" if kind else None
        dismissed = bool(p.get("dismissed"))
        out.append(ProblemView(page=int(p.get("page_index", 0)) + 1, status=status,
                               title_key=f"uploads.problem.{known}.title",
                               todo_key=f"uploads.problem.{known}.todo",
                               review_url=None if dismissed else url,
                               detail=str(p.get("problem", "")), dismissed=dismissed))
    return out


def job_error_view(job: JobOut) -> tuple[str, str] | None:
    """A job that failed to read its file: (message key, the runner's detail)."""
    if not job.error:
        return None
    code, _, detail = job.error.partition(": ")
    if code == "internal_error" or " " in code:
        return "uploads.job.error.internal", job.error
    return error_key(code, detail), detail or job.error
