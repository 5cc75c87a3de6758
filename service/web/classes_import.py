"""A roster import's problems in plain words: the service's errors (English, for the API)
turned into message keys with their values, one per CSV line, for the roster page.

:func:`service.roster.parse_roster_csv` and :func:`service.classes.import_roster` report
bad rows as ``{"line": n, "message": ...}``; each known message is matched here and
anything unrecognised is still shown, with the service's own words, so no problem is ever
hidden.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from service.errors import MarkbookError
from service.roster import decode_csv

__all__ = ["ImportProblem", "import_problems"]


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an uploaded roster.

    Attributes:
        key: the message key (``classes.import.problem.<kind>``).
        values: the message's placeholders.
        line: the CSV line it is on (1 is the header), or ``None`` for the whole file.
        text: that line as the file has it (to help find it), or ``""``.
    """

    key: str
    values: dict[str, object] = field(default_factory=dict)
    line: int | None = None
    text: str = ""


_BAD_NO = re.compile(r"^bad student_no (?P<no>.*)$")
_DUPLICATE = re.compile(r"^duplicate student_no (?P<no>\S+) \(first on line (?P<first>\d+)\)$")
_TAKEN = re.compile(r"already in this class$")
_TOO_MANY = re.compile(r"more than (?P<max>\d+) rows")
_FILE_LEVEL = (
    ("the CSV is empty", "empty"),
    ("the header must contain", "header"),
    ("the CSV has a header but no students", "no_students"),
)


def _literal(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _row(item: dict[str, object]) -> tuple[str, dict[str, object]]:
    message = str(item.get("message", ""))
    if m := _BAD_NO.match(message):
        no = _literal(m.group("no"))
        return ("no_missing", {}) if not no.strip() else ("bad_no", {"no": no})
    if message.startswith("name is empty"):
        return "bad_name", {}
    if m := _DUPLICATE.match(message):
        return "duplicate_in_file", {"no": m.group("no"), "first": int(m.group("first"))}
    if _TAKEN.search(message):
        return "already_in_class", {"no": str(item.get("student_no", ""))}
    return "other", {"detail": message}


def _lines(data: bytes) -> list[str]:
    try:
        return decode_csv(data).splitlines()
    except MarkbookError:
        return []


def import_problems(exc: MarkbookError, data: bytes) -> list[ImportProblem]:
    """The problems behind a failed import, in file order.

    Args:
        exc: what :func:`service.classes.import_roster` (or reading the upload) raised.
        data: the uploaded file (to quote the bad lines).

    Returns:
        At least one problem.
    """
    if exc.error == "bad_encoding":
        kind = "utf16" if "UTF-16" in exc.detail else "encoding"
        return [ImportProblem(f"classes.import.problem.{kind}")]
    if exc.error in ("payload_too_large", "empty", "no_file"):
        key = "too_large" if exc.error == "payload_too_large" else "empty"
        return [ImportProblem(f"classes.import.problem.{key}")]
    if exc.errors:
        lines = _lines(data)
        out = []
        for item in exc.errors:
            line = item.get("line")
            kind, values = _row(item)
            number = line if isinstance(line, int) else None
            text = lines[number - 1] if number and 0 < number <= len(lines) else ""
            out.append(ImportProblem(f"classes.import.problem.{kind}", values, number,
                                     text[:200]))
        return out
    for prefix, kind in _FILE_LEVEL:
        if exc.detail.startswith(prefix):
            return [ImportProblem(f"classes.import.problem.{kind}")]
    if m := _TOO_MANY.search(exc.detail):
        return [ImportProblem("classes.import.problem.too_many", {"max": int(m.group("max"))})]
    return [ImportProblem("classes.import.problem.other", {"detail": exc.detail})]
