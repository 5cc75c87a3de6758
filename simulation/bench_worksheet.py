"""The page benchmark's worksheet: one printed 20-region page and copier PDFs of it filled in.

A one-page worksheet of 12 written arithmetic answers, 4 choice and 4 true/false questions
from the sample bank, printed by markbook at 200 dpi, its reading template, and pages of it
filled with real handwriting (``simulation.pages.fill_page``) packed into one PDF of embedded
JPEG pages, as a copier would send them. Shared by ``bench/bench_scan_pages.py``,
``tools/training/fit_answer_confidence.py`` and the scan-reading tests, so that the
benchmark, the confidence fit and the tests read the same page.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image
from pydantic import TypeAdapter

from errorbook.contract import PageLayout
from errorbook.printing.layout import layout_worksheet
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf
from grading.questions import Question
from ocr.pipeline import TemplatePage
from simulation.handwriting import GlyphBank, Split, random_numeric_answer
from simulation.pages import FilledPage, FillOptions, fill_page

__all__ = [
    "DPI",
    "SAMPLE_BANK",
    "WORKSHEET_ID",
    "AnswerFor",
    "BenchWorksheet",
    "build_worksheet",
    "fill_pages",
    "make_pages",
    "realistic_answers",
    "template_of",
    "to_pdf",
]

DPI = 200
WORKSHEET_ID = 77
# The checkout's sample bank: this package is a development aid and runs from a checkout.
SAMPLE_BANK = Path(__file__).resolve().parent.parent / "sample_scans" / "question_bank.json"

# (question id, blank number, rng) -> what the child writes in that box.
AnswerFor = Callable[[str, int, np.random.Generator], str]
# (layout page, printed page, blank page, questions by id)
BenchWorksheet = tuple[PageLayout, np.ndarray, np.ndarray, dict[str, Question]]


def build_worksheet(bank_path: Path = SAMPLE_BANK, questions: list[Question] | None = None,
                    title: str = "三年级数学 口算与选择") -> BenchWorksheet:
    """The one-page, 20-region worksheet: (layout page, printed page, blank page, questions).

    The printed page carries a student's page code (what a class set prints); the blank
    page carries the worksheet's own code (the template readers align against).
    ``questions`` replaces the sample bank's 20 (they must fit on one page).
    """
    if questions is None:
        bank = json.loads(bank_path.read_text("utf-8"))
        ta = TypeAdapter(Question)
        want = {"arithmetic": 12, "choice": 4, "true_false": 4}
        questions = []
        for q in bank["questions"]:
            if q["subject"] == "math" and want.get(q["kind"], 0) > 0 \
                    and len(q["stem"]) <= 30 and "……" not in q["stem"]:
                want[q["kind"]] -= 1
                questions.append(ta.validate_python(q))
    layout = layout_worksheet(title, questions)
    if len(layout.pages) != 1:
        raise ValueError("the benchmark page must hold all its regions on one page")

    def render(pdf: bytes) -> np.ndarray:
        bmp = pdfium.PdfDocument(pdf)[0].render(scale=DPI / 72, grayscale=True).to_numpy()
        return np.ascontiguousarray(bmp[..., 0] if bmp.ndim == 3 else bmp)

    printed = render(render_worksheet_pdf(layout, [PrintedCopy((f"MB1;W{WORKSHEET_ID};P1;S5",))],
                                          duplex=False))
    blank = render(render_worksheet_pdf(layout, [PrintedCopy((f"MB1;W{WORKSHEET_ID};P1",))],
                                        duplex=False))
    return layout.pages[0], printed, blank, {q.id: q for q in questions}


def template_of(page: PageLayout, blank: np.ndarray) -> TemplatePage:
    """The reading template of the worksheet page, aligned against its blank rendering."""
    return TemplatePage.from_layout(WORKSHEET_ID, page, blank, DPI / 72)


def realistic_answers(questions: dict[str, Question]) -> AnswerFor:
    """What children write: the key 75% of the time, a typical slip 20%, anything 5%."""
    from grading.arithmetic_stem import parse_arithmetic_stem

    def answer(qid: str, blank: int, rng: np.random.Generator) -> str:
        key = parse_arithmetic_stem(questions[qid].stem).answer_text()
        roll = rng.random()
        if roll < 0.75 or not key.isdigit():
            return key if roll < 0.95 else random_numeric_answer(rng)
        if roll < 0.95:
            n = int(key)
            slips = [str(n + 10), str(max(n - 10, 0)), str(n + 1), str(max(n - 1, 0)), key[::-1]]
            return slips[int(rng.integers(len(slips)))]
        return random_numeric_answer(rng)

    return answer


def fill_pages(page: PageLayout, printed: np.ndarray, split: Split, n: int, seed: int,
               answer_for: AnswerFor | None = None, *, datasets: Path,
               bank: GlyphBank | None = None, options: FillOptions | None = None
               ) -> Iterator[FilledPage]:
    """``n`` filled pages, composed one at a time (a 200 dpi page is about 4 MB).

    ``datasets`` is the folder of the handwriting ``.npz`` files. The glyph bank is loaded
    before this returns, so a missing dataset raises here
    (``simulation.handwriting.DatasetsMissingError``). ``bank`` replaces the split's own
    (an unseen-writer bank, ``simulation.writers``).
    """
    bank = bank or GlyphBank.load(split, datasets)
    rng = np.random.default_rng(seed)
    return (fill_page(printed, DPI, page.regions, bank, rng, options, answer_for=answer_for)
            for _ in range(n))


def make_pages(page: PageLayout, printed: np.ndarray, split: Split, n: int, seed: int,
               answer_for: AnswerFor | None = None, *, datasets: Path,
               bank: GlyphBank | None = None, options: FillOptions | None = None
               ) -> list[FilledPage]:
    """``n`` filled pages at once (see :func:`fill_pages`)."""
    return list(fill_pages(page, printed, split, n, seed, answer_for, datasets=datasets,
                           bank=bank, options=options))


def to_pdf(pages: list[FilledPage]) -> bytes:
    """The pages as one PDF of embedded JPEG pages at :data:`DPI`, as a copier sends them."""
    buf = io.BytesIO()
    imgs = [Image.fromarray(p.image) for p in pages]
    imgs[0].save(buf, format="PDF", save_all=True, append_images=imgs[1:], resolution=DPI,
                 quality=85)
    return buf.getvalue()
