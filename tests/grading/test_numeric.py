"""Table-driven tests of number parsing and the numeric grader."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grading.grade import Verdict
from grading.numbers import NumberParseError, lookup_unit, parse_number
from grading.numeric import NumericGrader
from grading.response import Response

from .conftest import numeric

C, P, W, R = Verdict.CORRECT, Verdict.PARTIALLY_CORRECT, Verdict.INCORRECT, Verdict.NEEDS_REVIEW

PARSE = [
    ("85", Fraction(85), "integer"),
    ("-3", Fraction(-3), "integer"),
    ("0.875", Fraction(7, 8), "decimal"),
    (".5", Fraction(1, 2), "decimal"),
    ("1,234", Fraction(1234), "integer"),
    ("1，234，567", Fraction(1234567), "integer"),
    ("12,345.5", Fraction(24691, 2), "decimal"),
    ("7/8", Fraction(7, 8), "fraction"),
    ("7 / 8", Fraction(7, 8), "fraction"),
    ("８分之７", Fraction(7, 8), "fraction"),
    ("\\frac{7}{8}", Fraction(7, 8), "fraction"),
    ("1又1/2", Fraction(3, 2), "mixed"),
    ("1 1/2", Fraction(3, 2), "mixed"),
    ("-2又1/3", Fraction(-7, 3), "mixed"),
    ("87.5%", Fraction(7, 8), "percent"),
    ("87.5％", Fraction(7, 8), "percent"),
    ("１５０", Fraction(150), "integer"),
]


@pytest.mark.parametrize(("raw", "value", "form"), PARSE)
def test_parse_number(raw: str, value: Fraction, form: str) -> None:
    parsed = parse_number(raw)
    assert (parsed.value, parsed.form, parsed.unit_text) == (value, form, None)


@pytest.mark.parametrize(
    "raw", ["", "   ", "abc", "1/0", "1.2.3", "1,23", "9" * 31, "5/%", "x" * 65, "--3", "1e9"]
)
def test_parse_number_rejects(raw: str) -> None:
    with pytest.raises(NumberParseError):
        parse_number(raw)


@pytest.mark.parametrize(
    ("raw", "unit"), [("150厘米", "厘米"), ("1.5 m", "m"), ("3kg", "kg"), ("2.5小时", "小时")]
)
def test_parse_number_with_unit(raw: str, unit: str) -> None:
    assert parse_number(raw).unit_text == unit


def test_ambiguous_unit_follows_the_key() -> None:
    minute = lookup_unit("分钟")
    yuan = lookup_unit("元")
    assert minute is not None
    assert yuan is not None
    assert lookup_unit("分", prefer=minute) == minute
    money = lookup_unit("分", prefer=yuan)
    assert money is not None
    assert money.dimension == "money"


CASES = [
    # key kwargs, answer, verdict, cause, score (of 2)
    ({"value": "7/8"}, "0.875", C, None, 2.0),
    ({"value": "7/8"}, "87.5%", C, None, 2.0),
    ({"value": "7/8"}, "14/16", C, None, 2.0),
    ({"value": "7/8"}, "８分之７", C, None, 2.0),
    ({"value": "7/8"}, "8/7", W, "unknown", 0.0),
    ({"value": "7/8"}, "8.75", W, "place_value", 0.0),
    ({"value": "7/8", "simplest_form": True}, "14/16", W, "fraction_not_simplified", 0.0),
    (
        {"value": "7/8", "simplest_form": True, "unsimplified_credit": 0.5},
        "14/16",
        P,
        "fraction_not_simplified",
        1.0,
    ),
    ({"value": "7/8", "simplest_form": True}, "0.875", C, None, 2.0),
    ({"value": "3/2", "simplest_form": True}, "1又1/2", C, None, 2.0),
    ({"value": "3/2", "simplest_form": True}, "1又2/4", W, "fraction_not_simplified", 0.0),
    ({"value": "1.5"}, "1又1/2", C, None, 2.0),
    ({"value": "1.5"}, "1 1/2", C, None, 2.0),
    ({"value": "1.5"}, "3/2", C, None, 2.0),
    ({"value": "1234"}, "1,234", C, None, 2.0),
    ({"value": "1234"}, "1243", W, "digit_transposition", 0.0),
    ({"value": "54"}, "45", W, "digit_transposition", 0.0),
    ({"value": "54"}, "64", W, "off_by_ten", 0.0),
    ({"value": "540"}, "640", W, "off_by_hundred", 0.0),
    ({"value": "0.25"}, "25%", C, None, 2.0),
    ({"value": "25%"}, "0.25", C, None, 2.0),
    ({"value": "25%"}, "1/4", C, None, 2.0),
    ({"value": "3.14", "tolerance_abs": 0.01}, "3.15", C, None, 2.0),
    ({"value": "3.14", "tolerance_abs": 0.01}, "3.16", W, "unknown", 0.0),
    ({"value": "100", "tolerance_rel": 0.05}, "96", C, None, 2.0),
    ({"value": "100", "tolerance_rel": 0.05}, "94", W, "unknown", 0.0),
    ({"value": "150", "unit": "厘米"}, "150", C, None, 2.0),
    ({"value": "150", "unit": "厘米"}, "150厘米", C, None, 2.0),
    ({"value": "150", "unit": "厘米"}, "150cm", C, None, 2.0),
    ({"value": "150", "unit": "厘米"}, "1.5米", W, "unit_not_converted", 0.0),
    ({"value": "150", "unit": "厘米", "convert_units": True}, "1.5米", C, None, 2.0),
    ({"value": "150", "unit": "厘米", "convert_units": True}, "15分米", C, None, 2.0),
    ({"value": "150", "unit": "厘米", "convert_units": True}, "150克", W, "unknown", 0.0),
    ({"value": "2", "unit": "千克"}, "2000克", W, "unit_not_converted", 0.0),
    ({"value": "2", "unit": "千克", "convert_units": True}, "2000克", C, None, 2.0),
    ({"value": "2", "unit": "千克", "convert_units": True}, "2公斤", C, None, 2.0),
    ({"value": "90", "unit": "分钟", "convert_units": True}, "1.5小时", C, None, 2.0),
    ({"value": "3.5", "unit": "元", "convert_units": True}, "35角", C, None, 2.0),
    ({"value": "8", "alternatives": ["八"]}, "8", C, None, 2.0),
    ({"value": "0.5", "alternatives": ["1/2"]}, "2/4", C, None, 2.0),
    ({"value": "-3"}, "－3", C, None, 2.0),
    ({"value": "-3"}, "3", W, "unknown", 0.0),
    ({"value": "12"}, "答：12。", C, None, 2.0),
    ({"value": "12"}, "十二", R, None, 0.0),
    ({"value": "12"}, "1/0", R, None, 0.0),
]


@pytest.mark.parametrize(("key", "answer", "verdict", "cause", "score"), CASES)
def test_numeric_table(
    key: dict[str, object], answer: str, verdict: Verdict, cause: str | None, score: float
) -> None:
    value = str(key.pop("value"))
    try:
        grade = NumericGrader(numeric(value, **key)).grade(Response.typed(answer), key_revision=3)
    finally:
        key["value"] = value
    assert grade.verdict is verdict, grade.reason_en
    if verdict is not R:
        assert grade.cause == cause
        assert grade.score == score


def test_equivalence_reason_reads_like_a_teacher() -> None:
    grade = NumericGrader(numeric("7/8")).grade(Response.typed("0.875"), key_revision=1)
    assert grade.reason_zh == "0.875 与 7/8 等值"


def test_unit_named_in_stem_explains_unconverted_answer() -> None:
    q = numeric("150", stem="1.5米 = （ ）厘米", unit="厘米")
    grade = NumericGrader(q).grade(Response.typed("1.5"), key_revision=1)
    assert grade.cause == "unit_not_converted"
    # Without the stem naming 米, a factor of 100 is a place-value slip, not a unit.
    plain = NumericGrader(numeric("150", unit="厘米")).grade(Response.typed("1.5"), key_revision=1)
    assert plain.cause == "place_value"


def test_word_alternative_is_accepted() -> None:
    grade = NumericGrader(numeric("8", alternatives=["八"])).grade(
        Response.typed("八"), key_revision=1
    )
    assert grade.verdict is C


def test_broken_key_is_an_error_not_a_zero() -> None:
    from grading.base import AnswerKeyError

    with pytest.raises(AnswerKeyError):
        NumericGrader(numeric("about ten")).grade(Response.typed("10"), key_revision=1)


@pytest.mark.parametrize(
    ("stem", "value", "unit", "answer"),
    [
        ("150厘米 = （ ）米", "1.5", "米", "150"),
        ("1.5米 = （ ）厘米", "150", "厘米", "1.5"),
        ("3 km = ( ) m", "3000", "m", "3"),
        ("2小时 = （ ）分钟", "120", "分钟", "2"),
        ("5元 = （ ）角", "50", "角", "5"),
    ],
)
def test_unconverted_answers_from_the_stem(stem: str, value: str, unit: str, answer: str) -> None:
    grade = NumericGrader(numeric(value, stem=stem, unit=unit)).grade(
        Response.typed(answer), key_revision=1
    )
    assert grade.verdict is W
    assert grade.cause == "unit_not_converted"


def test_unknown_unit_next_to_a_unit_key_goes_to_review() -> None:
    grader = NumericGrader(numeric("150", unit="厘米"))
    assert grader.grade(Response.typed("150厘"), key_revision=1).verdict is R
    # Without a unit in the key, a counting word is just decoration.
    assert NumericGrader(numeric("5")).grade(Response.typed("5个"), key_revision=1).verdict is C
