"""The class set's cover sheet: the class at a glance, then who starts on which page.

A teacher opens the class set on the cover, so it answers the class-level question first:
which knowledge points most of the class got wrong (with the share of students behind
each), then the totals, then one row per student (counts, resolution rate and the page
their book starts on). Each student's weakest point is left to their own book: side by
side, thirty children "weakest at 16-18%" tell them apart by nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.book.model import StudentBook
from errorbook.printing.book.sections import stat_tiles
from errorbook.printing.book.style import (
    MARGIN_X,
    TEXT_GREY,
    Block,
    draw_mastery_bar,
    fit_one_line,
    percent,
)
from errorbook.printing.book.text import draw_lines, layout_text
from errorbook.printing.book.words import BookWords, book_words
from errorbook.printing.geometry import MM
from errorbook.printing.text import draw_text, text_width

__all__ = ["COVER_COLUMNS", "KpShare", "class_kp_shares", "cover_blocks", "cover_kp_blocks",
           "cover_row_blocks"]

ROW_H = 6.5 * MM
TOP_KPS = 8

COVER_COLUMNS: tuple[tuple[str, float, str], ...] = (
    # (heading, width in mm, alignment); the resolution-rate column takes what is left.
    ("序号", 10, "right"), ("姓名", 30, "left"), ("学号", 26, "left"), ("待订正", 16, "right"),
    ("练习中", 16, "right"), ("已解决", 16, "right"), ("解决率", 0, "left"),
    ("起始页", 16, "right"),
)


@dataclass(frozen=True)
class KpShare:
    """One knowledge point across the class.

    Attributes:
        name: the knowledge point's name.
        students: students with at least one card on it in this set.
        entries: cards on it across the class.
        share: ``students`` over the class's students.
    """

    name: str
    students: int
    entries: int
    share: float


def class_kp_shares(books: Sequence[StudentBook], unclassified: str = "未分类"
                    ) -> list[KpShare]:
    """The knowledge points of the class's cards, most students first (then most cards,
    then by name, so the order is stable).

    Args:
        books: every student's book (a student without cards counts in the class size).
        unclassified: the name cards without a knowledge point are counted under.

    Returns:
        One :class:`KpShare` per knowledge point with a card in some book.
    """
    students: dict[str, set[int]] = {}
    entries: dict[str, int] = {}
    for i, book in enumerate(books):
        for e in book.entries:
            name = e.kp_name_zh or unclassified
            students.setdefault(name, set()).add(i)
            entries[name] = entries.get(name, 0) + 1
    n = max(1, len(books))
    shares = [KpShare(k, len(v), entries[k], len(v) / n) for k, v in students.items()]
    return sorted(shares, key=lambda s: (-s.students, -s.entries, s.name))


def _columns(width: float, words: BookWords) -> list[tuple[str, float, float, str]]:
    fixed = sum(w for _, w, _ in COVER_COLUMNS) * MM
    x = 0.0
    out = []
    for (_, w_mm, align), head in zip(COVER_COLUMNS, words.columns, strict=True):
        w = w_mm * MM if w_mm else width - fixed
        out.append((head, x, w, align))
        x += w
    return out


def _cell(c: Canvas, text: str, x: float, w: float, align: str, baseline: float,
          size: float) -> None:
    pad = 1.5 * MM
    text = fit_one_line(text, w - 2 * pad, size)
    if align == "right":
        draw_text(c, x + w - pad, baseline, text, size, "right")
    else:
        draw_text(c, x + pad, baseline, text, size)


def _rule(c: Canvas, width: float, y: float) -> None:
    c.setStrokeGray(0.85)
    c.setLineWidth(0.4)
    c.line(MARGIN_X, y, MARGIN_X + width, y)
    c.setStrokeGray(0.0)


def cover_kp_blocks(books: Sequence[StudentBook], width: float, page_height: float,
                    words: BookWords | None = None) -> list[Block]:
    """The class-level summary: the knowledge points most of the class got wrong.

    Up to :data:`TOP_KPS` rows: the point's name, its cards across the class, and how many
    students it concerns (a bar of the share of the class, and ``n 人（p%）``).

    Args:
        books: every student's book.
        width: the content width.
        page_height: for reportlab's bottom-left origin.
        words: the cover's language (default Chinese).

    Returns:
        A header row and the rows (a single line when no student has a card).
    """
    words = words or book_words("zh")
    shares = class_kp_shares(books, words.unclassified)[:TOP_KPS]
    if not shares:
        def none(c: Canvas, top: float) -> None:
            c.setFillGray(TEXT_GREY)
            draw_text(c, MARGIN_X, page_height - top - 4.5 * MM, words.no_cards_in_class, 10)
            c.setFillGray(0.0)
        return [Block(ROW_H, none)]
    name_w, count_w, who_w = width * 0.42, 18 * MM, 26 * MM
    bar_w = width - name_w - count_w - who_w

    def head(c: Canvas, top: float) -> None:
        c.setFillGray(0.9)
        c.rect(MARGIN_X, page_height - top - ROW_H, width, ROW_H, stroke=0, fill=1)
        c.setFillGray(0.0)
        base = page_height - top - 4.5 * MM
        _cell(c, words.kp_column, MARGIN_X, name_w, "left", base, 9)
        _cell(c, words.cards_column, MARGIN_X + name_w, count_w, "right", base, 9)
        _cell(c, words.share_column, MARGIN_X + name_w + count_w, bar_w + who_w, "left", base,
              9)

    def row(share: KpShare) -> Block:
        def draw(c: Canvas, top: float) -> None:
            base = page_height - top - 4.5 * MM
            _cell(c, share.name, MARGIN_X, name_w, "left", base, 9.5)
            _cell(c, str(share.entries), MARGIN_X + name_w, count_w, "right", base, 9.5)
            draw_mastery_bar(c, MARGIN_X + name_w + count_w + 1.5 * MM, top + 2 * MM,
                             bar_w - 3 * MM, 2.6 * MM, share.share, None, page_height)
            _cell(c, words.students_share.format(n=share.students, pct=percent(share.share)),
                  MARGIN_X + name_w + count_w + bar_w, who_w, "right", base, 9)
            _rule(c, width, page_height - top - ROW_H)
        return Block(ROW_H, draw, space_after=0.0)

    rows = [row(s) for s in shares]
    rows[-1] = Block(ROW_H, rows[-1].draw, space_after=3 * MM)
    return [Block(ROW_H, head, keep_with_next=True, space_after=0.0), *rows]


def cover_row_blocks(books: Sequence[StudentBook], width: float, page_height: float,
                     start_pages: Sequence[int], words: BookWords | None = None
                     ) -> tuple[Block, list[Block]]:
    """The cover's student table: its header row (repeated per page) and a row per student.

    Args:
        books: the students, in section order.
        width: the content width.
        page_height: for reportlab's bottom-left origin.
        start_pages: filled by the caller before drawing (the table is measured before
            the sections are paginated): the PDF page each student's section starts on.
        words: the cover's language (default Chinese).

    Returns:
        (header row, student rows).
    """
    cols = _columns(width, words or book_words("zh"))

    def head(c: Canvas, top: float) -> None:
        c.setFillGray(0.9)
        c.rect(MARGIN_X, page_height - top - ROW_H, width, ROW_H, stroke=0, fill=1)
        c.setFillGray(0.0)
        for text, x, w, align in cols:
            # A heading longer than its column is set smaller, never cut.
            size = 9.0
            while size > 6.5 and text_width(text, size) > w - 3 * MM:
                size -= 0.5
            _cell(c, text, MARGIN_X + x, w, align, page_height - top - 4.5 * MM, size)

    def row(i: int, book: StudentBook) -> Block:
        s = book.summary
        values = [str(i + 1), book.student_name, book.student_no, str(s.open_count),
                  str(s.practising_count), str(s.resolved_count), "", ""]

        def draw(c: Canvas, top: float) -> None:
            base = page_height - top - 4.5 * MM
            for (_, x, w, align), v in zip(cols, values, strict=True):
                _cell(c, v, MARGIN_X + x, w, align, base, 9.5)
            _, rx, rw, _ = cols[6]
            draw_mastery_bar(c, MARGIN_X + rx + 1.5 * MM, top + 2 * MM, rw - 16 * MM,
                             2.6 * MM, s.resolution_rate, None, page_height)
            _cell(c, percent(s.resolution_rate), MARGIN_X + rx, rw, "right", base, 8.5)
            _, px, pw, _ = cols[7]
            _cell(c, str(start_pages[i]) if i < len(start_pages) else "", MARGIN_X + px, pw,
                  "right", base, 9.5)
            _rule(c, width, page_height - top - ROW_H)

        return Block(ROW_H, draw, space_after=0.0)

    return (Block(ROW_H, head, keep_with_next=True, space_after=0.0),
            [row(i, b) for i, b in enumerate(books)])


def cover_blocks(title: str, lines: Sequence[str], books: Sequence[StudentBook],
                 width: float, page_height: float, words: BookWords | None = None
                 ) -> list[Block]:
    """The cover's top: title, information lines and class totals.

    Args:
        title: the cover title.
        lines: short lines under it (date, teacher, note), long ones wrapped.
        books: the students (for the totals).
        width: the content width.
        page_height: for reportlab's bottom-left origin.
        words: the cover's language (default Chinese).

    Returns:
        Blocks to place before the knowledge points and the student table.
    """
    words = words or book_words("zh")
    title_box = layout_text(title, width, 20, max_lines=2)
    info = [layout_text(line, width, 10, max_lines=3) for line in lines if line.strip()]
    rates = [b.summary.resolution_rate for b in books if b.summary.resolution_rate is not None]
    with_cards = sum(1 for b in books if b.entries)
    tiles = stat_tiles([
        (str(len(books)), words.tile_students),
        (str(with_cards), words.tile_with_cards),
        (str(sum(b.summary.open_count for b in books)), words.tile_open),
        (str(sum(b.summary.practising_count for b in books)), words.tile_practising),
        (str(sum(b.summary.resolved_count for b in books)), words.tile_resolved),
        (percent(sum(rates) / len(rates) if rates else None), words.tile_mean_rate),
    ], width, page_height)

    def draw_top(c: Canvas, top: float) -> None:
        y = draw_lines(c, title_box, MARGIN_X, top, page_height) + 1.5 * MM
        c.setFillGray(TEXT_GREY)
        for box in info:
            y = draw_lines(c, box, MARGIN_X, y, page_height)
        c.setFillGray(0.0)

    top_h = title_box.height + 1.5 * MM + sum(b.height for b in info)
    return [Block(top_h, draw_top), tiles]
