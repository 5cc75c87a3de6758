"""Every printed PDF kind, rendered and read back as a reader would see it.

Worksheet class sets, blank copies, error books (one student's and a class set), the
teacher's key and an annotated paper are rendered by the product code and opened with
pypdfium2 (the service's own rasteriser). On every page: no text past the page's margins
or into an answer box (character boxes from the text layer), no ink in the outer border
(the page rasterised), no internal ids (``math.add.carry``, ``m3-add-003``), no English
word on a page a child reads unless the question itself holds it (pinyin, units), and no
blank page except the duplex padding, which says 本页空白, and only when asked for.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from pydantic import TypeAdapter

from errorbook.contract import PageCode, WorksheetLayout, format_page_code
from errorbook.printing.annotated.paper import (
    RegionMark,
    ScanPage,
    StudentPaper,
    render_annotated_pdf,
)
from errorbook.printing.answer_sheet import layout_answer_sheet
from errorbook.printing.book.model import BookOptions, StudentBook
from errorbook.printing.book.pdf import render_answer_key, render_class_books, render_student_book
from errorbook.printing.book.style import MARGIN_X
from errorbook.printing.book.wording import child_cause
from errorbook.printing.geometry import MM
from errorbook.printing.key_text import key_answer_text
from errorbook.printing.layout import (
    BLOCK_GAP,
    HEADER_BOTTOM,
    INSTRUCTION_H,
    NEAR_EMPTY_SHARE,
    TIGHT_BLOCK_GAP,
    _flow,
    layout_worksheet,
)
from errorbook.printing.worksheet import (
    CHOICE_INSTRUCTION,
    PrintedCopy,
    has_instruction_room,
    render_worksheet_pdf,
)
from grading.grade import Verdict
from grading.questions import ChoiceQuestion, MultiChoiceQuestion, Question
from service.mastery.practice import teacher_reason_text
from simulation.books import demo_book, demo_crop_png
from tests.support.samples import SAMPLES

_Q = TypeAdapter(Question)
INTERNAL_ID = re.compile(r"\b(?:math|chinese|english)\.[a-z_.]+|\bm\d-[a-z]+-\d{3}\b|"
                         r"\b[a-z]+\.[a-z_]+\.[a-z_]+\b")
LATIN_WORD = re.compile(r"[A-Za-zÀ-ɏ]{2,}")  # pinyin carries tone marks
BORDER = 6 * MM  # markers and QR codes start 8 mm in; nothing is printed nearer the edge
RASTER_DPI = 36


@lru_cache(maxsize=1)
def _bank() -> tuple[list[Question], dict[str, str]]:
    data = json.loads((SAMPLES / "question_bank.json").read_text(encoding="utf-8"))
    kps = {k["code"]: k["name_zh"] for k in data["knowledge_points"]}
    return [_Q.validate_python(q) for q in data["questions"]], kps


def _mixed(n_per_kind: int = 3) -> list[Question]:
    bank, _ = _bank()
    by_kind: dict[str, list[Question]] = {}
    for q in bank:
        by_kind.setdefault(q.kind, []).append(q)
    return [q for i in range(n_per_kind) for qs in by_kind.values() if len(qs) > i
            for q in [qs[i]]]


def _content_words(*texts: str) -> set[str]:
    return {w.lower() for t in texts for w in LATIN_WORD.findall(t)}


def _question_words(questions: list[Question]) -> set[str]:
    texts: list[str] = []
    for q in questions:
        texts.append(q.stem)
        texts.append(q.explanation or "")
        if isinstance(q, ChoiceQuestion | MultiChoiceQuestion):
            texts.extend(o.text for o in q.options)
        texts.append(key_answer_text(q))
    return _content_words(*texts)


def _chars(page: pdfium.PdfPage) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(char, box in page space from the top-left) for every visible character."""
    tp = page.get_textpage()
    h = page.get_size()[1]
    out = []
    for i in range(tp.count_chars()):
        ch = tp.get_text_range(i, 1)
        if not ch.strip():
            continue
        left, bottom, right, top = tp.get_charbox(i)
        out.append((ch, (left, h - top, right, h - bottom)))
    return out


def _text(page: pdfium.PdfPage) -> str:
    return page.get_textpage().get_text_range()


def _check_page(page: pdfium.PdfPage, *, margin: float = 10 * MM, child: bool,
                allowed_words: set[str], where: str, border_mm: float = BORDER / MM,
                top_margin: float = 8 * MM) -> None:
    """The checks every page gets: margins, border ink, internal ids, English words.

    ``margin`` is the side margin text keeps; ``top_margin`` the top and foot (headers
    and footers sit 10-14 mm in)."""
    w, h = page.get_size()
    for ch, (x0, y0, x1, y1) in _chars(page):
        assert x0 >= margin - 0.5, f"{where}: {ch!r} past the left side"
        assert x1 <= w - margin + 0.5, f"{where}: {ch!r} past the right side"
        assert y0 >= top_margin - 0.5, f"{where}: {ch!r} past the top"
        assert y1 <= h - top_margin + 0.5, f"{where}: {ch!r} past the foot"
    img = np.asarray(page.render(scale=RASTER_DPI / 72, grayscale=True).to_pil())
    b = round(border_mm * MM * RASTER_DPI / 72)
    if b:
        border = np.concatenate([img[:b].ravel(), img[-b:].ravel(), img[:, :b].ravel(),
                                 img[:, -b:].ravel()])
        assert border.min() > 200, f"{where}: ink in the outer {border_mm:.0f} mm"
    text = _text(page)
    assert not INTERNAL_ID.search(text), f"{where}: internal id {INTERNAL_ID.search(text)}"
    if child:
        stray = _content_words(text) - allowed_words
        assert not stray, f"{where}: English on a child's page: {sorted(stray)}"


def _is_blank(page: pdfium.PdfPage) -> bool:
    text = re.sub(r"\S*\s*·?\s*第 \d+ / \d+ 页", "", _text(page)).strip()
    images = list(page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE]))
    return (text in ("", "（本页空白）")) and not images


def _check_blanks(doc: pdfium.PdfDocument, duplex: bool, where: str) -> None:
    for i in range(len(doc)):
        if _is_blank(doc[i]):
            assert duplex, f"{where}: page {i + 1} is blank without duplex padding"
            assert "本页空白" in _text(doc[i]), f"{where}: page {i + 1} blank, unmarked"
        else:
            assert "本页空白" not in _text(doc[i])


# --- worksheets -------------------------------------------------------------------------


def _copies(layout: WorksheetLayout, names: list[str]) -> list[PrintedCopy]:
    return [PrintedCopy(tuple(format_page_code(PageCode(7, p.number, k + 1))
                              for p in layout.pages), student_name=n,
                        student_no=f"2025{k + 1:04d}", class_name="三年级(2)班")
            for k, n in enumerate(names)]


@pytest.mark.parametrize("duplex", [True, False])
def test_worksheet_class_set_and_blank_copies(duplex: bool) -> None:
    questions = _mixed()
    layout = layout_worksheet("三年级 综合练习", questions)
    names = ["王小明", "李思远", "张雨桐"]
    allowed = _question_words(questions)
    for copies in (_copies(layout, names),
                   [PrintedCopy(tuple(format_page_code(PageCode(7, p.number))
                                      for p in layout.pages), seat_bubbles=True)] * 2):
        doc = pdfium.PdfDocument(render_worksheet_pdf(layout, copies, duplex=duplex))
        per_copy = len(layout.pages) + (len(layout.pages) % 2 if duplex else 0)
        assert len(doc) == per_copy * len(copies)
        for i in range(len(doc)):
            page = doc[i]
            if _is_blank(page):
                continue
            lp = layout.pages[i % per_copy]
            _check_page(page, child=True, allowed_words=allowed, where=f"worksheet p{i + 1}")
            # Nothing printed falls into an answer box but a bubble's own label.
            for ch, (x0, y0, x1, y1) in _chars(page):
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                for r in lp.regions:
                    bx0, by0, bx1, by1 = r.box
                    if not (bx0 < cx < bx1 and by0 < cy < by1):
                        continue
                    labels = {b.label for b in r.bubbles}
                    assert ch in labels, \
                        f"worksheet p{i + 1}: {ch!r} inside the answer box of q{r.number}"
        _check_blanks(doc, duplex, "worksheet")


@pytest.mark.parametrize("duplex", [True, False])
def test_answer_sheet_class_set_and_blank_copies(duplex: bool) -> None:
    """An answer sheet (答题卡) of 100 rows: the page checks, and inside a row's box
    nothing but its bubbles' letters (its number sits left of the box)."""
    bank, _ = _bank()
    bubbled = [q for q in bank if q.kind in ("choice", "multi_choice", "true_false")]
    questions = [bubbled[i % len(bubbled)].model_copy(update={"id": f"as-{i + 1:03d}"})
                 for i in range(100)]
    layout = layout_answer_sheet("三年级 第一单元 答题卡", questions)
    for copies in (_copies(layout, ["王小明", "李思远"]),
                   [PrintedCopy(tuple(format_page_code(PageCode(7, p.number))
                                      for p in layout.pages), seat_bubbles=True)] * 2):
        doc = pdfium.PdfDocument(render_worksheet_pdf(layout, copies, duplex=duplex))
        per_copy = len(layout.pages) + (len(layout.pages) % 2 if duplex else 0)
        assert len(doc) == per_copy * len(copies)
        for i in range(len(doc)):
            page = doc[i]
            if _is_blank(page):
                continue
            lp = layout.pages[i % per_copy]
            _check_page(page, child=True, allowed_words=set(), where=f"answer sheet p{i + 1}")
            numbers = re.findall(r"(\d+)\.", _text(page))
            assert [int(n) for n in numbers] == [r.number for r in lp.regions]
            for ch, (x0, y0, x1, y1) in _chars(page):
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                for r in lp.regions:
                    bx0, by0, bx1, by1 = r.box
                    if bx0 < cx < bx1 and by0 < cy < by1:
                        assert ch in {b.label for b in r.bubbles}, \
                            f"answer sheet p{i + 1}: {ch!r} inside the row of q{r.number}"
        _check_blanks(doc, duplex, "answer sheet")


def test_choice_instruction_is_printed_where_the_layout_kept_room() -> None:
    questions = _mixed()
    layout = layout_worksheet("三年级 综合练习", questions)
    first = layout.pages[0]
    assert min(b.top for b in first.blocks) >= HEADER_BOTTOM + INSTRUCTION_H - 0.01
    assert has_instruction_room(layout, first)
    doc = pdfium.PdfDocument(render_worksheet_pdf(layout, _copies(layout, ["王小明"]),
                                                  duplex=False))
    flat = [re.sub(r"\s", "", _text(doc[i])) for i in range(len(doc))]
    assert CHOICE_INSTRUCTION in flat[0]
    assert all(CHOICE_INSTRUCTION not in t for t in flat[1:])
    # The instruction tells what the bubble reader takes: fills, ticks, crosses, circles.
    for word in ("涂满", "打勾", "打叉", "圈出", "擦干净"):
        assert word in CHOICE_INSTRUCTION
    # No bubbles, no instruction and no room kept for one.
    bank, _ = _bank()
    written = [q for q in bank if q.kind == "arithmetic"][:6]
    plain = layout_worksheet("口算", written)
    assert min(b.top for b in plain.pages[0].blocks) == pytest.approx(HEADER_BOTTOM)
    assert not has_instruction_room(plain, plain.pages[0])
    # A layout stored before the instruction existed (no room) is printed without it.
    old_first = replace(first, blocks=tuple(replace(b, top=b.top - INSTRUCTION_H)
                                            for b in first.blocks))
    old = replace(layout, pages=(old_first, *layout.pages[1:]))
    assert not has_instruction_room(old, old_first)


def test_near_empty_last_page_is_reflowed_away() -> None:
    bank, _ = _bank()
    pool = [q for q in bank if q.kind in ("text", "choice", "true_false", "numeric")]
    w, h = 595.2756, 841.8898
    found = 0
    for n in range(4, len(pool)):
        loose = _flow(pool[:n], w, h, BLOCK_GAP, INSTRUCTION_H, 0.0)
        tight = _flow(pool[:n], w, h, TIGHT_BLOCK_GAP, INSTRUCTION_H, 0.0)
        if not loose.near_empty_tail() or len(tight.pages) >= len(loose.pages):
            continue
        layout = layout_worksheet("练习", pool[:n])
        assert len(layout.pages) == len(tight.pages) < len(loose.pages)
        # Every box stays inside the content area, none overlapping another.
        for page in layout.pages:
            boxes = [r.box for r in page.regions]
            for i, a in enumerate(boxes):
                assert a[1] >= HEADER_BOTTOM
                assert a[3] <= page.height - 20 * MM
                for b in boxes[i + 1:]:
                    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        found += 1
    assert found, "no question count gave a near-empty last page to reflow"
    # A worksheet that fills its last page well keeps the usual gaps.
    full = _flow(pool[:4], w, h, BLOCK_GAP, INSTRUCTION_H, 0.0)
    assert not full.near_empty_tail()
    assert NEAR_EMPTY_SHARE < 0.5


# --- error books ------------------------------------------------------------------------


def _book(i: int, entries: int, practice: int = 10) -> StudentBook:
    bank, kps = _bank()
    return demo_book(bank, student_index=i, seed=5, entries=entries, practice=practice,
                     kp_names=kps)


def _book_words(books: list[StudentBook]) -> set[str]:
    words: set[str] = set()
    for b in books:
        qs = [e.question for e in b.entries]
        if b.practice is not None:
            qs += [it.question for it in b.practice.items]
        words |= _question_words(qs)
        words |= _content_words(*(e.student_answer_text for e in b.entries),
                                *(e.correct_answer for e in b.entries))
        if b.practice is not None:
            words |= _content_words(*(it.answer_text for it in b.practice.items))
    return words


def _hard_cases(book: StudentBook) -> StudentBook:
    """A blank answer (with the crop of its empty box), a double mark, grader labels."""
    bank, _ = _bank()
    choice = next(q for q in bank if isinstance(q, ChoiceQuestion))
    e = book.entries
    blank = replace(e[0], student_answer_text="", unanswered=True, cause_zh="原因未知",
                    cause_en="unknown", cause_code="unknown",
                    answer_crop_png=demo_crop_png(""))
    double = replace(e[1], question=choice, student_answer_text="AC", cause_zh="原因未知",
                     cause_en="unknown", cause_code="unknown", answer_crop_png=None)
    distractor = replace(e[2], question=choice, student_answer_text="D",
                         cause_zh="选了干扰项", cause_en="chose a distractor",
                         cause_code="distractor_chosen", answer_crop_png=None)
    return replace(book, entries=(blank, double, distractor, *e[3:]))


@pytest.mark.parametrize("duplex", [True, False])
def test_error_book_class_set_pages(duplex: bool) -> None:
    books = [_hard_cases(_book(0, 6)), _book(1, 1), _book(2, 9, practice=0)]
    pdf = render_class_books(books, class_name="三年级(2)班",
                             options=BookOptions(duplex=duplex))
    doc = pdfium.PdfDocument(pdf)
    allowed = _book_words(books)
    for i in range(len(doc)):
        page = doc[i]
        if _is_blank(page):
            continue
        practice = bool(list(page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE]))) and \
            "你的答案" not in _text(page)
        _check_page(page, margin=10 * MM if practice else MARGIN_X, child=True,
                    allowed_words=allowed, where=f"class set p{i + 1}")
    _check_blanks(doc, duplex, "class set")
    text = "".join(_text(doc[i]) for i in range(len(doc)))
    for forbidden in ("原因未知", "unknown", "干扰项", "distractor", "intentionally",
                      "正确答案"):
        assert forbidden not in text, forbidden


def test_cards_say_what_happened_in_a_childs_words() -> None:
    book = _hard_cases(_book(0, 4, practice=0))
    doc = pdfium.PdfDocument(render_student_book(book, options=BookOptions(duplex=False)))
    cards = "".join(_text(doc[i]) for i in range(len(doc)) if "你的答案" in _text(doc[i]))
    flat = re.sub(r"\s", "", cards)
    assert "未作答" in flat
    assert "这道题没有作答" in flat
    assert "只能选一个答案，你选了A、C共2个" in flat
    assert "看起来像、其实不对" in flat
    assert flat.count("订正（在这里独立重做一遍）") == len(book.entries)
    # The blank's crop (an empty box) is not shown: only the other crops are embedded.
    images = sum(len(list(doc[i].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE])))
                 for i in range(len(doc)))
    assert images == sum(1 for e in book.entries[1:] if e.answer_crop_png)
    # The answer is not on the card's page; the key at the back has it with the 解析.
    for i in range(len(doc)):
        if "你的答案" in _text(doc[i]):
            assert "答案：" not in _text(doc[i])
    key = re.sub(r"\s", "", "".join(_text(doc[i]) for i in range(len(doc))
                                    if "参考答案" in _text(doc[i])))
    for e in book.entries:
        assert f"第{e.number}题" in key
    assert "解析：" in key


def test_child_cause_never_unknown_or_english() -> None:
    bank, _ = _bank()
    choice = next(q for q in bank if isinstance(q, ChoiceQuestion))
    number = next(q for q in bank if q.kind == "numeric")
    for code in ("forgot_carry", "forgot_borrow", "wrong_operation", "times_table_slip",
                 "digit_transposition", "place_value", "remainder_error", "off_by_ten",
                 "off_by_hundred", "fraction_not_simplified", "unit_not_converted",
                 "distractor_chosen", "missed_option", "rubric_points_missed", "unknown"):
        said = child_cause(code, "原因未知", question=number, answer_text="75",
                           unanswered=False)
        assert said, code
        assert "未知" not in said, (code, said)
        assert not LATIN_WORD.search(said), (code, said)
    assert "你选了 A、B" in child_cause("unknown", "", question=choice, answer_text="A | B",
                                       unanswered=False)
    # One letter is a single pick, not a double mark.
    assert "只能选一个" not in child_cause("unknown", "", question=choice, answer_text="A",
                                          unanswered=False)
    assert child_cause("", "审题不仔细", question=number, answer_text="1",
                       unanswered=False) == "审题不仔细"


# --- the teacher's key ------------------------------------------------------------------


def test_teacher_key_speaks_to_the_teacher_in_names_not_codes() -> None:
    books = [_book(0, 3, practice=8), _book(1, 2, practice=6)]
    long_reason = ("变式题：两位数加两位数，个位相加满十向十位进一，十位上的数加上进上来的一，"
                   "再检查一遍个位和十位是否都对齐")
    first = books[0]
    assert first.practice is not None
    items = tuple(replace(it, reason_zh=long_reason if k == 0 else "同一知识点（进位加法），"
                          "难度与该生水平相当")
                  for k, it in enumerate(first.practice.items))
    books[0] = replace(first, practice=replace(first.practice, items=items))
    doc = pdfium.PdfDocument(render_answer_key(books, class_name="三年级(2)班"))
    for i in range(len(doc)):
        _check_page(doc[i], margin=MARGIN_X, child=False, allowed_words=set(),
                    where=f"key p{i + 1}")
        # A student's heading (name · number · sheet) never ends a page.
        lines = [ln for ln in _text(doc[i]).splitlines() if ln.strip()]
        assert not any(b.student_no in lines[-2] for b in books), lines[-2]
    flat = re.sub(r"\s", "", "".join(_text(doc[i]) for i in range(len(doc))))
    assert re.sub(r"\s", "", long_reason) in flat  # wrapped, never cut
    # No ellipsis of a cut line (a lone …; ``3……2`` is how a remainder is written).
    assert not re.search(r"(?<!…)…(?!…)", flat)
    assert "对应错题第1题" in flat
    assert "你的" not in flat
    for b in books:
        for e in b.entries:
            assert re.sub(r"\s", "", e.kp_name_zh) in flat


def test_stored_reasons_are_rewritten_for_the_teacher() -> None:
    names = {"math.add.carry": "两位数进位加法"}
    assert teacher_reason_text("第m3-add-003题的变式：个位满十进一", names) == \
        "变式题：个位满十进一"
    out = teacher_reason_text("同一知识点（math.add.carry），难度接近你的水平", names)
    assert out == "同一知识点（两位数进位加法），难度与该生水平相当"
    assert not INTERNAL_ID.search(teacher_reason_text("相关知识点（math.sub.borrow）", names))


# --- annotated paper --------------------------------------------------------------------


def test_annotated_paper_pages() -> None:
    questions = _mixed(2)
    layout = layout_worksheet("三年级 综合练习（批改）", questions)
    dpi = 100
    blank = pdfium.PdfDocument(render_worksheet_pdf(layout, _copies(layout, ["王小明"]),
                                                    duplex=False))
    k = dpi / 72
    scan_pages = []
    for lp in layout.pages:
        img = np.asarray(blank[lp.number - 1].render(scale=k, grayscale=True).to_pil())
        verdicts = [Verdict.CORRECT, Verdict.INCORRECT, Verdict.BLANK, Verdict.NEEDS_REVIEW]
        marks = tuple(RegionMark(r.box, str(r.number), v,
                                 2.0 if v is Verdict.CORRECT else 0.0, 2.0)
                      for r, v in zip(lp.regions, verdicts * 20, strict=False))
        scan_pages.append(ScanPage(img, (k, 0, 0, 0, k, 0, 0, 0, 1), marks))
    paper = StudentPaper("王小明", tuple(scan_pages), "20250001", layout.title, 61, 100)
    doc = pdfium.PdfDocument(render_annotated_pdf(paper))
    allowed = _question_words(questions)
    for i in range(len(doc)):
        # Marks sit in the margin right of the answers and may come within 2 pt of the
        # edge (errorbook.printing.annotated.marks.place_marks): only the page itself binds.
        _check_page(doc[i], margin=0.0, top_margin=0.0, border_mm=0.0, child=True,
                    allowed_words=allowed, where=f"annotated p{i + 1}")
        assert not _is_blank(doc[i])


# --- class report (analytics) -------------------------------------------------------------


def test_class_report_pages() -> None:
    from errorbook.printing.report.model import ClassReport, HeatRow, SheetBar, Trend
    from errorbook.printing.report.pdf import HEAT_COLUMNS, render_class_report

    points = ("两位数进位加法", "退位减法", "乘法口诀", "有余数的除法", "分数的大小比较",
              "同分母分数加减", "小数的意义", "长度单位换算")[:HEAT_COLUMNS + 1]
    headings = {"worksheets": "各次作业得分率", "heatmap": "知识点热力图",
                "trends": "每周得分率", "attention": "需要关注的学生", "student": "学生",
                "point": "知识点", "first": "第一周", "last": "最近一周", "change": "变化",
                "reasons": "原因", "none": "暂无数据。", "legend": "图例"}
    report = ClassReport(
        title="三年级(2)班 学情报告", subtitle="生成日期 2026-12-05", headings=headings,
        figures=(("学生人数", "50"), ("错题解决率", "41%"), ("作业次数", "10")),
        sheets=tuple(SheetBar(f"第{i + 1}次作业：口算与分数的大小比较", 0.5 + i / 40,
                              f"交 {48 - i}/50 · {50 + i}%") for i in range(10)),
        points=points,
        heat=tuple(HeatRow(f"学生{i:02d}", tuple((i * 7 + j * 3) % 11 / 10
                                               for j in range(len(points))))
                   for i in range(50)),
        trends=tuple(Trend(p, (("2026-W46", 0.5), ("2026-W47", 0.62), ("2026-W48", 0.7)),
                           "+20%") for p in points),
        attention=tuple((f"学生{i:02d}", "作业平均得分率只有 45%，有余数的除法连续三次出错")
                        for i in range(12)),
        notes=("得分率：答对的题目分数占总分的比例；错题解决率：错题本上已重做正确的比例。",))
    doc = pdfium.PdfDocument(render_class_report(report))
    for i in range(len(doc)):
        # The teacher's report: no internal ids, nothing past the margins; not a child page.
        _check_page(doc[i], child=False, allowed_words=set(), where=f"report p{i + 1}")
        assert not _is_blank(doc[i])
