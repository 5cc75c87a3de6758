"""The error book's page frame and shared drawing pieces: margins, header, footer, bars.

Every non-worksheet page of a book (summary, review cards, answer key, class cover) has the
same frame: a title line and rule at the top, the content area between fixed margins, and
the ``name · 第 n / N 页`` footer the worksheet pages use too. Coordinates are page space
(points from the top-left, DESIGN.md convention 10); drawing converts with the page height.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.book.text import layout_text
from errorbook.printing.geometry import MM
from errorbook.printing.language import print_words
from errorbook.printing.text import draw_text, text_width

__all__ = [
    "CONTENT_BOTTOM_INSET",
    "CONTENT_TOP",
    "MARGIN_X",
    "Block",
    "PageFrame",
    "draw_blank_page",
    "draw_footer",
    "draw_header",
    "draw_mastery_bar",
    "fit_one_line",
    "footer_text",
    "heading_block",
    "percent",
]

MARGIN_X = 15 * MM  # the worksheet layout's content margin, so practice pages line up
CONTENT_TOP = 24 * MM
CONTENT_BOTTOM_INSET = 18 * MM
HEADER_BASELINE = 14 * MM
HEADER_RULE = 17.5 * MM
FOOTER_BASELINE = 11 * MM  # as on worksheet pages
TEXT_GREY = 0.35
RULE_GREY = 0.55
BAR_FILL = 0.25
BAR_BAND = 0.72
BAR_TRACK = 0.92


@dataclass(frozen=True)
class PageFrame:
    """What the frame of one book's pages shows.

    Attributes:
        width, height: the page size in points.
        title: the book (or cover) title, top left.
        owner: the student's name (top right and in the footer), or a class label.
        detail: printed after the owner at the top right (class, student number).
        language: the page number's and the padding page's language (``zh`` or ``en``).
    """

    width: float
    height: float
    title: str
    owner: str
    detail: str = ""
    language: str = "zh"

    @property
    def content_width(self) -> float:
        return self.width - 2 * MARGIN_X

    @property
    def content_bottom(self) -> float:
        return self.height - CONTENT_BOTTOM_INSET


@dataclass(frozen=True)
class Block:
    """A measured piece of a page: its height and how to draw it with its top at ``y``.

    ``draw(canvas, y)`` is a closure over measured lines, so nothing is measured twice.
    ``keep_with_next`` stops a heading ending a page without what it heads;
    ``space_after`` is the gap to the next block (0 for table rows).
    """

    height: float
    draw: Callable[[Canvas, float], None]
    keep_with_next: bool = False
    space_after: float = 4 * MM


def percent(value: float | None) -> str:
    """A share as ``42%``; None as ``—``."""
    return "—" if value is None else f"{round(value * 100):d}%"


def fit_one_line(text: str, width: float, size: float) -> str:
    """``text`` on one line within ``width``, ending in ``…`` when cut."""
    if text_width(text, size) <= width:
        return text
    box = layout_text(text.replace("\n", " "), width, size, max_lines=1)
    return "".join(p.text for p in box.lines[0].pieces) if box.lines else ""


def draw_header(c: Canvas, frame: PageFrame) -> None:
    """The title line and rule at the top of a book page."""
    h = frame.height
    right = frame.owner + (f"  ·  {frame.detail}" if frame.detail else "")
    right_w = min(text_width(right, 10), frame.content_width * 0.45)
    right = fit_one_line(right, right_w, 10)
    title = fit_one_line(frame.title, frame.content_width - right_w - 6 * MM, 13)
    draw_text(c, MARGIN_X, h - HEADER_BASELINE, title, 13)
    c.setFillGray(TEXT_GREY)
    draw_text(c, frame.width - MARGIN_X, h - HEADER_BASELINE, right, 10, "right")
    c.setFillGray(0.0)
    c.setStrokeGray(0.0)
    c.setLineWidth(0.8)
    c.line(MARGIN_X, h - HEADER_RULE, frame.width - MARGIN_X, h - HEADER_RULE)


def draw_footer(c: Canvas, frame: PageFrame, number: int, total: int) -> None:
    """``owner · 第 n / N 页`` centred at the foot, as on worksheet pages."""
    c.setFillGray(0.3)
    draw_text(c, frame.width / 2, FOOTER_BASELINE,
              footer_text(frame.owner, number, total, frame.language), 9, "center")
    c.setFillGray(0.0)


def footer_text(owner: str, number: int, total: int, language: str = "zh") -> str:
    """The footer line; the practice pages get the same one."""
    page = print_words(language).page_number(number, total)
    return f"{owner}  ·  {page}" if owner else page


def draw_blank_page(c: Canvas, frame: PageFrame, number: int, total: int) -> None:
    """An intentionally blank back page, so the next part starts on a fresh sheet."""
    c.setFillGray(0.5)
    draw_text(c, frame.width / 2, frame.height / 2, print_words(frame.language).blank_page, 10,
              "center")
    c.setFillGray(0.0)
    draw_footer(c, frame, number, total)


def draw_mastery_bar(c: Canvas, x: float, top: float, width: float, height: float,
                     mastery: float | None, band: tuple[float, float] | None,
                     page_height: float) -> None:
    """A horizontal mastery bar: track, uncertainty band (light), mastery (dark), tick.

    Args:
        c: the canvas.
        x, top: the bar's top-left corner, page space.
        width, height: its size in points.
        mastery: 0..1, or None (an empty, dashed track: no data yet).
        band: (low, high) uncertainty, drawn lighter behind the mastery.
        page_height: for reportlab's bottom-left origin.
    """
    y = page_height - top - height
    c.saveState()
    c.setLineWidth(0.4)
    c.setStrokeGray(RULE_GREY)
    c.setFillGray(BAR_TRACK)
    if mastery is None:
        c.setDash(1.5, 1.5)
        c.rect(x, y, width, height, stroke=1, fill=0)
        c.restoreState()
        return
    c.rect(x, y, width, height, stroke=0, fill=1)
    if band is not None:
        c.setFillGray(BAR_BAND)
        c.rect(x + band[0] * width, y, (band[1] - band[0]) * width, height, stroke=0, fill=1)
    c.setFillGray(BAR_FILL)
    c.rect(x, y, mastery * width, height, stroke=0, fill=1)
    c.rect(x, y, width, height, stroke=1, fill=0)
    c.restoreState()


def heading_block(text: str, width: float, page_height: float, size: float = 12.5,
                  note: str = "") -> Block:
    """A section heading (``一、错题回顾``) with an optional grey note after it."""
    text = fit_one_line(text, width * 0.7, size)
    note = fit_one_line(note, width - text_width(text, size) - 4 * MM, 9) if note else ""

    def draw(c: Canvas, y: float) -> None:
        baseline = page_height - y - size
        draw_text(c, MARGIN_X, baseline, text, size)
        if note:
            c.setFillGray(TEXT_GREY)
            draw_text(c, MARGIN_X + text_width(text, size) + 3 * MM, baseline, note, 9)
            c.setFillGray(0.0)

    return Block(size * 1.9, draw, keep_with_next=True, space_after=1.5 * MM)
