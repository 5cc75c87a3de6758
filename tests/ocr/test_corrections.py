"""Corrections on paper: crossed-out answers rewritten in the box, and stains
(ocr.corrections through ocr.pipeline.read_page, pages made by simulation.corrections)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from ocr.corrections import CORRECTED_DETAIL, CROSSED_OUT_DETAIL, find_corrections
from ocr.ingest import PageImage
from ocr.pipeline import (
    FAINT_BLANK_CONFIDENCE,
    STAIN_BLANK_DETAIL,
    STAIN_DETAIL,
    AnswerRead,
    ReadOptions,
    read_page,
)
from simulation.bench_worksheet import DPI
from simulation.corrections import cross_out_and_rewrite, stain
from simulation.handwriting import GlyphBank
from simulation.pages import FillOptions, degrade_page
from tests.support.bench_page import bench_page, filled_pages, read_image
from tests.support.datasets import DATASETS_DIR
from tests.support.recognizers import KeepsInks

S = DPI / 72
# A copier that does not binarise: the stains stay grey, as most copiers keep them.
GREY_COPIER = FillOptions(binarise_prob=0.0, rotation_deg=1.0, jpeg_quality=(80, 90))


@lru_cache(maxsize=1)
def _recognizer() -> Any:
    from ocr.reading.default import build_default_recognizer

    return build_default_recognizer()


def _digit_boxes() -> list[Any]:
    return [r for r in bench_page().page.regions if r.answer_format == "digits"]


def _page(change: Any, seed: int) -> np.ndarray:
    """The printed page with ``change(page, rng)`` applied, scanned by a grey copier."""
    rng = np.random.default_rng(seed)
    page = bench_page().printed.astype(np.float32) / 255.0
    change(page, rng)
    return degrade_page(page, rng, GREY_COPIER)


def _answer(image: np.ndarray, box: Any, recognizer: Any, **options: Any) -> AnswerRead:
    template = bench_page().template
    read = read_page(PageImage(0, image, DPI, "raster"), lambda code: template, recognizer,
                     ReadOptions(**options))
    assert read.status == "read"
    return next(a for a in read.answers if a.question_id == box.question_id)


def test_crossed_out_answer_rewritten_beside_reads_as_the_rewrite(test_bank: GlyphBank) -> None:
    box = _digit_boxes()[0]
    image = _page(lambda p, rng: cross_out_and_rewrite(p, box.box, S, "38", "52", test_bank,
                                                       rng, style="zigzag"), seed=4)
    a = _answer(image, box, _recognizer())
    # Read as the rewrite, flagged, and left for a teacher to confirm.
    assert (a.status, a.text, a.corrected) == ("unreadable", "52", True), a
    assert a.detail.startswith("corrected:")
    assert a.detail.startswith(CORRECTED_DETAIL)
    # Without the stage the same box is the scribble and both answers: not "52".
    before = _answer(image, box, _recognizer(), corrections=False)
    assert not before.corrected
    assert before.text != "52"


def test_crossed_out_with_nothing_rewritten_asks_a_teacher_never_blank(
        test_bank: GlyphBank) -> None:
    box = _digit_boxes()[1]
    for style in ("zigzag", "block"):
        image = _page(lambda p, rng, style=style: cross_out_and_rewrite(
            p, box.box, S, "47", "", test_bank, rng, style=style), seed=5)
        a = _answer(image, box, KeepsInks())
        assert (a.status, a.detail, a.corrected) == ("unreadable", CROSSED_OUT_DETAIL, False)


@pytest.mark.parametrize("seed", [6])
def test_eraser_smear_over_a_blank_box_is_suggested_blank_for_a_teacher(seed: int) -> None:
    box = _digit_boxes()[2]
    image = _page(lambda p, rng: stain(p, box.box, S, "eraser", rng), seed=seed)
    a = _answer(image, box, KeepsInks(), stains=True)
    # Blank is the suggestion, never graded unasked: the "stain" could be faint writing.
    assert (a.status, a.detail) == ("blank", STAIN_BLANK_DETAIL), a
    assert a.confidence == FAINT_BLANK_CONFIDENCE
    # The smear is ink without the stage: these would catch the stage doing nothing.
    assert _answer(image, box, KeepsInks()).status != "blank"  # stains are off by default
    assert _answer(image, box, KeepsInks(), corrections=False).status != "blank"


def _written_and_stained(seed: int) -> tuple[np.ndarray, Any]:
    box = _digit_boxes()[3]

    def write_and_stain(page: np.ndarray, rng: np.random.Generator) -> None:
        from simulation.corrections import _ink_box, _put_text

        x0, y0, x1, y1 = (int(v * S) for v in box.box)
        mm = S * 72 / 25.4
        _put_text(page, (x0 + int(mm), y0 + int(mm), (x0 + x1) // 2, y1 - int(mm)), "47",
                  GlyphBank.load("test", DATASETS_DIR), rng, 6 * mm, 0.9)
        stain(page, box.box, S, "eraser", rng, avoid=_ink_box(page, box.box, S))

    return _page(write_and_stain, seed=seed), box


def test_stain_beside_an_answer_is_not_read() -> None:
    image, box = _written_and_stained(seed=8)
    a = _answer(image, box, _recognizer(), stains=True)
    assert a.text == "47", a
    # Graded unasked only when the crop as scanned reads the same.
    assert a.status == "ok" or (a.status, a.detail) == ("unreadable", STAIN_DETAIL), a


class _ReadsTheStain(KeepsInks):
    """Reads a crop as ``"847"`` when it holds broad grey ink (the stain), else ``"47"``."""

    def recognize(self, inks: list[np.ndarray], alphabet: Any = None, **_: Any) -> list[Any]:
        from ocr.reading.recognize import Reading

        self.inks.extend(inks)
        return [Reading("ok", "847" if np.count_nonzero((ink > 90) & (ink < 215)) > 1000
                        else "47", 0.99) for ink in inks]


def test_a_stain_that_changes_the_reading_goes_to_a_teacher() -> None:
    image, box = _written_and_stained(seed=8)
    reader = _ReadsTheStain()
    a = _answer(image, box, reader, stains=True)
    # The crop was read twice, cleaned and as scanned, and they disagree.
    assert (a.status, a.text, a.detail) == ("unreadable", "47", STAIN_DETAIL), a
    assert a.confidence < 0.5
    # Without the stain stage the stain is read into the answer, sure of it.
    plain = _answer(image, box, _ReadsTheStain())
    assert (plain.status, plain.text) == ("ok", "847")


def test_normal_answers_are_untouched() -> None:
    pages = filled_pages(seed=11, n=2)
    for fp in pages:
        on, off = KeepsInks(), KeepsInks()
        read_image(fp.image, on)
        read_page(PageImage(0, fp.image, DPI, "raster"), lambda code: bench_page().template, off,
                  ReadOptions(corrections=False))
        assert len(on.inks) >= 8
        assert len(off.inks) == len(on.inks)
        for with_stage, without in zip(on.inks, off.inks, strict=True):
            assert np.array_equal(with_stage, without)
            assert find_corrections(without).ink is without


def test_a_grey_band_hugging_a_stroke_is_its_halo_not_a_stain() -> None:
    import cv2

    from ocr.corrections import CorrectionOptions

    # A stroke with a dark core in a wide light band (a soft pen, blurred by the camera),
    # beside two sharp strokes that set the pen's strength.
    crop = np.full((120, 300), 255, np.uint8)
    cv2.line(crop, (30, 30), (110, 30), 200, 31)
    cv2.line(crop, (30, 30), (110, 30), 40, 6)
    cv2.line(crop, (200, 20), (200, 100), 40, 4)
    cv2.line(crop, (230, 20), (260, 100), 40, 4)
    # The band is broad, light and smooth: a stain, unless it is seen to hug the stroke.
    assert find_corrections(crop, CorrectionOptions(stains=True, halo_share=1.0)).stains == 1
    hugging = CorrectionOptions(stains=True, halo_band_mm=4.0)
    assert find_corrections(crop, hugging).stains == 0
