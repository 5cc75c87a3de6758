"""Corrections on paper: crossed-out answers rewritten in the box, and stains
(ocr.corrections through ocr.pipeline.read_page, pages made by simulation.corrections)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from ocr.corrections import (
    CORRECTED_DETAIL,
    CROSSED_OUT_DETAIL,
    CorrectionOptions,
    find_corrections,
)
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
    a = _answer(image, box, KeepsInks())  # stains are subtracted by default
    # Blank is the suggestion, never graded unasked: the "stain" could be faint writing.
    assert (a.status, a.detail) == ("blank", STAIN_BLANK_DETAIL), a
    assert a.confidence == FAINT_BLANK_CONFIDENCE
    # The smear is ink without the stage: these would catch the stage doing nothing.
    assert _answer(image, box, KeepsInks(), stains=False).status != "blank"
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
    plain = _answer(image, box, _ReadsTheStain(), stains=False)
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


# The stain-shape rule switched off (every broad light mark passes it), to show what the
# tests below would catch.
def _any_shape(**options: Any) -> CorrectionOptions:
    return CorrectionOptions(stains=True, stain_smooth=1e9, stain_soft=1e9, **options)


def test_a_grey_band_hugging_a_stroke_is_its_halo_not_a_stain() -> None:
    import cv2

    # A stroke with a dark core in a wide, soft light band (a soft pen, blurred by the
    # camera), beside two sharp strokes that set the pen's strength.
    band = np.zeros((120, 300), np.float32)
    cv2.line(band, (30, 30), (110, 30), 1.0, 31)
    crop = (255 - 70 * cv2.GaussianBlur(band, (0, 0), 5.0)).astype(np.uint8)
    cv2.line(crop, (30, 30), (110, 30), 40, 6)
    cv2.line(crop, (200, 20), (200, 100), 40, 4)
    cv2.line(crop, (230, 20), (260, 100), 40, 4)
    # The band is broad, light and smooth: a stain, unless it is seen to hug the stroke
    # (the shape rule is off here: the stroke's steep edges inside the band would keep it
    # in on their own).
    halo_off = _any_shape(halo_share=1.0)
    assert find_corrections(crop, halo_off).stains == 1
    hugging = _any_shape(halo_band_mm=4.0)
    assert find_corrections(crop, hugging).stains == 0


def _pen_and(mark: np.ndarray) -> np.ndarray:
    """A crop: a dark thin stroke (the pen) on the left and ``mark`` (strength 0-255)."""
    import cv2

    crop = (255 - np.clip(mark, 0, 255)).astype(np.uint8)
    cv2.line(crop, (40, 25), (45, 95), 30, 4)
    return cv2.GaussianBlur(crop, (0, 0), 0.8)  # a copier's blur


def test_a_bold_light_stroke_is_not_taken_for_a_stain() -> None:
    import cv2


    # A bold light stroke: 1.8 mm wide, half the pen's strength, steep-edged and flat
    # inside (a light marker: flatter than any pencil stroke, so its edges must keep it).
    stroke = np.zeros((120, 300), np.float32)
    cv2.ellipse(stroke, (180, 60), (45, 35), 0, -120, 150, 100.0, 15)
    crop = _pen_and(stroke)
    assert find_corrections(crop, _any_shape()).stains == 1
    kept = find_corrections(crop, CorrectionOptions(stains=True))
    assert kept.stains == 0
    assert kept.ink is crop


def test_a_soft_smear_beside_the_answer_is_erased_and_the_answer_kept() -> None:
    import cv2


    smear = np.zeros((120, 300), np.float32)
    cv2.ellipse(smear, (200, 60), (40, 22), 15, 0, 360, 1.0, -1)
    smear = 60.0 * cv2.GaussianBlur(smear, (0, 0), 8.0) / 0.9
    crop = _pen_and(smear)
    found = find_corrections(crop, CorrectionOptions(stains=True))
    assert found.stains == 1
    assert int(found.ink[:, 150:].min()) > 255 - 35  # no ink left where the smear was
    assert int(found.ink[:, 30:60].min()) < 100  # the pen stroke is still there


def test_bold_pencil_answers_are_left_as_they_are() -> None:
    """Whole pages written in bold, light pencil: the shape rule keeps every stroke in."""
    from dataclasses import replace

    import cv2

    from simulation.bench_worksheet import make_pages

    bank = GlyphBank.load("test", DATASETS_DIR)
    k = np.ones((3, 3), np.uint8)

    def bolder(glyphs: dict[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
        return {s: [cv2.dilate(np.pad(g, 2), k) for g in gs] for s, gs in glyphs.items()}

    bold = replace(bank, mnist=bolder(bank.mnist), bhmsds=bolder(bank.bhmsds))
    bp = bench_page()
    pages = make_pages(bp.page, bp.printed, "test", 2, 4, datasets=DATASETS_DIR, bank=bold,
                       options=FillOptions(pencil_prob=1.0, blank_prob=0.0))
    reader = KeepsInks()
    for fp in pages:
        read_page(PageImage(0, fp.image, DPI, "raster"), lambda code: bp.template, reader,
                  ReadOptions(corrections=False))
    assert len(reader.inks) >= 20
    shapeless = _any_shape()
    # Without the shape rule some of these strokes are erased as smudges ...
    assert sum(find_corrections(ink, shapeless).stains > 0 for ink in reader.inks) >= 2
    # ... with it, none.
    assert all(find_corrections(ink, CorrectionOptions(stains=True)).ink is ink
               for ink in reader.inks)
