"""The page furniture in the school's language: a Chinese school's pages say 姓名, 第 1 / 2
页 and 本页空白; an English-speaking school's say Name, Page 1 of 2 and (This page is
blank), with the marking instruction, the working area and the seat row in English too."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageCode, format_page_code
from errorbook.printing.language import print_words
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question
from tests.errorbook.test_print_visual import _bank, _check_page

ZH_FURNITURE = ("姓名", "学号", "页", "本页空白", "草稿", "座号", "十位", "个位", "选择题", "商", "余")


def _sheet() -> list[Question]:
    bank, _ = _bank()
    stems = ("47 ÷ 6 = （ ）……（ ）", "645 - 321 =")
    return [q for q in bank if q.stem in stems] + \
        [next(q for q in bank if q.kind == "choice" and q.subject == "math")]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_page_furniture_is_in_the_school_language(language: str) -> None:
    questions = _sheet()
    layout = layout_worksheet("Unit 3", questions, scratch_mm=25)
    codes = tuple(format_page_code(PageCode(9, p.number)) for p in layout.pages)
    copies = [PrintedCopy(codes, seat_bubbles=True, language=language)]
    doc = pdfium.PdfDocument(render_worksheet_pdf(layout, copies, duplex=True))
    assert len(doc) == 2  # one page and its padding
    page = re.sub(r"\s+", " ", doc[0].get_textpage().get_text_range())
    pad = doc[1].get_textpage().get_text_range()
    words = print_words(language)
    for label in (words.name, words.number, words.scratch, words.seat, words.tens,
                  words.units, words.page_number(1, 1)):
        assert label in page, (language, label)
    assert re.sub(r"\s", "", words.choice_instruction) in re.sub(r"\s", "", page)
    assert words.blank_page in pad
    stems = "".join(q.stem + "".join(getattr(o, "text", "") for o in getattr(q, "options", ()))
                    for q in questions)
    if language == "en":
        # Nothing Chinese but the questions themselves (the bank's own text).
        furniture = page
        for ch in set(stems):
            furniture = furniture.replace(ch, "")
        assert not re.search(r"[\u4e00-\u9fff]", furniture), furniture
        assert not any(w in pad for w in ZH_FURNITURE)
        assert re.search(r"\bQ\b", page)  # the quotient box's label
        assert re.search(r"\bR\b", page)  # the remainder box's label
    else:
        assert not re.search(r"\b(Name|Page|Working|Seat)\b", page)
    _check_page(doc[0], child=language == "zh", allowed_words={"unit"}, where=language)
    # The seat row's labels stay clear of the corner markers (which end 16 mm in).
    tp = doc[0].get_textpage()
    h = doc[0].get_size()[1]
    for i in range(tp.count_chars()):
        left, bottom, _, _ = tp.get_charbox(i)
        if h - bottom > h - 20 * 2.8346:  # the footer strip
            assert left > 18 * 2.8346, tp.get_text_range(i, 1)  # a 2 mm gap at least


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown print language"):
        print_words("fr")
