"""Review cards: one wrong answer, measured whole and then drawn, never split across pages.

A card shows, top to bottom: a grey strip (card number, knowledge point, mastery bar,
how often and when it went wrong, its state), the question (stacked fractions in maths,
options for choice questions), the student's answer (their own ink cut from the scan, at
its real size up to 40 mm tall, else the text; 未作答 for a blank) beside the error cause
(错因, in a child's words: :mod:`errorbook.printing.book.wording`), then a ruled 订正 area to
redo the question in. The correct answer and the explanation (解析) are not on the card, so
"redo it yourself" is honest: they are in the answer key at the back of the book (or in
the teacher's key, :func:`errorbook.printing.book.pdf.render_answer_key`).

:func:`card_block` measures everything first and returns a :class:`Block` whose height is
exact, so the pager can keep cards whole; every line is wrapped to the card's inner width,
so nothing crosses the margins.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.book.model import BookEntry, BookOptions
from errorbook.printing.book.style import (
    MARGIN_X,
    TEXT_GREY,
    Block,
    draw_mastery_bar,
    fit_one_line,
    percent,
)
from errorbook.printing.book.text import TextBox, draw_lines, layout_text
from errorbook.printing.book.wording import UNANSWERED_ZH, child_cause
from errorbook.printing.book.words import BookWords, book_words
from errorbook.printing.geometry import MM
from errorbook.printing.text import draw_text, text_width
from grading.questions import ChoiceQuestion, MultiChoiceQuestion

__all__ = ["CROP_PX_PER_PT", "MAX_CROP_HEIGHT", "CardCrop", "card_block", "is_unanswered",
           "load_crop"]

CROP_PX_PER_PT = 3.0  # ocr.regions' canonical crop resolution: ink shown at its real size
MAX_CROP_HEIGHT = 40 * MM
PAD = 3 * MM
STRIP_H = 7.5 * MM
LABEL_W = 11 * MM
STEM_SIZE = 10.5
BODY_SIZE = 9.5
ANSWER_SIZE = 12.0
LABEL_SIZE = 8.5
ROW_GAP = 2 * MM


@dataclass(frozen=True)
class CardCrop:
    """A student's answer crop, decoded once, greyscale, ready for reportlab."""

    reader: ImageReader
    width_pt: float
    height_pt: float


def load_crop(png: bytes | None, px_per_pt: float = CROP_PX_PER_PT) -> CardCrop | None:
    """Decode a crop to a greyscale image at its natural printed size.

    Args:
        png: PNG (or any Pillow-readable) bytes, or None.
        px_per_pt: the crop's resolution when the file does not state one.

    Returns:
        The crop, or None when there is none or it cannot be decoded (the card then shows
        the answer text: one damaged crop must not stop a class set from printing).
    """
    if not png:
        return None
    try:
        with Image.open(io.BytesIO(png)) as im:
            dpi = im.info.get("dpi")
            # Grey, not RGB: a third of the bytes, and reportlab hashes and deflates it once.
            grey = im.convert("L")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    scale = px_per_pt
    if dpi and float(dpi[0]) > 30:
        scale = float(dpi[0]) / 72.0
    return CardCrop(ImageReader(grey), grey.width / scale, grey.height / scale)


def _fit_crop(crop: CardCrop, max_w: float) -> tuple[float, float]:
    s = min(1.0, MAX_CROP_HEIGHT / crop.height_pt, max_w / crop.width_pt)
    return crop.width_pt * s, crop.height_pt * s


OptionRow = tuple[tuple[float, TextBox], ...]  # (x offset, option text) per column


def _options(entry: BookEntry, width: float, fractions: bool) -> list[OptionRow]:
    """Choice options four, two or one to a row, whichever fits, as on the worksheet."""
    q = entry.question
    if not isinstance(q, ChoiceQuestion | MultiChoiceQuestion):
        return []
    items = [f"{o.label}. {o.text}" for o in q.options]
    for per_line in (4, 2):
        col = width / per_line
        if all(text_width(it, STEM_SIZE) <= col - 3 * MM for it in items):
            boxes = [layout_text(it, col - 3 * MM, STEM_SIZE, fractions=fractions, max_lines=1)
                     for it in items]
            return [tuple((j * col, b) for j, b in enumerate(boxes[i:i + per_line]))
                    for i in range(0, len(boxes), per_line)]
    return [((0.0, layout_text(it, width, STEM_SIZE, fractions=fractions, max_lines=3)),)
            for it in items]


def _row_height(row: OptionRow) -> float:
    return max(b.height for _, b in row)


def _strip(entry: BookEntry, width: float, page_height: float, words: BookWords
           ) -> Callable[[Canvas, float, float], None]:
    meta = words.wrong_times.format(n=entry.times_wrong, when=words.when(entry.wrong_on))
    state = {"open": words.state_open, "practising": words.state_practising}.get(
        entry.state, entry.state)
    meta_text = f"{meta} · {state}"
    meta_w = text_width(meta_text, LABEL_SIZE)
    badge = f"{entry.number}"
    badge_w = max(6 * MM, text_width(badge, 10) + 3 * MM)
    bar_w = 26 * MM
    pct = words.mastery.format(pct=percent(entry.mastery))
    pct_w = text_width(words.mastery.format(pct="100%"), LABEL_SIZE)
    kp_room = width - 2 * PAD - badge_w - 3 * MM - bar_w - pct_w - meta_w - 9 * MM
    kp = fit_one_line(entry.kp_name_zh or words.no_kp, max(kp_room, 12 * MM), 10)

    def draw(c: Canvas, x: float, top: float) -> None:
        h = page_height
        c.setFillGray(0.93)
        c.roundRect(x, h - top - STRIP_H, width, STRIP_H, 2 * MM, stroke=0, fill=1)
        c.rect(x, h - top - STRIP_H, width, STRIP_H / 2, stroke=0, fill=1)
        base = h - top - STRIP_H / 2 - 3.4
        c.setFillGray(0.15)
        c.roundRect(x + PAD, h - top - STRIP_H + 1.2 * MM, badge_w, STRIP_H - 2.4 * MM,
                    1.2 * MM, stroke=0, fill=1)
        c.setFillGray(1.0)
        draw_text(c, x + PAD + badge_w / 2, base, badge, 10, "center")
        c.setFillGray(0.0)
        kx = x + PAD + badge_w + 3 * MM
        draw_text(c, kx, base, kp, 10)
        bx = kx + text_width(kp, 10) + 3 * MM
        draw_mastery_bar(c, bx, top + STRIP_H / 2 - 1.4 * MM, bar_w, 2.8 * MM, entry.mastery,
                         entry.band, h)
        c.setFillGray(TEXT_GREY)
        draw_text(c, bx + bar_w + 2 * MM, base + 0.5, pct, LABEL_SIZE)
        draw_text(c, x + width - PAD, base + 0.5, meta_text, LABEL_SIZE, "right")
        c.setFillGray(0.0)

    return draw


def _answer_text(text: str, width: float, fractions: bool) -> TextBox:
    """An answer large when it is short; a long one (a written sentence) at body size."""
    box = layout_text(text, width, ANSWER_SIZE, fractions=fractions, max_lines=4)
    if len(box.lines) > 1:
        box = layout_text(text, width, STEM_SIZE, fractions=fractions, max_lines=5)
    return box


def is_unanswered(entry: BookEntry, crop: CardCrop | None = None) -> bool:
    """Whether the card is for an answer left blank (flagged, or nothing read and no ink)."""
    text = entry.student_answer_text.strip().strip("（）()")
    return entry.unanswered or (crop is None and text in ("", UNANSWERED_ZH, "Not answered"))


def _answer_cell(entry: BookEntry, crop: CardCrop | None, width: float, fractions: bool,
                 words: BookWords) -> tuple[float, TextBox | None, tuple[float, float] | None]:
    """Height of the student-answer cell and what fills it (a scaled crop or text).

    An unanswered question shows 未作答, never the crop of its empty box."""
    if is_unanswered(entry, crop):
        box = layout_text(words.unanswered, width, ANSWER_SIZE, max_lines=1)
        return LABEL_SIZE * 1.6 + box.height, box, None
    if crop is not None:
        size = _fit_crop(crop, width)
        return LABEL_SIZE * 1.6 + size[1], None, size
    box = _answer_text(entry.student_answer_text.strip(), width, fractions)
    return LABEL_SIZE * 1.6 + box.height, box, None


def card_block(entry: BookEntry, width: float, page_height: float, options: BookOptions,
               crop: CardCrop | None = None, max_height: float | None = None) -> Block:
    """Measure one review card and return it as a block to place.

    Args:
        entry: the wrong answer.
        width: the card's outer width (the content width).
        page_height: for reportlab's bottom-left origin when drawing.
        options: stem line limit, fraction stacking, the 订正 space.
        crop: the decoded answer crop (:func:`load_crop`), or None.
        max_height: the tallest a card may be (a page's content height); the stem is cut
            shorter (ending in ``…``) until the card fits.

    Returns:
        The card's block, its height exact.
    """
    stem_lines = options.stem_lines
    while True:
        block = _measure(entry, width, page_height, options, crop, stem_lines)
        if max_height is None or block.height <= max_height or stem_lines == 1:
            return block
        stem_lines = max(1, stem_lines - 2)


def _measure(entry: BookEntry, width: float, page_height: float, options: BookOptions,
             crop: CardCrop | None, stem_lines: int) -> Block:
    math = options.stack_fractions and entry.question.subject == "math"
    inner = width - 2 * PAD
    words = book_words(options.language)
    strip = _strip(entry, width, page_height, words)
    stem = layout_text(entry.question.stem, inner, STEM_SIZE, fractions=math,
                       max_lines=stem_lines)
    opts = _options(entry, inner, math)
    col = (inner - 4 * MM) / 2
    unanswered = is_unanswered(entry, crop)
    if unanswered:
        crop = None
    ans_h, ans_text, crop_size = _answer_cell(entry, crop, col, math, words)
    cause_text = child_cause(entry.cause_code, entry.cause_zh, question=entry.question,
                             answer_text=entry.student_answer_text, unanswered=unanswered,
                             language=options.language, fallback_en=entry.cause_en)
    cause = layout_text(cause_text, col, BODY_SIZE) if cause_text else None
    answer_h = max(ans_h, LABEL_SIZE * 1.6 + (cause.height if cause else 0.0))
    redo = options.redo_space_mm * MM
    rows = [STRIP_H + ROW_GAP, stem.height + sum(_row_height(o) for o in opts) + ROW_GAP,
            answer_h + ROW_GAP]
    if redo:
        rows.append(LABEL_SIZE * 1.6 + redo + ROW_GAP)
    height = sum(rows) + PAD

    def draw(c: Canvas, top: float) -> None:
        h = page_height
        x = MARGIN_X
        c.saveState()
        c.setLineWidth(0.6)
        c.setStrokeGray(0.6)
        c.roundRect(x, h - top - height, width, height, 2 * MM, stroke=1, fill=0)
        c.restoreState()
        strip(c, x, top)
        y = top + STRIP_H + ROW_GAP
        y = draw_lines(c, stem, x + PAD, y, h)
        for row in opts:
            for dx, box in row:
                draw_lines(c, box, x + PAD + dx, y, h)
            y += _row_height(row)
        y += ROW_GAP
        _draw_answer(c, x + PAD, y, col, h, ans_text, crop, crop_size, unanswered,
                     words.your_answer)
        if cause:
            cx = x + PAD + col + 4 * MM
            _rule(c, cx - 2 * MM, y, answer_h, h)
            c.setFillGray(TEXT_GREY)
            draw_text(c, cx, h - y - LABEL_SIZE, words.cause, LABEL_SIZE)
            c.setFillGray(0.0)
            draw_lines(c, cause, cx, y + LABEL_SIZE * 1.6, h)
        y += answer_h + ROW_GAP
        if redo:
            c.setFillGray(TEXT_GREY)
            draw_text(c, x + PAD, h - y - LABEL_SIZE, words.redo, LABEL_SIZE)
            c.setFillGray(0.0)
            _ruled(c, x + PAD, y + LABEL_SIZE * 1.6, inner, redo, h)

    return Block(height, draw)


REDO_PITCH = 8 * MM  # a ruled line every 8 mm, the pitch of a primary exercise book


def _ruled(c: Canvas, x: float, top: float, width: float, height: float, h: float) -> None:
    """The 订正 area: a light frame with ruled lines to write on."""
    c.saveState()
    c.setStrokeGray(0.72)
    c.setLineWidth(0.5)
    c.rect(x, h - top - height, width, height, stroke=1, fill=0)
    c.setLineWidth(0.35)
    c.setStrokeGray(0.8)
    y = top + REDO_PITCH
    while y < top + height - 2 * MM:
        c.line(x + 1.5 * MM, h - y, x + width - 1.5 * MM, h - y)
        y += REDO_PITCH
    c.restoreState()


def _rule(c: Canvas, x: float, top: float, height: float, h: float) -> None:
    """A thin vertical rule between the student's answer and the cause."""
    c.saveState()
    c.setStrokeGray(0.8)
    c.setLineWidth(0.5)
    c.line(x, h - top, x, h - top - height)
    c.restoreState()


def _label(c: Canvas, x: float, top: float, text: str, page_height: float) -> None:
    c.setFillGray(TEXT_GREY)
    draw_text(c, x, page_height - top - BODY_SIZE, text, LABEL_SIZE)
    c.setFillGray(0.0)


def _draw_answer(c: Canvas, x: float, top: float, col: float, h: float,
                 ans_text: TextBox | None, crop: CardCrop | None,
                 crop_size: tuple[float, float] | None, unanswered: bool, label: str) -> None:
    label_h = LABEL_SIZE * 1.6
    c.setFillGray(TEXT_GREY)
    draw_text(c, x, h - top - LABEL_SIZE, label, LABEL_SIZE)
    c.setFillGray(0.0)
    if crop is not None and crop_size is not None:
        w, ch = crop_size
        c.drawImage(crop.reader, x, h - top - label_h - ch, w, ch)
        c.saveState()
        c.setStrokeGray(0.8)
        c.setLineWidth(0.4)
        c.rect(x, h - top - label_h - ch, w, ch, stroke=1, fill=0)
        c.restoreState()
    elif ans_text is not None:
        if unanswered:
            c.setFillGray(TEXT_GREY)
        draw_lines(c, ans_text, x, top + label_h, h)
        c.setFillGray(0.0)
