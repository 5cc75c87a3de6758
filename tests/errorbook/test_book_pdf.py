"""Error books render, paginate duplex-safely and read back where the scanner needs them.

PDFs are rasterised with pypdfium2 (the service's renderer) at 120 dpi; QR codes are read
with zxing-cpp and the practice pages go through the reader's own page identification and
marker alignment (``ocr.identify``, ``ocr.align``), so a practice page that the scanner
could not read fails here.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import TypeAdapter

from errorbook.contract import parse_page_code
from errorbook.printing.book.model import (
    BookEntry,
    BookOptions,
    BookSummary,
    ClassCover,
    PracticeSheet,
)
from errorbook.printing.book.pdf import render_answer_key, render_class_books, render_student_book
from errorbook.printing.book.style import CONTENT_BOTTOM_INSET, MARGIN_X
from errorbook.printing.book.text import layout_text
from errorbook.printing.geometry import MM
from grading.questions import Question
from ocr.align import align_with_markers, detect_markers
from ocr.identify import identify_page
from simulation.books import demo_book, demo_crop_png
from tests.support.samples import SAMPLES

DPI = 120
PX = DPI / 72.0
_Q = TypeAdapter(Question)
FOOTER = re.compile(r"(\S+)\s+·\s+第 (\d+) / (\d+) 页")


@lru_cache(maxsize=1)
def _bank() -> tuple[list[Any], dict[str, str]]:
    data = json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))
    kps = {k["code"]: k["name_zh"] for k in data["knowledge_points"]}
    return [_Q.validate_python(q) for q in data["questions"]], kps


def _book(i: int, entries: int, practice: int = 12) -> Any:
    bank, kps = _bank()
    return demo_book(bank, student_index=i, seed=3, entries=entries, practice=practice,
                     kp_names=kps)


def _texts(doc: pdfium.PdfDocument) -> list[str]:
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


def _raster(page: pdfium.PdfPage) -> np.ndarray:
    return np.asarray(page.render(scale=PX, grayscale=True).to_pil())


@pytest.fixture(scope="module")
def class_set() -> tuple[list[Any], bytes]:
    # 1, 7 and 13 cards: one, two and three-or-more review pages; one book has no practice.
    books = [_book(0, 1), _book(1, 7), _book(2, 13, practice=0)]
    pdf = render_class_books(books, class_name="三年级(2)班",
                             cover=ClassCover(teacher_name="李老师", note="周五前交回练习页"))
    return books, pdf


def _sections(texts: list[str]) -> list[tuple[int, str, int, int]]:
    """(0-based page, owner, n, N) from every page's footer."""
    out = []
    for i, t in enumerate(texts):
        m = FOOTER.findall(t)
        assert m, f"page {i + 1} has no footer"
        owner, n, total = m[-1]
        out.append((i, owner, int(n), int(total)))
    return out


def test_class_set_sections_start_on_odd_pages(class_set: tuple[list[Any], bytes]) -> None:
    books, pdf = class_set
    doc = pdfium.PdfDocument(pdf)
    texts = _texts(doc)
    assert len(doc) % 2 == 0
    footers = _sections(texts)
    starts = {owner: i + 1 for i, owner, n, _ in footers if n == 1}
    assert set(starts) == {"三年级(2)班", *(b.student_name for b in books)}
    assert all(p % 2 == 1 for p in starts.values()), starts
    # Every section numbers its own pages 1..N, N even (fills whole sheets).
    for owner, first in starts.items():
        run = [f for f in footers if f[1] == owner]
        assert [f[2] for f in run] == list(range(1, len(run) + 1))
        assert all(f[3] == len(run) for f in run)
        assert len(run) % 2 == 0
        assert run[0][0] + 1 == first
    # The cover's table says where each book starts.
    cover = "".join(t for (_, owner, _, _), t in zip(footers, texts, strict=True)
                    if owner == "三年级(2)班")
    for b in books:
        row = re.search(re.escape(b.student_name) + r".*?(\d+)\s*$", cover, re.M)
        assert row, b.student_name
        assert int(row.group(1)) == starts[b.student_name], b.student_name
    assert "李老师" in cover
    assert "周五前交回练习页" in cover


def test_cards_are_whole_and_texts_present(class_set: tuple[list[Any], bytes]) -> None:
    books, pdf = class_set
    doc = pdfium.PdfDocument(pdf)
    texts = _texts(doc)
    for b in books:
        pages = [t for t, (_, owner, _, _) in zip(texts, _sections(texts), strict=True)
                 if owner == b.student_name]
        joined = "".join(pages)
        assert b.title in joined
        for e in b.entries:
            assert e.kp_name_zh in joined
        # A card split over two pages would leave a page with a 你的答案 but no 订正 area.
        for t in pages:
            assert t.count("你的答案") == t.count("订正（在这里独立重做一遍）")
            # The card asks for a redo: its answer is not on the same page.
            assert "正确答案" not in t
            if "你的答案" in t:
                assert "参考答案" not in t
        assert joined.count("你的答案") == len(b.entries)
        # The answers and 解析 are at the back, by card number.
        key = joined[joined.index("参考答案"):]
        assert "你的答案" not in key
        for e in b.entries:
            assert f"第 {e.number} 题" in key
        assert key.count("解析：") == len(b.entries)


def test_practice_pages_read_back(class_set: tuple[list[Any], bytes]) -> None:
    books, pdf = class_set
    doc = pdfium.PdfDocument(pdf)
    codes = {code: (b, i) for b in books if b.practice
             for i, code in enumerate(b.practice.page_codes)}
    seen = set()
    for k in range(len(doc)):
        img = _raster(doc[k])
        found = zxingcpp.read_barcodes(img)
        if not found:
            continue
        assert len(found) == 1, f"page {k + 1}: {len(found)} QR codes"
        text = found[0].text
        assert text in codes, f"page {k + 1}: unexpected QR {text!r}"
        book, i = codes[text]
        layout_page = book.practice.layout.pages[i]
        ident, upright = identify_page(img)
        assert ident.status == "identified"
        assert ident.code == parse_page_code(text)
        markers = [(m.marker_id, m.box) for m in layout_page.markers]
        al = align_with_markers(upright, markers)
        assert al is not None, al
        assert al.ok, al
        assert al.error_mm < 0.5, al
        corners = detect_markers(upright)
        for m in layout_page.markers:
            x0, y0, x1, y1 = (v * PX for v in m.box)
            want = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            assert np.abs(corners[m.marker_id] - want).max() <= 1.0 * MM * PX
        page_text = doc[k].get_textpage().get_text_range()
        assert book.student_name in page_text
        assert book.practice.layout.title in page_text
        seen.add(text)
    assert seen == set(codes), "a practice page is missing or has no readable QR"


def test_nothing_outside_the_margins(class_set: tuple[list[Any], bytes]) -> None:
    _, pdf = class_set
    doc = pdfium.PdfDocument(pdf)
    for k in range(len(doc)):
        page = doc[k]
        w, h = page.get_size()
        tp = page.get_textpage()
        text = tp.get_text_range()
        practice = bool(zxingcpp.read_barcodes(_raster(page)))
        below = []
        for i in range(tp.count_chars()):
            if not text[i:i + 1].strip():
                continue
            left, bottom, right, top = tp.get_charbox(i)
            assert left >= MARGIN_X - 1, (k + 1, text[i])
            assert right <= w - MARGIN_X + 1, (k + 1, text[i])
            assert bottom >= 8 * MM, (k + 1, text[i])
            assert top <= h - 8 * MM, (k + 1, text[i])
            if bottom < CONTENT_BOTTOM_INSET:
                below.append(text[i])
        if not practice:
            # Only the footer may sit below the content area.
            footer = FOOTER.findall(text)[-1]
            assert "".join(below) == f"{footer[0]}·第{footer[1]}/{footer[2]}页", (k + 1, below)
        if not practice:
            ink = _raster(page) < 200
            margin = int((MARGIN_X - 1 * MM) * PX)
            assert not ink[:, :margin].any(), f"page {k + 1}"
            assert not ink[:, -margin:].any(), f"page {k + 1}"


def test_review_pages_carry_no_codes_or_markers(class_set: tuple[list[Any], bytes]) -> None:
    _, pdf = class_set
    doc = pdfium.PdfDocument(pdf)
    texts = _texts(doc)
    for k, t in enumerate(texts):
        if "你的答案" in t or "参考答案" in t or "学生一览" in t:
            img = _raster(doc[k])
            assert not zxingcpp.read_barcodes(img), f"page {k + 1}"
            assert not detect_markers(img), f"page {k + 1}"


def _entry(**changes: Any) -> BookEntry:
    base = _book(0, 1).entries[0]
    return replace(base, **changes)


def test_long_text_is_cut_with_an_ellipsis_and_stays_on_its_page() -> None:
    bank, _ = _bank()
    long_q = bank[0].model_copy(update={"stem": "很长的题目" * 300})
    entry = _entry(question=long_q, explanation="解析很长，" * 400, cause_zh="原因" * 100)
    book = replace(_book(0, 1), entries=(entry, replace(entry, entry_id=2, number=2)))
    pdf = render_student_book(book, options=BookOptions(duplex=False))
    doc = pdfium.PdfDocument(pdf)
    texts = _texts(doc)
    review = [k for k, t in enumerate(texts) if "你的答案" in t]
    assert len(review) == 2, "each long card fills a page of its own"
    for k in review:
        t = texts[k]
        assert t.count("…") >= 1  # the stem is cut; the card carries no explanation
        tp = doc[k].get_textpage()
        bottoms = [tp.get_charbox(i)[1] for i in range(tp.count_chars())
                   if t[i:i + 1].strip() and not FOOTER.search(t[max(0, i - 30):i + 30])]
        assert min(bottoms) >= CONTENT_BOTTOM_INSET - 1
    stem_lines = BookOptions().stem_lines
    assert texts[review[0]].count("很长的题目") < stem_lines * 12
    # The explanation, in the key at the back, ends in … within the page.
    key = [t for t in texts if "解析：" in t]
    assert key
    assert all("…" in t for t in key)


def test_crop_is_embedded_at_most_40mm_tall() -> None:
    tall = demo_crop_png("7", size=(200, 900))
    wide = demo_crop_png("12345", size=(3000, 150))
    b = _book(0, 2, practice=0)
    e1 = replace(b.entries[0], answer_crop_png=tall)
    e2 = replace(b.entries[1], answer_crop_png=wide)
    pdf = render_student_book(replace(b, entries=(e1, e2)), options=BookOptions(duplex=False))
    doc = pdfium.PdfDocument(pdf)
    images = [img for k in range(len(doc))
              for img in doc[k].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE])]
    assert len(images) == 2
    w = doc[0].get_size()[0]
    for img in images:
        left, bottom, right, top = img.get_bounds()
        assert top - bottom <= 40 * MM + 0.5
        assert left >= MARGIN_X
        assert right <= w - MARGIN_X
    heights = sorted(i.get_bounds()[3] - i.get_bounds()[1] for i in images)
    assert heights[-1] == pytest.approx(40 * MM, abs=0.5)  # the tall one, scaled down


def test_unreadable_crop_falls_back_to_the_answer_text() -> None:
    b = _book(0, 1, practice=0)
    e = replace(b.entries[0], answer_crop_png=b"not a png", student_answer_text="九十九")
    doc = pdfium.PdfDocument(render_student_book(replace(b, entries=(e,))))
    assert "九十九" in _texts(doc)[0]


def test_answer_key_placement_and_teacher_key() -> None:
    b = _book(1, 2, practice=8)
    assert b.practice is not None
    answers = [it.answer_text for it in b.practice.items]
    with_key = _texts(pdfium.PdfDocument(render_student_book(b)))
    key_pages = [t for t in with_key if "参考答案" in t]
    assert len(key_pages) == 1
    assert key_pages[0] is not with_key[0]
    assert not any("参考答案" in t for t in with_key[:-2])  # last page or the one before
    assert "你的答案" not in key_pages[0]
    for a in answers:
        if "/" not in a:  # stacked fractions extract digit by digit
            assert a in key_pages[0]
    no_key = _texts(pdfium.PdfDocument(
        render_student_book(b, options=BookOptions(answer_key="none"))))
    assert not any("参考答案" in t for t in no_key)
    teacher = _texts(pdfium.PdfDocument(
        render_student_book(b, teacher_key=True, options=BookOptions(answer_key="none"))))
    assert any("参考答案" in t and b.practice.items[0].reason_zh in t for t in teacher)
    books = [b, _book(2, 1, practice=4)]
    key = "".join(_texts(pdfium.PdfDocument(render_answer_key(books))))
    assert all(x.student_name in key for x in books)
    assert "你的答案" not in key


def test_duplex_off_is_compact_and_duplex_pads() -> None:
    b = _book(0, 1, practice=6)
    compact = pdfium.PdfDocument(render_student_book(b, options=BookOptions(duplex=False)))
    padded = pdfium.PdfDocument(render_student_book(b))
    assert len(compact) == 3  # review, practice, key
    texts = _texts(padded)
    assert len(padded) == 6
    assert [("本页空白" in t) for t in texts] == [
        False, True, False, True, False, True]


def test_empty_book_still_prints_a_summary() -> None:
    b = replace(_book(0, 1, practice=0), entries=(),
                summary=BookSummary(0, 0, 5, 1.0, ()))
    texts = _texts(pdfium.PdfDocument(render_student_book(b)))
    assert "没有新的错题" in texts[0]
    assert "100%" in texts[0]
    assert "暂无数据" in texts[0]


def test_model_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="mastery"):
        _entry(mastery=1.5)
    with pytest.raises(ValueError, match="band"):
        _entry(band=(0.6, 0.4))
    with pytest.raises(ValueError, match="state"):
        _entry(state="resolved")
    b = _book(0, 1)
    with pytest.raises(ValueError, match="page codes"):
        PracticeSheet(b.practice.layout, (), b.practice.items)
    with pytest.raises(ValueError, match="at least one"):
        render_class_books([], class_name="x")
    with pytest.raises(ValueError, match="answer_key"):
        BookOptions(answer_key="middle")  # type: ignore[arg-type]
    assert _entry(wrong_on=date(2025, 1, 2)).wrong_on.year == 2025


def test_crop_png_is_greyscale_and_sized() -> None:
    png = demo_crop_png("85", (400, 120), seed=1)
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (400, 120)
        assert im.mode == "L"
        assert np.asarray(im).min() < 100  # there is ink


def test_fractions_stack_only_where_they_are_fractions() -> None:
    box = layout_text("结果是 3/5，日期 2025/05/12，比 1.5/3 大", 400, 10, fractions=True)
    fractions = [(p.text, p.den) for line in box.lines for p in line.pieces if p.is_fraction]
    assert fractions == [("3", "5")]
    plain = layout_text("结果是 3/5", 400, 10)
    assert not any(p.is_fraction for line in plain.lines for p in line.pieces)
    assert box.lines[0].height > plain.lines[0].height  # room for numerator and denominator


def _joined(box: Any) -> list[str]:
    return ["".join(p.text + ("/" + p.den if p.den else "") for p in line.pieces)
            for line in box.lines]


@given(st.text(alphabet="分数相加，。（）“”12345/ abc", min_size=0, max_size=120),
       st.floats(min_value=25, max_value=300), st.integers(min_value=1, max_value=6))
@settings(max_examples=150, deadline=None)
def test_wrapped_lines_never_cross_the_margin(text: str, width: float, max_lines: int) -> None:
    """Whatever the text (runs of punctuation, long numbers): within width, nothing lost."""
    box = layout_text(text, width, 10, fractions=True, max_lines=max_lines)
    assert len(box.lines) <= max_lines
    for line in box.lines:
        assert line.width <= width + 1e-6 or (
            len(line.pieces) == 1 and line.pieces[0].is_fraction)
    lines = _joined(box)
    if box.truncated:
        assert lines[-1].endswith("…")
    else:
        assert "".join(lines).replace(" ", "") == text.strip().replace(" ", "")


_WORD = st.builds(lambda pre, core, post: pre + core + post,
                  st.sampled_from(["", "", "", "（", "“"]),
                  st.text(alphabet="分数相加减乘除的是", min_size=1, max_size=4)
                  | st.sampled_from(["12", "3/4", "2025", "abc", "1.5"]),
                  st.sampled_from(["", "", "，", "。", "）", "”", "。”"]))


@given(st.lists(_WORD, min_size=1, max_size=40).map("".join),
       st.floats(min_value=100, max_value=300))
@settings(max_examples=150, deadline=None)
def test_prose_keeps_the_line_breaking_rules(text: str, width: float) -> None:
    """Closing marks never start a line, opening marks never end one (禁则)."""
    lines = _joined(layout_text(text, width, 10, fractions=True))
    for line in lines[1:]:
        assert line[:1] not in set("，。）”"), lines
    for line in lines[:-1]:
        assert line[-1:] not in set("（“"), lines
