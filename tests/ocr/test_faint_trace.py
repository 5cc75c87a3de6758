"""The middle band between blank and written: a trace too faint to read is not certain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter

from grading.grade import Verdict
from grading.questions import Question
from grading.response import ResponseStatus
from grading.review_policy import grade_response
from ocr.pipeline import FAINT_BLANK_CONFIDENCE, FAINT_DETAIL, AnswerRead
from ocr.reading.recognize import FakeRecognizer
from ocr.regions import CROP_PX_PER_PT, has_faint_trace, has_ink, measure_ink
from service.reading import response_from_reads
from tests.support.bench_page import bench_page, read_image, written_answers

MM2_PER_PX = (25.4 / 72 / CROP_PX_PER_PT) ** 2


def _paper() -> np.ndarray:
    return np.full((60, 200), 255, np.uint8)


def _fragments(img: np.ndarray, n: int, size: int = 2, step: int = 9) -> np.ndarray:
    """What a binarising copier leaves of a light pencil stroke: small dark dashes."""
    for k in range(n):
        y, x = 10 + (k * 5) % 40, 20 + k * step
        img[y:y + size, x:x + size] = 0
    return img


def test_fragments_of_a_stroke_are_a_faint_trace() -> None:
    stats = measure_ink(_fragments(_paper(), 8))
    assert not has_ink(stats)
    assert stats.area_mm2 == 0.0
    assert stats.trace_mm2 == 8 * 4 * MM2_PER_PX
    assert has_faint_trace(stats)


def test_noise_smudge_and_writing_are_not_faint_traces() -> None:
    rng = np.random.default_rng(1)
    noisy = _paper()
    noisy[rng.integers(0, 60, 40), rng.integers(0, 200, 40)] = 0  # isolated pixels
    smudge = _paper()
    smudge[15:45, 50:120] = 235  # an eraser cloud, lighter than any pencil
    few = _fragments(_paper(), 2)  # two dashes: a speck or two of dirt
    written = _paper()
    written[10:50, 60:64] = 20  # a written 1
    for img in (noisy, smudge, few):
        stats = measure_ink(img)
        assert not has_ink(stats), stats
        assert not has_faint_trace(stats), stats
    stats = measure_ink(written)
    assert has_ink(stats)
    assert not has_faint_trace(stats)


def test_a_faint_box_reads_blank_but_not_certain() -> None:
    printed, tmpl = bench_page().printed, bench_page().template
    region = next(r for r in tmpl.regions if not r.bubbles)
    s = 200 / 72
    x0, y0 = int(region.box[0] * s) + 12, int(region.box[1] * s) + 8
    img = printed.copy()
    for k in range(10):  # a light pencil answer binarised into dashes
        img[y0 + (k * 4) % 20:y0 + (k * 4) % 20 + 2, x0 + k * 7:x0 + k * 7 + 2] = 0
    read = read_image(img, FakeRecognizer())
    written = written_answers(read)
    faint = next(a for a in written if a.question_id == region.question_id)
    assert faint.status == "blank"
    assert faint.confidence == FAINT_BLANK_CONFIDENCE
    assert faint.detail == FAINT_DETAIL
    others = [a for a in written if a is not faint]
    assert others
    assert all(a.status == "blank" and a.confidence == 1.0 and not a.detail
                          for a in others)


def test_a_faint_blank_goes_to_a_teacher() -> None:
    bank = json.loads((Path(__file__).resolve().parents[2] / "sample_scans" /
                       "question_bank.json").read_text("utf-8"))
    q = TypeAdapter(Question).validate_python(
        next(q for q in bank["questions"] if q["kind"] == "arithmetic"))
    box = (0.0, 0.0, 10.0, 10.0)
    sure = response_from_reads([AnswerRead(q.id, 0, q.kind, "blank", box, confidence=1.0)])
    faint = response_from_reads([AnswerRead(q.id, 0, q.kind, "blank", box,
                                            confidence=FAINT_BLANK_CONFIDENCE,
                                            detail=FAINT_DETAIL)])
    assert sure.status is faint.status is ResponseStatus.BLANK
    auto = grade_response(q, sure, key_revision=1)
    asked = grade_response(q, faint, key_revision=1)
    assert auto.auto
    assert auto.verdict is Verdict.BLANK
    assert not asked.auto
    assert asked.verdict is Verdict.NEEDS_REVIEW
    assert asked.suggested_verdict is Verdict.BLANK
