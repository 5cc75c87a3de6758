"""Comparison questions (fill in >, < or =): which questions are comparisons, and the
safety net that keeps a reading that is no sign from being graded wrong unasked."""

from __future__ import annotations

import pytest

from grading.grade import Verdict
from grading.response import Alternative, Response
from grading.review_policy import ReviewPolicy, decide
from grading.text import TextGrader, is_comparison

from .conftest import text

# The product's policy for kinds it has not calibrated (text among them).
UNCALIBRATED = ReviewPolicy(accept_threshold=0.95, alt_floor=0.05, upgrade_floor=0.005)


def test_is_comparison() -> None:
    assert is_comparison(text(["<", "＜"]))
    assert is_comparison(text([">"], ["="]))
    assert not is_comparison(text(["<", "小于"]))
    assert not is_comparison(text(["长江"]))
    assert not is_comparison(text([">"], ["3"]))


@pytest.mark.parametrize("read", ["5", "7", "45", "z"])
def test_a_reading_that_is_no_sign_asks_a_teacher(read: str) -> None:
    # An old worksheet's comparison box read by the line reader: "<" taken for "5", sure.
    grader = TextGrader(text(["<", "＜"]))
    grade = decide(grader, Response(text=read, confidence=0.99), key_revision=1,
                   policy=UNCALIBRATED)
    assert grade.verdict is Verdict.NEEDS_REVIEW
    assert grade.score is None
    assert not grade.auto
    assert grade.suggested_verdict is Verdict.INCORRECT
    assert "probably misread" in grade.reason_en


def test_a_misread_alternative_of_a_right_sign_asks_too() -> None:
    grader = TextGrader(text([">"]))
    response = Response(text=">", confidence=0.9,
                        alternatives=(Alternative(text="7", probability=0.1),))
    assert decide(grader, response, key_revision=1,
                  policy=UNCALIBRATED).verdict is Verdict.NEEDS_REVIEW


def test_signs_are_graded() -> None:
    grader = TextGrader(text(["<", "＜"]))
    right = decide(grader, Response(text="＜", confidence=0.99), key_revision=1,
                   policy=UNCALIBRATED)
    assert right.verdict is Verdict.CORRECT
    assert right.auto
    wrong = decide(grader, Response(text=">", confidence=0.99,
                                    alternatives=(Alternative(text=">", probability=0.99),
                                                  Alternative(text="<", probability=0.001))),
                   key_revision=1, policy=UNCALIBRATED)
    assert wrong.verdict is Verdict.INCORRECT
    assert wrong.auto


def test_a_teacher_typing_no_sign_is_graded() -> None:
    grade = TextGrader(text(["<"])).grade(Response.typed("5"), key_revision=1)
    assert grade.verdict is Verdict.INCORRECT
    assert grade.auto


def test_other_text_questions_are_unchanged() -> None:
    grade = TextGrader(text(["长江"])).grade(Response(text="黄河", confidence=0.99),
                                           key_revision=1)
    assert grade.verdict is Verdict.INCORRECT
    assert grade.auto
