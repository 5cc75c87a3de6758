"""Table-driven tests of the arithmetic (口算) grader: keys from stems, and error causes."""

from __future__ import annotations

import pytest

from grading.arithmetic import ArithmeticGrader, parse_quotient_remainder
from grading.grade import Verdict
from grading.response import Response

from .conftest import arithmetic

C, W, R = Verdict.CORRECT, Verdict.INCORRECT, Verdict.NEEDS_REVIEW

CASES = [
    # stem, answer, verdict, cause
    ("37 + 48 =", "85", C, None),
    ("37 + 48 =", "８５", C, None),
    ("37 + 48 =", " 85 ", C, None),
    ("37 + 48 =", "=85", C, None),
    ("37 + 48 =", "75", W, "forgot_carry"),
    ("37 + 48 =", "715", W, "forgot_carry"),
    ("37 + 48 =", "58", W, "digit_transposition"),
    ("37 + 48 =", "95", W, "off_by_ten"),
    ("37 + 48 =", "11", W, "wrong_operation"),
    ("37 + 48 =", "84", W, "unknown"),
    ("58 + 67 =", "115", W, "forgot_carry"),
    ("256 + 378 =", "524", W, "forgot_carry"),
    ("256 + 378 =", "734", W, "off_by_hundred"),
    ("72 - 29 =", "43", C, None),
    ("72 - 29 =", "57", W, "forgot_borrow"),
    ("72 - 29 =", "53", W, "forgot_borrow"),
    ("72 - 29 =", "101", W, "wrong_operation"),
    ("72 - 29 =", "34", W, "digit_transposition"),
    ("72 - 29 =", "33", W, "off_by_ten"),
    ("72 - 29 =", "-43", W, "wrong_operation"),
    ("503 - 168 =", "335", C, None),
    ("503 - 168 =", "465", W, "forgot_borrow"),
    ("6 × 7 =", "42", C, None),
    ("6 × 7 =", "48", W, "times_table_slip"),
    ("6 × 7 =", "36", W, "times_table_slip"),
    ("6 × 7 =", "49", W, "times_table_slip"),
    ("6 × 7 =", "13", W, "wrong_operation"),
    ("6 × 7 =", "24", W, "digit_transposition"),
    ("6 × 7 =", "43", W, "unknown"),
    ("8 x 9 =", "72", C, None),
    ("8 * 9 =", "81", W, "times_table_slip"),
    ("56 ÷ 8 =", "7", C, None),
    ("56 ÷ 8 =", "6", W, "times_table_slip"),
    ("56 ÷ 8 =", "8", W, "times_table_slip"),
    ("56 ÷ 8 =", "48", W, "wrong_operation"),
    ("56 ÷ 8 =", "70", W, "place_value"),
    ("0.5 × 4 =", "2", C, None),
    ("0.5 × 4 =", "20", W, "place_value"),
    ("0.5 × 4 =", "0.2", W, "place_value"),
    ("2.5 + 1.7 =", "4.2", C, None),
    ("2.5 + 1.7 =", "3.12", W, "unknown"),
    ("17 ÷ 5 = （ ）……（ ）", "3……2", C, None),
    ("17 ÷ 5 = （ ）……（ ）", "3...2", C, None),
    ("17 ÷ 5 = （ ）……（ ）", "3余2", C, None),
    ("17 ÷ 5 = （ ）……（ ）", "3 2", C, None),
    ("17 ÷ 5 = （ ）……（ ）", "3……1", W, "remainder_error"),
    ("17 ÷ 5 = （ ）……（ ）", "3", W, "remainder_error"),
    ("17 ÷ 5 = （ ）……（ ）", "2……7", W, "remainder_error"),
    ("17 ÷ 5 = （ ）……（ ）", "4……-3", R, None),
    ("29 ÷ 4 = （ ）……（ ）", "6……5", W, "remainder_error"),
    ("29 ÷ 4 = （ ）……（ ）", "8……1", W, "unknown"),
    ("1/2 + 1/4 =", "3/4", C, None),
    ("1/2 + 1/4 =", "0.75", C, None),
    ("1/2 + 1/4 =", "6/8", W, "fraction_not_simplified"),
    ("1/2 + 1/4 =", "2/6", W, "unknown"),
    ("3/4 - 1/4 =", "1/2", C, None),
    ("3/4 - 1/4 =", "2/4", W, "fraction_not_simplified"),
    ("1 + 1/2 =", "1又1/2", C, None),
    ("1 + 1/2 =", "1 1/2", C, None),
    ("1 + 1/2 =", "3/2", C, None),
    ("6 ÷ 1/2 =", "12", C, None),
    ("(3 + 5) × 2 =", "16", C, None),
    ("3 + 5 × 2 =", "16", W, "unknown"),
    ("37 + 48 =", "八十五", R, None),
]


@pytest.mark.parametrize(("stem", "answer", "verdict", "cause"), CASES)
def test_arithmetic_table(stem: str, answer: str, verdict: Verdict, cause: str | None) -> None:
    grade = ArithmeticGrader(arithmetic(stem)).grade(Response.typed(answer), key_revision=1)
    assert grade.verdict is verdict, grade.reason_en
    if verdict is not R:
        assert grade.cause == cause
        assert grade.score == (1.0 if verdict is C else 0.0)


def test_remainder_from_two_blanks() -> None:
    grader = ArithmeticGrader(arithmetic("17 ÷ 5 = （ ）……（ ）"))
    assert grader.grade(Response.typed(blanks=("3", "2")), key_revision=1).verdict is C
    wrong = grader.grade(Response.typed(blanks=("3", "")), key_revision=1)
    assert wrong.verdict is W
    assert wrong.cause == "remainder_error"


def test_simplest_form_can_be_relaxed() -> None:
    grader = ArithmeticGrader(arithmetic("1/2 + 1/4 =", simplest_form=False))
    assert grader.grade(Response.typed("6/8"), key_revision=1).verdict is C


def test_key_expression_overrides_stem() -> None:
    grader = ArithmeticGrader(arithmetic("看图列式计算", expression="12 + 30"))
    assert grader.grade(Response.typed("42"), key_revision=1).verdict is C


def test_reason_names_the_right_answer() -> None:
    grade = ArithmeticGrader(arithmetic("37 + 48 =")).grade(Response.typed("75"), key_revision=7)
    assert "85" in grade.reason_zh
    assert "75" in grade.reason_zh
    assert grade.cause_zh == "进位遗漏"
    assert grade.key_revision == 7


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        (("3……2",), (3, 2)),
        (("3…2",), (3, 2)),
        (("3",), (3, None)),
        (("x",), (None, None)),
        (("3", "2"), (3, 2)),
        (("3", "a"), (3, None)),
    ],
)
def test_parse_quotient_remainder(
    readings: tuple[str, ...], expected: tuple[int | None, int | None]
) -> None:
    assert parse_quotient_remainder(readings) == expected
