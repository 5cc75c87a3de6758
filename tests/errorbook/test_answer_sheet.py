"""Answer-sheet (答题卡) layout and print: bubble rows only, in columns, across pages.

The layout is checked against what the reader needs (every row inside the content area,
no row's crop reaching a neighbour's bubbles, numbers 1..n in order); the print is
rasterised and its text extracted in both languages.
"""

from __future__ import annotations

import itertools
from typing import Any

import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageCode, WorksheetLayout, format_page_code, is_number_grid
from errorbook.printing.answer_sheet import (
    MAX_ANSWER_SHEET_QUESTIONS,
    AnswerSheetError,
    layout_answer_sheet,
)
from errorbook.printing.geometry import MM
from errorbook.printing.layout import (
    CONTENT_LEFT,
    CONTENT_RIGHT_INSET,
    FOOTER_TOP_INSET,
    HEADER_BOTTOM,
    STUDENT_NO_DIGITS,
    LayoutError,
)
from errorbook.printing.worksheet import PrintedCopy, has_instruction_room, render_worksheet_pdf
from grading.questions import ChoiceQuestion, MultiChoiceQuestion, Question
from tests.support.samples import sample_questions

# The scan reader crops a region with this margin around its box (ocr.pipeline MARGIN_PT
# is 8 pt); a neighbour's disc must stay outside it.
READER_MARGIN_PT = 8.0


def _bubbled(n: int) -> list[Question]:
    """``n`` distinct bubbled questions cycling through the bank's choice, multi-choice
    and true/false questions (ids made unique)."""
    bank = [q for q in sample_questions() if q.kind in ("choice", "multi_choice", "true_false")]
    return [bank[i % len(bank)].model_copy(update={"id": f"as-{i + 1:03d}"}) for i in range(n)]


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(("count", "page_size", "pages"),
                         [(1, "A4", 1), (37, "A4", 1), (100, "A4", 2), (100, "Letter", 2)])
def test_rows_fill_columns_then_pages_in_order(count: int, page_size: str, pages: int) -> None:
    questions = _bubbled(count)
    layout = layout_answer_sheet("答题卡", questions, page_size)
    assert len(layout.pages) == pages
    regions = [r for p in layout.pages for r in p.regions]
    assert [r.number for r in regions] == list(range(1, count + 1))
    assert [r.question_id for r in regions] == [q.id for q in questions]
    for page in layout.pages:
        # The student-number grid: a column of ten under each box of the comb.
        assert len(page.seat_bubbles) == 10 * STUDENT_NO_DIGITS
        assert is_number_grid(page.seat_bubbles)
        for place, comb_box in enumerate(page.student_no_boxes):
            column = [b for p, _, b in page.seat_bubbles if p == place]
            assert all(comb_box[0] < (b[0] + b[2]) / 2 < comb_box[2] for b in column)
            assert all(b[1] > comb_box[3] for b in column)
        grid = (min(b[0] for _, _, b in page.seat_bubbles) - READER_MARGIN_PT,
                min(b[1] for _, _, b in page.seat_bubbles) - READER_MARGIN_PT,
                max(b[2] for _, _, b in page.seat_bubbles) + READER_MARGIN_PT,
                max(b[3] for _, _, b in page.seat_bubbles) + READER_MARGIN_PT)
        assert grid[3] < page.height - FOOTER_TOP_INSET
        assert not any(b.stem_lines for b in page.blocks)  # numbers only, no stems
        for r in page.regions:
            q = questions[r.number - 1]
            want = ([o.label for o in q.options]
                    if isinstance(q, ChoiceQuestion | MultiChoiceQuestion) else ["T", "F"])
            assert [b.label for b in r.bubbles] == want
            assert r.kind == r.answer_format == q.kind
            x0, y0, x1, y1 = r.box
            assert x0 >= CONTENT_LEFT
            assert x1 <= page.width - CONTENT_RIGHT_INSET
            assert y0 >= HEADER_BOTTOM
            assert y1 <= page.height - FOOTER_TOP_INSET
            for b in r.bubbles:
                assert _overlaps(b.box, r.box)
            assert not _overlaps(grid, r.box), r.number  # rows clear of the grid's crops
            # No neighbour's disc inside this row's crop.
            crop = (x0 - READER_MARGIN_PT, y0 - READER_MARGIN_PT,
                    x1 + READER_MARGIN_PT, y1 + READER_MARGIN_PT)
            for other in page.regions:
                if other is not r:
                    assert not any(_overlaps(crop, b.box) for b in other.bubbles), \
                        (r.number, other.number)
    # Page 1 keeps the room for the marking instruction.
    assert has_instruction_room(layout, layout.pages[0])


def test_a_full_a4_page_holds_three_columns_the_grid_shortening_one() -> None:
    layout = layout_answer_sheet("答题卡", _bubbled(100))
    first = layout.pages[0]
    assert len(first.regions) == 56
    assert len({round(r.box[0]) for r in first.regions}) == 3
    assert len(layout.pages[1].regions) == 44
    # Rows of one column are grouped in fives: a wider gap after every fifth row.
    col = [r for r in first.regions if r.box[0] == first.regions[0].box[0]]
    gaps = [round((b.box[1] - a.box[1]) / MM, 1) for a, b in itertools.pairwise(col)]
    assert gaps[:5] == [11.0, 11.0, 11.0, 11.0, 14.0]


def test_layout_round_trips_through_json() -> None:
    layout = layout_answer_sheet("答题卡", _bubbled(12))
    assert WorksheetLayout.from_dict(layout.to_dict()) == layout


def test_only_bubbled_questions_fit() -> None:
    mixed = [*_bubbled(3), *[q for q in sample_questions() if q.kind == "numeric"][:2]]
    with pytest.raises(AnswerSheetError) as err:
        layout_answer_sheet("答题卡", mixed)
    assert err.value.question_ids == tuple(q.id for q in mixed[3:])
    assert "only choice, multi-choice and true/false" in str(err.value)
    with pytest.raises(LayoutError, match="at most 100"):
        layout_answer_sheet("答题卡", _bubbled(MAX_ANSWER_SHEET_QUESTIONS + 1))
    with pytest.raises(LayoutError, match="at least one"):
        layout_answer_sheet("答题卡", [])
    with pytest.raises(LayoutError, match="page size"):
        layout_answer_sheet("答题卡", _bubbled(2), "A3")


def _text(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


@pytest.mark.parametrize(("language", "words"), [
    ("zh", ["姓名", "学号", "填涂学号", "选择题、判断题", "第 1 / 2 页"]),
    ("en", ["Name", "No.", "Fill No.", "Choices and true/false", "Page 1 of 2"]),
])
def test_prints_numbers_and_furniture_in_the_school_language(language: str,
                                                             words: list[Any]) -> None:
    layout = layout_answer_sheet("三年级 第一单元", _bubbled(70))
    codes = tuple(format_page_code(PageCode(9, p.number)) for p in layout.pages)
    pdf = render_worksheet_pdf(layout, [PrintedCopy(codes, seat_bubbles=True,
                                                    language=language)], duplex=False)
    pages = _text(pdf)
    assert len(pages) == 2
    for word in words:
        assert word in pages[0], word
    split = len(layout.pages[0].regions)
    for n in (1, split):
        assert f"{n}." in pages[0]
    assert "70." in pages[1]
    assert f"{split}." not in pages[1]
