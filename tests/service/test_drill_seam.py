"""The drill grading seam (``service.drill.pages.grade_readings``) counts the printed
digits of an item held for a neighbour of its expression, and releases it when the print
shows as many digits as were read."""

from __future__ import annotations

import cv2
import numpy as np

from grading.grade import Verdict
from ocr.drill.page import DrillItemReading
from service.drill.pages import grade_readings


def _page() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    page = np.full((120, 600), 235, np.uint8)
    cv2.putText(page, "10 + 13 =", (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    eq = int(np.nonzero((page < 128).any(axis=0))[0][-1]) + 1
    return page, (20, 59 - 14, eq, 59 + 14)


def _item(box: tuple[int, int, int, int], answer: str) -> DrillItemReading:
    return DrillItemReading("10+13", "10+13", 0.99, box, (box[2] + 5, 20, 590, 100), answer,
                            "ok", 0.999, ((answer, 0.999),))


def test_a_wrong_answer_right_for_a_neighbour_is_released_by_the_printed_digits() -> None:
    page, box = _page()
    wrong = _item(box, "13")  # right for 0+13
    assert grade_readings([wrong])[0].needs_review
    graded = grade_readings([wrong], image=page)[0]
    assert not graded.needs_review
    assert graded.grade is not None
    assert graded.grade.verdict == Verdict.INCORRECT
    # The same answer to "0+13" read from a page printing "10+13": a digit was dropped.
    dropped = DrillItemReading("0+13", "0+13", 0.99, (45, box[1], box[2], box[3]),
                               (box[2] + 5, 20, 590, 100), "23", "ok", 0.999, (("23", 0.999),))
    assert grade_readings([dropped], image=page)[0].needs_review
