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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

from errorbook.contract import WorksheetLayout
from ocr.identify import identify_page
from simulation.handwriting import DatasetsMissingError, GlyphBank, random_numeric_answer
from simulation.pages import COMPARISON_SIGNS, FilledPage, FillOptions, fill_page

__all__ = [
    "CombBox",
    "PageTruth",
    "ScannedStack",
    "font_glyph_bank",
    "keys_for",
    "load_glyphs",
    "not_simulated_answers",
    "pdf_pages",
    "realistic_answer_for",
    "realistic_marks_for",
    "scan_class_set",
    "simulated",
    "truth_responses",
]

DPI = 200


@dataclass(frozen=True)
class PageTruth:
    """What was written on one scanned page (empty for padding/blank pages)."""

    page_index: int
    worksheet_id: int | None
    page_no: int | None
    student_id: int | None
    written: dict[tuple[str, int], str] = field(default_factory=dict)
    marked: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_simulated: frozenset[tuple[str, int]] = frozenset()


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
    """What children write: the key 75% of the time, a typical slip 20%, anything 5%; for
    a comparison (key ``<``, ``>`` or ``=``), the key 80% of the time, another sign 20%."""

    def answer(qid: str, blank: int, rng: np.random.Generator) -> str:
        key = keys.get(f"{qid}#{blank}") or keys.get(qid)
        if key in COMPARISON_SIGNS:
            others = sorted(COMPARISON_SIGNS - {key})
            return key if rng.random() < 0.8 else others[int(rng.integers(len(others)))]
        roll = rng.random()
        if key is None or roll >= 0.95:
            return random_numeric_answer(rng)
        if roll < 0.75 or not key.isdigit():
            return key
        n = int(key)
        slips = [str(n + 10), str(max(n - 10, 0)), str(n + 1), str(max(n - 1, 0)), key[::-1]]
        return slips[int(rng.integers(len(slips)))]

    return answer


def realistic_marks_for(documents: list[dict[str, Any]]
                        ) -> Callable[[str, tuple[str, ...], np.random.Generator],
                                      tuple[str, ...]]:
    """Which bubbles children mark, as a class does: mostly the key, sometimes a tempting
    wrong option (a known misconception's first), now and then nothing or two marks.

    Choices: the key 72%, a wrong option 20% (a misconception's option when the bank
    names one), nothing 3%, the key and another 3%, another at random 2%. Several
    answers: all of them 60%, all but one 22%, all and a wrong one 10%, one wrong one 5%,
    nothing 3%. True/false: right 80%, wrong 17%, nothing 3%.

    Args:
        documents: the worksheet's bank questions (their keys).

    Returns:
        ``(question id, bubble labels, rng) -> labels marked``.
    """
    docs = {str(d["id"]): d for d in documents}

    def marks(qid: str, labels: tuple[str, ...], rng: np.random.Generator) -> tuple[str, ...]:
        doc = docs.get(qid)
        roll = rng.random()
        if doc is None:
            return (labels[int(rng.integers(len(labels)))],)
        key = doc["key"]
        if doc["kind"] == "true_false":
            right, flipped = ("T", "F") if key["answer"] else ("F", "T")
            return (right,) if roll < 0.8 else (flipped,) if roll < 0.97 else ()
        if doc["kind"] == "multi_choice":
            answers = [a for a in key["answers"] if a in labels]
            others = [lb for lb in labels if lb not in answers]
            if roll < 0.6 or not answers:
                return tuple(answers)
            if roll < 0.82 and len(answers) > 1:
                drop = answers[int(rng.integers(len(answers)))]
                return tuple(a for a in answers if a != drop)
            if roll < 0.92 and others:
                return tuple(sorted([*answers, others[int(rng.integers(len(others)))]]))
            if roll < 0.97 and others:
                return (others[int(rng.integers(len(others)))],)
            return ()
        answer = key["answer"]
        wrong = [lb for lb in labels if lb != answer]
        tempting = [lb for lb in key.get("misconceptions", {}) if lb in wrong] or wrong
        if roll < 0.72 or not wrong:
            return (answer,)
        if roll < 0.92:
            return (tempting[int(rng.integers(len(tempting)))],)
        if roll < 0.95:
            return ()
        if roll < 0.98:
            return tuple(sorted([answer, wrong[int(rng.integers(len(wrong)))]]))
        return (wrong[int(rng.integers(len(wrong)))],)

    return marks


def scan_class_set(printed_pdf: bytes, layouts: dict[int, dict[str, Any]],
                   keys: dict[str, str], *, seed: int = 0, bank: GlyphBank | None = None,
                   datasets: Path | None = None, handwriting: str = "", quality: int = 80,
                   anonymous_numbers: list[str] | None = None,
                   answer_for: Callable[[str, int, np.random.Generator], str] | None = None,
                   mark_for: Callable[[str, tuple[str, ...], np.random.Generator],
                                      tuple[str, ...]] | None = None,
                   write_signs: bool = False, fill: FillOptions | None = None,
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
        mark_for: which bubbles the child marks (e.g. :func:`realistic_marks_for`); by
            default a random choice.
        write_signs: write comparison signs into text boxes (``answer_for`` says which);
            other text boxes stay empty, listed as not simulated in the truth.
        fill: how often boxes stay blank and bubbles unmarked, and how pages degrade
            (default :class:`simulation.pages.FillOptions`).

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
                                   options=replace(fill or FillOptions(), blank_prob=0.0)
                                   if code.student_id is None and numbers else fill,
                                   mark_for=mark_for, write_signs=write_signs)
                written = dict(filled.written)
                comb = [written.pop(("__student_no__", k)) for k in range(8)
                        if ("__student_no__", k) in written]
                if comb:
                    written[("__student_no__", 0)] = "".join(comb)
                truths.append(PageTruth(i, code.worksheet_id, code.page, code.student_id,
                                        written,
                                        {q: m.marked for q, m in filled.marks.items()},
                                        filled.not_simulated))
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
    """Keys of the boxes a simulated child writes in: digit boxes (arithmetic from the
    stem, numeric from the key) and comparison signs, as ``question_id`` or
    ``question_id#blank`` for quotient/remainder boxes."""
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
        elif doc.get("kind") == "text":
            # A comparison (fill in >, < or =): the sign, as a child writes it.
            blanks = doc["key"]["blanks"]
            accept = [a.translate(_FULL_WIDTH) for a in blanks[0]["accept"]] if blanks else []
            if len(blanks) == 1 and accept and accept[0] in COMPARISON_SIGNS:
                keys[qid] = accept[0]
    return keys


_FULL_WIDTH = str.maketrans("\uff1c\uff1e\uff1d", "<>=")


def truth_responses(stack: ScannedStack, documents: list[dict[str, Any]]
                    ) -> dict[tuple[int, str], Any]:
    """What each student really answered, per (student id, question id), as the
    teacher-typed response a grader takes (for measuring accuracy end to end). Questions
    the simulation could not write (:func:`not_simulated_answers`) are left out."""
    from grading.response import Response

    kinds = {str(d["id"]): d.get("kind") for d in documents}
    out: dict[tuple[int, str], Any] = {}
    for page in stack.pages:
        if page.student_id is None:
            continue
        blanks: dict[str, dict[int, str]] = {}
        skipped = {qid for qid, _ in page.not_simulated}
        for (qid, blank), text in page.written.items():
            if qid in kinds and qid not in skipped:
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


_WRITABLE = frozenset("0123456789-/.+")


def simulated(doc: dict[str, Any]) -> bool:
    """Whether a simulated child can answer this bank question on paper: bubbles
    (choices, true/false), numbers the handwriting glyphs can write, and comparison
    signs; not Chinese, letters or expressions."""
    kind = doc.get("kind")
    if kind in ("choice", "multi_choice", "true_false"):
        return True
    key = keys_for([doc])
    if kind in ("arithmetic", "numeric"):
        return bool(key) and all(set(v) <= _WRITABLE for v in key.values())
    return kind == "text" and bool(key)


def not_simulated_answers(stack: ScannedStack) -> set[tuple[int, str]]:
    """(student id, question id) of the answers the simulation left empty because it
    cannot write them (Chinese, letters, expressions): not the children's blanks."""
    return {(page.student_id, qid) for page in stack.pages if page.student_id is not None
            for qid, _ in page.not_simulated}


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
