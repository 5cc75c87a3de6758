"""Error books in the school's language: an English-speaking school's books, cover and
key carry no Chinese of their own (only what the bank, the roster and the class hold), and
a Chinese school's carry no English."""

from __future__ import annotations

import re
from dataclasses import replace

import pypdfium2 as pdfium
import pytest

from errorbook.printing.book.model import BookOptions, StudentBook
from errorbook.printing.book.pdf import render_answer_key, render_class_books
from errorbook.printing.book.words import book_words
from tests.errorbook.test_print_visual import _book, _check_page, _hard_cases

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _data_text(books: list[StudentBook]) -> str:
    """Everything the books print that is data, not the book's own words."""
    parts: list[str] = []
    for b in books:
        parts += [b.student_name, b.class_name, b.title, b.student_no]
        parts += [n for n, _ in b.summary.weakest_kps]
        for e in b.entries:
            q = e.question
            parts += [q.stem, q.explanation or "", e.explanation, e.kp_name_zh, e.correct_answer,
                      e.student_answer_text, e.cause_zh]
            parts += [o.text for o in getattr(q, "options", ())]
        if b.practice is not None:
            parts.append(b.practice.layout.title)
            for it in b.practice.items:
                parts += [it.question.stem, it.answer_text, it.reason_zh]
                parts += [o.text for o in getattr(it.question, "options", ())]
    return "".join(parts)


def _pages(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def test_an_english_class_set_and_key_have_no_chinese_of_their_own() -> None:
    books = [_hard_cases(_book(0, 6)), _book(1, 2), _book(2, 0, practice=0)]
    books = [replace(b, class_name="Class 3B") for b in books]
    options = BookOptions(language="en")
    pdf = render_class_books(books, class_name="Class 3B", options=options)
    data = set(_data_text(books))
    pages = _pages(pdf)
    for n, text in enumerate(pages, start=1):
        own = "".join(ch for ch in text if ch not in data)
        assert not CJK.search(own), (n, CJK.findall(own)[:10], text[:300])
    words = book_words("en")
    whole = "\n".join(pages)
    for phrase in (words.your_answer, words.cause, words.redo, words.answers,
                   words.cover_kps, "Page 1 of", "Not answered", "Only one option is right"):
        assert phrase in whole, phrase
    doc = pdfium.PdfDocument(pdf)
    for i in range(len(doc)):
        _check_page(doc[i], child=False, allowed_words=set(), where=f"en book p{i + 1}")
    key = render_answer_key(books, class_name="Class 3B", options=options)
    key_text = "\n".join(_pages(key))
    assert "Error-book answers (for the teacher)" in key_text
    own = "".join(ch for ch in key_text if ch not in data)
    assert not CJK.search(own), CJK.findall(own)[:10]


def test_an_unknown_book_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        BookOptions(language="fr")
