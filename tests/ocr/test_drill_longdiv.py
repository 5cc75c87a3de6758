"""Long division (除法竖式) on drill pages: real detector and readers, real handwriting.

Pages are made by ``simulation.drill_pages`` (layout ``long_division``) with the ``calib``
handwriting split, on which the reader was tuned. Bounds were measured on these seeded
pages and set a little under, so a regression fails and noise does not.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grading.grade import Verdict
from ocr.drill.items import ItemLayout
from ocr.drill.longdiv import (
    LongDivisionLayout,
    _joined,
    _part,
    _rules,
    find_long_divisions,
    read_with_long_divisions,
    without_their_rules,
)
from ocr.reading.recognize import FakeRecognizer, Reading
from service.drill.pages import (
    DrillEngines,
    DrillItem,
    DrillPageRead,
    build_drill_engines,
    read_drill_page,
)
from simulation.drill_pages import (
    DrillPage,
    DrillPageOptions,
    DrillTruth,
    make_drill_page,
    working_rows,
)
from simulation.handwriting import GlyphBank
from tests.support.datasets import DATASETS_DIR, have_datasets

LONG = DrillPageOptions(layout="long_division")


@pytest.fixture(scope="module")
def calib_bank() -> GlyphBank:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    return GlyphBank.load("calib", DATASETS_DIR)


@pytest.fixture(scope="module")
def engines() -> DrillEngines:
    return build_drill_engines()


@pytest.fixture(scope="module")
def page(calib_bank: GlyphBank) -> DrillPage:
    return make_drill_page(calib_bank, np.random.default_rng(4), LONG)


@pytest.fixture(scope="module")
def read(engines: DrillEngines, page: DrillPage) -> DrillPageRead:
    return read_drill_page(page.image, engines.detector, engines.recognizer,
                           expressions=engines.expressions)


def _pairs(page: DrillPage, read: DrillPageRead) -> list[tuple[DrillTruth, DrillItem]]:
    """Truth item -> the read item whose quotient area holds the truth's quotient area's
    centre."""
    out = []
    for t in page.items:
        cx, cy = (t.answer_box[0] + t.answer_box[2]) / 2, (t.answer_box[1] + t.answer_box[3]) / 2
        hits = [it for it in read.items if it.reading.result_box[0] <= cx
                <= it.reading.result_box[2] and it.reading.result_box[1] <= cy
                <= it.reading.result_box[3]]
        if len(hits) == 1:
            out.append((t, hits[0]))
    return out


def test_working_rows_as_schools_write_them() -> None:
    # 975 ÷ 35: 97 - 70 = 27, bring down 5: 275 - 245 = 30.
    assert working_rows("975", 35) == [("70", 1, True), ("275", 2, False), ("245", 2, True),
                                       ("30", 2, False)]
    # 816 ÷ 8 = 102: the quotient's 0 writes no product; 16 - 16 = 0.
    assert working_rows("816", 8) == [("8", 0, True), ("16", 2, False), ("16", 2, True),
                                      ("0", 2, False)]
    # 271 ÷ 9 = 30……1: the last digit brought down is the remainder.
    assert working_rows("271", 9) == [("27", 1, True), ("1", 2, False)]


def test_long_divisions_found_and_expressions_read(page: DrillPage, read: DrillPageRead) -> None:
    assert read.status == "read"
    pairs = _pairs(page, read)
    # Measured on this page: all 12 found, every expression right, no extra item.
    assert len(pairs) >= 11
    assert len(read.items) <= len(page.items)
    assert sum(it.reading.expression == t.expression for t, it in pairs) >= len(pairs) - 1
    assert all("÷" in it.reading.expression for _, it in pairs)


def test_quotients_and_remainders_read_and_graded(page: DrillPage, read: DrillPageRead) -> None:
    pairs = _pairs(page, read)
    written = [(t, it) for t, it in pairs if t.written]
    # Measured: every written answer read exactly (quotient and the working's last line).
    assert sum(it.reading.result == t.written for t, it in written) >= len(written) - 2
    assert any("……" in t.written for t, _ in written)  # remainders are on this page
    auto = [(t, it) for t, it in pairs if not it.needs_review]
    assert len(auto) >= 0.75 * len(pairs)
    for t, it in auto:
        want = (Verdict.BLANK if not t.written
                else Verdict.CORRECT if t.correct else Verdict.INCORRECT)
        assert it.grade is not None, (t, it)
        assert it.grade.verdict is want, (t, it)
    blanks = [it for t, it in pairs if not t.written]
    assert all(it.reading.result_status == "blank" for it in blanks)


def test_a_wrong_quotient_is_graded_wrong(calib_bank: GlyphBank, engines: DrillEngines) -> None:
    # Every answer on this page is wrong (a quotient or a remainder one off, or digits
    # swapped); those read as written must be graded wrong, never right.
    page = make_drill_page(calib_bank, np.random.default_rng(8), DrillPageOptions(
        layout="long_division", blank_prob=0.0, wrong_prob=1.0))
    read = read_drill_page(page.image, engines.detector, engines.recognizer,
                           expressions=engines.expressions)
    pairs = _pairs(page, read)
    decided = [(t, it) for t, it in pairs if it.reading.result == t.written and it.grade]
    assert len(decided) >= 0.7 * len(page.items)
    assert all(it.grade is not None and it.grade.verdict is Verdict.INCORRECT
               for _, it in decided)
    assert any(not it.needs_review for _, it in decided)


def test_other_layouts_have_no_long_divisions(calib_bank: GlyphBank,
                                              engines: DrillEngines) -> None:
    # Column items' rules and the name line have no hook and no numbers either side of one.
    for layout in ("horizontal", "vertical"):
        page = make_drill_page(calib_bank, np.random.default_rng(11),
                               DrillPageOptions(layout=layout))
        lines = engines.expressions.read(page.image, engines.detector.detect([page.image])[0])
        assert find_long_divisions(page.image, lines, engines.expressions) == []


def test_key_parts_and_joined_answer() -> None:
    assert _part(("17......2",), 0) == ("17",)
    assert _part(("17......2",), 1) == ("2",)
    assert _part(("21",), 1) == ("0",)  # an even division's working ends in 0
    q = Reading("ok", "21", 0.9, alternatives=(("21", 0.9), ("27", 0.1)))
    zero = Reading("ok", "0", 1.0, alternatives=(("0", 1.0),))
    assert _joined(q, zero).text == "21"
    two = Reading("ok", "2", 0.8, alternatives=(("2", 0.8), ("7", 0.2)))
    joined = _joined(q, two)
    assert joined.text == "21……2"
    assert joined.confidence == pytest.approx(0.72)
    assert joined.alternatives[0] == ("21……2", pytest.approx(0.72))
    # A working with no readable last line leaves the answer to review.
    assert _joined(q, Reading("unreadable")).status == "unreadable"
    assert _joined(q, None).text == "21"  # no working written: the quotient alone


def test_column_items_in_a_long_division_are_dropped() -> None:
    division = LongDivisionLayout("975÷35", "35)975", 1.0, (100, 200, 300, 260),
                                  (60, 100, 340, 199), 20.0, rule=(150, 195, 300, 200),
                                  working_box=(110, 260, 340, 600))
    working = ItemLayout("275-245", "275 / 245", 1.0, (120, 300, 300, 400), (0, 0, 1, 1), 20.0)
    elsewhere = ItemLayout("37+48", "37+48", 1.0, (700, 300, 800, 340), (0, 0, 1, 1), 20.0)
    assert without_their_rules([working, elsewhere], [division]) == [elsewhere, division]


def _division(expression: str) -> LongDivisionLayout:
    return LongDivisionLayout(expression, expression, 1.0, (100, 200, 300, 260),
                              (60, 100, 340, 199), 20.0, rule=(150, 195, 300, 200),
                              working_box=(110, 260, 340, 600))


@pytest.mark.parametrize(("expression", "status", "text"), [
    ("85÷5", "ok", "17"),  # even: the quotient alone is the whole answer
    ("87÷5", "unreadable", ""),  # a remainder is due and no working shows it
])
def test_no_working_under_the_dividend(expression: str, status: str, text: str) -> None:
    page = np.full((700, 400), 235, np.uint8)
    page[130:180, 200:206] = 20  # a quotient's strokes above the rule, nothing below
    page[130:180, 230:260:6] = 20
    fake = FakeRecognizer([Reading("ok", "17", 0.95, alternatives=(("17", 0.95),))])
    [reading] = read_with_long_divisions(page, [_division(expression)], fake)
    assert reading.status == status
    assert reading.text == text


def test_a_working_that_ends_in_a_rule_has_no_remainder_read() -> None:
    page = np.full((700, 400), 235, np.uint8)
    page[130:180, 200:206] = 20
    page[280:310, 220:226] = 20  # a partial product ...
    page[330:333, 180:330] = 20  # ... and its rule, with nothing under it
    fake = FakeRecognizer([Reading("ok", "17", 0.95, alternatives=(("17", 0.95),))])
    [reading] = read_with_long_divisions(page, [_division("87÷5")], fake)
    assert reading.status == "unreadable"
    assert "rule" in reading.detail


def test_brackets_found_on_dense_high_resolution_pages(calib_bank: GlyphBank,
                                                       engines: DrillEngines) -> None:
    # Seeds 5 and 6 (300 dpi, the working just under the dividend) each lost an item
    # while the divisor's and dividend's boxes reached into the child's first line.
    for seed in (5, 6):
        page = make_drill_page(calib_bank, np.random.default_rng(seed), LONG)
        lines = engines.expressions.read(page.image, engines.detector.detect([page.image])[0])
        found = find_long_divisions(page.image, lines, engines.expressions)
        assert sorted(f.expression for f in found) == sorted(t.expression for t in page.items)


def test_a_childs_rule_is_erased_and_a_flat_zero_is_not() -> None:
    ch = 36.0
    parts = {name: np.zeros((200, 300), np.uint8) for name in ("rule", "zero", "low", "five")}
    cv2.line(parts["rule"], (20, 30), (160, 33), 1, 2)  # a rule on its own
    cv2.ellipse(parts["zero"], (90, 100), (32, 16), -8, 0, 360, 1, 4)  # a flat, wide 0
    cv2.line(parts["low"], (150, 172), (290, 174), 1, 2)  # a rule under a 5 touching it
    cv2.line(parts["five"], (215, 135), (215, 171), 1, 4)
    rules = _rules(np.maximum.reduce(list(parts.values())), ch)
    assert rules[parts["rule"] > 0].all()
    assert not rules[parts["zero"] > 0].any()  # the zero's bottom arc is no rule
    assert rules[parts["low"] > 0].mean() > 0.9
    assert rules[parts["five"] > 0].mean() < 0.2  # the 5's stroke above the rule stays
