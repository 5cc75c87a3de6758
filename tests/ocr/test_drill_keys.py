"""Drill answers verified against their keys (``ocr.drill.answers`` ``expected_for``).

The key forms reach a recogniser that verifies keys the way a worksheet's regions do
(``expected=``, one tuple per crop), never one that does not; a key that cannot be
computed only loses the verification; remainder dots written several ways are one
answer; and on a real page, verification never reads a wrong answer as its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from ocr.drill.answers import read_results
from ocr.drill.items import ItemLayout
from ocr.drill.page import read_items
from ocr.reading.ctc import Alphabet
from ocr.reading.recognize import FakeRecognizer, Reading
from service.drill.pages import build_drill_engines, drill_key_forms, read_drill_page
from simulation.drill_pages import make_drill_page
from simulation.handwriting import GlyphBank


@dataclass
class VerifyingFake:
    """Reads every crop as ``85`` (or ``35``) and records the keys it was asked to verify."""

    verifies_keys: bool = True
    seen: list[list[tuple[str, ...]] | None] = field(default_factory=list)

    def recognize(self, crops: Sequence[np.ndarray], *, alphabet: Alphabet | None = None,
                  length: tuple[int, int] | None = None,
                  expected: Sequence[Sequence[str]] | None = None) -> list[Reading]:
        self.seen.append(None if expected is None else [tuple(e) for e in expected])
        return [Reading("ok", "85", 0.9, alternatives=(("85", 0.9), ("35", 0.1))) for _ in crops]


def _page_and_layouts(expressions: Sequence[str]) -> tuple[np.ndarray, list[ItemLayout]]:
    """A white page with a thick stroke written right of each item's ``=``."""
    page = np.full((40 * len(expressions) + 20, 200), 255, np.uint8)
    layouts = []
    for i, expr in enumerate(expressions):
        y = 10 + 40 * i
        page[y + 5:y + 25, 120:124] = 0  # a written "1"
        layouts.append(ItemLayout(expr, expr or "3+", 0.99, (10, y, 100, y + 30),
                                  (110, y, 190, y + 30), 20.0))
    return page, layouts


def test_key_forms_reach_a_verifying_recogniser_per_item() -> None:
    page, layouts = _page_and_layouts(["37+48", "", "6×7", "9×9"])
    fake = VerifyingFake()

    def keys(expr: str) -> tuple[str, ...]:
        if expr == "9×9":
            raise ValueError("a key that does not compute")
        return drill_key_forms(expr)

    readings = read_results(page, layouts, fake, expected_for=keys)
    assert [r.text for r in readings] == ["85"] * 4
    # One tuple per crop in batch order: the digit answers, then the unparsed item (read
    # over the generic numeric alphabet) with no key.
    assert fake.seen == [[("85",), ("42",), ()], [()]]


def test_no_keys_without_expected_for_or_a_verifying_recogniser() -> None:
    page, layouts = _page_and_layouts(["37+48"])
    fake = VerifyingFake()
    read_results(page, layouts, fake)
    assert fake.seen == [None]
    fake.verifies_keys = False
    read_results(page, layouts, fake, expected_for=drill_key_forms)
    assert fake.seen == [None, None]
    # A recogniser with no ``expected`` parameter at all is never handed one.
    plain = FakeRecognizer(script=[Reading("ok", "85", 0.9, alternatives=(("85", 0.9),))])
    assert read_results(page, layouts, plain, expected_for=drill_key_forms)[0].text == "85"


def test_a_key_that_is_the_only_candidate_verifies_nothing() -> None:
    page, layouts = _page_and_layouts(["83÷9", "37+48", "6×7"])

    @dataclass
    class KeyOnly(VerifyingFake):
        def recognize(self, crops: Sequence[np.ndarray], *, alphabet: Alphabet | None = None,
                      length: tuple[int, int] | None = None,
                      expected: Sequence[Sequence[str]] | None = None) -> list[Reading]:
            assert expected is not None
            # The readers wrote nothing that fits; the key is alone (remainder, digits) or
            # has a rival of the readers' own (the last item).
            return [Reading("ok", keys[0], 1.0, alternatives=((keys[0], 1.0),))
                    if k < 1 or (alphabet is not None and alphabet.name == "drill_remainder")
                    else Reading("ok", keys[0], 0.7, alternatives=((keys[0], 0.7), ("41", 0.3)))
                    for k, keys in enumerate(expected)]

    readings = read_results(page, layouts, KeyOnly(), expected_for=drill_key_forms)
    assert [r.status for r in readings] == ["unreadable", "unreadable", "ok"]
    assert "only the key" in readings[0].detail
    assert readings[2].text == "42"
    # Without keys, a reading that happens to be the key is the reader's own: kept.
    kept = read_results(page, layouts, FakeRecognizer(script=[
        Reading("ok", "9......2", 0.9, alternatives=(("9......2", 0.9),))]))
    assert kept[0].status == "ok"


def _layout(expr: str) -> ItemLayout:
    return ItemLayout(expr, expr, 0.99, (0, 0, 10, 10), (10, 0, 40, 10), 10.0)


def test_remainder_dots_written_several_ways_are_one_answer() -> None:
    split = Reading("ok", "1....6", 0.45, alternatives=(
        ("1....6", 0.45), ("7......6", 0.30), ("7…6", 0.25)))
    kept = Reading("ok", "3......2", 0.49, alternatives=(("3......2", 0.49), ("3....2", 0.30),
                                                         ("8……2", 0.21)))
    plain = Reading("ok", "85", 0.6, alternatives=(("85", 0.6), ("35", 0.4)))
    blank = Reading("blank", detail="no handwriting")
    a, b, c, d = read_items([_layout("69÷9"), _layout("17÷5"), _layout("37+48"),
                             _layout("1+1")], [split, kept, plain, blank])
    assert (a.result, a.result_confidence) == ("7……6", pytest.approx(0.55))
    assert a.alternatives == (("7……6", pytest.approx(0.55)), ("1……6", 0.45))
    assert (b.result, b.result_confidence) == ("3……2", pytest.approx(0.79))
    assert (c.result, c.result_confidence, c.alternatives) == ("85", 0.6, plain.alternatives)
    assert (d.result, d.result_status) == ("", "blank")


def test_key_forms_of_drill_items() -> None:
    assert drill_key_forms("37+48") == ("85",)
    assert drill_key_forms("17÷5") == ("3......2",)
    assert drill_key_forms("20÷5") == ("4",)
    assert drill_key_forms("1/2+1/3") == ("5/6",)
    assert drill_key_forms("12-15") == ("-3",)
    assert drill_key_forms("3+") == ()
    assert drill_key_forms("") == ()


def test_verification_never_reads_a_wrong_answer_as_its_key(test_bank: GlyphBank) -> None:
    engines = build_drill_engines()
    page = make_drill_page(test_bank, np.random.default_rng(5))
    read = read_drill_page(page.image, engines.detector, engines.recognizer,
                           expressions=engines.expressions)
    assert read.status == "read"
    checked = 0
    for t in page.items:
        if not t.written or t.correct:
            continue
        x0, y0, x1, y1 = t.answer_box
        for it in read.items:
            bx0, by0, bx1, by1 = it.reading.result_box
            cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
            pad = 0.6 * (y1 - y0)
            if x0 - pad <= cx <= x1 + pad and y0 - pad <= cy <= y1 + pad \
                    and it.reading.expression == t.expression:
                checked += 1
                keys = drill_key_forms(t.expression)
                assert it.reading.result not in keys, (t, it.reading)
                if it.reading.result == t.written and not it.needs_review:
                    assert it.grade is not None
                    assert it.grade.verdict.value == "incorrect"
                break
    assert checked >= 3
