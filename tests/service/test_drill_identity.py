"""Whose drill page: the 学号 and the name written at its top, matched to the roster only
when sure."""

from __future__ import annotations

import numpy as np
import pytest

from ocr.drill.header import HeaderNumber, HeaderRead, read_header, read_header_number
from ocr.students.match import RosterEntry
from service.jobs.drillwork import (
    _label_reader,
    drill_engines,
    name_student,
    number_student,
    roster_student,
)
from simulation.drill_pages import DrillPageOptions, make_drill_page
from simulation.handwriting import GlyphBank
from tests.support.datasets import DATASETS_DIR, have_datasets

ROSTER = (RosterEntry(1, "3101", "王小明"), RosterEntry(2, "3102", "王晓明"),
          RosterEntry(3, "3118", "李华"))


def _number(text: str, p: float, *alternatives: tuple[str, float]) -> HeaderNumber:
    return HeaderNumber(text, p, ((text, p), *alternatives), (0, 0, 1, 1))


def test_a_sure_reading_of_a_roster_number_names_the_student() -> None:
    assert number_student(_number("3118", 0.97, ("3116", 0.02)), ROSTER) == 3


@pytest.mark.parametrize("number", [
    _number("3102", 0.48),                          # not sure enough
    _number("3102", 0.80, ("3101", 0.15)),          # a classmate's number is a rival
    _number("3199", 0.99),                          # nobody's number
    _number("", 0.0),                               # nothing read
    None,                                           # no 学号 on the page
])
def test_anything_less_names_nobody(number: HeaderNumber | None) -> None:
    assert number_student(number, ROSTER) is None
    assert roster_student(HeaderRead(number, None), ROSTER) is None


@pytest.fixture(scope="module")
def bank() -> GlyphBank:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    return GlyphBank.load("test", DATASETS_DIR)


def test_header_number_is_read_after_its_label(bank: GlyphBank) -> None:
    e = drill_engines()
    page = make_drill_page(bank, np.random.default_rng(7), DrillPageOptions(student_no="3118"))
    top = min(t.box[1] for t in page.items)
    number = read_header_number(page.image, e.detector, _label_reader(), e.recognizer,
                                items_top=top)
    assert number is not None
    assert number.text == "3118"
    # A sheet whose header asks for no 学号 gives no number (its other blanks are not one).
    plain = make_drill_page(bank, np.random.default_rng(7))
    assert read_header_number(plain.image, e.detector, _label_reader(), e.recognizer,
                              items_top=min(t.box[1] for t in plain.items)) is None


def test_a_written_name_names_the_student_and_a_conflict_names_nobody(bank: GlyphBank) -> None:
    e = drill_engines()
    page = make_drill_page(bank, np.random.default_rng(8),
                           DrillPageOptions(name="王小明", name_distort=0.05))
    header = read_header(page.image, e.detector, _label_reader(), e.recognizer,
                         items_top=min(t.box[1] for t in page.items))
    assert header.name is not None
    # 王晓明 sounds the same (wáng xiǎo míng): the characters decide.
    assert name_student(header.name, ROSTER) == 1
    assert roster_student(header, ROSTER) == 1
    # The name and a sure number naming another child: the teacher decides.
    both = HeaderRead(_number("3118", 0.97), header.name)
    assert roster_student(both, ROSTER) is None
    agree = HeaderRead(_number("3101", 0.97), header.name)
    assert roster_student(agree, ROSTER) == 1
    # A name nobody on the roster has names nobody.
    strangers = (RosterEntry(7, "3107", "赵四"), RosterEntry(8, "3108", "钱五"))
    assert name_student(header.name, strangers) is None
