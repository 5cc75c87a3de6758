"""The page benchmark's worksheet for scan-reading tests: built once, read with any recogniser."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest

from errorbook.contract import PageLayout
from grading.questions import Question
from ocr.ingest import PageImage
from ocr.pipeline import AnswerRead, PageRead, TemplatePage, read_page
from simulation.bench_worksheet import DPI, build_worksheet, make_pages, template_of
from simulation.handwriting import DatasetsMissingError
from simulation.pages import FilledPage
from tests.support.datasets import DATASETS_DIR

__all__ = ["BenchPage", "bench_page", "filled_pages", "read_image", "written_answers"]


@dataclass(frozen=True)
class BenchPage:
    """The worksheet page as printed for a student, blank, and as a reading template."""

    page: PageLayout
    printed: np.ndarray
    blank: np.ndarray
    questions: dict[str, Question]
    template: TemplatePage


@lru_cache(maxsize=1)
def bench_page() -> BenchPage:
    """The 20-region worksheet of ``simulation.bench_worksheet`` (rendered once per run)."""
    page, printed, blank, questions = build_worksheet()
    return BenchPage(page, printed, blank, questions, template_of(page, blank))


def filled_pages(seed: int = 3, n: int = 2) -> list[FilledPage]:
    """``n`` pages filled with real handwriting (``test`` split); skips without the datasets."""
    bp = bench_page()
    try:
        return make_pages(bp.page, bp.printed, "test", n, seed, datasets=DATASETS_DIR)
    except DatasetsMissingError as exc:
        pytest.skip(str(exc))


def read_image(image: np.ndarray, recognizer: object,
               template: TemplatePage | None = None) -> PageRead:
    """Read one page image against the worksheet's template (or ``template``)."""
    tmpl = template or bench_page().template
    return read_page(PageImage(0, image, DPI, "raster"), lambda code: tmpl, recognizer)


def written_answers(read: PageRead) -> list[AnswerRead]:
    """The written (not bubble) answers of a page read."""
    return [a for a in read.answers if a.marks is None]
