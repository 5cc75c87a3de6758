"""The QR page code: round trip and hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbook.contract import PageCode, PageCodeError, format_page_code, parse_page_code


@given(st.integers(1, 10**9), st.integers(1, 999), st.none() | st.integers(1, 10**9),
       st.lists(st.integers(1, 10**6), max_size=12).map(tuple))
def test_round_trip(ws: int, page: int, student: int | None, entries: tuple[int, ...]) -> None:
    code = PageCode(ws, page, student, entries)
    assert parse_page_code(format_page_code(code)) == code


def test_format_is_short_and_stable() -> None:
    assert format_page_code(PageCode(12, 2, 305)) == "MB1;W12;P2;S305"
    assert format_page_code(PageCode(12, 1)) == "MB1;W12;P1"


@pytest.mark.parametrize("text", ["", "hello", "MB2;W1;P1", "MB1;P1", "MB1;W1", "MB1;W1;P0",
                                  "MB1;W1;P1;S1,2", "MB1;W1;W2;P1", "MB1;Wx;P1", "MB1;W1;P1;Q9",
                                  "https://example.com/?MB1;W1;P1", "MB1;W" + "9" * 40 + ";P1"])
def test_rejects_foreign_or_malformed(text: str) -> None:
    with pytest.raises(PageCodeError):
        parse_page_code(text)


@given(st.text(max_size=80))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    with contextlib.suppress(PageCodeError):
        parse_page_code(text)
