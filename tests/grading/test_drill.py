"""Grading one drill item from plain values: the expression as read and the answer."""

from __future__ import annotations

import pytest

from grading.arithmetic_stem import ArithmeticStemError
from grading.drill import DrillGradeOptions, drill_question, expects_remainder, grade_drill_item
from grading.grade import Verdict
from grading.response import Response, ResponseStatus


def _ok(text: str, confidence: float = 0.99) -> Response:
    return Response(status=ResponseStatus.OK, text=text, confidence=confidence,
                    alternatives=((text, confidence),))


def test_remainder_is_expected_only_for_uneven_whole_number_division() -> None:
    assert expects_remainder("17÷5")
    assert not expects_remainder("15÷5")
    assert not expects_remainder("37+48")
    with pytest.raises(ArithmeticStemError):
        expects_remainder("3+")


def test_the_question_carries_the_remainder_form() -> None:
    assert drill_question("17÷5", True, 4).stem == "17÷5 = ……"
    assert drill_question("37+48", False, 0).stem == "37+48 ="
    assert drill_question("37+48", False, 2).id == "drill-2"


def test_right_and_wrong_answers_are_decided() -> None:
    right = grade_drill_item("37+48", _ok("85"))
    wrong = grade_drill_item("6×7", _ok("41"))
    remainder = grade_drill_item("17÷5", _ok("3……2"))
    assert right.grade is not None
    assert right.grade.verdict is Verdict.CORRECT
    assert wrong.grade is not None
    assert wrong.grade.verdict is Verdict.INCORRECT
    assert remainder.grade is not None
    assert remainder.grade.verdict is Verdict.CORRECT
    assert not (right.needs_review)
    assert not (wrong.needs_review)
    assert not (remainder.needs_review)


def test_a_blank_answer_is_blank_without_review() -> None:
    d = grade_drill_item("9-4", Response(status=ResponseStatus.BLANK, confidence=1.0))
    assert d.grade is not None
    assert d.grade.verdict is Verdict.BLANK
    assert not d.needs_review
    assert d.reason == ""


def test_an_unusable_expression_goes_to_review_ungraded() -> None:
    missing = grade_drill_item("", _ok("7"), raw_expression="3+")
    assert missing.grade is None
    assert missing.needs_review
    assert "'3+'" in missing.reason
    broken = grade_drill_item("3+", _ok("7"))
    assert broken.grade is None
    assert broken.needs_review
    assert "'3+'" in broken.reason


def test_a_doubtful_expression_sends_even_a_decided_answer_to_review() -> None:
    d = grade_drill_item("56÷8", _ok("7"), expression_confidence=0.4)
    assert d.grade is not None
    assert d.grade.verdict is Verdict.CORRECT
    assert d.needs_review
    assert "confidence 0.40" in d.reason
    lenient = DrillGradeOptions(min_expression_confidence=0.3)
    assert not grade_drill_item("56÷8", _ok("7"), expression_confidence=0.4,
                                options=lenient).needs_review


def test_an_unreadable_answer_goes_to_review() -> None:
    d = grade_drill_item("2×3", Response(status=ResponseStatus.UNREADABLE),
                         detail="no reading fits the alphabet")
    assert d.grade is not None
    assert d.grade.verdict is Verdict.NEEDS_REVIEW
    assert d.needs_review
    assert d.reason
