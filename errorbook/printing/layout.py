"""Worksheet page layout: where every stem, marker, QR code and answer region goes.

The layout is computed once when a worksheet is created and stored with it; printing draws
exactly these boxes and scan reading crops exactly these boxes, so the two can never drift.

Questions flow down the pages in order; a worksheet with choice or true/false questions
keeps ``INSTRUCTION_H`` free at the top of page 1 for the marking instruction, and a
worksheet whose last page would hold only a sliver (under ``NEAR_EMPTY_SHARE`` of a page)
is flowed again with tighter gaps between questions, kept when that saves the page.
Maths stems are typeset as printed in a textbook (stacked fractions, ×, −, ○ for
comparisons), and every line is measured as typeset, so a line with a fraction is taller
and nothing overlaps; a worksheet made with scratch space (``scratch_mm``) leaves a blank
working area for 竖式 under each written arithmetic question and word problem (drawn,
never read).
All coordinates are PDF points in page space from the page's top-left corner,
``(x0, y0, x1, y1)`` (DESIGN.md convention 10).
"""

from __future__ import annotations

from collections.abc import Sequence

from errorbook.contract import (
    AnswerRegion,
    Bubble,
    MarkerBox,
    PageLayout,
    QuestionBlock,
    WorksheetLayout,
    seat_bubble_boxes,
)
from errorbook.printing.book.text import layout_text, line_text
from errorbook.printing.geometry import MM, PAGE_SIZES
from grading.arithmetic_stem import parse_arithmetic_stem
from grading.questions import (
    ArithmeticQuestion,
    ChoiceQuestion,
    MultiChoiceQuestion,
    NumericQuestion,
    Question,
    ShortAnswerQuestion,
    TextQuestion,
    TrueFalseQuestion,
    expected_answer_chars,
)
from grading.text import is_comparison

__all__ = [
    "DEFAULT_SCRATCH_MM",
    "MAX_SCRATCH_MM",
    "AnswerRegion",
    "Bubble",
    "LayoutError",
    "MarkerBox",
    "PageLayout",
    "QuestionBlock",
    "WorksheetLayout",
    "layout_worksheet",
    "page_furniture",
]

STEM_FONT_SIZE = 11.0
LINE_HEIGHT = 16.0
MARKER_SIZE = 8 * MM
MARKER_INSET = 8 * MM
QR_SIZE = 20 * MM
CONTENT_LEFT = 15 * MM
CONTENT_RIGHT_INSET = 15 * MM
HEADER_BOTTOM = 36 * MM
FOOTER_TOP_INSET = 20 * MM
NUMBER_WIDTH = 8 * MM
GAP = 4 * MM
BLOCK_GAP = 4.5 * MM
# A worksheet whose last page would hold only a sliver is flowed again with tighter gaps.
TIGHT_BLOCK_GAP = 2.5 * MM
NEAR_EMPTY_SHARE = 0.25
# The marking instruction for choice questions, under the header on page 1 (drawn by
# errorbook.printing.worksheet when the first page leaves this room above its first block).
INSTRUCTION_H = 6 * MM
BOX_HEIGHT = 11 * MM
CHAR_WIDTH = 7 * MM
BUBBLE_D = 6 * MM
BUBBLE_PITCH = 9 * MM
STUDENT_NO_DIGITS = 8
# The working area (竖式) under a question, when the worksheet asks for one.
DEFAULT_SCRATCH_MM = 30.0
MAX_SCRATCH_MM = 60.0
SCRATCH_GAP = 1.5 * MM


class LayoutError(ValueError):
    """A question cannot be laid out (e.g. too long for one page); names the question."""


def _answer_format(q: Question) -> str:
    if isinstance(q, TextQuestion):
        if q.key.blanks[0].pinyin:
            return "pinyin"
        # A comparison's box is read by the sign reader (ocr.reading.signs), not as text.
        return "compare" if is_comparison(q) else "text"
    return {"numeric": "digits", "arithmetic": "digits", "math_expr": "math"}.get(q.kind, q.kind)


def _option_lines(q: ChoiceQuestion | MultiChoiceQuestion, width: float, math: bool
                  ) -> tuple[list[str], list[float], float]:
    """Pack options four, two or one to a line, whichever fits; returns the lines, their
    pitches and the column width."""
    items = [f"{o.label}. {o.text}" for o in q.options]
    for per_line in (4, 2):
        col = width / per_line
        if all(_width(it, math) <= col - 2 * MM for it in items):
            lines, heights = [], []
            for i in range(0, len(items), per_line):
                row = items[i:i + per_line]
                lines.append("\t".join(_single_line(it, math) for it in row))
                heights.append(max(_lines(it, col, math)[1][0] for it in row))
            return lines, heights, col
    wrapped: list[str] = []
    pitches: list[float] = []
    for it in items:
        lines, heights = _lines(it, width, math)
        wrapped.extend(lines)
        pitches.extend(heights)
    return wrapped, pitches, width


def _lines(text: str, width: float, math: bool) -> tuple[list[str], list[float]]:
    """``text`` wrapped to ``width``: the lines as stored and each line's pitch, measured
    with maths typeset (stacked fractions, ×, −, ○) when ``math``."""
    box = layout_text(text, width, STEM_FONT_SIZE, fractions=math)
    return [line_text(line) for line in box.lines], [line.height for line in box.lines]


def _single_line(text: str, math: bool) -> str:
    return line_text(layout_text(text, 1e6, STEM_FONT_SIZE, fractions=math).lines[0])


def _width(text: str, math: bool) -> float:
    """The printed width of ``text`` on one line (typeset as maths when ``math``)."""
    return layout_text(text, 1e6, STEM_FONT_SIZE, fractions=math).lines[0].width


def _is_math(q: Question) -> bool:
    return q.subject == "math"


class _Pager:
    """Flows question blocks down the content area, starting new pages as needed."""

    def __init__(self, width: float, height: float, gap: float = BLOCK_GAP,
                 first_page_room: float = 0.0) -> None:
        self.width = width
        self.height = height
        self.top = HEADER_BOTTOM
        self.bottom = height - FOOTER_TOP_INSET
        self.gap = gap
        self.pages: list[tuple[list[AnswerRegion], list[QuestionBlock]]] = [([], [])]
        self.y = self.top + first_page_room
        self.last_bottom = self.y

    def place(self, height: float, question_id: str) -> float:
        if height > self.bottom - self.top:
            raise LayoutError(f"question '{question_id}' is too long to fit on one page")
        if self.y + height > self.bottom:
            self.pages.append(([], []))
            self.y = self.top
        y = self.y
        self.y += height + self.gap
        self.last_bottom = y + height
        return y

    def near_empty_tail(self) -> bool:
        """More than one page, and the last one filled less than ``NEAR_EMPTY_SHARE``."""
        used = self.last_bottom - self.top
        return len(self.pages) > 1 and used < NEAR_EMPTY_SHARE * (self.bottom - self.top)


def page_furniture(number: int, width: float, height: float,
                   regions: list[AnswerRegion], blocks: list[QuestionBlock]) -> PageLayout:
    """One page's furniture (markers, QR, name box, number comb, seat bubbles) around
    ``regions`` and ``blocks``: the same on every kind of printed sheet."""
    m, s = MARKER_INSET, MARKER_SIZE
    markers = (
        MarkerBox(0, (m, m, m + s, m + s)),
        MarkerBox(1, (width - m - s, m, width - m, m + s)),
        MarkerBox(2, (width - m - s, height - m - s, width - m, height - m)),
        MarkerBox(3, (m, height - m - s, m + s, height - m)),
    )
    qr_x1 = width - m - s - 4 * MM
    qr_box = (qr_x1 - QR_SIZE, m, qr_x1, m + QR_SIZE)
    name_box = (CONTENT_LEFT + 12 * MM, 21 * MM, CONTENT_LEFT + 58 * MM, 29 * MM)
    digit_w = 6 * MM
    no_x0 = name_box[2] + 16 * MM
    student_no_boxes = tuple(
        (no_x0 + i * digit_w, 21 * MM, no_x0 + (i + 1) * digit_w, 29 * MM)
        for i in range(STUDENT_NO_DIGITS)
    )
    return PageLayout(number, width, height, markers, qr_box, name_box, student_no_boxes,
                      tuple(regions), tuple(blocks), seat_bubble_boxes(width, height))


def layout_worksheet(title: str, questions: Sequence[Question], page_size: str = "A4", *,
                     scratch_mm: float = 0.0) -> WorksheetLayout:
    """Lay questions out on pages, numbering them 1..n in order.

    Args:
        title: printed at the top of every page.
        questions: validated bank questions in worksheet order.
        page_size: ``A4`` or ``Letter``.
        scratch_mm: the height of a blank working area (竖式) under each written
            arithmetic question and maths word problem; 0 for none.

    Returns:
        The complete layout, ready to print and to read back.

    Raises:
        LayoutError: an unknown page size, no questions, a question taller than a page, or
            a scratch height outside 0-``MAX_SCRATCH_MM``.
    """
    if not 0 <= scratch_mm <= MAX_SCRATCH_MM:
        raise LayoutError(f"scratch space must be 0-{MAX_SCRATCH_MM:g} mm, not {scratch_mm:g}")
    if page_size not in PAGE_SIZES:
        raise LayoutError(f"unknown page size '{page_size}'; use one of {sorted(PAGE_SIZES)}")
    if not questions:
        raise LayoutError("a worksheet needs at least one question")
    width, height = PAGE_SIZES[page_size]
    room = INSTRUCTION_H if any(isinstance(q, ChoiceQuestion | MultiChoiceQuestion |
                                           TrueFalseQuestion) for q in questions) else 0.0
    pager = _flow(questions, width, height, BLOCK_GAP, room, scratch_mm)
    if pager.near_empty_tail():
        tight = _flow(questions, width, height, TIGHT_BLOCK_GAP, room, scratch_mm)
        if len(tight.pages) < len(pager.pages):
            pager = tight
    pages = tuple(
        page_furniture(i, width, height, regions, blocks)
        for i, (regions, blocks) in enumerate(pager.pages, start=1)
    )
    return WorksheetLayout(title=title, page_size=page_size, pages=pages)


def _flow(questions: Sequence[Question], width: float, height: float, gap: float,
          first_page_room: float, scratch_mm: float) -> _Pager:
    """Flow every question down the pages, ``gap`` between blocks."""
    pager = _Pager(width, height, gap, first_page_room)
    content_w = width - CONTENT_LEFT - CONTENT_RIGHT_INSET
    stem_x = CONTENT_LEFT + NUMBER_WIDTH
    right = width - CONTENT_RIGHT_INSET
    i = 0
    while i < len(questions):
        q = questions[i]
        if i + 1 < len(questions):
            left, right_w = _compact_box(q, content_w), _compact_box(questions[i + 1], content_w)
            if left and right_w:
                # Short drill items (口算) go two to a row, as on printed drill sheets.
                _place_pair(pager, (q, questions[i + 1]), i + 1, (left, right_w), content_w,
                            scratch_mm)
                i += 2
                continue
        _place_question(pager, q, i + 1, stem_x, right, content_w - NUMBER_WIDTH, scratch_mm)
        i += 1
    return pager


def _place_question(pager: _Pager, q: Question, number: int, stem_x: float, right: float,
                    avail_w: float, scratch_mm: float) -> None:
    fmt = _answer_format(q)
    if isinstance(q, ChoiceQuestion | MultiChoiceQuestion | TrueFalseQuestion):
        labels = ["T", "F"] if isinstance(q, TrueFalseQuestion) else [o.label for o in q.options]
        answer_w = len(labels) * BUBBLE_PITCH
        stem_w = avail_w - answer_w - GAP
        math = _is_math(q)
        stem_lines, heights = _lines(q.stem, stem_w, math)
        option_lines, option_heights, col_w = (([], [], 0.0) if isinstance(q, TrueFalseQuestion)
                                               else _option_lines(q, stem_w, math))
        heights += option_heights
        height = max(sum(heights), BOX_HEIGHT)
        top = pager.place(height, q.id)
        x0 = right - answer_w
        by0 = top + 1.5 * MM
        bubbles = tuple(
            Bubble(lb, (x0 + i * BUBBLE_PITCH + (BUBBLE_PITCH - BUBBLE_D) / 2, by0,
                        x0 + i * BUBBLE_PITCH + (BUBBLE_PITCH + BUBBLE_D) / 2, by0 + BUBBLE_D))
            for i, lb in enumerate(labels)
        )
        region = AnswerRegion(q.id, number, q.kind, 0, (x0, top, right, top + BUBBLE_D + 3 * MM),
                              fmt, None, bubbles)
        _add(pager, region, QuestionBlock(q.id, number, top, stem_x, tuple(stem_lines),
                                          tuple(option_lines), col_w,
                                          line_heights=tuple(heights)))
        return
    if isinstance(q, ShortAnswerQuestion):
        stem_lines, heights = _lines(q.stem, avail_w, _is_math(q))
        box_h = max(28 * MM, len(q.key.points) * 10 * MM)
        top = pager.place(sum(heights) + 2 * MM + box_h, q.id)
        by0 = top + sum(heights) + 2 * MM
        region = AnswerRegion(q.id, number, q.kind, 0, (stem_x, by0, right, by0 + box_h), fmt)
        _add(pager, region, QuestionBlock(q.id, number, top, stem_x, tuple(stem_lines),
                                          line_heights=tuple(heights)))
        return
    # Written answers: one box per blank, to the right of the stem when they fit.
    chars = expected_answer_chars(q)
    n_blanks = len(q.key.blanks) if isinstance(q, TextQuestion) else 1
    names = [f"({i + 1})" for i in range(n_blanks)]
    if isinstance(q, ArithmeticQuestion):
        stem = parse_arithmetic_stem(q.key.expression or q.stem)
        if stem.with_remainder:
            # Quotient and remainder get a box each, as children write them on paper.
            n_blanks, names = 2, ["商", "余"]
            chars = max(len(str(stem.quotient)), len(str(stem.remainder))) + 1
    char_w = CHAR_WIDTH * (1.25 if fmt in ("text", "compare") else 1.0)
    box_w = min(max(chars * char_w + 4 * MM, 24 * MM), avail_w * 0.6)
    label_w = 7 * MM if n_blanks > 1 else 0.0
    slot_w = box_w + label_w + 2 * MM
    math = _is_math(q)
    scratch_h = scratch_mm * MM if scratch_mm and _wants_scratch(q) else 0.0
    if n_blanks == 1 and avail_w - slot_w >= 70 * MM:
        stem_lines, heights = _lines(q.stem, avail_w - slot_w - GAP, math)
        height = max(sum(heights), BOX_HEIGHT)
        top = pager.place(height + scratch_h, q.id)
        box = (right - box_w, top, right, top + BOX_HEIGHT)
        _add(pager, AnswerRegion(q.id, number, q.kind, 0, box, fmt, chars),
             QuestionBlock(q.id, number, top, stem_x, tuple(stem_lines),
                           line_heights=tuple(heights),
                           scratch=_scratch_box(stem_x, top + height, right, scratch_h)))
        return
    # Several blanks (or a wide box): a row of labelled boxes under the stem, wrapping.
    stem_lines, heights = _lines(q.stem, avail_w, math)
    per_row = max(1, int((avail_w + 2 * MM) // slot_w))
    rows = -(-n_blanks // per_row)
    text_h = sum(heights)
    height = text_h + rows * (BOX_HEIGHT + 2 * MM)
    top = pager.place(height + scratch_h, q.id)
    regions: list[AnswerRegion] = []
    blank_labels: list[tuple[str, float, float]] = []
    for i in range(n_blanks):
        row, col = divmod(i, per_row)
        x = stem_x + col * slot_w
        y = top + text_h + row * (BOX_HEIGHT + 2 * MM)
        if label_w:
            blank_labels.append((names[i], x, y + BOX_HEIGHT * 0.65))
        box = (x + label_w, y, x + label_w + box_w, y + BOX_HEIGHT)
        regions.append(AnswerRegion(q.id, number, q.kind, i, box, fmt, chars))
    block = QuestionBlock(q.id, number, top, stem_x, tuple(stem_lines),
                          blank_labels=tuple(blank_labels), line_heights=tuple(heights),
                          scratch=_scratch_box(stem_x, top + height, right, scratch_h))
    page_regions, page_blocks = pager.pages[-1]
    page_regions.extend(regions)
    page_blocks.append(block)


def _compact_box(q: Question, content_w: float) -> float | None:
    """The box width of a short single-box item that fits half a line, else None."""
    if not isinstance(q, ArithmeticQuestion | NumericQuestion):
        return None
    if isinstance(q, ArithmeticQuestion) and \
            parse_arithmetic_stem(q.key.expression or q.stem).with_remainder:
        return None
    chars = expected_answer_chars(q)
    if chars > 6:
        return None
    box_w = max(chars * CHAR_WIDTH + 4 * MM, 24 * MM)
    stem_room = (content_w - GAP) / 2 - NUMBER_WIDTH - box_w - GAP
    return box_w if _width(q.stem, _is_math(q)) <= stem_room else None


def _place_pair(pager: _Pager, pair: tuple[Question, Question], first_number: int,
                box_widths: tuple[float, float], content_w: float, scratch_mm: float) -> None:
    scratch_h = scratch_mm * MM if scratch_mm and any(_wants_scratch(q) for q in pair) else 0.0
    top = pager.place(BOX_HEIGHT + scratch_h, pair[0].id)
    col_w = (content_w - GAP) / 2
    for col, (q, box_w) in enumerate(zip(pair, box_widths, strict=True)):
        x0 = CONTENT_LEFT + col * (col_w + GAP)
        right = x0 + col_w
        number = first_number + col
        box = (right - box_w, top, right, top + BOX_HEIGHT)
        stem_lines, heights = _lines(q.stem, 1e6, _is_math(q))
        _add(pager, AnswerRegion(q.id, number, q.kind, 0, box, _answer_format(q),
                                 expected_answer_chars(q)),
             QuestionBlock(q.id, number, top, x0 + NUMBER_WIDTH, tuple(stem_lines[:1]),
                           line_heights=tuple(heights[:1]),
                           scratch=_scratch_box(x0 + NUMBER_WIDTH, top + BOX_HEIGHT, right,
                                                scratch_h if _wants_scratch(q) else 0.0)))


def _wants_scratch(q: Question) -> bool:
    """Questions worked on paper first (竖式): written arithmetic, and maths word problems
    (a numeric answer to a stem that asks a question, not a fill-in conversion)."""
    if isinstance(q, ArithmeticQuestion):
        return True
    return isinstance(q, NumericQuestion) and q.subject == "math" and \
        q.stem.rstrip().endswith(("？", "?"))


def _scratch_box(x0: float, top: float, right: float, height: float
                 ) -> tuple[float, float, float, float] | None:
    """The working area under a question: ``height`` tall from ``top`` (less a small gap
    above and below), or None when there is none."""
    if height <= 0:
        return None
    return (x0, top + SCRATCH_GAP, right, top + height - SCRATCH_GAP)


def _add(pager: _Pager, region: AnswerRegion, block: QuestionBlock) -> None:
    regions, blocks = pager.pages[-1]
    regions.append(region)
    blocks.append(block)
