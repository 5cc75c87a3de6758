"""The error book's non-card blocks: the student summary and the answer-key rows (the class
cover is :mod:`errorbook.printing.book.cover`).

Each function measures its content and returns :class:`errorbook.printing.book.style.Block` objects
(exact height + a draw closure), which :mod:`errorbook.printing.book.pdf` places on pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.book.model import BookEntry, BookSummary, PracticeItem, StudentBook
from errorbook.printing.book.style import (
    MARGIN_X,
    TEXT_GREY,
    Block,
    draw_mastery_bar,
    fit_one_line,
    percent,
)
from errorbook.printing.book.text import TextBox, draw_lines, layout_text
from errorbook.printing.book.words import BookWords, book_words
from errorbook.printing.geometry import MM
from errorbook.printing.text import draw_text, text_width

__all__ = ["card_key_blocks", "key_blocks", "stat_tiles", "summary_block", "teacher_reason"]

TILE_H = 14 * MM
KP_ROW_H = 6 * MM
KEY_SIZE = 10.5
ROW_H = 6.5 * MM


def stat_tiles(tiles: Sequence[tuple[str, str]], width: float, page_height: float) -> Block:
    """A row of tiles, each a big figure over a small label (``12`` / ``待订正``)."""
    gap = 3 * MM
    tile_w = (width - gap * (len(tiles) - 1)) / max(1, len(tiles))

    def draw(c: Canvas, top: float) -> None:
        for i, (value, label) in enumerate(tiles):
            x = MARGIN_X + i * (tile_w + gap)
            c.saveState()
            c.setFillGray(0.95)
            c.setStrokeGray(0.75)
            c.setLineWidth(0.5)
            c.roundRect(x, page_height - top - TILE_H, tile_w, TILE_H, 1.8 * MM, stroke=1,
                        fill=1)
            c.restoreState()
            draw_text(c, x + tile_w / 2, page_height - top - 7.2 * MM,
                      fit_one_line(value, tile_w - 2 * MM, 16), 16, "center")
            c.setFillGray(TEXT_GREY)
            draw_text(c, x + tile_w / 2, page_height - top - 11.6 * MM,
                      fit_one_line(label, tile_w - 2 * MM, 8.5), 8.5, "center")
            c.setFillGray(0.0)

    return Block(TILE_H, draw)


def _kp_rows(weakest: Sequence[tuple[str, float]], width: float, page_height: float
             ) -> tuple[float, list[tuple[float, float, str, float]]]:
    """Weakest knowledge points in two columns: height and (dx, dy, name, mastery) cells."""
    shown = list(weakest[:6])
    per_col = 3 if len(shown) > 3 else len(shown)
    col_w = width / 2
    cells = []
    for i, (name, mastery) in enumerate(shown):
        col, row = divmod(i, per_col) if per_col else (0, 0)
        cells.append((col * col_w, row * KP_ROW_H, name, mastery))
    return max(1, per_col) * KP_ROW_H, cells


def summary_block(book: StudentBook, width: float, page_height: float,
                  words: BookWords | None = None) -> Block:
    """The top of a student's book: who, when, the counts and the weakest knowledge points.

    Args:
        book: the student's book.
        width: the content width.
        page_height: for reportlab's bottom-left origin.
        words: the book's language (default Chinese).

    Returns:
        One block (name line, count tiles, weakest knowledge points with mastery bars).
    """
    words = words or book_words("zh")
    s: BookSummary = book.summary
    name = fit_one_line(book.student_name, width * 0.45, 18)
    who = " · ".join(p for p in (words.student_no.format(no=book.student_no)
                                 if book.student_no else "",
                                 book.class_name) if p)
    who = fit_one_line(who, width - text_width(name, 18) - 45 * MM, 10)
    tiles = stat_tiles([
        (str(s.open_count), words.tile_open), (str(s.practising_count), words.tile_practising),
        (str(s.resolved_count), words.tile_resolved),
        (percent(s.resolution_rate), words.tile_rate),
        (str(len(book.entries)), words.tile_this_time),
    ], width, page_height)
    kp_label_w = 22 * MM
    kp_h, cells = _kp_rows(s.weakest_kps, width - kp_label_w, page_height)
    col_w = (width - kp_label_w) / 2
    name_w, bar_w = col_w * 0.48, col_w * 0.30
    names = [fit_one_line(n, name_w - 2 * MM, 9.5) for _, _, n, _ in cells]
    head_h = 11 * MM
    height = head_h + TILE_H + 4 * MM + kp_h + 2 * MM

    def draw(c: Canvas, top: float) -> None:
        h = page_height
        draw_text(c, MARGIN_X, h - top - 7.5 * MM, name, 18)
        c.setFillGray(TEXT_GREY)
        draw_text(c, MARGIN_X + text_width(name, 18) + 4 * MM, h - top - 7.5 * MM, who, 10)
        draw_text(c, MARGIN_X + width, h - top - 7.5 * MM,
                  words.made_on.format(date=book.generated_on.isoformat()), 9, "right")
        c.setFillGray(0.0)
        tiles.draw(c, top + head_h)
        y = top + head_h + TILE_H + 4 * MM
        c.setFillGray(TEXT_GREY)
        draw_text(c, MARGIN_X, h - y - 4.2 * MM, fit_one_line(words.weakest, kp_label_w - 2 * MM,
                                                               9.5), 9.5)
        if not cells:
            draw_text(c, MARGIN_X + kp_label_w, h - y - 4.2 * MM, words.no_data, 9.5)
        c.setFillGray(0.0)
        for (dx, dy, _, mastery), label in zip(cells, names, strict=True):
            x = MARGIN_X + kp_label_w + dx
            draw_text(c, x, h - y - dy - 4.2 * MM, label, 9.5)
            draw_mastery_bar(c, x + name_w, y + dy + 1.9 * MM, bar_w, 2.8 * MM, mastery,
                             None, h)
            c.setFillGray(TEXT_GREY)
            draw_text(c, x + name_w + bar_w + 2 * MM, h - y - dy - 4.2 * MM, percent(mastery),
                      8.5)
            c.setFillGray(0.0)

    return Block(height, draw)


def teacher_reason(item: PracticeItem, cards: Mapping[int, tuple[int, str]],
                   words: BookWords | None = None) -> str:
    """Why a practice item was chosen, for the teacher: the card it practises (number and
    knowledge point) and the selection reason, never an internal id."""
    reason = item.reason_zh.strip()
    card = cards.get(item.entry_id) if item.entry_id is not None else None
    if card is None:
        return reason
    number, kp = card
    words = words or book_words("zh")
    # The reason often names the same point (同一知识点（…）): name it once.
    if words.language == "zh":
        head = words.for_card.format(n=number) + (f"（{kp}）" if kp and kp not in reason else "")
        return f"{head}：{reason}" if reason else head
    head = words.for_card.format(n=number) + (f" ({kp})" if kp and kp not in reason else "")
    return f"{head}: {reason}" if reason else head


def key_blocks(items: Sequence[PracticeItem], width: float, page_height: float, *,
               teacher: bool, fractions: bool = True,
               cards: Mapping[int, tuple[int, str]] | None = None,
               words: BookWords | None = None) -> list[Block]:
    """Answer-key rows: ``n. answer`` in columns, plus why each was chosen for teachers.

    Args:
        items: the practice items in sheet order.
        width: the content width.
        page_height: for reportlab's bottom-left origin.
        teacher: add why each item was chosen under its answer (teacher's copy).
        fractions: stack ``a/b`` in maths answers.
        cards: entry id -> (card number, knowledge point name), to name the card an item
            practises in the teacher's reason.
        words: the book's language (default Chinese).

    Returns:
        One block per row, so a long key flows over pages without cutting a row. Nothing
        is cut: answers and reasons wrap as long as they need.
    """
    if not items:
        return []
    cards = cards or {}
    num_w = 9 * MM
    reasons = [teacher_reason(it, cards, words) if teacher else "" for it in items]
    widest = max(max(text_width(it.answer_text, KEY_SIZE), text_width(why, 8.5))
                 for it, why in zip(items, reasons, strict=True))
    per_row = next((n for n in (5, 4, 3, 2) if widest <= width / n - num_w - 3 * MM), 1)
    col = width / per_row
    cells: list[tuple[str, TextBox, TextBox | None]] = []
    for it, reason in zip(items, reasons, strict=True):
        frac = fractions and it.question.subject == "math"
        ans = layout_text(it.answer_text.strip() or "—", col - num_w - 3 * MM, KEY_SIZE,
                          fractions=frac)
        why = layout_text(reason, col - num_w - 3 * MM, 8.5) if reason.strip() else None
        cells.append((f"{it.number}.", ans, why))
    blocks = []
    for i in range(0, len(cells), per_row):
        row = cells[i:i + per_row]
        row_h = max(a.height + (w.height if w else 0.0) for _, a, w in row) + 1.5 * MM
        blocks.append(Block(row_h, _key_row_draw(row, col, num_w, page_height),
                            space_after=1 * MM))
    return blocks


def card_key_blocks(entries: Sequence[BookEntry], width: float, page_height: float, *,
                    explanation: bool, fractions: bool = True,
                    words: BookWords | None = None) -> list[Block]:
    """The review cards' answers, by card number: ``第 n 题 · knowledge point``, the answer,
    and (in a student's book) the worked explanation (解析), wrapped, never cut.

    Args:
        entries: the cards, in book order.
        width: the content width.
        page_height: for reportlab's bottom-left origin.
        explanation: print each card's 解析 under its answer.
        fractions: stack ``a/b`` in maths answers.
        words: the book's language (default Chinese).

    Returns:
        One block per card.
    """
    words = words or book_words("zh")
    num_w = 16 * MM
    half = width / 2

    def fits_half(e: BookEntry) -> bool:
        room = half - num_w - 3 * MM
        return text_width(words.answer + e.correct_answer.strip(), KEY_SIZE) <= room and \
            text_width(e.kp_name_zh, 8.5) <= room

    # Without 解析 (the teacher's key) two short cards share a row; a long answer has one.
    rows: list[list[BookEntry]] = []
    for e in entries:
        if not explanation and rows and len(rows[-1]) == 1 and fits_half(rows[-1][0]) \
                and fits_half(e):
            rows[-1].append(e)
        else:
            rows.append([e])
    blocks = []
    for row in rows:
        paired = len(row) == 2 or (not explanation and fits_half(row[0]))
        col = half if paired else width
        text_w = col - num_w - (3 * MM if paired else 0.0)
        cells = []
        for e in row:
            frac = fractions and e.question.subject == "math"
            head = layout_text(e.kp_name_zh, text_w, 8.5) if e.kp_name_zh.strip() else None
            ans = layout_text(words.answer + (e.correct_answer.strip() or "—"), text_w, KEY_SIZE,
                              fractions=frac)
            # 40 lines fit any page; past that the 解析 ends in … (the full text stays in
            # the data).
            expl = layout_text(words.explanation + e.explanation.strip(), text_w, 9.5,
                               fractions=frac,
                               max_lines=40) \
                if explanation and e.explanation.strip() else None
            cells.append((words.card_no.format(n=e.number), head, ans, expl))
        height = max((h.height if h else 0.0) + a.height + (x.height if x else 0.0)
                     for _, h, a, x in cells) + 1.5 * MM
        blocks.append(Block(height, _card_key_draw(cells, col, num_w, page_height),
                            space_after=1.5 * MM))
    return blocks


def _card_key_draw(row: list[tuple[str, TextBox | None, TextBox, TextBox | None]], col: float,
                   num_w: float, page_height: float) -> Callable[[Canvas, float], None]:
    def draw(c: Canvas, top: float) -> None:
        for j, (num, head, ans, expl) in enumerate(row):
            x = MARGIN_X + j * col
            first = (head or ans).lines[0]
            draw_text(c, x, page_height - top - first.ascent, num, KEY_SIZE)
            y = top
            if head:
                c.setFillGray(TEXT_GREY)
                y = draw_lines(c, head, x + num_w, y, page_height)
                c.setFillGray(0.0)
            y = draw_lines(c, ans, x + num_w, y, page_height)
            if expl:
                draw_lines(c, expl, x + num_w, y, page_height)

    return draw


def _key_row_draw(row: list[tuple[str, TextBox, TextBox | None]], col: float, num_w: float,
                  page_height: float) -> Callable[[Canvas, float], None]:
    def draw(c: Canvas, top: float) -> None:
        for j, (num, ans, why) in enumerate(row):
            x = MARGIN_X + j * col
            first = ans.lines[0]
            c.setFillGray(TEXT_GREY)
            draw_text(c, x + num_w - 1.5 * MM, page_height - top - first.ascent, num, KEY_SIZE,
                      "right")
            c.setFillGray(0.0)
            y = draw_lines(c, ans, x + num_w, top, page_height)
            if why:
                c.setFillGray(TEXT_GREY)
                draw_lines(c, why, x + num_w, y, page_height)
                c.setFillGray(0.0)

    return draw
