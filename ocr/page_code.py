"""The text carried by each printed page's QR code, and its parser.

Format: ``MB1;W<worksheet>;P<page>[;S<student>][;E<entries>]`` — short, so the QR stays a
low version with high error correction, and versioned so old printouts keep reading.
Both printing (via the service) and reading use this one module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PageCode", "PageCodeError", "format_page_code", "parse_page_code"]

_PREFIX = "MB1"
_FIELD = re.compile(r"^([WPSE])(\d{1,12}(?:,\d{1,12})*)$")


class PageCodeError(ValueError):
    """The decoded QR text is not a markbook page code."""


@dataclass(frozen=True)
class PageCode:
    """What a page's QR says: worksheet id, 1-based page number, optional student/entries."""

    worksheet_id: int
    page: int
    student_id: int | None = None
    entries: tuple[int, ...] = ()


def format_page_code(code: PageCode) -> str:
    """Render a page code as QR text (e.g. ``MB1;W12;P2;S305``)."""
    parts = [_PREFIX, f"W{code.worksheet_id}", f"P{code.page}"]
    if code.student_id is not None:
        parts.append(f"S{code.student_id}")
    if code.entries:
        parts.append("E" + ",".join(str(e) for e in code.entries))
    return ";".join(parts)


def parse_page_code(text: str) -> PageCode:
    """Parse QR text written by :func:`format_page_code`.

    Raises:
        PageCodeError: not a markbook code, unknown version, or a malformed field.
    """
    parts = text.strip().split(";")
    if not parts or parts[0] != _PREFIX:
        raise PageCodeError(f"not a markbook page code: {text[:40]!r}")
    fields: dict[str, str] = {}
    for part in parts[1:]:
        m = _FIELD.match(part)
        if not m or m.group(1) in fields:
            raise PageCodeError(f"bad field {part[:20]!r} in page code")
        fields[m.group(1)] = m.group(2)
    if "W" not in fields or "P" not in fields or "," in fields["W"] + fields["P"]:
        raise PageCodeError("page code lacks a worksheet or page number")
    student = fields.get("S")
    if student is not None and "," in student:
        raise PageCodeError("page code names several students")
    entries = tuple(int(e) for e in fields["E"].split(",")) if "E" in fields else ()
    page = int(fields["P"])
    if page < 1:
        raise PageCodeError("page numbers start at 1")
    return PageCode(int(fields["W"]), page, int(student) if student else None, entries)
