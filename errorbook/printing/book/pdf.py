"""Printable personalised error books (错题本): one student's book, or a class set in one PDF.

API (inputs are the frozen dataclasses of :mod:`errorbook.printing.book.model`)::

    pdf = render_student_book(book)                       # key at the end (default)
    pdf = render_student_book(book, teacher_key=True)     # key with why each item was chosen
    pdf = render_class_books(books, class_name="三年级(2)班", cover=ClassCover(...))
    pdf = render_answer_key(books)                        # teacher's key for a whole class

A student's book is, in order:

1. the summary (name, class, date, counts, resolution rate, weakest knowledge points with
   mastery bars) and the review cards, one per wrong answer, never split across pages
   (:mod:`errorbook.printing.book.cards`);
2. the practice pages, drawn exactly from ``practice.layout`` by
   :func:`errorbook.printing.worksheet.draw_worksheet_page` (markers, QR code, answer boxes,
   the student's name): the only pages with a QR code, because they are what the scanner
   reads back;
3. the answer key (``answer_key="end"``): the cards' answers and 解析 by card number, then
   the practice answers, on pages of their own, never on the back of a practice page.
   The cards themselves carry no answer, so "redo it yourself" is honest.

Every page carries the student's name and ``第 n / N 页`` (numbered within the book).
With ``duplex`` (the default) practice pages start on a fresh sheet and are padded to end
on one, so they can be torn off and scanned alone, and each book ends on a full sheet, so
every book of a class set starts on an odd page. Padding pages say they are blank
(``本页空白``). With ``duplex=False`` no page is padded.

Everything is measured before anything is drawn: pages are planned as lists of placed
blocks, then drawn into one reportlab canvas (the class set is one canvas: reportlab cannot
merge files, and the fonts are embedded once).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.book.cards import card_block, load_crop
from errorbook.printing.book.cover import cover_blocks, cover_kp_blocks, cover_row_blocks
from errorbook.printing.book.model import BookOptions, ClassCover, StudentBook
from errorbook.printing.book.sections import card_key_blocks, key_blocks, summary_block
from errorbook.printing.book.style import (
    CONTENT_TOP,
    Block,
    PageFrame,
    draw_blank_page,
    draw_footer,
    draw_header,
    footer_text,
    heading_block,
)
from errorbook.printing.book.words import book_words
from errorbook.printing.fonts import register_cjk_font
from errorbook.printing.geometry import MM, PAGE_SIZES
from errorbook.printing.scan_image import binary_streams
from errorbook.printing.worksheet import PrintedCopy, draw_worksheet_page

__all__ = ["render_answer_key", "render_class_books", "render_student_book"]

@dataclass(frozen=True)
class _Page:
    kind: Literal["flow", "practice", "blank"]
    placed: tuple[tuple[float, Block], ...] = ()
    practice_index: int = 0


@dataclass(frozen=True)
class _Section:
    frame: PageFrame
    pages: list[_Page] = field(default_factory=list)
    book: StudentBook | None = None


def _paginate(blocks: Sequence[Block], frame: PageFrame, repeat: Block | None = None
              ) -> list[_Page]:
    """Place blocks top to bottom, a new page when the next one (and what it keeps with)
    does not fit; ``repeat`` (a table header) opens every continuation page."""
    top, bottom = CONTENT_TOP, frame.content_bottom
    pages: list[list[tuple[float, Block]]] = [[]]
    y = top
    for i, block in enumerate(blocks):
        # A heading keeps with what follows it, through a run of headings (a student's
        # name, then 错题回顾, then the first row).
        need = block.height
        j = i
        while blocks[j].keep_with_next and j + 1 < len(blocks):
            need += blocks[j].space_after + blocks[j + 1].height
            j += 1
        if y + need > bottom and pages[-1]:
            pages.append([])
            y = top
            if repeat is not None and block is not repeat:
                pages[-1].append((y, repeat))
                y += repeat.height
        pages[-1].append((y, block))
        y += block.height + block.space_after
    return [_Page("flow", tuple(p)) for p in pages if p]


def _page_size(book: StudentBook) -> tuple[float, float]:
    if book.practice is not None:
        first = book.practice.layout.pages[0]
        return first.width, first.height
    return PAGE_SIZES["A4"]


def _pad(pages: list[_Page], duplex: bool) -> None:
    if duplex and len(pages) % 2 == 1:
        pages.append(_Page("blank"))


def _card_names(book: StudentBook) -> dict[int, tuple[int, str]]:
    return {e.entry_id: (e.number, e.kp_name_zh) for e in book.entries}


def _book_key(book: StudentBook, cw: float, height: float, options: BookOptions,
              teacher_key: bool) -> list[Block]:
    """The answer pages at the back of a book: the cards' answers and 解析, then the
    practice answers (with why each was chosen, in the teacher's copy)."""
    practice = book.practice.items if book.practice is not None else ()
    if not book.entries and not practice:
        return []
    words = book_words(options.language)
    note = words.answers_note_teacher if teacher_key else words.answers_note_child
    blocks = [heading_block(words.answers, cw, height, note=note)]
    if book.entries:
        blocks.append(heading_block(words.review, cw, height, size=11))
        blocks.extend(card_key_blocks(book.entries, cw, height, explanation=True,
                                      fractions=options.stack_fractions, words=words))
    if practice:
        blocks.append(heading_block(words.practice, cw, height, size=11))
        blocks.extend(key_blocks(practice, cw, height, teacher=teacher_key,
                                 fractions=options.stack_fractions, cards=_card_names(book),
                                 words=words))
    return blocks


def _student_section(book: StudentBook, options: BookOptions, teacher_key: bool) -> _Section:
    width, height = _page_size(book)
    frame = PageFrame(width, height, book.title, book.student_name, book.class_name,
                      options.language)
    words = book_words(options.language)
    cw = frame.content_width
    room = frame.content_bottom - CONTENT_TOP
    blocks: list[Block] = [summary_block(book, cw, height, words)]
    keyed = options.answer_key == "end" or teacher_key
    note = (words.review_note_keyed if keyed else words.review_note_teacher) \
        if book.entries else ""
    blocks.append(heading_block(words.review_heading.format(n=len(book.entries)), cw, height,
                                note=note))
    for entry in book.entries:
        blocks.append(card_block(entry, cw, height, options, load_crop(entry.answer_crop_png),
                                 max_height=room))
    if not book.entries:
        blocks.append(heading_block(words.nothing_new, cw, height, size=11))
    pages = _paginate(blocks, frame)
    practice = book.practice
    if practice is not None:
        _pad(pages, options.duplex)
        pages.extend(_Page("practice", practice_index=i)
                     for i in range(len(practice.layout.pages)))
    if keyed:
        key = _book_key(book, cw, height, options, teacher_key)
        if key:
            # The key never shares a sheet with the practice pages: those are torn off
            # and scanned, and a child must not find the answers on their back.
            _pad(pages, options.duplex and practice is not None)
            pages.extend(_paginate(key, frame))
    _pad(pages, options.duplex)
    return _Section(frame, pages, book)


def _draw_section(c: Canvas, font: str, section: _Section) -> None:
    total = len(section.pages)
    frame = section.frame
    book = section.book
    copy = None
    if book is not None and book.practice is not None:
        copy = PrintedCopy(book.practice.page_codes, student_name=book.student_name,
                           student_no=book.student_no or None,
                           class_name=book.class_name or None, language=frame.language)
    for n, page in enumerate(section.pages, start=1):
        c.setPageSize((frame.width, frame.height))
        if page.kind == "practice":
            assert book is not None
            assert book.practice is not None
            assert copy is not None
            layout = book.practice.layout
            draw_worksheet_page(c, font, layout, layout.pages[page.practice_index], copy,
                                book.practice.page_codes[page.practice_index],
                                footer_text=footer_text(frame.owner, n, total, frame.language))
        elif page.kind == "blank":
            draw_blank_page(c, frame, n, total)
        else:
            draw_header(c, frame)
            for y, block in page.placed:
                block.draw(c, y)
            draw_footer(c, frame, n, total)
        c.showPage()


def _write(sections: Sequence[_Section], title: str) -> bytes:
    font = register_cjk_font()
    buf = io.BytesIO()
    first = sections[0].frame
    with binary_streams():
        c = Canvas(buf, pagesize=(first.width, first.height), pageCompression=1,
                   initialFontName=font, initialFontSize=10)
        c.setTitle(title)
        c.setAuthor("markbook")
        c.setCreator("markbook")
        for section in sections:
            _draw_section(c, font, section)
        c.save()
    return buf.getvalue()


def render_student_book(book: StudentBook, *, teacher_key: bool = False,
                        options: BookOptions | None = None) -> bytes:
    """Render one student's error book.

    Args:
        book: the student's book.
        teacher_key: the answer key at the end is the teacher's (each item's answer and why
            it was chosen) and is included even when ``options.answer_key`` is ``none``.
        options: layout options (defaults: key at the end, duplex-safe).

    Returns:
        The PDF bytes.
    """
    options = options or BookOptions()
    return _write([_student_section(book, options, teacher_key)], book.title)


def _cover_section(books: Sequence[StudentBook], class_name: str, cover: ClassCover,
                   options: BookOptions, start_pages: list[int]) -> _Section:
    width, height = _page_size(books[0])
    words = book_words(options.language)
    title = cover.title or words.cover_title.format(cls=class_name)
    frame = PageFrame(width, height, title, class_name, words.cover_owner, options.language)
    cw = frame.content_width
    dates = [b.generated_on for b in books]
    when = cover.generated_on or max(dates)
    info = [words.cover_info.format(cls=class_name, n=len(books), date=when.isoformat())
            + (words.cover_teacher.format(name=cover.teacher_name) if cover.teacher_name
               else ""), cover.note]
    header, rows = cover_row_blocks(books, cw, height, start_pages, words)
    blocks = [*cover_blocks(title, info, books, cw, height, words),
              heading_block(words.cover_kps, cw, height, note=words.cover_kps_note),
              *cover_kp_blocks(books, cw, height, words),
              heading_block(words.cover_students, cw, height, note=words.cover_students_note),
              header, *rows]
    pages = _paginate(blocks, frame, repeat=header)
    _pad(pages, options.duplex)
    return _Section(frame, pages)


def render_class_books(books: Sequence[StudentBook], *, class_name: str,
                       cover: ClassCover | None = None, teacher_key: bool = False,
                       options: BookOptions | None = None) -> bytes:
    """Render a class set: a cover sheet with a summary table, then each student's book.

    Args:
        books: the students' books, in the order to print.
        class_name: shown on the cover and its footer.
        cover: cover title, teacher, date and note; None uses defaults (``<class> · 错题本``,
            the latest ``generated_on``). The cover is always printed.
        teacher_key: as in :func:`render_student_book`, for every book.
        options: as in :func:`render_student_book`; with ``duplex`` the cover and every
            book fill whole sheets, so each book starts on an odd page.

    Returns:
        The PDF bytes.

    Raises:
        ValueError: no books.
    """
    if not books:
        raise ValueError("a class set needs at least one student's book")
    options = options or BookOptions()
    sections = [_student_section(b, options, teacher_key) for b in books]
    start_pages: list[int] = []
    cover_section = _cover_section(books, class_name, cover or ClassCover(), options,
                                   start_pages)
    page = len(cover_section.pages) + 1
    for s in sections:
        start_pages.append(page)
        page += len(s.pages)
    return _write([cover_section, *sections], cover_section.frame.title)


def render_answer_key(books: Sequence[StudentBook], *, title: str = "",
                      class_name: str = "", options: BookOptions | None = None) -> bytes:
    """Render the teacher's key to every student's book in one PDF.

    Per student (a heading with name, number and practice sheet): the review cards'
    answers by card number and knowledge point, then the practice answers, each with the
    card it practises and why it was chosen. Keys follow one another; a row never splits,
    a student's heading never ends a page. Print books with ``answer_key="none"`` and keep
    this one.

    Args:
        books: the students' books; those with neither cards nor practice items are left out.
        title: the page title (default: 错题本参考答案（教师用） in the key's language).
        class_name: shown in the header and footer.
        options: only ``stack_fractions`` and ``language`` are used.

    Returns:
        The PDF bytes.

    Raises:
        ValueError: no book has cards or practice items.
    """
    options = options or BookOptions()
    keyed = [b for b in books if b.entries or (b.practice is not None and b.practice.items)]
    if not keyed:
        raise ValueError("no book has cards or practice items to make a key for")
    width, height = _page_size(keyed[0])
    words = book_words(options.language)
    title = title or words.key_title
    frame = PageFrame(width, height, title, class_name or words.key_owner,
                      language=options.language)
    cw = frame.content_width
    blocks: list[Block] = []
    for b in keyed:
        sheet = b.practice.layout.title if b.practice is not None else ""
        who = " · ".join(p for p in (b.student_name, b.student_no, sheet) if p)
        blocks.append(heading_block(who, cw, height, size=11.5))
        rows: list[Block] = []
        if b.entries:
            rows.append(heading_block(words.review, cw, height, size=10))
            rows.extend(card_key_blocks(b.entries, cw, height, explanation=False,
                                        fractions=options.stack_fractions, words=words))
        if b.practice is not None and b.practice.items:
            rows.append(heading_block(words.practice, cw, height, size=10))
            rows.extend(key_blocks(b.practice.items, cw, height, teacher=True,
                                   fractions=options.stack_fractions, cards=_card_names(b),
                                   words=words))
        # A clear gap before the next student's heading.
        blocks.extend([*rows[:-1], replace(rows[-1], space_after=5 * MM)])
    return _write([_Section(frame, _paginate(blocks, frame))], title)
