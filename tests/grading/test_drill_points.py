"""Knowledge points inferred from a drill item's printed expression."""

from __future__ import annotations

import json

import pytest

from grading.arithmetic_stem import ArithmeticStemError
from grading.drill_points import DRILL_POINTS, drill_knowledge_points
from tests.support.samples import SAMPLES


@pytest.mark.parametrize(("expression", "leaf"), [
    ("37+48", "math.add.carry"),
    ("32+15", "math.add.nocarry"),
    ("95+5", "math.add.carry"),
    ("52-17", "math.sub.borrow"),
    ("100-37", "math.sub.borrow_zero"),
    ("58-23", "math.sub.noborrow"),
    ("6×7", "math.mul.table"),
    ("12×3", "math.mul.multidigit"),
    ("56÷8", "math.div.exact"),
    ("17÷5", "math.div.remainder"),
    ("2.5+1.3", "math.decimal.add_sub"),
    ("1/5+2/5", "math.frac.same_denominator"),
    ("1/2+1/3", "math.frac.unlike_denominator"),
    ("25+36-18", "math.mixed.order"),
])
def test_leaf_point_follows_the_operation(expression: str, leaf: str) -> None:
    points = drill_knowledge_points(expression)
    assert points[0].code == leaf
    # Parents follow, up to the subject, so a school without them gets them created.
    assert [p.code for p in points] == [".".join(leaf.split(".")[:n])
                                        for n in range(leaf.count(".") + 1, 0, -1)]


def test_unparseable_expression_is_an_error_not_a_guess() -> None:
    with pytest.raises(ArithmeticStemError):
        drill_knowledge_points("37+")


def test_codes_and_names_are_the_sample_banks() -> None:
    bank = json.loads((SAMPLES / "question_bank.json").read_text("utf-8"))
    names = {k["code"]: k["name_zh"] for k in bank["knowledge_points"]}
    for code, (zh, _) in DRILL_POINTS.items():
        assert names.get(code) == zh, code
