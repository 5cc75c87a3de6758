"""Simulate a class doing a worksheet and the copier scanning the stack (demo, tests, bench).

The printed class set is rasterised, every page's answer boxes are filled with real
handwriting from the datasets folder the caller passes (the test split, never used for tuning) — or, when
the datasets are absent, with jittered font glyphs, reported as synthetic — bubbles are
marked, and the pages are degraded like a copier and bound into one multi-page PDF. The
truth of everything written comes back with it, so accuracy can be measured end to end.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

from errorbook.contract import WorksheetLayout
from ocr.identify import identify_page
from simulation.handwriting import DatasetsMissingError, GlyphBank, random_numeric_answer
from simulation.pages import FilledPage, FillOptions, fill_page

__all__ = [
    "CombBox",
    "PageTruth",
    "ScannedStack",
    "font_glyph_bank",
    "keys_for",
    "load_glyphs",
    "pdf_pages",
    "realistic_answer_for",
    "scan_class_set",
    "truth_responses",
]

DPI = 200
# Children always write their number when the copy has no name printed on it.
_NUMBER_ALWAYS = FillOptions(blank_prob=0.0)


@dataclass(frozen=True)
class PageTruth:
    """What was written on one scanned page (empty for padding/blank pages)."""

    page_index: int
    worksheet_id: int | None
    page_no: int | None
    student_id: int | None
    written: dict[tuple[str, int], str] = field(default_factory=dict)
    marked: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ScannedStack:
    pdf: bytes
    pages: list[PageTruth]
    handwriting: str  # "real (datasets test split)" or "synthetic font glyphs"


def font_glyph_bank(seed: int = 0, per_symbol: int = 12) -> GlyphBank:
    """Jittered DejaVu glyphs in the GlyphBank shape: a stand-in when the real handwriting
    datasets are not installed. Figures measured with it are synthetic, and say so."""
    rng = np.random.default_rng(seed)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        font = ImageFont.load_default()
    glyphs: dict[str, list[np.ndarray]] = {}
    for sym in "0123456789-/.+":
        out = []
        for _ in range(per_symbol):
            img = Image.new("L", (56, 56), 0)
            ImageDraw.Draw(img).text((12, 4), sym, fill=255, font=font,
                                     stroke_width=int(rng.integers(0, 2)))
            img = img.rotate(float(rng.uniform(-12, 12)), resample=Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32) / 255.0
            ys, xs = np.nonzero(arr > 0.15)
            if len(ys):
                arr = arr[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
            out.append(arr)
        glyphs[sym] = out
    return GlyphBank(mnist={k: v for k, v in glyphs.items() if k.isdigit()}, bhmsds=glyphs,
                     split="test")


def load_glyphs(datasets: Path | None) -> tuple[GlyphBank, str]:
    """The test split of the real handwriting, or font glyphs when it is not installed.

    Args:
        datasets: the folder of the handwriting ``.npz`` files; None when none is
            configured (font glyphs then).

    Returns:
        The glyphs and a label saying which they are.
    """
    if datasets is None:
        return font_glyph_bank(), "synthetic font glyphs (no datasets folder configured)"
    try:
        return GlyphBank.load("test", datasets), "real handwriting (datasets, test split)"
    except DatasetsMissingError:
        return font_glyph_bank(), "synthetic font glyphs (datasets not installed)"


def realistic_answer_for(keys: dict[str, str]) -> Callable[[str, int, np.random.Generator], str]:
    """What children write: the key 75% of the time, a typical slip 20%, anything 5%."""

    def answer(qid: str, blank: int, rng: np.random.Generator) -> str:
        key = keys.get(f"{qid}#{blank}") or keys.get(qid)
        roll = rng.random()
        if key is None or roll >= 0.95:
            return random_numeric_answer(rng)
        if roll < 0.75 or not key.isdigit():
            return key
        n = int(key)
        slips = [str(n + 10), str(max(n - 10, 0)), str(n + 1), str(max(n - 1, 0)), key[::-1]]
        return slips[int(rng.integers(len(slips)))]

    return answer


def scan_class_set(printed_pdf: bytes, layouts: dict[int, dict[str, Any]],
                   keys: dict[str, str], *, seed: int = 0, bank: GlyphBank | None = None,
                   datasets: Path | None = None, handwriting: str = "", quality: int = 80,
                   anonymous_numbers: list[str] | None = None,
                   answer_for: Callable[[str, int, np.random.Generator], str] | None = None,
                   ) -> ScannedStack:
    """Fill and scan a printed class set.

    Args:
        printed_pdf: the class set as printed (per-student copies).
        layouts: worksheet id → stored layout (``WorksheetLayout.to_dict``).
        keys: ``question_id`` or ``question_id#blank`` → the key text for digit boxes.
        seed: the only source of randomness.
        bank: handwriting glyphs (default: :func:`load_glyphs` of ``datasets``).
        datasets: the handwriting datasets folder used when no ``bank`` is given.
        handwriting: a label for ``bank``.
        quality: JPEG quality of the scanned pages in the PDF.
        anonymous_numbers: student numbers the children write in the comb boxes of
            non-personalised copies, one per copy in print order (truth key
            ``("__student_no__", 0)``), one digit per box.
        answer_for: what the child writes in a box, ``(question id, blank, rng) -> text``;
            by default :func:`realistic_answer_for` over ``keys`` (mostly right, some slips).

    Returns:
        The scan as one PDF, and the truth per page.
    """
    if bank is None:
        bank, handwriting = load_glyphs(datasets)
    parsed = {wid: WorksheetLayout.from_dict(data) for wid, data in layouts.items()}
    rng = np.random.default_rng(seed)
    answer_for = answer_for or realistic_answer_for(keys)
    numbers = list(anonymous_numbers or [])
    copy = -1
    doc = pdfium.PdfDocument(printed_pdf)
    images: list[Image.Image] = []
    truths: list[PageTruth] = []
    try:
        for i in range(len(doc)):
            bmp = doc[i].render(scale=DPI / 72, grayscale=True).to_numpy()
            printed = np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)
            ident, _ = identify_page(printed)
            code = ident.code
            layout = parsed.get(code.worksheet_id) if code else None
            pages = [p for p in layout.pages if code and p.number == code.page] if layout else []
            if code is None or not pages:
                filled = FilledPage(printed, DPI)
                truths.append(PageTruth(i, None, None, None))
            else:
                regions: list[Any] = list(pages[0].regions)
                write = answer_for
                if code.student_id is None and numbers:
                    copy += code.page == 1
                    number = numbers[copy % len(numbers)]
                    regions += [CombBox(box, i) for i, box
                                in enumerate(pages[0].student_no_boxes[:len(number)])]
                    write = _with_number(answer_for, number)
                filled = fill_page(printed, DPI, regions, bank, rng, answer_for=write,
                                   options=_NUMBER_ALWAYS if code.student_id is None and numbers
                                   else None)
                written = dict(filled.written)
                comb = [written.pop(("__student_no__", k)) for k in range(8)
                        if ("__student_no__", k) in written]
                if comb:
                    written[("__student_no__", 0)] = "".join(comb)
                truths.append(PageTruth(i, code.worksheet_id, code.page, code.student_id,
                                        written,
                                        {q: m.marked for q, m in filled.marks.items()}))
            images.append(Image.fromarray(filled.image))
    finally:
        doc.close()
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=DPI,
                   quality=quality)
    return ScannedStack(buf.getvalue(), truths, handwriting)


@dataclass(frozen=True)
class CombBox:
    """One box of the student-number comb as a pseudo answer region for fill_page
    (``blank`` is the box's position, so the writer's answer is digit ``blank``)."""

    box: tuple[float, float, float, float]
    blank: int
    question_id: str = "__student_no__"
    bubbles: tuple[Any, ...] = ()
    kind: str = "student_no"
    answer_format: str = "digits"


def _with_number(answer_for: Callable[[str, int, np.random.Generator], str], number: str
                 ) -> Callable[[str, int, np.random.Generator], str]:
    def answer(qid: str, blank: int, rng: np.random.Generator) -> str:
        return number[blank] if qid == "__student_no__" else answer_for(qid, blank, rng)

    return answer


def keys_for(documents: list[dict[str, Any]]) -> dict[str, str]:
    """Digit-box keys of bank questions (arithmetic from the stem, numeric from the key),
    as ``question_id`` or ``question_id#blank`` for quotient/remainder boxes."""
    from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem

    keys: dict[str, str] = {}
    for doc in documents:
        qid = str(doc["id"])
        if doc.get("kind") == "arithmetic":
            try:
                stem = parse_arithmetic_stem(str(doc["stem"]))
            except ArithmeticStemError:
                continue
            if stem.with_remainder:
                keys[f"{qid}#0"], keys[f"{qid}#1"] = str(stem.quotient), str(stem.remainder)
            else:
                keys[qid] = stem.answer_text()
        elif doc.get("kind") == "numeric":
            keys[qid] = str(doc["key"]["value"])
    return keys


def truth_responses(stack: ScannedStack, documents: list[dict[str, Any]]
                    ) -> dict[tuple[int, str], Any]:
    """What each student really answered, per (student id, question id), as the
    teacher-typed response a grader takes (for measuring accuracy end to end)."""
    from grading.response import Response

    kinds = {str(d["id"]): d.get("kind") for d in documents}
    out: dict[tuple[int, str], Any] = {}
    for page in stack.pages:
        if page.student_id is None:
            continue
        blanks: dict[str, dict[int, str]] = {}
        for (qid, blank), text in page.written.items():
            if qid in kinds:
                blanks.setdefault(qid, {})[blank] = text
        for qid, by_blank in blanks.items():
            texts = tuple(by_blank[b] for b in sorted(by_blank))
            if not any(texts):
                out[(page.student_id, qid)] = Response.typed("")
            elif len(texts) == 1:
                out[(page.student_id, qid)] = Response.typed(texts[0])
            else:
                out[(page.student_id, qid)] = Response.typed("", blanks=texts)
        for qid, marked in page.marked.items():
            if qid in kinds:
                out[(page.student_id, qid)] = (Response.typed("", marked=marked) if marked
                                               else Response.typed(""))
    return out


def pdf_pages(pdf: bytes, indices: list[int]) -> bytes:
    """A new PDF of some pages of ``pdf`` (0-based, in the order given): e.g. the practice
    pages of a scanned error book, which is all a teacher sends back."""
    src = pdfium.PdfDocument(pdf)
    out = pdfium.PdfDocument.new()
    try:
        out.import_pages(src, indices)
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()
        src.close()
