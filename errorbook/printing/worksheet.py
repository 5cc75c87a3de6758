"""Render a worksheet layout to a print-ready A4 PDF (blank copies or a personalised class set).

The renderer only draws what :mod:`errorbook.printing.layout` computed; it never moves a box, so
the layout stored with the worksheet is exactly what the scan reader will find.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import segno
from reportlab.pdfgen.canvas import Canvas

from errorbook.contract import (
    AnswerRegion,
    PageLayout,
    QuestionBlock,
    WorksheetLayout,
    is_number_grid,
)
from errorbook.printing.book.text import (
    FRACTION_EXTRA_TOP,
    LEADING,
    draw_line,
    layout_text,
)
from errorbook.printing.fonts import register_cjk_font
from errorbook.printing.geometry import MM
from errorbook.printing.language import PrintWords, print_words
from errorbook.printing.layout import HEADER_BOTTOM, INSTRUCTION_H, LINE_HEIGHT, STEM_FONT_SIZE
from errorbook.printing.markers import draw_marker
from errorbook.printing.text import draw_text, text_width

__all__ = ["CHOICE_INSTRUCTION", "PrintedCopy", "draw_number_grid", "draw_qr",
           "draw_seat_bubbles",
           "draw_worksheet_page", "render_worksheet_pdf"]

BOX_GREY = 0.25
# Dropout-style guides: light enough that copiers drop them and pen marks over them show.
LABEL_GREY = 0.72
# The footer's words (page number, the seat row's labels).
FOOTER_GREY = 0.3
SEAT_DIGIT_SIZE = 6.0
CHOICE_INSTRUCTION = print_words("zh").choice_instruction
INSTRUCTION_SIZE = 9.0


@dataclass(frozen=True)
class PrintedCopy:
    """One printed copy of a worksheet.

    Attributes:
        page_codes: the QR text of each layout page, in order (see ``errorbook.contract``).
        student_name, student_no: printed in the header of a personalised copy.
        class_name: printed under the title.
        seat_bubbles: print the seat-number bubbles (座号 = the student number's last two
            digits) in the footer of an anonymous copy, so whose copy it is can be read
            back without the handwritten comb; never printed on a copy with a student
            number.
        language: the school's language for the page furniture (``zh`` or ``en``,
            :mod:`errorbook.printing.language`); the questions print as the bank has them.
    """

    page_codes: tuple[str, ...]
    student_name: str | None = None
    student_no: str | None = None
    class_name: str | None = None
    seat_bubbles: bool = False
    language: str = "zh"

    @property
    def words(self) -> PrintWords:
        """The page furniture's words in this copy's language."""
        return print_words(self.language)

    @property
    def prints_seats(self) -> bool:
        """Whether this copy's pages carry the seat-number bubbles."""
        return self.seat_bubbles and not self.student_no


def draw_qr(canvas: Canvas, text: str, box: tuple[float, float, float, float],
            page_height: float) -> None:
    """Draw ``text`` as a QR code filling ``box`` (page space), with a 2-module quiet zone.

    Args:
        canvas: the reportlab canvas.
        text: the payload; error correction level Q survives copier noise and pen marks.
        box: the square to fill, quiet zone included.
        page_height: to convert to reportlab's bottom-left origin.
    """
    qr = segno.make(text, error="q", micro=False)
    rows = [list(r) for r in qr.matrix]
    n = len(rows) + 4
    x0, y0, x1, _ = box
    cell = (x1 - x0) / n
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x0, page_height - y0 - n * cell, n * cell, n * cell, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            canvas.rect(x0 + (start + 2) * cell, page_height - y0 - (r + 3) * cell,
                        (c - start) * cell + 0.02, cell + 0.02, stroke=0, fill=1)
    canvas.restoreState()


def _header(c: Canvas, font: str, layout: WorksheetLayout, page: PageLayout, copy: PrintedCopy
            ) -> None:
    h = page.height
    title_w = page.qr_box[0] - 4 * MM - 20 * MM
    size = 15.0
    while size > 9 and text_width(layout.title, size) > title_w:
        size -= 0.5
    draw_text(c, 20 * MM, h - 15 * MM, layout.title, size)
    if copy.class_name:
        draw_text(c, 20 * MM, h - 19 * MM, copy.class_name, 9)
    nx0, ny0, nx1, ny1 = page.name_box
    words = copy.words
    draw_text(c, nx0 - 1.5 * MM, h - ny1 + 2.2 * MM, words.name, 10.5, "right")
    c.setLineWidth(0.6)
    c.setStrokeGray(BOX_GREY)
    c.rect(nx0, h - ny1, nx1 - nx0, ny1 - ny0, stroke=1, fill=0)
    first = page.student_no_boxes[0]
    draw_text(c, first[0] - 1.5 * MM, h - first[3] + 2.2 * MM, words.number, 10.5, "right")
    for bx0, by0, bx1, by1 in page.student_no_boxes:
        c.rect(bx0, h - by1, bx1 - bx0, by1 - by0, stroke=1, fill=0)
    if copy.student_name:
        draw_text(c, nx0 + 2 * MM, h - ny1 + 2.3 * MM, copy.student_name, 12)
    if copy.student_no:
        c.setFont(font, 12)
        for digit, (bx0, _, bx1, by1) in zip(copy.student_no, page.student_no_boxes,
                                              strict=False):
            c.drawCentredString((bx0 + bx1) / 2, h - by1 + 2.3 * MM, digit)
    c.setStrokeGray(0.0)
    c.setLineWidth(0.8)
    c.line(20 * MM, h - 33 * MM, page.width - 20 * MM, h - 33 * MM)


def _footer(c: Canvas, font: str, page: PageLayout, total: int, copy: PrintedCopy,
            text: str | None = None) -> None:
    c.setFont(font, 9)
    c.setFillGray(FOOTER_GREY)
    if text is None:
        text = copy.words.page_number(page.number, total)
        if copy.student_name:
            text = f"{copy.student_name}  ·  {text}"
    if copy.prints_seats and is_number_grid(page.seat_bubbles):
        # An answer sheet's number grid hangs under the comb: the footer stays as it is.
        draw_text(c, page.width / 2, 11 * MM, text, 9, "center")
        c.setFillGray(0.0)
        draw_number_grid(c, font, page, copy.words)
        return
    if copy.prints_seats and page.seat_bubbles:
        # The seat row holds the middle of the strip: the page number goes right of it,
        # ending where the header rule ends.
        draw_text(c, page.width - 20 * MM, 11 * MM, text, 9, "right")
        c.setFillGray(0.0)
        draw_seat_bubbles(c, font, page, copy.words)
        return
    draw_text(c, page.width / 2, 11 * MM, text, 9, "center")
    c.setFillGray(0.0)


def draw_seat_bubbles(c: Canvas, font: str, page: PageLayout, words: PrintWords | None = None
                      ) -> None:
    """Draw the page's seat-number row: "座号 十位 ⓪…⑨  个位 ⓪…⑨".

    The bubbles are drawn like the choice bubbles (a grey ring, the digit in light dropout
    grey inside); the labels sit left of each group, in the footer's grey.

    Args:
        c: the reportlab canvas.
        font: the registered CJK font name.
        page: the page, whose ``seat_bubbles`` say where each bubble goes.
        words: the labels' language (default Chinese).
    """
    words = words or print_words("zh")
    h = page.height
    c.saveState()
    for place in (0, 1):
        boxes = [b for pl, _, b in page.seat_bubbles if pl == place]
        if not boxes:
            continue
        x0, y0, _, y1 = boxes[0]
        baseline = h - (y0 + y1) / 2 - 2.6  # CJK glyphs centred on the row
        c.setFillGray(FOOTER_GREY)
        label = words.tens if place == 0 else words.units
        draw_text(c, x0 - 1.2 * MM, baseline, label, 7.5, "right")
        if place == 0:
            # A child reads what to fill: the seat is the student number's last two digits.
            right = x0 - 1.2 * MM - text_width(label, 7.5) - 1.5 * MM
            draw_text(c, right, baseline, words.seat_hint, 7.5, "right")
            draw_text(c, right - text_width(words.seat_hint, 7.5), baseline, words.seat, 9,
                      "right")
    c.setLineWidth(0.6)
    c.setFont(font, SEAT_DIGIT_SIZE)
    for _, digit, (x0, y0, x1, y1) in page.seat_bubbles:
        c.setStrokeGray(BOX_GREY)
        c.circle((x0 + x1) / 2, h - (y0 + y1) / 2, (x1 - x0) / 2, stroke=1, fill=0)
        c.setFillGray(LABEL_GREY)
        c.drawCentredString((x0 + x1) / 2, h - (y0 + y1) / 2 - SEAT_DIGIT_SIZE * 0.35, str(digit))
    c.restoreState()


def draw_number_grid(c: Canvas, font: str, page: PageLayout, words: PrintWords) -> None:
    """Draw an answer sheet's student-number grid: a column of ⓪-⑨ under each box of the
    comb, drawn like the seat bubbles, its caption left of the top row.

    Args:
        c: the reportlab canvas.
        font: the registered CJK font name.
        page: the page, whose ``seat_bubbles`` hold the grid.
        words: the caption's language.
    """
    h = page.height
    c.saveState()
    x0, y0, _, y1 = min((b for _, d, b in page.seat_bubbles if d == 0), key=lambda b: b[0])
    c.setFillGray(FOOTER_GREY)
    draw_text(c, x0 - 1.5 * MM, h - (y0 + y1) / 2 - 2.6, words.number_grid, 7.5, "right")
    c.setLineWidth(0.6)
    c.setFont(font, SEAT_DIGIT_SIZE)
    for _, digit, (bx0, by0, bx1, by1) in page.seat_bubbles:
        c.setStrokeGray(BOX_GREY)
        c.circle((bx0 + bx1) / 2, h - (by0 + by1) / 2, (bx1 - bx0) / 2, stroke=1, fill=0)
        c.setFillGray(LABEL_GREY)
        c.drawCentredString((bx0 + bx1) / 2, h - (by0 + by1) / 2 - SEAT_DIGIT_SIZE * 0.35,
                            str(digit))
    c.restoreState()


def has_instruction_room(layout: WorksheetLayout, page: PageLayout) -> bool:
    """Whether ``page`` prints the choice-marking instruction: page 1 of a worksheet with
    bubbles whose layout kept the room for it (layouts made before it keep no room)."""
    if page.number != 1 or not any(r.bubbles and r.kind != "seat" for p in layout.pages
                                   for r in p.regions):
        return False
    return all(b.top >= HEADER_BOTTOM + INSTRUCTION_H - 0.01 for b in page.blocks) and \
        all(r.box[1] >= HEADER_BOTTOM + INSTRUCTION_H - 0.01 for r in page.regions)


def _instruction(c: Canvas, page: PageLayout, text: str) -> None:
    width = page.width - 40 * MM
    size = INSTRUCTION_SIZE
    while size > 6.5 and text_width(text, size) > width:
        size -= 0.25
    c.setFillGray(FOOTER_GREY)
    # Midway between the header rule (33 mm) and the first question.
    draw_text(c, 20 * MM, page.height - HEADER_BOTTOM - INSTRUCTION_H + 3.2 * MM,
              text, size)
    c.setFillGray(0.0)


def _typeset_block(c: Canvas, block: QuestionBlock, page: PageLayout, words: PrintWords
                   ) -> None:
    """A block laid out with measured lines: maths typeset, each line at its own pitch."""
    h = page.height
    lines = [*block.stem_lines, *block.option_lines]
    y = block.top
    for i, (text, pitch) in enumerate(zip(lines, block.line_heights, strict=False)):
        cols = text.split("\t") if i >= len(block.stem_lines) else [text]
        for k, col in enumerate(cols):
            line = layout_text(col, 1e6, STEM_FONT_SIZE, fractions=True).lines[0] \
                if col.strip() else None
            if line is None:
                continue
            # A row holding a stacked fraction (taller pitch) sets every column lower,
            # by the room the numerator needs above the text.
            baseline = h - y - (STEM_FONT_SIZE * (1 + FRACTION_EXTRA_TOP)
                                if pitch > STEM_FONT_SIZE * LEADING + 0.01 else STEM_FONT_SIZE)
            if i == 0 and k == 0:
                draw_text(c, block.stem_x - 1.5 * MM, baseline, f"{block.number}.",
                          STEM_FONT_SIZE, "right")
            draw_line(c, line, block.stem_x + k * block.option_col_width, baseline,
                      STEM_FONT_SIZE)
        y += pitch
    if not block.stem_lines or not block.stem_lines[0].strip():
        draw_text(c, block.stem_x - 1.5 * MM, h - block.top - STEM_FONT_SIZE,
                  f"{block.number}.", STEM_FONT_SIZE, "right")
    for label, x, by in block.blank_labels:
        draw_text(c, x, h - by, words.blank_label(label), 9)


def _scratch(c: Canvas, block: QuestionBlock, page: PageLayout, label: str) -> None:
    """The working area (竖式): a light dashed frame with its name in its top corner."""
    if block.scratch is None:
        return
    x0, y0, x1, y1 = block.scratch
    h = page.height
    c.saveState()
    c.setStrokeGray(LABEL_GREY)
    c.setLineWidth(0.5)
    c.setDash(2, 2)
    c.rect(x0, h - y1, x1 - x0, y1 - y0, stroke=1, fill=0)
    c.setFillGray(LABEL_GREY)
    draw_text(c, x0 + 1.5 * MM, h - y0 - 3.2 * MM, label, 7.5)
    c.restoreState()


def _block(c: Canvas, font: str, block: QuestionBlock, page: PageLayout, words: PrintWords
           ) -> None:
    _scratch(c, block, page, words.scratch)
    if block.line_heights:
        _typeset_block(c, block, page, words)
        return
    h = page.height
    baseline = h - block.top - STEM_FONT_SIZE
    draw_text(c, block.stem_x - 1.5 * MM, baseline, f"{block.number}.", STEM_FONT_SIZE, "right")
    y = baseline
    for line in block.stem_lines:
        draw_text(c, block.stem_x, y, line, STEM_FONT_SIZE)
        y -= LINE_HEIGHT
    for line in block.option_lines:
        for i, text in enumerate(line.split("\t")):
            draw_text(c, block.stem_x + i * block.option_col_width, y, text, STEM_FONT_SIZE)
        y -= LINE_HEIGHT
    for label, x, by in block.blank_labels:
        draw_text(c, x, h - by, words.blank_label(label), 9)


def _tick(c: Canvas, box: tuple[float, float, float, float], h: float, cross: bool) -> None:
    x0, y0, x1, y1 = box
    s = (x1 - x0) * 0.22
    if cross:
        c.line(x0 + s, h - y0 - s, x1 - s, h - y1 + s)
        c.line(x0 + s, h - y1 + s, x1 - s, h - y0 - s)
    else:
        c.line(x0 + s, h - (y0 + y1) / 2, x0 + (x1 - x0) * 0.42, h - y1 + s)
        c.line(x0 + (x1 - x0) * 0.42, h - y1 + s, x1 - s, h - y0 - s)


def _region(c: Canvas, font: str, region: AnswerRegion, h: float) -> None:
    c.setLineWidth(0.7)
    c.setStrokeGray(BOX_GREY)
    if not region.bubbles:
        x0, y0, x1, y1 = region.box
        c.rect(x0, h - y1, x1 - x0, y1 - y0, stroke=1, fill=0)
        return
    for b in region.bubbles:
        x0, y0, x1, y1 = b.box
        c.setStrokeGray(BOX_GREY)
        c.circle((x0 + x1) / 2, h - (y0 + y1) / 2, (x1 - x0) / 2, stroke=1, fill=0)
        c.setStrokeGray(LABEL_GREY)
        c.setFillGray(LABEL_GREY)
        if region.kind == "true_false":
            _tick(c, b.box, h, cross=b.label == "F")
        else:
            c.setFont(font, 8)
            c.drawCentredString((x0 + x1) / 2, h - y1 + (y1 - y0) * 0.3, b.label)
        c.setFillGray(0.0)


def draw_worksheet_page(canvas: Canvas, font: str, layout: WorksheetLayout, page: PageLayout,
                        copy: PrintedCopy, page_code: str, *, footer_text: str | None = None
                        ) -> None:
    """Draw one worksheet page exactly as laid out; the caller starts the next page.

    Both :func:`render_worksheet_pdf` and the error book's practice section
    (:mod:`errorbook.printing.book.pdf`) draw pages through this one function, so a practice page
    reads back exactly like a worksheet page.

    Args:
        canvas: the reportlab canvas, positioned on a fresh page.
        font: the registered CJK font name (``register_cjk_font()``).
        layout: the worksheet layout the page belongs to (its title goes in the header).
        page: the page to draw.
        copy: whose copy it is (name, student number and class in the header).
        page_code: the QR text of this page.
        footer_text: replaces the default footer (``name · 第 n / N 页`` of the
            worksheet), e.g. with the page number inside a longer document.
    """
    canvas.setPageSize((page.width, page.height))
    for m in page.markers:
        draw_marker(canvas, m.marker_id, m.box[0], m.box[1], m.box[2] - m.box[0], page.height)
    draw_qr(canvas, page_code, page.qr_box, page.height)
    _header(canvas, font, layout, page, copy)
    if has_instruction_room(layout, page):
        _instruction(canvas, page, copy.words.choice_instruction)
    for block in page.blocks:
        _block(canvas, font, block, page, copy.words)
    for region in page.regions:
        _region(canvas, font, region, page.height)
    _footer(canvas, font, page, len(layout.pages), copy, footer_text)


def _blank_page(c: Canvas, font: str, width: float, height: float, words: PrintWords
                ) -> None:
    c.setFillGray(0.5)
    draw_text(c, width / 2, height / 2, words.blank_page, 10, "center")
    c.setFillGray(0.0)


def render_worksheet_pdf(layout: WorksheetLayout, copies: Sequence[PrintedCopy], *,
                         duplex: bool = True, author: str = "markbook") -> bytes:
    """Render copies of a worksheet into one PDF.

    Args:
        layout: the worksheet's stored layout.
        copies: one entry per printed copy, each with a QR text per page.
        duplex: pad every copy to an even page count so no copy starts on the back of
            another's last page when printed two-sided.
        author: the PDF's author metadata.

    Returns:
        The PDF bytes.

    Raises:
        ValueError: no copies, or a copy whose page codes do not match the page count.
    """
    if not copies:
        raise ValueError("at least one copy is needed")
    font = register_cjk_font()
    buf = io.BytesIO()
    first = layout.pages[0]
    c = Canvas(buf, pagesize=(first.width, first.height), pageCompression=1,
               initialFontName=font, initialFontSize=STEM_FONT_SIZE)
    c.setTitle(layout.title)
    c.setAuthor(author)
    c.setCreator("markbook")
    total = len(layout.pages)
    for copy in copies:
        if len(copy.page_codes) != total:
            raise ValueError(f"a copy has {len(copy.page_codes)} page codes for {total} pages")
        for page, code in zip(layout.pages, copy.page_codes, strict=True):
            draw_worksheet_page(c, font, layout, page, copy, code)
            c.showPage()
        if duplex and total % 2 == 1:
            _blank_page(c, font, first.width, first.height, copy.words)
            c.showPage()
    c.save()
    return buf.getvalue()
