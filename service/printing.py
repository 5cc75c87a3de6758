"""Build printable worksheet PDFs from stored worksheets (runs off the event loop)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from anyio import to_thread
from pydantic import TypeAdapter

from errorbook.contract import PageCode, WorksheetLayout, format_page_code, page_layout_hash
from errorbook.printing.geometry import MM
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question
from ocr.pdfium_lock import PDFIUM, render_grey

__all__ = [
    "PREVIEW_DPI",
    "QUESTION_PREVIEW_DPI",
    "CopyRequest",
    "preview_pngs",
    "rasterise_pdf",
    "render_copies",
    "render_question_preview",
]

# Screen previews of printed pages: sharp enough to read a stem, small enough to send.
PREVIEW_DPI = 96
QUESTION_PREVIEW_DPI = 110
_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)


@dataclass(frozen=True)
class CopyRequest:
    student_id: int | None = None
    student_name: str | None = None
    student_no: str | None = None


def _render(layout_data: dict[str, Any], worksheet_id: int, class_name: str,
            copies: Sequence[CopyRequest], duplex: bool = True, seat_bubbles: bool = False,
            install: str | None = None, language: str = "zh") -> bytes:
    layout = WorksheetLayout.from_dict(layout_data)
    # MB2 codes (install + layout hash) on every print; a screen preview passes no install
    # and keeps the short MB1 code.
    hashes = {p.number: page_layout_hash(p) if install else None for p in layout.pages}
    printed = [
        PrintedCopy(
            page_codes=tuple(format_page_code(PageCode(worksheet_id, p.number, c.student_id,
                                                       install=install,
                                                       layout=hashes[p.number]))
                             for p in layout.pages),
            student_name=c.student_name, student_no=c.student_no, class_name=class_name,
            seat_bubbles=seat_bubbles, language=language,
        )
        for c in copies
    ]
    return render_worksheet_pdf(layout, printed, duplex=duplex)


async def render_copies(layout_data: dict[str, Any], worksheet_id: int, class_name: str,
                        copies: Sequence[CopyRequest], *, install: str, duplex: bool = True,
                        seat_bubbles: bool = False, language: str = "zh") -> bytes:
    """Render the copies in a worker thread so the event loop stays free.

    Args:
        layout_data: the worksheet's stored layout.
        worksheet_id: printed in every page's QR code.
        install: this install's id (``service.install``), printed in every page's ``MB2``
            code with the page's layout hash.
        class_name: printed under the title.
        copies: one entry per copy (blank, or a student's).
        duplex: pad every copy to an even page count (two-sided printing); ``False``
            prints each copy's pages only.
        seat_bubbles: print the seat-number bubbles (座号 = the student number's last two
            digits) in the footer of every anonymous copy; named copies never carry them.
        language: the school's language for the page furniture (``zh`` or ``en``).
    """
    return await to_thread.run_sync(_render, layout_data, worksheet_id, class_name, list(copies),
                                    duplex, seat_bubbles, install, language)


def rasterise_pdf(pdf: bytes, *, dpi: float,
                  crop: tuple[float, float, float, float] | None = None) -> list[bytes]:
    """Every page of ``pdf`` as a PNG (greyscale), rendered by pdfium as the scan side does.

    Args:
        pdf: the PDF bytes.
        dpi: pixels per inch.
        crop: keep only this box of each page, in PDF points from the page's top-left
            ``(x0, y0, x1, y1)``.

    Returns:
        One PNG per page.
    """
    import pypdfium2 as pdfium
    from PIL import Image

    images: list[Image.Image] = []
    with PDFIUM:
        doc = pdfium.PdfDocument(pdf)
        try:
            for i in range(len(doc)):
                page = doc[i]
                try:
                    images.append(Image.fromarray(render_grey(page, scale=dpi / 72)))
                finally:
                    page.close()
        finally:
            doc.close()
    out: list[bytes] = []
    for image in images:
        if crop is not None:
            k = dpi / 72
            image = image.crop((round(crop[0] * k), round(crop[1] * k),
                                round(crop[2] * k), round(crop[3] * k)))
        buf = io.BytesIO()
        image.convert("L").save(buf, format="PNG", optimize=True)
        out.append(buf.getvalue())
    return out


@lru_cache(maxsize=32)
def preview_pngs(layout_json: str, worksheet_id: int, class_name: str,
                 dpi: float = PREVIEW_DPI) -> tuple[bytes, ...]:
    """A blank copy of a worksheet layout, page by page, as PNGs: the same PDF as a printed
    blank copy (without duplex padding), rasterised. Cached by the layout itself, so a
    page viewed again costs nothing.

    Args:
        layout_json: the layout, as JSON (``WorksheetLayout.to_dict()``).
        worksheet_id: printed in the QR codes (0 for a draft).
        class_name: printed under the title.
        dpi: pixels per inch.
    """
    pdf = _render(json.loads(layout_json), worksheet_id, class_name, [CopyRequest()],
                  duplex=False)
    return tuple(rasterise_pdf(pdf, dpi=dpi))


@lru_cache(maxsize=512)
def render_question_preview(document_json: str, page_size: str = "A4",
                            dpi: float = QUESTION_PREVIEW_DPI) -> bytes:
    """One bank question as it prints on a worksheet: laid out by the worksheet layout
    engine, drawn by the worksheet renderer, rasterised, and cropped to the question's
    stem and answer area. Cached by the question's document (a changed question renders
    anew).

    Args:
        document_json: the question's stored document, as JSON.
        page_size: the paper the question is laid out on.
        dpi: pixels per inch.

    Raises:
        LayoutError: the question cannot be laid out.
        FontNotFoundError: the CJK font is missing.
    """
    question = _QUESTION.validate_python(json.loads(document_json))
    layout = layout_worksheet(question.id, [question], page_size)
    page = layout.pages[0]
    block = page.blocks[0]
    bottom = max([r.box[3] for r in page.regions] + [block.top + 10 * MM])
    crop = (10 * MM, max(block.top - 2 * MM, 0), page.width - 10 * MM,
            min(bottom + 3 * MM, page.height))
    codes = tuple(format_page_code(PageCode(0, p.number)) for p in layout.pages)
    pdf = render_worksheet_pdf(layout, [PrintedCopy(codes)], duplex=False)
    return rasterise_pdf(pdf, dpi=dpi, crop=crop)[0]
