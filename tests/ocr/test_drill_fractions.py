"""Printed fractions on drill pages: expressions re-read at the print's height.

A detected text line is as tall as the handwriting on it, and at that scale the PP-OCR
recogniser reads a printed ``/`` as ``1`` or drops it (``3/7 + 2/7`` -> ``317+217``);
``ocr.drill.items`` reads each expression again from a crop cut to the print
(``ExpressionReader(reread_prints=True)``). Pages here hold only fraction items, printed in
each CJK font installed (a Hei face and a Kai face print ``/`` and space ``+`` quite
differently). Bounds were measured on these seeded pages and set a little under.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simulation.drill_pages as drill_pages
from ocr.drill.answers import (
    denominator_prior,
    plausible_denominators,
    read_results,
    result_alphabet,
)
from ocr.drill.detect import PPOCRDetector
from ocr.drill.items import ExpressionReader, ItemLayout, LineChars, find_items
from ocr.drill.page import locate_items
from ocr.reading.ctc import CTCMatrix
from ocr.reading.recognize import Reading
from simulation.drill_pages import DrillPage, DrillPageOptions, make_drill_page
from simulation.handwriting import GlyphBank

FONTS = [f for f in ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                     "/usr/share/fonts/truetype/arphic/ukai.ttc") if Path(f).is_file()]


def _fraction_item(rng: np.random.Generator) -> str:
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    d = r(3, 12)
    a = r(1, d - 1)
    if rng.random() < 0.3:
        return f"{a}/{d} - {r(1, a)}/{d} =" if a > 1 else f"{a}/{d} + {a}/{d} ="
    return f"{a}/{d} + {r(1, d - 1)}/{d} ="


@pytest.fixture(scope="module")
def detector() -> PPOCRDetector:
    from models.loader import open_session
    from models.manifest import PPOCR_DET_SMALL

    return PPOCRDetector(open_session(PPOCR_DET_SMALL))


def _fraction_page(bank: GlyphBank, font: str, seed: int) -> DrillPage:
    keep = drill_pages.random_item
    drill_pages.random_item = _fraction_item
    try:
        return make_drill_page(bank, np.random.default_rng(seed),
                               DrillPageOptions(columns=(3, 3)), font=font)
    finally:
        drill_pages.random_item = keep


def _read_right(page: DrillPage, layouts: list[ItemLayout]) -> tuple[int, int]:
    """(items whose expression was read exactly and confidently, items printed)."""
    right = 0
    for t in page.items:
        _x0, y0, x1, y1 = t.box
        for la in layouts:
            _bx0, by0, bx1, by1 = la.expression_box
            if abs((by0 + by1) / 2 - (y0 + y1) / 2) < (y1 - y0) / 2 and abs(bx1 - x1) < y1 - y0:
                right += la.expression == t.expression and la.expression_confidence >= 0.9
                break
    return right, len(page.items)


@pytest.mark.parametrize("font", FONTS)
def test_printed_fractions_are_read_at_the_print_height(
    test_bank: GlyphBank, rec_session: Any, detector: PPOCRDetector, font: str
) -> None:
    page = _fraction_page(test_bank, font, 5)
    right, printed = _read_right(page, locate_items(page.image, detector,
                                                    ExpressionReader(rec_session)))
    before, _ = _read_right(page, locate_items(
        page.image, detector, ExpressionReader(rec_session, reread_prints=False)))
    assert right >= 0.95 * printed, (right, before, printed)
    assert right >= before
    if "microhei" in font:
        # The Hei face's thin, steep slash is what the line reading loses.
        assert before < 0.8 * printed


def _line(chars: str, box: tuple[int, int, int, int], probs: list[float],
          prints: tuple[tuple[int, LineChars], ...] = ()) -> LineChars:
    x0, _, x1, _ = box
    xs = tuple(x0 + (k + 0.5) * (x1 - x0) / len(chars) for k in range(len(chars)))
    return LineChars(box, chars, xs, tuple(probs), None, prints)


def test_the_print_reading_replaces_the_line_reading() -> None:
    page = np.full((60, 400), 255, np.uint8)
    tight = _line("3/7+2/7=", (0, 10, 200, 50), [0.99] * 8)
    line = _line("317+217=", (0, 0, 200, 60), [0.99] * 8, ((7, tight),))
    found = find_items(page, [line])
    assert [f.expression for f in found] == ["3/7+2/7"]
    assert found[0].expression_confidence == pytest.approx(0.99)
    # Without a print reading, the line's own reading stands, doubted for its "1"s.
    alone = find_items(page, [_line("317+217=", (0, 0, 200, 60), [0.99] * 8)])
    assert alone[0].expression == "317+217"
    assert alone[0].expression_confidence <= 0.5


def test_a_cut_short_expression_is_doubtful() -> None:
    # "+1/5=": the first operand was not read; "1/5" alone would grade with its own key.
    page = np.full((60, 400), 255, np.uint8)
    tight = _line("+1/5=", (0, 10, 200, 50), [0.99] * 5)
    line = _line("+1/5=", (0, 0, 200, 60), [0.99] * 5, ((4, tight),))
    (found,) = find_items(page, [line])
    assert found.expression == "1/5"
    assert found.expression_confidence < 0.5
    (alone,) = find_items(page, [_line("+1/5=", (0, 0, 200, 60), [0.99] * 5)])
    assert alone.expression == "1/5"
    assert alone.expression_confidence < 0.5


def test_slash_look_alikes_lower_the_confidence() -> None:
    # The crop's frames say "3", then a stroke as likely "1" as "/", then "7" and "=".
    from ocr.drill.items import _look_alike_share

    symbols = "0123456789+-×÷=()./\x00"
    col = {c: k + 1 for k, c in enumerate(symbols)}

    def frame(**p: float) -> np.ndarray:
        row = np.full(len(symbols) + 1, 1e-6)
        for c, v in p.items():
            row[col[c] if c != "blank" else 0] = v
        return row / row.sum()

    frames = [frame(**{"3": 1.0}), frame(blank=1.0), frame(**{"1": 0.5, "/": 0.5}),
              frame(blank=1.0), frame(**{"7": 1.0}), frame(blank=1.0), frame(**{"=": 1.0})]
    matrix = CTCMatrix(np.log(np.stack(frames)), symbols)
    sure = LineChars((0, 0, 70, 10), "317=", (5.0, 25.0, 45.0, 65.0), (1.0,) * 4, matrix)
    assert _look_alike_share(sure, 0, 3) < 0.6


def test_fraction_answers_have_fraction_forms() -> None:
    alphabet = result_alphabet("4/7+2/7")
    assert alphabet.name == "numeric"  # the format the answer readers were trained on
    for text in ("6/7", "1", "11", "2/14", "0.5", "12/14"):
        assert alphabet.allows(text), text
    # A written 6/7 read with its slash as "1": no answer to 4/7+2/7 looks like that.
    for text in ("617", "1419", "-2/7", "123/4"):
        assert not alphabet.allows(text), text
    assert result_alphabet("5/8-7/8").allows("-1/4")
    assert result_alphabet("4/13+3/13").allows("7/13")
    assert not result_alphabet("4/13+3/13").allows("713")


class _Recorder:
    """An answer reader that records the alphabet of every batch."""

    def __init__(self) -> None:
        self.alphabets: list[Any] = []

    def recognize(self, crops: Any, *, alphabet: Any = None, **_: Any) -> list[Reading]:
        self.alphabets.append(alphabet)
        return [Reading("ok", "1", 0.9, alternatives=(("1", 0.9),)) for _ in crops]


def test_each_fraction_expression_is_read_with_its_own_alphabet() -> None:
    page = np.full((100, 400), 255, np.uint8)
    page[20:40, 120:124] = 0  # a written stroke in each answer area
    page[60:80, 120:124] = 0
    layouts = [ItemLayout("1/3+1/3", "1/3+1/3", 1.0, (0, 20, 100, 40), (110, 10, 200, 50), 20.0),
               ItemLayout("11/12+5/12", "11/12+5/12", 1.0, (0, 60, 100, 80),
                          (110, 50, 200, 90), 20.0)]
    rec = _Recorder()
    read_results(page, layouts, rec)
    assert len(rec.alphabets) == 2
    assert not rec.alphabets[0].allows("123/12")
    assert rec.alphabets[1].allows("123/12")


def test_a_dropped_bar_does_not_cut_the_crop_short() -> None:
    # "6/8+1/8=" read on the line as "6/8+18=", its "1" and "8" far apart where the bar
    # was lost: the crop still starts at the "6".
    from ocr.drill.items import _print_boxes

    gray = np.full((60, 400), 255, np.uint8)  # no "=" bars: print height 0.49 x 60
    xs = (10.0, 40.0, 70.0, 100.0, 130.0, 200.0, 230.0)
    line = LineChars((0, 0, 400, 60), "6/8+18=", xs, (0.99,) * 7)
    ((index, box),) = _print_boxes(gray, line)
    assert index == 6
    assert box[0] < 10


def test_the_print_reading_keeps_to_its_own_expression() -> None:
    # A crop that took in the end of a handwritten answer to its left ("718"): the gap
    # at the print's height ends the expression before it.
    from ocr.drill.items import _print_expression

    xs = (5.0, 20.0, 35.0, 150.0, 170.0, 190.0, 220.0, 250.0, 265.0, 280.0, 310.0)
    tight = LineChars((0, 0, 400, 40), "7186/8+1/8=", xs, (0.99,) * 11)
    line = LineChars((0, 0, 400, 60), "6/8+1/8=", xs[3:], (0.99,) * 8, None, ((7, tight),))
    assert _print_expression(line, 7) == ("6/8+1/8", 0.99, 150.0)


def test_plausible_denominators() -> None:
    assert plausible_denominators("1/7+3/7") == {7, 14, 21, 28}
    assert {2, 3, 5, 6}.issubset(plausible_denominators("1/2+1/3"))  # 5: 1/2+1/3 = 2/5
    assert 6 in plausible_denominators("2/3÷4/5")  # = 10/12 = 5/6
    assert 3 not in plausible_denominators("4/13+3/13")
    assert 1 not in plausible_denominators("2/7+5/7")


def test_a_strange_denominator_gives_way_to_a_plausible_reading() -> None:
    # A written 5/7 whose 7 the readers took for a 1.
    read = Reading("ok", "5/1", 0.8, alternatives=(("5/1", 0.8), ("5/7", 0.19), ("51", 0.01)))
    weighed = denominator_prior(read, "1/7+3/7")
    assert weighed.text == "5/7"
    assert weighed.confidence == pytest.approx(0.19 / (0.08 + 0.19 + 0.01))
    assert [t for t, _ in weighed.alternatives] == ["5/7", "5/1", "51"]
    # Far likelier on the ink, it stays first: a prior, not a rule.
    sure = Reading("ok", "71/3", 0.99, alternatives=(("71/3", 0.99), ("7/13", 0.01)))
    assert denominator_prior(sure, "4/13+3/13").text == "71/3"
    # Plausible readings, and a reading that is not ok, are left as they are.
    fine = Reading("ok", "4/7", 0.9, alternatives=(("4/7", 0.9), ("1/7", 0.1)))
    assert denominator_prior(fine, "1/7+3/7") == fine
    assert denominator_prior(Reading("blank"), "1/7+3/7") == Reading("blank")
