"""Answer-sheet (答题卡) layout: numbered bubble rows only, packed in columns.

An answer sheet carries no stems: the questions are on a paper the school already has (or
on the board); the sheet holds, for each of the worksheet's questions, its number and a
row of bubbles (A-D, A-E ... as the question's options, √/× for true/false), in columns
down the page, in groups of :data:`GROUP_ROWS` as printed answer sheets are. Under the
header's student-number comb hangs a student-number grid (学号填涂: a column of ⓪-⑨ under
each box, ``errorbook.contract.number_grid_boxes``), stored where a worksheet keeps its
seat row (``PageLayout.seat_bubbles``) and read by the same reader, on every page, so
any page of an anonymous copy tells whose it is; the rows of the column under it start
below it. Everything else is the worksheet's page furniture (the four markers, the QR
page code, the name box and the comb, the marking instruction on page 1). So a printed
answer sheet is read, graded, reviewed and reported exactly as a worksheet's choice
questions are: the bubbles are the same size and pitch as a worksheet's, and the rows
are far enough apart that a row's crop (its box and the reader's margin) never holds a
neighbour's bubble.

Only bubbled questions fit on an answer sheet: :class:`AnswerSheetError` names any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from errorbook.contract import (
    SEAT_BUBBLE_D,
    SEAT_BUBBLE_PITCH,
    AnswerRegion,
    Bubble,
    QuestionBlock,
    WorksheetLayout,
    number_grid_boxes,
)
from errorbook.printing.geometry import MM, PAGE_SIZES
from errorbook.printing.layout import (
    BUBBLE_D,
    BUBBLE_PITCH,
    CONTENT_LEFT,
    CONTENT_RIGHT_INSET,
    FOOTER_TOP_INSET,
    HEADER_BOTTOM,
    INSTRUCTION_H,
    STEM_FONT_SIZE,
    STUDENT_NO_DIGITS,
    LayoutError,
    page_furniture,
)
from grading.questions import (
    ChoiceQuestion,
    MultiChoiceQuestion,
    Question,
    TrueFalseQuestion,
)

__all__ = ["ANSWER_SHEET_KINDS", "GROUP_ROWS", "MAX_ANSWER_SHEET_QUESTIONS", "AnswerSheetError",
           "layout_answer_sheet"]

# The question kinds an answer sheet holds: those answered by filling a bubble.
ANSWER_SHEET_KINDS = ("choice", "multi_choice", "true_false")
MAX_ANSWER_SHEET_QUESTIONS = 100
# A row: the bubbles' box is BUBBLE_D + 3 mm tall (as on a worksheet); 11 mm from row to
# row leaves 2 mm between boxes, more than the reader's crop margin needs to keep a
# neighbour's discs out (its discs start 1.5 mm into their box).
ROW_PITCH = 11 * MM
# Rows in fives with a little air between, as printed answer sheets group them.
GROUP_ROWS = 5
GROUP_GAP = 3 * MM
NUMBER_W = 10 * MM
COLUMN_GAP = 6 * MM
# The student-number grid hangs under the header's comb, one column under each box, from
# this far below the top of the content area; rows of a column it overlaps start
# GRID_GAP under it (more than the reader's crop margin).
GRID_TOP = 1.5 * MM
GRID_GAP = 4 * MM


class AnswerSheetError(LayoutError):
    """A question an answer sheet cannot hold (not a choice, multi-choice or true/false).

    Attributes:
        question_ids: the offending questions' bank ids, in worksheet order.
    """

    def __init__(self, message: str, question_ids: Sequence[str]) -> None:
        super().__init__(message)
        self.question_ids = tuple(question_ids)


def _labels(q: Question) -> list[str]:
    if isinstance(q, TrueFalseQuestion):
        return ["T", "F"]
    assert isinstance(q, ChoiceQuestion | MultiChoiceQuestion)
    return [o.label for o in q.options]


def _grid(comb: tuple[tuple[float, float, float, float], ...], top: float
          ) -> tuple[tuple[int, int, tuple[float, float, float, float]], ...]:
    """The student-number grid under the comb's boxes, its digit-0 row at ``top``."""
    centre = (comb[0][0] + comb[0][2]) / 2
    return number_grid_boxes(centre - SEAT_BUBBLE_D / 2, top, len(comb))


def _row_tops(top: float, bottom: float) -> list[float]:
    """The tops of every row a column holds between ``top`` and ``bottom``."""
    tops: list[float] = []
    y = top
    while y + BUBBLE_D + 3 * MM <= bottom:
        tops.append(y)
        y += ROW_PITCH + (GROUP_GAP if (len(tops)) % GROUP_ROWS == 0 else 0.0)
    return tops


def layout_answer_sheet(title: str, questions: Sequence[Question], page_size: str = "A4"
                        ) -> WorksheetLayout:
    """Lay out an answer sheet: a numbered bubble row per question, in columns.

    Questions are numbered 1..n in order and fill a column top to bottom, then the next
    column, then the next page; every column is as wide as the widest row (the question
    with the most options), so the bubbles of one letter line up down the page.

    Args:
        title: printed at the top of every page.
        questions: validated bank questions in worksheet order, each a choice,
            multi-choice or true/false question.
        page_size: ``A4`` or ``Letter``.

    Returns:
        The layout: page furniture as on a worksheet, one bubbled region per question,
        and a block per question that prints only its number.

    Raises:
        AnswerSheetError: a question that is not bubbled.
        LayoutError: an unknown page size, no questions, more than
            :data:`MAX_ANSWER_SHEET_QUESTIONS`, or a row too wide for the page.
    """
    if page_size not in PAGE_SIZES:
        raise LayoutError(f"unknown page size '{page_size}'; use one of {sorted(PAGE_SIZES)}")
    if not questions:
        raise LayoutError("an answer sheet needs at least one question")
    if len(questions) > MAX_ANSWER_SHEET_QUESTIONS:
        raise LayoutError(f"an answer sheet holds at most {MAX_ANSWER_SHEET_QUESTIONS} "
                          f"questions, not {len(questions)}")
    others = [q for q in questions if q.kind not in ANSWER_SHEET_KINDS]
    if others:
        listed = ", ".join(f"'{q.id}' ({q.kind})" for q in others[:10])
        raise AnswerSheetError(
            f"an answer sheet holds only choice, multi-choice and true/false questions; "
            f"not {listed}", [q.id for q in others])
    width, height = PAGE_SIZES[page_size]
    content_w = width - CONTENT_LEFT - CONTENT_RIGHT_INSET
    widest = max(len(_labels(q)) for q in questions)
    col_w = NUMBER_W + widest * BUBBLE_PITCH
    columns = int((content_w + COLUMN_GAP) // (col_w + COLUMN_GAP))
    if columns < 1:
        raise LayoutError(f"a row of {widest} bubbles is too wide for a {page_size} page")
    # Columns share the width left over, so the sheet fills the page evenly.
    pitch = col_w + (content_w - columns * col_w) / max(columns - 1, 1) if columns > 1 \
        else col_w
    comb = page_furniture(1, width, height, [], []).student_no_boxes
    assert len(comb) == STUDENT_NO_DIGITS
    bottom = height - FOOTER_TOP_INSET
    pages: list[tuple[list[AnswerRegion], list[QuestionBlock]]] = []
    grids = []
    i = 0
    while i < len(questions):
        # Page 1 keeps room under the header for the marking instruction, as a worksheet
        # does; every page carries the grid, so any page of a copy tells whose it is.
        top = HEADER_BOTTOM + (INSTRUCTION_H if not pages else 0.0)
        grid = _grid(comb, top + GRID_TOP)
        grid_x0 = min(b[0] for _, _, b in grid) - GRID_GAP
        grid_x1 = max(b[2] for _, _, b in grid) + GRID_GAP
        grid_y1 = top + GRID_TOP + 9 * SEAT_BUBBLE_PITCH + SEAT_BUBBLE_D + GRID_GAP
        grids.append(grid)
        regions: list[AnswerRegion] = []
        blocks: list[QuestionBlock] = []
        for col in range(columns):
            x = CONTENT_LEFT + col * pitch
            under_grid = x < grid_x1 and grid_x0 < x + col_w
            for top_y in _row_tops(grid_y1 if under_grid else top, bottom):
                if i == len(questions):
                    break
                region, block = _row(questions[i], i + 1, x, top_y)
                regions.append(region)
                blocks.append(block)
                i += 1
        pages.append((regions, blocks))
    return WorksheetLayout(title=title, page_size=page_size, pages=tuple(
        replace(page_furniture(n, width, height, regions, blocks), seat_bubbles=grid)
        for n, ((regions, blocks), grid) in enumerate(zip(pages, grids, strict=True),
                                                      start=1)))


def _row(q: Question, number: int, x: float, top: float) -> tuple[AnswerRegion, QuestionBlock]:
    """One question's number and bubbles, the bubbles starting ``NUMBER_W`` right of ``x``."""
    labels = _labels(q)
    x0 = x + NUMBER_W
    by0 = top + 1.5 * MM
    bubbles = tuple(
        Bubble(lb, (x0 + k * BUBBLE_PITCH + (BUBBLE_PITCH - BUBBLE_D) / 2, by0,
                    x0 + k * BUBBLE_PITCH + (BUBBLE_PITCH + BUBBLE_D) / 2, by0 + BUBBLE_D))
        for k, lb in enumerate(labels))
    right = x0 + len(labels) * BUBBLE_PITCH
    region = AnswerRegion(q.id, number, q.kind, 0, (x0, top, right, top + BUBBLE_D + 3 * MM),
                          q.kind, None, bubbles)
    # The number prints right-aligned just left of the bubbles (the renderer puts it at
    # ``stem_x`` less 1.5 mm), its baseline a third of the text height under the discs'
    # centre line so the digits sit level with them.
    centre = by0 + BUBBLE_D / 2
    block_top = centre + STEM_FONT_SIZE * 0.35 - STEM_FONT_SIZE
    return region, QuestionBlock(q.id, number, block_top, x0, ())
