"""Column arithmetic (竖式) on drill pages: real detector and readers, real handwriting.

Bounds were measured on these seeded pages and the bench's vertical pages
(docs/benchmarks.md, bench_drill) and set a little under, so a regression fails and noise
does not.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.fonts import find_cjk_font
from grading.grade import Verdict
from ocr.drill.columns import (
    _column_expression,
    _Row,
    find_column_items,
    find_rules,
    operator_glyph,
)
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
)
from simulation.handwriting import GlyphBank

VERTICAL = DrillPageOptions(layout="vertical")


@pytest.fixture(scope="module")
def engines() -> DrillEngines:
    return build_drill_engines()


@pytest.fixture(scope="module")
def page(test_bank: GlyphBank) -> DrillPage:
    return make_drill_page(test_bank, np.random.default_rng(7), VERTICAL)


@pytest.fixture(scope="module")
def read(engines: DrillEngines, page: DrillPage) -> DrillPageRead:
    return read_drill_page(page.image, engines.detector, engines.recognizer,
                           expressions=engines.expressions)


def _pairs(page: DrillPage, read: DrillPageRead) -> list[tuple[DrillTruth, DrillItem]]:
    """Truth item -> read item whose expression box holds the truth's printed centre."""
    out = []
    for t in page.items:
        cx, cy = (t.box[0] + t.box[2]) / 2, (t.box[1] + t.box[3]) / 2
        boxes = [it.reading.expression_box for it in read.items]
        hits = [it for it, b in zip(read.items, boxes, strict=True)
                if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
        if len(hits) == 1:
            out.append((t, hits[0]))
    return out


def test_column_items_found_and_expressions_read(page: DrillPage, read: DrillPageRead) -> None:
    pairs = _pairs(page, read)
    assert read.status == "read"
    # Measured on this page: every item found, every expression right.
    assert len(pairs) >= 0.95 * len(page.items)
    assert len(read.items) <= len(page.items)
    exact = sum(it.reading.expression == t.expression for t, it in pairs)
    assert exact >= 0.95 * len(pairs)


def test_column_results_read_and_graded(page: DrillPage, read: DrillPageRead) -> None:
    pairs = _pairs(page, read)
    written = [(t, it) for t, it in pairs if t.written]
    exact = sum(it.reading.result == t.written for t, it in written)
    assert exact >= 0.85 * len(written)
    auto = [(t, it) for t, it in pairs if not it.needs_review]
    assert len(auto) >= 0.6 * len(pairs)
    for t, it in auto:
        want = (Verdict.BLANK if not t.written
                else Verdict.CORRECT if t.correct else Verdict.INCORRECT)
        assert it.grade is not None, (t, it)
        assert it.grade.verdict is want, (t, it)
    blanks = [it for t, it in pairs if not t.written]
    assert all(it.reading.result_status == "blank" for it in blanks)


def test_horizontal_page_has_no_column_items(engines: DrillEngines, test_bank: GlyphBank) -> None:
    # Its name line is a long rule too, but no "digits over operator digits" sits above it.
    page = make_drill_page(test_bank, np.random.default_rng(11))
    boxes = engines.detector.detect([page.image])[0]
    lines = engines.expressions.read(page.image, boxes)
    assert find_rules(page.image, 40.0)
    assert find_column_items(page.image, lines) == []


@pytest.mark.parametrize(("symbol", "want"), [("+", "+"), ("-", "-"), ("×", "×"), ("÷", "")])
def test_operator_glyph_by_shape(symbol: str, want: str) -> None:
    canvas = Image.new("L", (120, 120), 250)
    font = ImageFont.truetype(str(find_cjk_font()), 60)
    ImageDraw.Draw(canvas).text((60, 60), symbol, font=font, fill=0, anchor="mm")
    assert operator_glyph(np.asarray(canvas), (0, 0, 120, 120)) == want


def test_operator_glyph_on_paper_is_nothing() -> None:
    assert operator_glyph(np.full((50, 50), 250, np.uint8), (0, 0, 50, 50)) == ""
    assert operator_glyph(np.full((50, 50), 250, np.uint8), (10, 10, 10, 10)) == ""


def test_upside_down_column_page_is_turned(
    engines: DrillEngines, page: DrillPage, read: DrillPageRead
) -> None:
    turned = np.ascontiguousarray(np.rot90(page.image, 2))
    again = read_drill_page(turned, engines.detector, engines.recognizer,
                            expressions=engines.expressions)
    assert again.rotation == 2
    assert [it.reading.expression for it in again.items] == [
        it.reading.expression for it in read.items
    ]


def test_lone_minus_far_from_its_operand_over_a_thin_skewed_rule(engines: DrillEngines) -> None:
    # The detector often misses a lone "-" printed apart from its operand; its shape must
    # decide it, without the rule just under it being taken for the operator.
    canvas = Image.new("L", (900, 700), 240)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(find_cjk_font()), 48)
    draw.text((500, 200), "212", font=font, fill=0, anchor="ra")
    draw.text((500, 265), "38", font=font, fill=0, anchor="ra")
    draw.text((330, 265), "-", font=font, fill=0, anchor="la")
    draw.rectangle((320, 330, 520, 332), fill=0)
    page = np.asarray(canvas.rotate(1.5, fillcolor=240, resample=Image.Resampling.BILINEAR))
    boxes = engines.detector.detect([page])[0]
    items = find_column_items(page, engines.expressions.read(page, boxes))
    assert [it.expression for it in items] == ["212-38"]
    _x0, y0, _x1, y1 = items[0].result_box
    assert y0 > 325
    assert y1 - y0 > 60


def test_operator_shape_is_read_above_the_rule_not_on_it() -> None:
    # The second row's detected box reaches down into the rule, which is the largest dark
    # thing there: the operator must be judged above the rule, else this reads "" or "-".
    gray = np.full((200, 300), 240, np.uint8)
    gray[50:70, 58:62] = 0  # a plus sign: vertical and horizontal bars
    gray[58:62, 50:70] = 0
    gray[80:84, 20:250] = 0  # the rule
    upper = _Row([("2", 140.0, 0.99), ("1", 160.0, 0.99), ("2", 180.0, 0.99)], 0, 35)
    lower = _Row([("3", 150.0, 0.99), ("8", 175.0, 0.99)], 40, 92)
    expr, _, conf = _column_expression(gray, [lower, upper], (20, 80, 250, 84), 40.0)
    assert expr == "212+38"
    assert conf <= 0.95  # a shape test is no recogniser: leave room for review


def _plus_over_rule() -> np.ndarray:
    gray = np.full((200, 300), 240, np.uint8)
    gray[50:70, 58:62] = 0  # a plus sign printed well left of its operand
    gray[58:62, 50:70] = 0
    gray[80:84, 20:250] = 0  # the rule
    return gray


def test_a_lookalike_read_in_the_operators_place_does_not_weaken_the_expression() -> None:
    # "+" read as a non-maths character (十) with a weak share: the shape decides it, and
    # that character's probability is not the expression's.
    upper = _Row([("2", 140.0, 0.99), ("1", 165.0, 0.99), ("2", 190.0, 0.99)], 0, 35)
    lower = _Row([("\x00", 60.0, 0.6), ("3", 165.0, 0.99), ("8", 190.0, 0.99)], 40, 92)
    expr, _, conf = _column_expression(_plus_over_rule(), [lower, upper], (20, 80, 250, 84),
                                       40.0)
    assert expr == "212+38"
    assert conf == 0.95
    # Close to the digits it may be a digit misread: its doubt stays.
    near = _Row([("\x00", 142.0, 0.6), ("3", 165.0, 0.99), ("8", 190.0, 0.99)], 40, 92)
    assert _column_expression(_plus_over_rule(), [near, upper], (20, 80, 250, 84), 40.0)[2] \
        == 0.6


def test_a_weakly_read_operator_its_shape_confirms() -> None:
    upper = _Row([("2", 140.0, 0.99), ("1", 165.0, 0.99), ("2", 190.0, 0.99)], 0, 35)
    lower = _Row([("+", 60.0, 0.5), ("3", 165.0, 0.99), ("8", 190.0, 0.99)], 40, 92)
    expr, _, conf = _column_expression(_plus_over_rule(), [lower, upper], (20, 80, 250, 84),
                                       40.0)
    assert expr == "212+38"
    assert conf == 0.95
    minus = _Row([("-", 60.0, 0.5), ("3", 165.0, 0.99), ("8", 190.0, 0.99)], 40, 92)
    expr, _, conf = _column_expression(_plus_over_rule(), [minus, upper], (20, 80, 250, 84),
                                       40.0)
    assert expr == "212-38"
    assert conf == 0.5  # the shape says "+": the weak "-" stays weak
