"""The combination of the readers' evidence (no models: evidence is given directly)."""

from __future__ import annotations

import pytest

from ocr.reading.ensemble import NUMERAL_ALPHABETS, EnsembleOptions, Evidence, combined_score


def _score(text: str, *, numeral: bool = True) -> float:
    return combined_score(Evidence(text, -1.0, -1.0, -1.0), EnsembleOptions(), numeral=numeral)


@pytest.mark.parametrize("text", ["05", "-07", "3/04", "00"])
def test_a_number_with_a_leading_zero_needs_much_stronger_evidence(text: str) -> None:
    plain = text.replace("0", "1", 1)  # the same evidence and slashes, no leading zero
    bias = EnsembleOptions().leading_zero_penalty
    assert bias < 0
    assert _score(text) == pytest.approx(_score(plain) + bias)


@pytest.mark.parametrize("text", ["0", "0.5", "-0.25", "3/0", "10", "105", "-40", "20/30"])
def test_zeros_that_belong_in_a_number_cost_nothing(text: str) -> None:
    assert _score(text) == pytest.approx(_score(text, numeral=False))


def test_digit_codes_keep_their_leading_zero() -> None:
    assert _score("0312", numeral=False) == pytest.approx(_score("1312", numeral=False))
    assert _score("0312") < _score("1312")


def test_the_answer_alphabets_of_numbers_are_numerals() -> None:
    assert {"numeric", "digits", "signed_decimal", "drill_signed"} <= NUMERAL_ALPHABETS
    assert "expression" not in NUMERAL_ALPHABETS
