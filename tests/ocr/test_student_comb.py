"""The closed-set student-number decision: every roster number scored by its digits."""

from __future__ import annotations

import pytest

from ocr.students.number import CombRead, rank_roster


def _box(digit: int, p: float = 0.96) -> tuple[float, ...]:
    rest = (1 - p) / 9
    return tuple(p if d == digit else rest for d in range(10))


def _comb(number: str, **sure: float) -> CombRead:
    return CombRead((*tuple(_box(int(d), sure.get(f"b{i}", 0.96)) for i, d in enumerate(number)), None))


CLASS = [f"202506{i:02d}" for i in range(1, 41)]


def test_the_written_number_wins_among_close_neighbours() -> None:
    post = rank_roster(_comb("20250617"), CLASS)
    assert max(post) == post[16]
    assert post[16] > 0.9
    assert sum(post) == pytest.approx(1.0)


def test_a_slip_still_points_at_the_child_when_the_other_digits_agree() -> None:
    # "20250817": one digit off from 20250617 and from no other roster number.
    post = rank_roster(_comb("20250817"), CLASS)
    assert max(post) == post[16]


def test_an_unsure_last_box_leaves_the_neighbours_in_doubt() -> None:
    comb = CombRead((*_comb("2025061").boxes[:7], tuple([0.5 if d in (2, 7) else 0.0 for d in range(10)]), None))
    post = rank_roster(comb, CLASS)
    assert post[11] == pytest.approx(post[16])  # 20250612 or 20250617: a teacher decides
    assert max(post) < 0.6


def test_an_empty_comb_or_roster_decides_nothing() -> None:
    assert rank_roster(CombRead((None,) * 8), CLASS) == [0.0] * 40
    assert rank_roster(_comb("20250617"), []) == []
    assert CombRead((None,) * 8).text == ""
    assert _comb("20250617").text == "20250617"


def test_ink_past_the_number_and_a_missing_digit_cost_evidence() -> None:
    short, long = "2025061", "20250617"
    assert rank_roster(_comb(long), [short, long])[1] > 0.98
    assert rank_roster(_comb(short), [short, long])[0] > 0.98
