"""Maths as a textbook prints it on worksheets: stacked fractions, ×, −, ○, and the
optional working area for 竖式.

Layouts are made by the product code and printed PDFs read back with pypdfium2: the
character boxes say where each digit landed (a numerator above its denominator, no ``/``
between them), that no two characters overlap (a stacked fraction's line is measured
taller), and that nothing falls into an answer box or a working area.
"""

from __future__ import annotations

from dataclasses import replace

import pypdfium2 as pdfium
import pytest

from errorbook.contract import PageCode, WorksheetLayout, format_page_code, page_layout_hash
from errorbook.printing.layout import LayoutError, layout_worksheet
from errorbook.printing.mathtext import typeset_math
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question
from tests.errorbook.test_print_visual import _bank, _chars, _check_page, _question_words


def _by_stem(*stems: str) -> list[Question]:
    bank, _ = _bank()
    found = {q.stem: q for q in bank}
    return [found[s] for s in stems]


FRACTIONS = ("1/5 + 2/5 =", "6/7 - 2/7 =", "1 - 3/5 =",
             "在括号里填上“>”“<”或“=”：3/7（ ）5/7")
WORD_PROBLEM = "修一条路，第一天修了全长的 2/9，第二天修了全长的 5/9。两天一共修了全长的几分之几？"


def _print(layout: WorksheetLayout) -> pdfium.PdfDocument:
    copy = PrintedCopy(tuple(format_page_code(PageCode(3, p.number)) for p in layout.pages))
    return pdfium.PdfDocument(render_worksheet_pdf(layout, [copy], duplex=False))


def test_typeset_math_signs() -> None:
    assert typeset_math("72 - 29 =") == "72 \u2212 29 ="
    assert typeset_math("6*8=") == "6 × 8="
    assert typeset_math("(45 - 18) ÷ 3 =") == "(45 \u2212 18) ÷ 3 ="
    assert typeset_math("x - 18 = 25") == "x \u2212 18 = 25"
    assert typeset_math("在括号里填上“>”“<”或“=”：3/7（ ）5/7") == \
        "在○里填上“>”“<”或“=”：3/7 ○ 5/7"
    # Words, dates and fill-in brackets that are not a comparison keep what they have.
    for kept in ("T-shirt", "生成日期 2026-01-05", "4分米 = （ ）厘米", "17 ÷ 5 = （ ）……（ ）"):
        assert typeset_math(kept) == kept
    for s in (*FRACTIONS, "6*8=", "-3 + 5"):
        assert typeset_math(typeset_math(s)) == typeset_math(s)  # idempotent


def test_fractions_are_stacked_and_lines_measured_taller() -> None:
    questions = _by_stem(*FRACTIONS, WORD_PROBLEM, "72 - 29 =")
    layout = layout_worksheet("分数", questions)
    blocks = {b.question_id: b for p in layout.pages for b in p.blocks}
    plain = blocks[questions[-1].id]
    frac = blocks[questions[0].id]
    assert frac.line_heights[0] > plain.line_heights[0]  # room above and below the bar
    doc = _print(layout)
    page = doc[0]
    text = page.get_textpage().get_text_range()
    for inline in ("1/5", "2/5", "3/7", "5/7", "2/9", "-"):
        assert inline not in text, f"{inline!r} printed inline"
    assert "\u2212" in text
    assert "○" in text
    assert "在○里" in text
    chars = _chars(page)
    # In every fraction question, some digit stands above another digit (a numerator
    # over its denominator), horizontally overlapping it.
    lay = layout.pages[0]
    for q in (*questions[:4], questions[4]):
        block = blocks[q.id]
        digits = [box for ch, box in chars if ch.isdigit()
                  and block.top - 2 <= box[1] and box[3] <= block.top + sum(block.line_heights) + 2
                  and box[0] >= block.stem_x - 1 and box[2] < lay.width - 45 * 2.8346]
        stacked = [(a, b) for a in digits for b in digits
                   if a[3] <= b[1] + 0.5 and min(a[2], b[2]) - max(a[0], b[0]) > 1.0]
        assert stacked, f"{q.stem}: no stacked fraction"
    # No two characters overlap (stacked digits included), and nothing leaves the page.
    for i, (a, ba) in enumerate(chars):
        for b, bb in chars[i + 1:]:
            overlap_x = min(ba[2], bb[2]) - max(ba[0], bb[0])
            overlap_y = min(ba[3], bb[3]) - max(ba[1], bb[1])
            assert overlap_x <= 0.6 or overlap_y <= 0.6, f"{a!r} overlaps {b!r}"
    _check_page(page, child=True, allowed_words=_question_words(questions), where="fractions")


def test_an_older_layout_prints_as_typed() -> None:
    """A layout stored before typesetting has no line pitches: its stems print inline at
    the old fixed pitch (its boxes never move)."""
    questions = _by_stem(*FRACTIONS[:2])
    layout = layout_worksheet("分数", questions)
    old_pages = tuple(replace(p, blocks=tuple(
        replace(b, stem_lines=(q.stem,), line_heights=()) for b, q in zip(
            p.blocks, questions, strict=True))) for p in layout.pages)
    old = WorksheetLayout.from_dict(replace(layout, pages=old_pages).to_dict())
    assert all(not b.line_heights for p in old.pages for b in p.blocks)
    text = _print(old)[0].get_textpage().get_text_range()
    assert "1/5" in text


def test_scratch_space_under_written_maths_only() -> None:
    questions = _by_stem("645 - 321 =", "523 - 278 =", WORD_PROBLEM, "4分米 = （ ）厘米",
                         "47 ÷ 6 = （ ）……（ ）")
    bank, _ = _bank()
    questions.append(next(q for q in bank if q.kind == "choice"))
    none = layout_worksheet("竖式", questions)
    assert all(b.scratch is None for p in none.pages for b in p.blocks)
    layout = layout_worksheet("竖式", questions, scratch_mm=30)
    blocks = {b.question_id: b for p in layout.pages for b in p.blocks}
    with_room = {q.stem for q in questions if blocks[q.id].scratch is not None}
    assert with_room == {"645 - 321 =", "523 - 278 =", WORD_PROBLEM, "47 ÷ 6 = （ ）……（ ）"}
    for page in layout.pages:
        for b in page.blocks:
            if b.scratch is None:
                continue
            x0, y0, x1, y1 = b.scratch
            assert y1 - y0 == pytest.approx(30 * 2.8346 - 2 * 1.5 * 2.8346, abs=0.1)
            for r in page.regions:  # never over an answer box: the reader crops those
                rx0, ry0, rx1, ry1 = r.box
                assert rx1 <= x0 or x1 <= rx0 or ry1 <= y0 or y1 <= ry0, r.number
    # Stored and read back, the working areas print again; the hash covers what is read.
    again = WorksheetLayout.from_dict(layout.to_dict())
    assert again.pages[0].blocks[0].scratch == layout.pages[0].blocks[0].scratch
    assert page_layout_hash(again.pages[0]) == page_layout_hash(layout.pages[0])
    doc = _print(layout)
    for i in range(len(doc)):
        chars = _chars(doc[i])
        lp = layout.pages[i]
        for ch, (cx0, cy0, cx1, cy1) in chars:
            for b in lp.blocks:
                if b.scratch is None:
                    continue
                x0, y0, x1, y1 = b.scratch
                inside = x0 < (cx0 + cx1) / 2 < x1 and y0 + 5 * 2.8346 < (cy0 + cy1) / 2 < y1
                assert not inside, f"{ch!r} printed in the working area of q{b.number}"
        _check_page(doc[i], child=True, allowed_words=_question_words(questions),
                    where=f"scratch p{i + 1}")
    assert "草稿" in doc[0].get_textpage().get_text_range()
    with pytest.raises(LayoutError, match="scratch"):
        layout_worksheet("竖式", questions, scratch_mm=500)


@pytest.mark.parametrize("scratch_mm", [0.0, 30.0])
def test_the_whole_sample_bank_prints_without_overlap(scratch_mm: float) -> None:
    """Every bank question, twenty to a worksheet: no two characters overlap, none falls
    into an answer box or a working area, nothing leaves the margins."""
    bank, _ = _bank()
    for start in range(0, len(bank), 20):
        questions = bank[start:start + 20]
        layout = layout_worksheet("题库", questions, scratch_mm=scratch_mm)
        doc = _print(layout)
        for i in range(len(doc)):
            where = f"questions {start + 1}-{start + len(questions)} p{i + 1}"
            _check_page(doc[i], child=True, allowed_words=_question_words(questions),
                        where=where)
            chars = _chars(doc[i])
            lp = layout.pages[i]
            areas = [r.box for r in lp.regions if not r.bubbles] + \
                [b.scratch for b in lp.blocks if b.scratch is not None]
            for ch, (x0, y0, x1, y1) in chars:
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                for ax0, ay0, ax1, ay1 in areas:
                    # A working area's own label sits in its top-left corner.
                    inside = ax0 < cx < ax1 and ay0 + 5 * 2.8346 < cy < ay1
                    assert not inside, f"{where}: {ch!r} inside a box or working area"
            for k, (a, ba) in enumerate(chars):
                for b, bb in chars[k + 1:]:
                    ox = min(ba[2], bb[2]) - max(ba[0], bb[0])
                    oy = min(ba[3], bb[3]) - max(ba[1], bb[1])
                    assert ox <= 0.6 or oy <= 0.6, f"{where}: {a!r} overlaps {b!r}"
