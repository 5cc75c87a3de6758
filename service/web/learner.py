"""The public pages a student link opens: ``/s/{token}`` (the student's name, their
error-book entries by state and their mastery per knowledge point) and
``/s/{token}/errorbook.pdf`` (their error book, as the teacher downloads it).

No account and no session: the token alone, resolved by
:func:`service.student_links.open_link`, names one student, and the pages pass exactly
that student's id to the same service functions as ``/api/v1/students/{id}/progress``,
``/mastery`` and ``/errorbook.pdf``. Read-only. An unknown, malformed or revoked token
answers the ordinary 404 page (nothing tells them apart). Lookups are rate-limited per
client address (all lookups, and failed ones more tightly, as sign-in failures are);
answers carry ``Referrer-Policy: no-referrer`` so the link never leaks to another site.
The token never reaches a log: a short hash prefix stands for it, and the access log's
request line is redacted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from grading.causes import CAUSE_LABELS, CauseCode
from service.api.deps import SessionDep, SettingsDep, client_ip
from service.errors import TooManyRequests
from service.mastery.exports import student_book_pdf
from service.mastery.report import student_mastery, student_progress
from service.ratelimit import RateLimiter, limiter
from service.schemas.mastery import EntryOut, KpMastery
from service.storage import LocalStorage
from service.student_links import OpenedLink, open_link
from service.web.i18n import language_of
from service.web.render import render

__all__ = ["FAILED_LOOKUPS", "LOOKUPS", "PDF_DOWNLOADS", "RedactLinks", "router"]

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

# (hits, seconds) per client address.
LOOKUPS = (120, 60.0)
FAILED_LOOKUPS = (20, 600.0)
PDF_DOWNLOADS = (10, 60.0)
# Never sent on to another site, never indexed (a link pasted somewhere public).
NO_REFERRER = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
STATES = ("open", "practising", "resolved")

_LINK_PATH = re.compile(r"/s/[^/?\s\"]+")


class RedactLinks(logging.Filter):
    """Hide the token of any ``/s/<token>`` path in a log record's arguments (uvicorn's
    access log writes the request path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_LINK_PATH.sub("/s/[redacted]", a) if isinstance(a, str)
                                else a for a in record.args)
        if isinstance(record.msg, str) and "/s/" in record.msg:
            record.msg = _LINK_PATH.sub("/s/[redacted]", record.msg)
        return True


def _redact_access_log() -> None:
    # uvicorn's access lines, and the page error handler's "page failed: GET <path>".
    for name in ("uvicorn.access", "service.web.errors"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinks) for f in logger.filters):
            logger.addFilter(RedactLinks())


_redact_access_log()


def _limit(request: Request, bucket: str, rate: tuple[int, float]) -> RateLimiter:
    return limiter(request, bucket, rate[0], rate[1])


def _not_found(request: Request) -> Response:
    return render(request, "error.html", user=None, status_code=404, headers=NO_REFERRER,
                  status=404, code="not_found", detail="")


def _too_many(request: Request, exc: TooManyRequests) -> Response:
    return render(request, "error.html", user=None, status_code=429,
                  headers={**NO_REFERRER, **exc.headers}, status=429, code=exc.error,
                  detail="")


async def _resolve(request: Request, session: SessionDep, token: str,
                   extra: tuple[str, tuple[int, float]] | None = None
                   ) -> OpenedLink | Response:
    ip = client_ip(request) or "unknown"
    failures = _limit(request, "student_link_failed", FAILED_LOOKUPS)
    try:
        failures.check(ip, "unknown links")
        _limit(request, "student_link", LOOKUPS).take(ip, "link lookups")
        if extra is not None:
            _limit(request, extra[0], extra[1]).take(ip, "downloads")
    except TooManyRequests as exc:
        return _too_many(request, exc)
    opened = await open_link(session, token)
    if opened is None:
        failures.hit(ip)
        log.info("student link refused")
        return _not_found(request)
    return opened


@dataclass(frozen=True)
class KpRow:
    """One knowledge point on the student's page."""

    code: str
    name: str
    percent: int
    level: str
    attempts: int
    depth: int


def _kp_rows(points: list[KpMastery], lang: str) -> list[KpRow]:
    return [KpRow(k.code, (k.name_en or k.name_zh) if lang == "en" else k.name_zh,
                  round(k.p_mastery * 100), k.level, k.attempts, k.code.count("."))
            for k in points]


def _cause(code: str | None, lang: str) -> str:
    if not code or code == CauseCode.UNKNOWN:  # "cause unknown" tells a child nothing
        return ""
    try:
        zh, en = CAUSE_LABELS[CauseCode(code)]
    except ValueError:
        return ""
    return en if lang == "en" else zh


def _entries(entries: list[EntryOut], lang: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in STATES}
    for e in entries:
        if e.state in out:
            out[e.state].append({"id": e.id, "stem": e.stem, "cause": _cause(e.cause, lang),
                                 "times_wrong": e.times_wrong, "wrong_at": e.wrong_at,
                                 "resolved_at": e.resolved_at})
    return out


@router.get("/s/{token}")
async def student_view(token: str, request: Request, session: SessionDep) -> Response:
    """The student's own page: name, error-book entries (open, practising, resolved) and
    mastery per knowledge point, with their error book PDF."""
    opened = await _resolve(request, session, token)
    if isinstance(opened, Response):
        return opened
    log.info("student link opened", extra={"link": opened.hint})
    progress = await student_progress(session, opened.actor, opened.student_id)
    mastery = await student_mastery(session, opened.actor, opened.student_id)
    lang = language_of(request)
    rate = progress.resolution_rate
    return render(request, "learner/student.html", user=None, headers=NO_REFERRER,
                  token=token, name=opened.name, class_name=opened.class_name,
                  counts={"open": progress.entries_open,
                          "practising": progress.entries_practising,
                          "resolved": progress.entries_resolved},
                  resolution=None if rate is None else round(rate * 100),
                  entries=_entries(progress.entries, lang),
                  kps=_kp_rows(mastery.knowledge_points, lang))


@router.get("/s/{token}/errorbook.pdf")
async def student_errorbook(token: str, request: Request, session: SessionDep,
                            settings: SettingsDep) -> Response:
    """The student's error book PDF (the same book ``/api/v1/students/{id}/errorbook.pdf``
    gives the teacher)."""
    opened = await _resolve(request, session, token, ("student_link_pdf", PDF_DOWNLOADS))
    if isinstance(opened, Response):
        return opened
    log.info("student link error book", extra={"link": opened.hint})
    storage: LocalStorage = request.app.state.storage
    # No answer key: the practice is redone and scanned back for grading, so the key stays
    # with the teacher (errorbooks-key.pdf, or the book downloaded from the teacher's pages).
    data, name = await student_book_pdf(session, opened.actor, storage, opened.student_id,
                                        settings.mastery, "none",
                                        language=settings.school_language)
    return Response(data, media_type="application/pdf", headers={
        **NO_REFERRER, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{name}"'})
