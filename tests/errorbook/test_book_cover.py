"""The class set's cover: the class at a glance (most-missed knowledge points with the
share of students behind each), not one weakest point per student."""

from __future__ import annotations

import re
from dataclasses import replace

import pypdfium2 as pdfium

from errorbook.printing.book.cover import class_kp_shares
from errorbook.printing.book.model import StudentBook
from errorbook.printing.book.pdf import render_class_books
from tests.errorbook.test_print_visual import _book


def _with_kps(book: StudentBook, names: list[str]) -> StudentBook:
    return replace(book, entries=tuple(replace(e, kp_name_zh=n)
                                       for e, n in zip(book.entries, names, strict=False)))


def test_kp_shares_count_students_not_cards() -> None:
    books = [_with_kps(_book(0, 3), ["周长", "周长", "周长"]),  # one child, three cards
             _with_kps(_book(1, 2), ["质量单位", "周长"]),
             _with_kps(_book(2, 1), ["质量单位"]),
             _book(3, 0)]
    shares = class_kp_shares(books)
    assert [(s.name, s.students, s.entries) for s in shares] == [
        ("周长", 2, 4), ("质量单位", 2, 2)]
    assert shares[0].share == 0.5  # two of four students, the one without cards included


def test_cover_summarises_the_class_and_lists_every_student() -> None:
    books = [_with_kps(_book(i, 3), ["周长", "质量单位", f"点{i}"]) for i in range(5)]
    doc = pdfium.PdfDocument(render_class_books(books, class_name="三年级(2)班"))
    cover = re.sub(r"\s+", "", doc[0].get_textpage().get_text_range())
    assert "全班错得最多的知识点" in cover
    assert "最薄弱知识点" not in cover
    # Both shared points lead, each with 5 of 5 students.
    first = cover.index("周长")
    assert cover.index("质量单位") > first
    assert "5人（100%）" in cover
    assert "1人（20%）" in cover
    assert "有错题的学生" in cover
    for b in books:
        assert b.student_name in cover
