"""A wrong drill verdict has to survive the thought that the expression was misread."""

from __future__ import annotations

import pytest

from grading.drill import grade_drill_item, right_for_neighbour
from grading.grade import Verdict
from grading.response import Response, ResponseStatus


def _read(text: str) -> Response:
    return Response(status=ResponseStatus.OK, text=text, confidence=0.99)


@pytest.mark.parametrize(("expression", "answer", "printed"), [
    ("449+16", "65", "49+16"),    # a handwritten 4 from the item to the left taken in
    ("22×12", "24", "2×12"),
    ("6-15", "51", "66-15"),      # a printed digit missed
    ("7÷5", "3……2", "17÷5"),
])
def test_answer_right_for_a_digit_more_or_less_goes_to_review(
        expression: str, answer: str, printed: str) -> None:
    assert right_for_neighbour(expression, _read(answer)) == printed
    decision = grade_drill_item(expression, _read(answer))
    assert decision.needs_review
    assert printed in decision.reason
    assert decision.grade is not None
    assert decision.grade.verdict == Verdict.INCORRECT  # kept as the suggestion


@pytest.mark.parametrize(("expression", "answer"), [
    ("6×7", "48"),       # a slip of the tables (a substituted digit) stays wrong
    ("37+48", "75"),     # forgot the carry
    ("52-17", "25"),     # digits swapped
    ("1/5+2/5", "3/10"),
])
def test_ordinary_wrong_answers_stay_wrong_automatically(expression: str, answer: str) -> None:
    assert right_for_neighbour(expression, _read(answer)) == ""
    decision = grade_drill_item(expression, _read(answer))
    assert not decision.needs_review
    assert decision.grade is not None
    assert decision.grade.verdict == Verdict.INCORRECT


def test_a_leading_zero_is_no_neighbour() -> None:
    # 05+3 is 5+3: an answer right for it is right for the expression itself.
    assert right_for_neighbour("5+3", _read("8")) == ""


def test_printed_digits_as_many_as_read_rule_the_neighbours_out() -> None:
    # 10+13 answered 13: right for 0+13, but the page shows four printed digits, as read.
    wrong = _read("13")
    assert grade_drill_item("10+13", wrong).needs_review
    decision = grade_drill_item("10+13", wrong, printed_digits=4)
    assert not decision.needs_review
    assert decision.grade is not None
    assert decision.grade.verdict == Verdict.INCORRECT
    # A digit more or fewer in the print than was read: the neighbour stands.
    assert grade_drill_item("10+13", wrong, printed_digits=5).needs_review
    assert grade_drill_item("449+16", _read("65"), printed_digits=4).needs_review
