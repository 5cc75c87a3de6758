"""Property tests: equivalent forms grade alike, whitespace never changes a verdict."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from grading.arithmetic import ArithmeticGrader
from grading.choice import ChoiceGrader
from grading.numbers import parse_number
from grading.numeric import NumericGrader
from grading.response import Response
from grading.text import TextGrader

from .conftest import arithmetic, choice, numeric, text

FAST = settings(max_examples=80, deadline=None)


def _forms(value: Fraction) -> list[str]:
    """Ways a student may write ``value`` (a positive fraction)."""
    forms = [
        f"{value.numerator}/{value.denominator}",
        f"{value.numerator * 3}/{value.denominator * 3}",
    ]
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den == 1:
        decimal = f"{float(value):.10f}".rstrip("0").rstrip(".")
        forms += [decimal, f"{float(value * 100):.8f}".rstrip("0").rstrip(".") + "%"]
    whole, rest = divmod(value.numerator, value.denominator)
    if whole and rest:
        forms += [f"{whole}又{rest}/{value.denominator}", f"{whole} {rest}/{value.denominator}"]
    return forms


@FAST
@given(st.integers(1, 400), st.sampled_from([1, 2, 3, 4, 5, 8, 10, 20, 25, 7]))
def test_equivalent_numeric_forms_grade_equal(num: int, den: int) -> None:
    value = Fraction(num, den)
    grader = NumericGrader(numeric(f"{value.numerator}/{value.denominator}"))
    for form in _forms(value):
        assert parse_number(form).value == value, form
        grade = grader.grade(Response.typed(form), key_revision=1)
        assert grade.verdict == "correct", (form, grade.reason_en)


_SPACES = st.text(alphabet=" \t\u3000", max_size=3)


@FAST
@given(st.integers(0, 999), st.integers(0, 999), st.integers(0, 2000), _SPACES, _SPACES)
def test_surrounding_whitespace_never_changes_arithmetic(
    a: int, b: int, answer: int, left: str, right: str
) -> None:
    grader = ArithmeticGrader(arithmetic(f"{a} + {b} ="))
    plain = grader.grade(Response.typed(str(answer)), key_revision=1)
    padded = grader.grade(Response.typed(f"{left}{answer}{right}"), key_revision=1)
    assert (plain.verdict, plain.score, plain.cause) == (padded.verdict, padded.score, padded.cause)


@FAST
@given(
    st.sampled_from(["长江", "長江", "黄河", "光合作用", "photosynthesis", "x"]),
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from([" ", "\u3000", "\t"])), max_size=4),
)
def test_whitespace_anywhere_never_changes_text(
    answer: str, inserts: list[tuple[int, str]]
) -> None:
    grader = TextGrader(text(["长江", "光合作用"], allow_one_typo=True))
    spaced = answer
    for pos, ch in inserts:
        spaced = spaced[:pos] + ch + spaced[pos:]
    assert (
        grader.grade(Response.typed(answer), key_revision=1).verdict
        == grader.grade(Response.typed(spaced), key_revision=1).verdict
    )


@FAST
@given(st.sampled_from(["A", "B", "C", "D", "AB"]), _SPACES, _SPACES)
def test_whitespace_never_changes_choice(answer: str, left: str, right: str) -> None:
    grader = ChoiceGrader(choice("B"))
    spaced = left + " ".join(answer) + right
    assert (
        grader.grade(Response.typed(answer), key_revision=1).verdict
        == grader.grade(Response.typed(spaced), key_revision=1).verdict
    )


@FAST
@given(st.integers(-(10**6), 10**6))
def test_thousands_separators_do_not_change_value(n: int) -> None:
    assert parse_number(f"{n:,}").value == n
    assert parse_number(f"{n:,}".replace(",", "，")).value == n


_HOSTILE = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789./%,，又分之 -+米厘cm\\frac{}", max_size=80),
)


@settings(max_examples=300, deadline=None)
@given(_HOSTILE)
def test_fuzz_number_parser_fails_only_cleanly(raw: str) -> None:
    from grading.numbers import NumberParseError

    try:
        parsed = parse_number(raw)
    except NumberParseError:
        return
    assert isinstance(parsed.value, Fraction)


@settings(max_examples=300, deadline=None)
@given(_HOSTILE)
def test_fuzz_text_and_pinyin_normalisers(raw: str) -> None:
    from grading.textnorm import normalize_pinyin, normalize_text

    assert normalize_text(normalize_text(raw)) == normalize_text(raw)
    letters, tones = normalize_pinyin(raw)
    assert letters.isascii()
    assert all(1 <= t <= 4 for t in tones)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_quotient_remainder_reader(raw: str) -> None:
    from grading.arithmetic import parse_quotient_remainder

    q, r = parse_quotient_remainder((raw,))
    assert q is None or q >= 0
    assert r is None or r >= 0
