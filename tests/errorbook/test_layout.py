"""Layout rules: numbering, pagination, no overlaps, stored-layout round trip."""

from __future__ import annotations

import itertools

import cv2
import pytest
from pydantic import TypeAdapter

from errorbook.contract import WorksheetLayout
from errorbook.printing.layout import LayoutError, layout_worksheet
from errorbook.printing.markers import MARKER_BITS
from grading.questions import Question
from tests.support.samples import sample_questions

_Q = TypeAdapter(Question)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_whole_bank_lays_out_without_overlaps() -> None:
    layout = layout_worksheet("全部题目", sample_questions())
    numbers = [r.number for p in layout.pages for r in p.regions]
    assert sorted(set(numbers)) == list(range(1, len(sample_questions()) + 1))
    for page in layout.pages:
        boxes = [b.box for r in page.regions for b in r.bubbles] + \
                [r.box for r in page.regions if not r.bubbles]
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b), f"page {page.number}: {a} overlaps {b}"
        for box in boxes:  # inside the printable area, clear of markers and header
            assert box[1] >= 36 * 2.83
            assert box[3] <= page.height - 20 * 2.83
            assert box[0] >= 15 * 2.83
            assert box[2] <= page.width - 15 * 2.83 + 0.01
        tops = [b.top for b in page.blocks]
        assert tops == sorted(tops)


def test_remainder_items_get_quotient_and_remainder_boxes() -> None:
    q = _Q.validate_python({"id": "r1", "kind": "arithmetic", "subject": "math", "grade": 3,
                            "stem": "17 ÷ 5 = （ ）……（ ）", "knowledge_points": ["math.div"]})
    regions = layout_worksheet("余数", [q]).pages[0].regions
    assert [r.blank for r in regions] == [0, 1]
    assert all(r.answer_format == "digits" for r in regions)


def test_layout_survives_json_round_trip() -> None:
    layout = layout_worksheet("往返", sample_questions()[:25], page_size="Letter")
    again = WorksheetLayout.from_dict(layout.to_dict())
    assert again == layout
    assert again.pages[0].blocks == layout.pages[0].blocks


def test_layout_errors() -> None:
    with pytest.raises(LayoutError, match="at least one"):
        layout_worksheet("空", [])
    with pytest.raises(LayoutError, match="page size"):
        layout_worksheet("x", sample_questions()[:1], page_size="A3")
    huge = _Q.validate_python({"id": "big", "kind": "true_false", "subject": "math", "grade": 3,
                               "stem": "很长的题目。" * 330, "knowledge_points": ["math"],
                               "key": {"answer": True}})
    with pytest.raises(LayoutError, match="'big' is too long"):
        layout_worksheet("x", [huge])


def test_marker_bits_match_opencv() -> None:
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    for marker_id, rows in MARKER_BITS.items():
        img = cv2.aruco.generateImageMarker(dictionary, marker_id, 6)
        bits = tuple("".join("1" if v else "0" for v in row[1:5]) for row in img[1:5])
        assert bits == rows
