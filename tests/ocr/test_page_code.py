"""The QR page code: round trip (MB2 and the old MB1), hostile input, QR size, layout hash."""

from __future__ import annotations

import contextlib
import dataclasses
import re

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from errorbook.contract import (
    PageCode,
    PageCodeError,
    WorksheetLayout,
    format_page_code,
    page_layout_hash,
    parse_page_code,
)
from errorbook.printing.layout import layout_worksheet
from tests.support.samples import sample_questions

_B32 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=6, max_size=6)


@given(st.integers(1, 10**9), st.integers(1, 999), st.none() | st.integers(1, 10**9),
       st.lists(st.integers(1, 10**6), max_size=12).map(tuple))
def test_round_trip_mb1(ws: int, page: int, student: int | None,
                        entries: tuple[int, ...]) -> None:
    code = PageCode(ws, page, student, entries)
    text = format_page_code(code)
    assert text.startswith("MB1;")
    assert parse_page_code(text) == code
    assert code.version == 1


@given(st.integers(1, 10**9), st.integers(1, 999), st.none() | st.integers(1, 10**9),
       st.lists(st.integers(1, 10**6), max_size=12).map(tuple), _B32, _B32)
def test_round_trip_mb2(ws: int, page: int, student: int | None, entries: tuple[int, ...],
                        install: str, layout: str) -> None:
    code = PageCode(ws, page, student, entries, install, layout)
    text = format_page_code(code)
    assert text.startswith("MB2")
    assert parse_page_code(text) == code
    assert code.version == 2


def test_format_is_short_and_stable() -> None:
    assert format_page_code(PageCode(12, 2, 305)) == "MB1;W12;P2;S305"
    assert format_page_code(PageCode(12, 1)) == "MB1;W12;P1"
    assert format_page_code(PageCode(12, 2, 305, (), "K7Q2ZA", "4FJ3XB")) \
        == "MB2K7Q2ZA4FJ3XB/12/2/305"
    assert format_page_code(PageCode(12, 2, 305, (7, 9), "K7Q2ZA", "4FJ3XB")) \
        == "MB2K7Q2ZA4FJ3XB/12/2/305/7.9"
    assert format_page_code(PageCode(12, 1, None, (), "K7Q2ZA", "4FJ3XB")) \
        == "MB2K7Q2ZA4FJ3XB/12/1"
    # Entries without a student leave the student's place empty.
    assert format_page_code(PageCode(12, 1, None, (7,), "K7Q2ZA", "4FJ3XB")) \
        == "MB2K7Q2ZA4FJ3XB/12/1//7"


@pytest.mark.parametrize("text", [
    "", "hello", "MB2;W1;P1", "MB1;P1", "MB1;W1", "MB1;W1;P0",
    "MB1;W1;P1;S1,2", "MB1;W1;W2;P1", "MB1;Wx;P1", "MB1;W1;P1;Q9",
    "https://example.com/?MB1;W1;P1", "MB1;W" + "9" * 40 + ";P1",
    # MB1 has no install or layout fields; MB2 needs both, 6 base32 characters each
    "MB1;W1;P1;IABCDEF", "MB2/1/1", "MB2ABCDEF/1/1", "MB2ABCDEFGHIJK/1/1",
    "MB2ABCDEFGHIJKLM/1/1", "MB2abcdefghijkl/1/1", "MB2ABCDEFGHIJK1/1/1",
    # malformed MB2 fields
    "MB2ABCDEFGHIJKL", "MB2ABCDEFGHIJKL/1", "MB2ABCDEFGHIJKL/1/0", "MB2ABCDEFGHIJKL/x/1",
    "MB2ABCDEFGHIJKL/1/1/", "MB2ABCDEFGHIJKL/1/1//", "MB2ABCDEFGHIJKL/1/1/1.2",
    "MB2ABCDEFGHIJKL/1/1/1/2,3", "MB2ABCDEFGHIJKL/1/1/1/", "MB2ABCDEFGHIJKL/1/1/1/2/3",
    "MB2ABCDEFGHIJKL/1.2/1", "MB2ABCDEFGHIJKL/W1/P1", "MB2ABCDEFGHIJKL;1;1",
    "MB3ABCDEFGHIJKL/1/1", "MB2ABCDEFGHIJKL/" + "9" * 13 + "/1",
])
def test_rejects_foreign_or_malformed(text: str) -> None:
    with pytest.raises(PageCodeError):
        parse_page_code(text)


@pytest.mark.parametrize(("install", "layout"), [("ABCDEF", None), (None, "ABCDEF"),
                                                 ("abcdef", "ABCDEF"), ("ABCDEF", "ABC")])
def test_mb2_needs_both_ids_well_formed(install: str | None, layout: str | None) -> None:
    with pytest.raises(PageCodeError):
        format_page_code(PageCode(1, 1, install=install, layout=layout))


@given(st.text(max_size=80))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    with contextlib.suppress(PageCodeError):
        parse_page_code(text)


@pytest.mark.parametrize(("code", "version"), [
    # a named copy with 5-digit ids: version 2, as its MB1 code was; 6 digits: version 3
    (PageCode(12345, 2, 56789, install="K7Q2ZA", layout="4FJ3XB"), 2),
    (PageCode(123456, 2, 654321, install="K7Q2ZA", layout="4FJ3XB"), 3),
    # an error-book practice page with four entries: version 4, as in MB1
    (PageCode(1234, 1, 5678, (10001, 10002, 10003, 10004), "K7Q2ZA", "4FJ3XB"), 4),
])
def test_the_qr_stays_a_low_version(code: PageCode, version: int) -> None:
    # Drawn as errorbook.printing.worksheet.draw_qr does: error correction Q. The MB2
    # text is all QR-alphanumeric, so it encodes at 5.5 bits a character.
    qr = segno.make(format_page_code(code), error="q", micro=False)
    assert qr.mode == "alphanumeric"
    assert qr.version <= version
    old = segno.make(format_page_code(dataclasses.replace(code, install=None, layout=None)),
                     error="q", micro=False)
    assert qr.version <= old.version


def _layout() -> WorksheetLayout:
    return layout_worksheet("练习", [q for q in sample_questions() if q.subject == "math"][:6])


def test_layout_hash_survives_storage_and_sees_moved_boxes() -> None:
    layout = _layout()
    page = layout.pages[0]
    h = page_layout_hash(page)
    assert re.fullmatch(r"[A-Z2-7]{6}", h)
    # Stored as JSON and read back (what the reader has): the same hash.
    again = WorksheetLayout.from_dict(layout.to_dict()).pages[0]
    assert page_layout_hash(again) == h
    # The drawn text is not read back: it does not count.
    assert page_layout_hash(dataclasses.replace(page, blocks=())) == h
    # An answer box moved by a millimetre, or the page number changed: another layout.
    region = page.regions[0]
    x0, y0, x1, y1 = region.box
    moved = dataclasses.replace(region, box=(x0 + 2.83, y0, x1 + 2.83, y1))
    assert page_layout_hash(dataclasses.replace(page, regions=(moved, *page.regions[1:]))) != h
    assert page_layout_hash(dataclasses.replace(page, number=page.number + 1)) != h
