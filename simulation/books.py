"""Synthetic error books for the demo, the tests and the benchmark.

Crops imitate the reader's answer crops (``ocr.regions``: 3 px per point, greyscale): a
faint printed box edge and handwritten-looking digits drawn with Pillow on white, about
400×120 px. Books are deterministic for a given seed.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from datetime import date, timedelta

from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.book.model import (
    BookEntry,
    BookSummary,
    PracticeItem,
    PracticeSheet,
    StudentBook,
)
from errorbook.printing.key_text import key_answer_text
from errorbook.printing.layout import layout_worksheet
from grading.questions import (
    ArithmeticQuestion,
    ChoiceQuestion,
    NumericQuestion,
    Question,
    TrueFalseQuestion,
)

__all__ = ["demo_book", "demo_crop_png"]

DEMO_NAMES = ("王小明", "李思远", "张雨桐", "陈子涵", "刘一诺", "杨梓萱", "赵浩然", "黄欣怡",
              "周俊杰", "吴可馨")
_CAUSES = (("计算粗心，个位相加后忘记进位", "forgot to carry"),
           ("分母也相加了，分数加法概念不清", "added the denominators"),
           ("单位换算进率记错", "wrong conversion factor"),
           ("审题不仔细，漏看了条件", "missed a condition"))


def _wrong_answer(q: Question, key: str, rnd: random.Random) -> str:
    """A plausible slip: one digit off, another option, or the opposite judgement."""
    if isinstance(q, ChoiceQuestion):
        return next(o.label for o in q.options if o.label != q.key.answer)
    if isinstance(q, TrueFalseQuestion):
        return "对" if not q.key.answer else "错"
    digits = [i for i, ch in enumerate(key) if ch.isdigit()]
    if digits:
        i = digits[rnd.randrange(len(digits))]
        return key[:i] + str((int(key[i]) + rnd.randint(1, 8)) % 10) + key[i + 1:]
    return key[:1] + "？" if key else "？"


def demo_crop_png(text: str, size: tuple[int, int] = (400, 120), seed: int = 0) -> bytes:
    """A crop of handwriting-like ``text`` (digits work best) as greyscale PNG bytes."""
    rnd = random.Random(seed)
    w, h = size
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    d.rectangle((2, 2, w - 3, h - 3), outline=200, width=2)  # the printed box, faint
    font_size = int(h * 0.62)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "DejaVuSans.ttf", font_size)
    except OSError:
        font = ImageFont.load_default(font_size)
    x = 14 + rnd.randint(0, 20)
    for ch in text:
        y = (h - font_size) // 2 + rnd.randint(-6, 6) - 4
        d.text((x, y), ch, fill=rnd.randint(20, 70), font=font)
        x += int(font_size * rnd.uniform(0.55, 0.7))
        if x > w - font_size // 2:
            break
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def demo_book(bank: Sequence[Question], *, student_index: int = 0, seed: int = 0,
              entries: int = 10, practice: int = 20, worksheet_id: int = 900,
              kp_names: dict[str, str] | None = None, title: str = "错题本 · 第3周",
              class_name: str = "三年级(2)班", crop_size: tuple[int, int] = (400, 120)
              ) -> StudentBook:
    """A plausible student book drawn from ``bank``.

    Args:
        bank: questions to draw entries from; practice items are its arithmetic items.
        student_index: picks the name and student number.
        seed: makes the choice of questions, answers, dates and masteries repeatable.
        entries: how many review cards.
        practice: how many practice items (0: no practice sheet).
        worksheet_id: the practice worksheet id in the page codes.
        kp_names: knowledge-point code -> Chinese name.
        title, class_name: printed on the book.
        crop_size: the answer crops' pixel size.

    Returns:
        The book.
    """
    from errorbook.contract import PageCode, format_page_code  # the service's page-code format

    rnd = random.Random(seed * 7919 + student_index)
    kp_names = kp_names or {}
    name = DEMO_NAMES[student_index % len(DEMO_NAMES)]
    if student_index >= len(DEMO_NAMES):
        name += str(student_index // len(DEMO_NAMES) + 1)
    picked = rnd.sample(list(bank), min(entries, len(bank)))
    book_entries = []
    for i, q in enumerate(picked, start=1):
        key = key_answer_text(q)
        wrong = _wrong_answer(q, key, rnd)
        has_crop = isinstance(q, ArithmeticQuestion | NumericQuestion)
        m = rnd.uniform(0.15, 0.85)
        cause = _CAUSES[rnd.randrange(len(_CAUSES))]
        book_entries.append(BookEntry(
            entry_id=student_index * 1000 + i, number=i, question=q, student_answer_text=wrong,
            answer_crop_png=demo_crop_png(wrong, crop_size, seed + i) if has_crop else None,
            correct_answer=key, explanation=q.explanation or "按题意列式计算，再检查一遍。",
            cause_zh=cause[0], cause_en=cause[1],
            kp_name_zh=kp_names.get(q.knowledge_points[0], q.knowledge_points[0]),
            mastery=m, band=(max(0.0, m - 0.12), min(1.0, m + 0.12)),
            wrong_on=date(2025, 5, 12) - timedelta(days=rnd.randint(0, 20)),
            state="open" if i % 3 else "practising", times_wrong=rnd.randint(1, 4)))
    sheet = None
    arith = [q for q in bank if isinstance(q, ArithmeticQuestion)]
    if practice and arith:
        qs = [arith[k % len(arith)] for k in rnd.sample(range(max(practice, len(arith))),
                                                          practice)]
        layout = layout_worksheet(f"巩固练习 · {name}", qs)
        items = tuple(PracticeItem(n, q, key_answer_text(q), book_entries[(n - 1) % len(
            book_entries)].entry_id if book_entries else None, f"第{(n - 1) % max(1, entries) + 1}题的变式")
            for n, q in enumerate(qs, start=1))
        codes = []
        for p in layout.pages:
            on_page = {r.number for r in p.regions}
            ids = tuple(sorted({it.entry_id for it in items
                                if it.number in on_page and it.entry_id is not None}))
            codes.append(format_page_code(PageCode(worksheet_id, p.number,
                                                   student_index + 1, ids)))
        sheet = PracticeSheet(layout, tuple(codes), items)
    weakest = sorted({(e.kp_name_zh, round(e.mastery or 0.0, 2)) for e in book_entries},
                     key=lambda kv: kv[1])[:5]
    resolved = rnd.randint(0, 20)
    open_n = sum(e.state == "open" for e in book_entries)
    prac_n = len(book_entries) - open_n
    total = resolved + open_n + prac_n
    return StudentBook(
        student_name=name, student_no=f"2025{student_index + 1:04d}", class_name=class_name,
        title=title, generated_on=date(2025, 5, 12), entries=tuple(book_entries),
        practice=sheet,
        summary=BookSummary(open_n, prac_n, resolved, resolved / total if total else None,
                            tuple(weakest)))
