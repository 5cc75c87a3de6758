"""The print/scan contract: what printing promises and scan reading relies on.

Two things cross from paper out to paper in, and both are defined here once:

- the **page code**, the text of each printed page's QR code. Every print carries
  ``MB2<install><layout>/<worksheet>/<page>[/<student>[/<e1>.<e2>...]]``: the printing
  install's id and a hash of the page's frozen layout (6 base32 characters each) let the
  reader refuse a page another install (or an older layout) printed. Every character is
  in the QR alphanumeric set (5.5 bits a character) and the fields are positional, so a
  named copy with ids up to 5 digits stays a version 2 QR at error correction Q, as
  ``MB1`` codes were. Pages printed before carry
  ``MB1;W<worksheet>;P<page>[;S<student>][;E<entries>]``, which still reads (without the
  install or layout checks);
- the **layout schema**, where every marker, QR code and answer region of a page is, in
  page space: PDF points from the page's top-left corner, ``(x0, y0, x1, y1)`` (DESIGN.md
  convention 10). A layout is computed once when a worksheet is created
  (``errorbook.printing.layout``) and stored with it; printing draws exactly these boxes
  and reading crops exactly these boxes, so the two cannot drift.

This module imports nothing of markbook's, so ``ocr`` can import it without reaching the
printing code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CODE_ID_CHARS",
    "SEAT_BUBBLE_D",
    "SEAT_BUBBLE_PITCH",
    "AnswerRegion",
    "Box",
    "Bubble",
    "MarkerBox",
    "PageCode",
    "PageCodeError",
    "PageLayout",
    "QuestionBlock",
    "SeatBubble",
    "WorksheetLayout",
    "format_page_code",
    "is_number_grid",
    "number_grid_boxes",
    "page_layout_hash",
    "parse_page_code",
    "seat_bubble_boxes",
]

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1), points from the page's top-left

# (place, digit, box): place 0 is the seat number's tens, 1 its units; digit 0-9.
SeatBubble = tuple[int, int, Box]

_MM = 72.0 / 25.4
# Seat-number bubbles (座号: the last two digits of the student number) sit in the footer
# strip, level with the bottom markers' middle: 3.2 mm discs 4.2 mm apart, tens then units.
SEAT_BUBBLE_D = 3.2 * _MM
SEAT_BUBBLE_PITCH = 4.2 * _MM
# The row is centred with room on its left for the "座号 十位" labels (16 mm) and between
# the groups for "个位" (10 mm); the page number moves right of it when it is printed.
_SEAT_LABELS_W = 16 * _MM
_SEAT_GROUP_GAP = 10 * _MM
_SEAT_ROW_FROM_BOTTOM = 12 * _MM

_MB1 = "MB1"
_MB2 = "MB2"
_MB1_FIELD = re.compile(r"^([WPSE])(\d{1,12}(?:,\d{1,12})*)$")
# Install ids and layout hashes: 6 characters of RFC 4648 base32 (30 bits).
CODE_ID_CHARS = 6
_B32 = re.compile(r"^[A-Z2-7]{6}$")
_MB2_HEAD = re.compile(r"^MB2([A-Z2-7]{6})([A-Z2-7]{6})$")
_NUMBER = re.compile(r"^\d{1,12}$")
_ENTRIES = re.compile(r"^\d{1,12}(?:\.\d{1,12})*$")


class PageCodeError(ValueError):
    """The decoded QR text is not a markbook page code."""


@dataclass(frozen=True)
class PageCode:
    """What a page's QR says: worksheet id, 1-based page number, optional student/entries.

    Attributes:
        install: the id of the install that printed the page (``MB2``); None on an
            ``MB1`` page, which cannot say.
        layout: :func:`page_layout_hash` of the page as printed (``MB2``); None on ``MB1``.
    """

    worksheet_id: int
    page: int
    student_id: int | None = None
    entries: tuple[int, ...] = ()
    install: str | None = None
    layout: str | None = None

    @property
    def version(self) -> int:
        """1 for an old print without install and layout, else 2."""
        return 1 if self.install is None else 2


def format_page_code(code: PageCode) -> str:
    """Render a page code as QR text.

    A code with ``install`` and ``layout`` is written as ``MB2`` (what every print of the
    service carries, e.g. ``MB2K7Q2ZA4FJ3XB/12/2/305``: install, layout hash, worksheet,
    page, student); one without both as the old ``MB1`` (``MB1;W12;P2;S305``), for tests
    and tools that stand in for old prints.

    Raises:
        PageCodeError: only one of ``install`` and ``layout`` is given, or one is not
            6 base32 characters.
    """
    if code.install is None and code.layout is None:
        parts = [_MB1, f"W{code.worksheet_id}", f"P{code.page}"]
        if code.student_id is not None:
            parts.append(f"S{code.student_id}")
        if code.entries:
            parts.append("E" + ",".join(str(e) for e in code.entries))
        return ";".join(parts)
    if not (code.install and _B32.match(code.install) and code.layout
            and _B32.match(code.layout)):
        raise PageCodeError("an MB2 page code needs a 6-character base32 install and layout")
    parts = [f"{_MB2}{code.install}{code.layout}", str(code.worksheet_id), str(code.page)]
    if code.student_id is not None or code.entries:
        parts.append("" if code.student_id is None else str(code.student_id))
    if code.entries:
        parts.append(".".join(str(e) for e in code.entries))
    return "/".join(parts)


def parse_page_code(text: str) -> PageCode:
    """Parse QR text written by :func:`format_page_code` (``MB2``, or an old ``MB1``).

    Raises:
        PageCodeError: not a markbook code, unknown version, or a malformed field.
    """
    text = text.strip()
    if text.startswith(_MB2):
        return _parse_mb2(text)
    parts = text.split(";")
    if parts[0] != _MB1:
        raise PageCodeError(f"not a markbook page code: {text[:40]!r}")
    fields: dict[str, str] = {}
    for part in parts[1:]:
        m = _MB1_FIELD.match(part)
        if not m or m.group(1) in fields:
            raise PageCodeError(f"bad field {part[:20]!r} in page code")
        fields[m.group(1)] = m.group(2)
    if "W" not in fields or "P" not in fields or "," in fields["W"] + fields["P"]:
        raise PageCodeError("page code lacks a worksheet or page number")
    student = fields.get("S")
    if student is not None and "," in student:
        raise PageCodeError("page code names several students")
    entries = tuple(int(e) for e in fields["E"].split(",")) if "E" in fields else ()
    return _checked(PageCode(int(fields["W"]), int(fields["P"]),
                             int(student) if student else None, entries))


def _parse_mb2(text: str) -> PageCode:
    # MB2<install><layout>/<worksheet>/<page>[/<student>[/<e1>.<e2>...]]; the student is
    # empty only on a page that carries entries but no student.
    parts = text.split("/")
    head = _MB2_HEAD.match(parts[0])
    if head is None or not 3 <= len(parts) <= 5:
        raise PageCodeError(f"not a markbook page code: {text[:40]!r}")
    worksheet, page = parts[1], parts[2]
    student = parts[3] if len(parts) > 3 else None
    entries = parts[4] if len(parts) > 4 else None
    if not (_NUMBER.match(worksheet) and _NUMBER.match(page)):
        raise PageCodeError("page code lacks a worksheet or page number")
    if student is not None and not _NUMBER.match(student) and not (student == "" and entries):
        raise PageCodeError(f"bad student {student[:20]!r} in page code")
    if entries is not None and not _ENTRIES.match(entries):
        raise PageCodeError(f"bad entries {entries[:20]!r} in page code")
    return _checked(PageCode(int(worksheet), int(page), int(student) if student else None,
                             tuple(int(e) for e in entries.split(".")) if entries else (),
                             head.group(1), head.group(2)))


def _checked(code: PageCode) -> PageCode:
    if code.page < 1:
        raise PageCodeError("page numbers start at 1")
    return code


@dataclass(frozen=True)
class Bubble:
    """One choice bubble: its label (A-H, or T/F for true-false) and its box."""

    label: str
    box: Box


@dataclass(frozen=True)
class AnswerRegion:
    """Where one answer is written or marked.

    Attributes:
        question_id: the bank id of the question.
        number: the question number printed on the page.
        kind: the question kind.
        blank: 0-based blank index (several for multi-blank text questions).
        box: the drawn answer box (for choices, the box around all bubbles).
        answer_format: what the reader should expect: ``digits``, ``math``, ``text``,
            ``compare`` (one comparison sign: ``<``, ``>`` or ``=``), ``pinyin``,
            ``choice``, ``multi_choice``, ``true_false`` or ``short_answer``. Layouts
            stored before ``compare`` existed keep ``text`` for comparisons.
        max_chars: expected answer length for written answers.
        bubbles: the bubbles of a choice region, left to right.
    """

    question_id: str
    number: int
    kind: str
    blank: int
    box: Box
    answer_format: str
    max_chars: int | None = None
    bubbles: tuple[Bubble, ...] = ()


@dataclass(frozen=True)
class MarkerBox:
    marker_id: int
    box: Box


@dataclass(frozen=True)
class QuestionBlock:
    """Drawing instructions for one question: number, wrapped stem and option lines."""

    question_id: str
    number: int
    top: float
    stem_x: float
    stem_lines: tuple[str, ...]
    option_lines: tuple[str, ...] = ()
    option_col_width: float = 0.0
    blank_labels: tuple[tuple[str, float, float], ...] = ()  # (label, x, baseline y)
    # Typeset stems (layouts made since stacked fractions): the pitch of each stem line,
    # then of each option line, measured with the fractions stacked. Empty: an older
    # layout, printed as typed at a fixed pitch.
    line_heights: tuple[float, ...] = ()
    # The blank area for working (竖式) under the question, when the worksheet has one.
    scratch: Box | None = None


def seat_bubble_boxes(width: float, height: float) -> tuple[SeatBubble, ...]:
    """Where a page's seat-number bubbles go: one row in the footer strip, tens then units.

    The strip between the content area (which ends 20 mm above the page's bottom edge) and
    the bottom edge holds only the corner markers (8-16 mm in from each side) and the page
    number; the row's centre is 12 mm above the bottom edge, level with the markers'
    middle, and it spans the middle ~110 mm of the page (labels included), clear of both.

    Args:
        width: the page width in points.
        height: the page height in points.

    Returns:
        ``(place, digit, box)`` for the 20 bubbles: place 0 (tens) then 1 (units), digits
        0-9 left to right.
    """
    row_w = _SEAT_LABELS_W + 20 * SEAT_BUBBLE_PITCH + _SEAT_GROUP_GAP
    cy = height - _SEAT_ROW_FROM_BOTTOM
    r = SEAT_BUBBLE_D / 2
    out: list[SeatBubble] = []
    for place in (0, 1):
        x0 = (width - row_w) / 2 + _SEAT_LABELS_W + place * (10 * SEAT_BUBBLE_PITCH
                                                           + _SEAT_GROUP_GAP)
        for digit in range(10):
            cx = x0 + (digit + 0.5) * SEAT_BUBBLE_PITCH
            out.append((place, digit, (cx - r, cy - r, cx + r, cy + r)))
    return tuple(out)


# An answer sheet's student-number grid (学号填涂): one column of ten bubbles per digit of
# the number, 0 at the top, the seat row's discs and pitch down a column, columns 6 mm
# apart (the handwritten comb's box width, so each column sits under its box).
NUMBER_GRID_COLUMN_PITCH = 6 * _MM


def number_grid_boxes(x0: float, y0: float, places: int) -> tuple[SeatBubble, ...]:
    """Where a student-number grid's bubbles go: ``places`` columns of digits 0-9.

    The grid is stored in ``PageLayout.seat_bubbles`` and read by the same reader as the
    seat row (``ocr.students.seat``): place ``p`` is the number's ``p``-th digit from the
    left, where the row's places are the seat's tens and units.

    Args:
        x0: the left edge of the first column's discs (points from the page's left).
        y0: the top edge of the digit-0 discs.
        places: how many digits the grid holds (3 or more: two is the seat row).

    Returns:
        ``(place, digit, box)`` for every bubble, place by place, digits top to bottom.
    """
    out: list[SeatBubble] = []
    for place in range(places):
        x = x0 + place * NUMBER_GRID_COLUMN_PITCH
        for digit in range(10):
            y = y0 + digit * SEAT_BUBBLE_PITCH
            out.append((place, digit, (x, y, x + SEAT_BUBBLE_D, y + SEAT_BUBBLE_D)))
    return tuple(out)


def is_number_grid(bubbles: Sequence[SeatBubble]) -> bool:
    """Whether a page's ``seat_bubbles`` are a student-number grid (more than two places)
    rather than the seat row (tens and units)."""
    return len({place for place, _, _ in bubbles}) > 2


@dataclass(frozen=True)
class PageLayout:
    """One page: its furniture (markers, QR, name and number boxes), answers and stems.

    Attributes:
        seat_bubbles: the seat-number bubbles as ``(place, digit, box)`` (see
            :func:`seat_bubble_boxes`); printed only on anonymous copies that ask for
            them, but placed on every page so any copy can carry them. Empty for a layout
            that has none (the reader then treats seats as absent). An answer sheet holds
            a student-number grid here instead (:func:`number_grid_boxes`).
    """

    number: int
    width: float
    height: float
    markers: tuple[MarkerBox, ...]
    qr_box: Box
    name_box: Box
    student_no_boxes: tuple[Box, ...]
    regions: tuple[AnswerRegion, ...]
    blocks: tuple[QuestionBlock, ...] = field(default=(), compare=False)
    seat_bubbles: tuple[SeatBubble, ...] = ()


@dataclass(frozen=True)
class WorksheetLayout:
    title: str
    page_size: str
    pages: tuple[PageLayout, ...]

    def to_dict(self) -> dict[str, Any]:
        """The full layout as JSON-ready data (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorksheetLayout:
        """Rebuild a layout stored with :meth:`to_dict`."""

        def box(v: Sequence[float]) -> Box:
            x0, y0, x1, y1 = v
            return (float(x0), float(y0), float(x1), float(y1))

        pages = []
        for p in data["pages"]:
            regions = tuple(
                AnswerRegion(
                    question_id=r["question_id"], number=r["number"], kind=r["kind"],
                    blank=r["blank"], box=box(r["box"]), answer_format=r["answer_format"],
                    max_chars=r.get("max_chars"),
                    bubbles=tuple(Bubble(b["label"], box(b["box"])) for b in r["bubbles"]),
                )
                for r in p["regions"]
            )
            blocks = tuple(
                QuestionBlock(
                    question_id=b["question_id"], number=b["number"], top=b["top"],
                    stem_x=b["stem_x"], stem_lines=tuple(b["stem_lines"]),
                    option_lines=tuple(b["option_lines"]),
                    option_col_width=b.get("option_col_width", 0.0),
                    blank_labels=tuple((lb, x, y) for lb, x, y in b["blank_labels"]),
                    line_heights=tuple(float(v) for v in b.get("line_heights", ())),
                    scratch=box(b["scratch"]) if b.get("scratch") else None,
                )
                for b in p.get("blocks", [])
            )
            pages.append(PageLayout(
                number=p["number"], width=p["width"], height=p["height"],
                markers=tuple(MarkerBox(m["marker_id"], box(m["box"])) for m in p["markers"]),
                qr_box=box(p["qr_box"]), name_box=box(p["name_box"]),
                student_no_boxes=tuple(box(b) for b in p["student_no_boxes"]),
                regions=regions, blocks=blocks,
                # Layouts stored before seat bubbles existed get the row where it would
                # have been placed: their footer strip was already free.
                seat_bubbles=(tuple((int(pl), int(d), box(b)) for pl, d, b in p["seat_bubbles"])
                              if "seat_bubbles" in p
                              else seat_bubble_boxes(p["width"], p["height"])),
            ))
        return cls(title=data["title"], page_size=data["page_size"], pages=tuple(pages))


def _rounded(value: Any) -> Any:
    # Points to 1/100: a layout read back from JSON hashes as the one that was stored.
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def page_layout_hash(page: PageLayout) -> str:
    """A short hash of what the reader relies on for one page: its size, markers, QR, name
    and number boxes, seat bubbles and answer regions (with their bubbles and questions).

    The drawn question text (``blocks``) is left out: it is not read back. Printed in the
    ``MB2`` page code, it tells a page printed from this very layout from one printed from
    an earlier layout of a worksheet with the same id (re-laid out, or another install's).

    Returns:
        6 characters of base32 (the first 30 bits of a SHA-256 over canonical JSON).
    """
    data = asdict(page)
    data.pop("blocks", None)
    text = json.dumps(_rounded(data), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode()[:CODE_ID_CHARS]
