"""The comparison-sign reader: drawn signs of several styles, digits and scribbles, and a
page read through ``ocr.pipeline.read_page`` with comparison boxes."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache

import numpy as np
import pytest
from pydantic import TypeAdapter

from grading.grade import Verdict
from grading.questions import Question
from grading.review_policy import ReviewPolicy, grade_response
from ocr.ingest import PageImage
from ocr.pipeline import TemplatePage, read_page
from ocr.reading.recognize import FakeRecognizer, Reading
from ocr.reading.signs import read_sign
from ocr.regions import remove_print
from service.reading import response_from_reads
from simulation.bench_worksheet import (
    DPI,
    SAMPLE_BANK,
    BenchWorksheet,
    build_worksheet,
    template_of,
)
from simulation.classroom import font_glyph_bank, realistic_answer_for
from simulation.pages import FillOptions, fill_page
from simulation.signs import NEGATIVES, SIGN_STYLES, sign_crop

SURE = 0.95  # the review policy's acceptance for text questions (models/review_policy.json)


def _read(sign: str, style: str, seed: int) -> Reading:
    crop, blank = sign_crop(sign, style, np.random.default_rng(seed))
    return read_sign(remove_print(crop, blank))


@pytest.mark.parametrize("style", SIGN_STYLES)
@pytest.mark.parametrize("sign", ["<", ">", "="])
def test_drawn_signs_are_read(sign: str, style: str) -> None:
    readings = [_read(sign, style, seed) for seed in range(12)]
    assert not [r for r in readings if r.status == "ok" and r.text != sign]  # never another
    right = [r for r in readings if r.status == "ok" and r.text == sign]
    assert len(right) >= 10
    assert sum(r.confidence >= SURE for r in right) >= 6
    for r in right:
        assert r.alternatives[0] == (sign, r.confidence)
        assert {s for s, _ in r.alternatives} == {"<", ">", "="}


@pytest.mark.parametrize("other", NEGATIVES)
def test_digits_and_scribbles_are_not_signs(other: str) -> None:
    readings = [_read(other, "page", seed) for seed in range(12)]
    assert not [r for r in readings if r.status == "ok" and r.confidence >= SURE]
    if other != "scribble":  # a random scribble can happen to look like a sign
        assert all(r.status == "unreadable" for r in readings)
        assert all("comparison sign" in r.detail for r in readings)


def test_a_blank_box_reads_blank() -> None:
    _, blank = sign_crop("<", "page", np.random.default_rng(0))
    assert read_sign(remove_print(blank, blank)).status == "blank"


@lru_cache(maxsize=1)
def _comparison_page() -> BenchWorksheet:
    bank = json.loads(SAMPLE_BANK.read_text("utf-8"))["questions"]
    ta: TypeAdapter[Question] = TypeAdapter(Question)
    docs = [d for d in bank if d["id"] in ("m3-frac-008", "m3-frac-009", "m3-mass-004")]
    # Twelve comparison boxes: the three of the bank, each under four ids.
    questions = [ta.validate_python({**d, "id": f"{d['id']}-{k}"}) for k in range(4)
                 for d in docs]
    return build_worksheet(questions=questions, title="比大小")


def _filled(seed: int) -> tuple[TemplatePage, np.ndarray, dict[tuple[str, int], str]]:
    page, printed, blank, questions = _comparison_page()
    keys = {q.id: q.key.blanks[0].accept[0] for q in questions.values()  # type: ignore[union-attr]
            }
    filled = fill_page(printed, DPI, page.regions, font_glyph_bank(),
                       np.random.default_rng(seed), FillOptions(blank_prob=0.0),
                       answer_for=realistic_answer_for(keys), write_signs=True)
    return template_of(page, blank), filled.image, filled.written


def test_a_page_of_comparisons_is_read_by_the_sign_reader() -> None:
    template, image, written = _filled(5)
    assert {r.answer_format for r in template.regions} == {"compare"}
    fake = FakeRecognizer()  # answers engine_error if the line reader were asked
    read = read_page(PageImage(0, image, DPI, "raster"), lambda code: template, fake)
    assert read.status == "read"
    assert fake.calls == 0
    assert len(read.answers) == 12
    right = [a for a in read.answers if a.status == "ok"
             and a.text == written[(a.question_id, a.blank)]]
    assert not [a for a in read.answers if a.status == "ok"
                and a.text != written[(a.question_id, a.blank)]]
    assert len(right) >= 10


def test_an_old_text_layout_reading_a_digit_asks_a_teacher() -> None:
    # A worksheet laid out before the 'compare' format: its comparison boxes say 'text',
    # and the line reader takes a handwritten '<' for a confident '5'.
    template, image, _ = _filled(6)
    old = replace(template, regions=tuple(replace(r, answer_format="text")
                                          for r in template.regions))
    fake = FakeRecognizer([Reading("ok", "5", 0.99, (0.99,), (("5", 0.99),))])
    read = read_page(PageImage(0, image, DPI, "raster"), lambda code: old, fake)
    assert fake.calls >= 1
    _, _, _, questions = _comparison_page()
    policy = ReviewPolicy(accept_threshold=0.95, alt_floor=0.05, upgrade_floor=0.005)
    for answer in read.answers:
        assert answer.status == "ok"
        assert answer.text == "5"
        grade = grade_response(questions[answer.question_id], response_from_reads([answer]),
                               key_revision=1, policy=policy)
        assert grade.verdict is Verdict.NEEDS_REVIEW
        assert grade.suggested_verdict is Verdict.INCORRECT
