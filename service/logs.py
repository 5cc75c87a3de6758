"""Structured logs: one line per record, carrying the ids of the work in hand.

Code that works on a job, an upload or a page wraps the work in :func:`log_context`; every
record created inside it, by any logger and in any task that inherits the context, carries
``job_id``, ``upload_id``, ``page_index`` and ``page_id`` as attributes (tests read them
from ``caplog``) and in the formatted line. Event fields go in ``extra=``; ids go only
through :func:`log_context` (logging refuses an ``extra`` key the record already has).

Records carry ids, statuses, counts and timings only: never names, tokens, SQL parameters
or images, so a log can be shared with whoever maintains the server.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "CONTEXT_KEYS",
    "JsonFormatter",
    "KeyValueFormatter",
    "configure_logging",
    "current_context",
    "log_context",
]

CONTEXT_KEYS = ("job_id", "upload_id", "page_index", "page_id")

_EMPTY: MappingProxyType[str, int] = MappingProxyType({})
_context: ContextVar[MappingProxyType[str, int]] = ContextVar("markbook_log_context",
                                                              default=_EMPTY)
# Attributes every LogRecord has; anything else on a record came from the context or extra=.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}
_HANDLER_NAME = "markbook"


def current_context() -> dict[str, int]:
    """The ids in context now (copied)."""
    return dict(_context.get())


@contextmanager
def log_context(**ids: int | None) -> Iterator[None]:
    """Add ids to every record logged inside the block (None values are left out).

    Args:
        ids: any of ``job_id``, ``upload_id``, ``page_index``, ``page_id``.
    """
    unknown = set(ids) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"not a log context key: {sorted(unknown)}")
    merged = {**_context.get(), **{k: v for k, v in ids.items() if v is not None}}
    token = _context.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _context.reset(token)


def _install_record_factory() -> None:
    """Stamp the context's ids on records as they are made, so every handler (a test's
    ``caplog`` included) sees them, not only the handler :func:`configure_logging` adds."""
    base = logging.getLogRecordFactory()
    if getattr(base, "_markbook", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        for key, value in _context.get().items():
            setattr(record, key, value)
        return record

    factory._markbook = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_record_factory()


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's context ids (in their fixed order) and then its extra fields (those
    that are None are left out)."""
    extra = {k: v for k, v in record.__dict__.items()
             if k not in _STANDARD and not k.startswith("_") and v is not None}
    ordered = {k: extra.pop(k) for k in CONTEXT_KEYS if k in extra}
    return {**ordered, **extra}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str,
                                                           ensure_ascii=False)
    needs_quotes = not text or any(c.isspace() or c in '"=' for c in text)
    return json.dumps(text, ensure_ascii=False) if needs_quotes else text


class KeyValueFormatter(logging.Formatter):
    """``time level logger message key=value ...``, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{k}={_value(v)}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname,
                                "logger": record.name, "msg": record.getMessage(),
                                **_fields(record)}
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def configure_logging(fmt: Literal["keyvalue", "json"] = "keyvalue",
                      level: str = "INFO") -> None:
    """Send records to stderr in one format (call once at start-up; calling again
    replaces the handler rather than adding a second).

    Args:
        fmt: ``keyvalue`` or ``json`` (the ``MARKBOOK_LOG__FORMAT`` setting).
        level: the level of markbook's own loggers (``MARKBOOK_LOG__LEVEL``); other
            libraries stay at WARNING so DEBUG does not flood the log with theirs.
    """
    _install_record_factory()
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    for name in ("service", "ocr", "grading", "errorbook", "models"):
        logging.getLogger(name).setLevel(level)
