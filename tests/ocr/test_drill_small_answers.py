"""Answers written under the stroke size are read again, and trusted only as the key
(``ocr.drill.small_answers``, ``service.drill.pages``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from grading.grade import Verdict
from ocr.drill.answers import read_results
from ocr.drill.items import ItemLayout
from ocr.drill.page import DrillItemReading
from ocr.drill.small_answers import SMALL_DETAIL, read_small_answers
from ocr.reading.ctc import Alphabet
from ocr.reading.recognize import Reading
from service.drill.pages import grade_readings

CH = 30.0  # printed character height


@dataclass
class Scripted:
    """Reads every crop as ``text`` and counts the crops."""

    text: str = "59"
    verifies_keys: bool = False
    crops: list[np.ndarray] = field(default_factory=list)

    def recognize(self, crops: Sequence[np.ndarray], *, alphabet: Alphabet | None = None,
                  length: tuple[int, int] | None = None) -> list[Reading]:
        self.crops.extend(crops)
        return [Reading("ok", self.text, 0.99, alternatives=((self.text, 0.99),))
                for _ in crops]


def _page(small: bool) -> tuple[np.ndarray, list[ItemLayout]]:
    page = np.full((120, 500), 235, np.uint8)
    if small:  # "59" 6 px tall: under 0.3 character heights
        cv2.putText(page, "59", (230, 64), cv2.FONT_HERSHEY_SIMPLEX, 0.25, 20, 1, cv2.LINE_AA)
    else:  # copier specks
        page[50, 240] = page[70, 300] = page[60, 380] = 30
    layout = ItemLayout("41+38-20", "41+38-20", 0.99, (10, 42, 200, 78), (206, 12, 480, 108), CH)
    return page, [layout]


def test_a_small_answer_read_blank_is_read_again() -> None:
    page, layouts = _page(small=True)
    fake = Scripted()
    first = read_results(page, layouts, fake)
    assert first[0].status == "blank"  # the stroke size drops it
    again = read_small_answers(page, layouts, first, fake)
    assert again[0].status == "ok"
    assert again[0].text == "59"
    assert again[0].detail.startswith(SMALL_DETAIL)


def test_specks_stay_blank() -> None:
    page, layouts = _page(small=False)
    fake = Scripted()
    first = read_results(page, layouts, fake)
    assert read_small_answers(page, layouts, first, fake) == first
    assert fake.crops == []


def _item(result: str, detail: str) -> DrillItemReading:
    return DrillItemReading("36+10-17", "36+10-17", 0.99, (10, 42, 200, 78), (206, 12, 480, 108),
                            result, "ok", 0.999, ((result, 0.999),), detail)


def test_a_small_answer_is_trusted_only_as_the_key() -> None:
    right, lost = grade_readings([_item("29", f"{SMALL_DETAIL}: x"),
                                  _item("9", f"{SMALL_DETAIL}: x")])
    assert not right.needs_review
    assert right.grade is not None
    assert right.grade.verdict == Verdict.CORRECT
    assert lost.needs_review  # "29" may have lost its 2: a wrong verdict waits
    assert "very small" in lost.reason
    plain = grade_readings([_item("9", "line='9'")])[0]
    assert not plain.needs_review
