"""Number, name and seat evidence combined into one roster posterior."""

from __future__ import annotations

import math

import pytest

from ocr.students.evidence import combine, seat_posterior

NUMBERS = ["20250601", "20250602", "20250607", "20250701"]


def test_sources_multiply_and_the_result_is_a_posterior() -> None:
    number = [0.5, 0.0, 0.5, 0.0]
    seat = seat_posterior("07", NUMBERS)
    identity = combine(4, number=number, seat=seat)
    posts = identity.posteriors()
    assert sum(posts) == pytest.approx(1.0)
    assert max(range(4), key=lambda i: posts[i]) == 2
    assert posts[2] > 0.99
    assert identity.sources == ("number", "seat")
    assert not identity.conflict


def test_a_seat_names_every_number_ending_alike() -> None:
    post = seat_posterior("01", NUMBERS)
    assert post[0] == pytest.approx(post[3])
    assert post[0] > 0.49
    assert post[1] < 0.001
    # A seat no child has says nothing.
    assert seat_posterior("55", NUMBERS) == [0.25] * 4


def test_sure_sources_that_disagree_are_a_conflict() -> None:
    number = [0.97, 0.01, 0.01, 0.01]
    name = [0.01, 0.97, 0.01, 0.01]
    assert combine(4, number=number, name=name).conflict
    # A seat against the number is weighed, not flagged: the seat wins unless near a tie.
    seat = combine(4, number=number, seat=seat_posterior("02", NUMBERS))
    assert not seat.conflict
    assert max(range(4), key=lambda i: seat.scores[i]) == 1
    # An unsure name does not contradict a sure number.
    assert not combine(4, number=number, name=[0.3, 0.4, 0.2, 0.1]).conflict


def test_the_name_cannot_veto_on_its_own() -> None:
    # A name posterior of zero for the comb's child is floored, not -inf.
    identity = combine(4, number=[0.999, 0.001, 0.0, 0.0], name=[0.0, 0.0, 1.0, 0.0])
    assert all(math.isfinite(s) for s in identity.scores)


def test_nothing_read_is_uniform() -> None:
    identity = combine(4)
    assert identity.posteriors() == pytest.approx([0.25] * 4)
    assert identity.sources == ()
