"""The strings the reader verifies: the key as a child writes it, in the numeric alphabet."""

from __future__ import annotations

import pytest

from grading.written_keys import MAX_FORMS, written_keys

from .conftest import arithmetic, choice, numeric


@pytest.mark.parametrize(("stem", "forms"), [
    ("37 + 48 =", ("85",)),
    ("1/2 + 2 =", ("5/2", "2.5")),
    ("1.5 + 1 =", ("2.5", "5/2")),
    ("3 - 8 =", ("-5",)),
    ("1/3 + 1/3 =", ("2/3",)),  # 0.666... has no finite decimal form
])
def test_an_arithmetic_item_is_written_as_its_result(stem: str, forms: tuple[str, ...]) -> None:
    assert written_keys(arithmetic(stem), 0) == forms


def test_a_quotient_and_remainder_each_have_their_box() -> None:
    q = arithmetic("17 ÷ 5 = （ ）……（ ）")
    assert written_keys(q, 0) == ("3",)
    assert written_keys(q, 1) == ("2",)
    assert written_keys(q, 2) == ()


def test_a_numeric_key_keeps_its_numeral_forms_only() -> None:
    q = numeric("0.75", alternatives=["3/4", "四分之三", "75%"])
    assert written_keys(q, 0) == ("0.75", "3/4")
    assert len(written_keys(numeric("1/8", alternatives=["0.125", "2/16", "3/24", "4/32"]), 0)) \
        == MAX_FORMS


def test_a_unit_or_a_choice_gives_nothing_to_verify() -> None:
    assert written_keys(numeric("150", unit="厘米"), 0) == ("150",)
    assert written_keys(numeric("150厘米"), 0) == ()
    assert written_keys(choice("B"), 0) == ()
