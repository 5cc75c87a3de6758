"""Tests of rubric (keyword) grading of short answers."""

from __future__ import annotations

import pytest

from grading.grade import Verdict
from grading.response import Response
from grading.short_answer import ShortAnswerGrader

from .conftest import short_answer

CASES = [
    (
        "海水受热蒸发，水蒸气上升遇冷凝结成云，最后降雨落回地面。",
        Verdict.CORRECT,
        5.0,
        ("evap", "cond", "rain"),
    ),
    ("水受热汽化，水蒸气遇冷液化，形成降水", Verdict.CORRECT, 5.0, ("evap", "cond", "rain")),
    ("海水蒸發，水蒸氣凝結，然後下雨", Verdict.CORRECT, 5.0, ("evap", "cond", "rain")),
    ("水会蒸发", Verdict.PARTIALLY_CORRECT, 2.0, ("evap",)),
    ("水凝结成云然后下雨", Verdict.PARTIALLY_CORRECT, 1.0, ("rain",)),
    ("不知道", Verdict.INCORRECT, 0.0, ()),
]


@pytest.mark.parametrize(("answer", "verdict", "score", "met"), CASES)
def test_rubric(answer: str, verdict: Verdict, score: float, met: tuple[str, ...]) -> None:
    grade = ShortAnswerGrader(short_answer()).grade(Response.typed(answer), key_revision=1)
    assert (grade.verdict, grade.score, grade.met_points) == (verdict, score, met)
    if verdict is not Verdict.CORRECT:
        assert grade.cause == "rubric_points_missed"
        assert set(grade.cause_detail.split(",")) == {"evap", "cond", "rain"} - set(met)
