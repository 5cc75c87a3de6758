"""OMRChecker template import: bubble positions, ranges, scaling, ordering and refusals."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocr.foreign.omrchecker import (
    MAX_TEMPLATE_BYTES,
    OmrField,
    OmrSheet,
    OmrTemplateError,
    parse_template,
)

SHEET = Path(__file__).parent / "data" / "omr" / "school_sheet.json"
# pageDimensions are 1500 x 2000 px: on a 600 x 800 pt page every pixel is 0.4 pt.
W, H = 600.0, 800.0


def template() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SHEET.read_text())
    return data


def parse(data: Any, **kw: Any) -> OmrSheet:
    kw.setdefault("page_width_pt", W)
    kw.setdefault("page_height_pt", H)
    return parse_template(data, **kw)


def field(sheet: OmrSheet, label: str) -> OmrField:
    for f in sheet.fields:
        if f.label == label:
            return f
        for c in f.columns:
            if c.label == label:
                return c
    raise AssertionError(f"no field {label}")


def bubble(sheet: OmrSheet, label: str, value: str) -> tuple[float, float, float, float]:
    return dict(field(sheet, label).bubbles)[value]


def approx(box: tuple[float, ...]) -> Any:
    return pytest.approx(box, abs=1e-9)


# --- the realistic sheet ---------------------------------------------------------------


def test_sheet_from_file_bytes_has_fields_in_template_order() -> None:
    sheet = parse(SHEET.read_bytes())
    labels = [f.label for f in sheet.fields]
    # The roll-number group stands where its first column is; it replaces roll1..roll6.
    assert labels == ["Roll"] + [f"q{i}" for i in range(1, 21)] + [f"tf{i}" for i in range(1, 6)]
    assert (sheet.width_pt, sheet.height_pt) == (W, H)
    assert sheet.preprocessors == ("CropPage",)


def test_mcq_bubbles_run_right_and_questions_run_down() -> None:
    sheet = parse(template())
    # q1 A at origin (150, 700) px, 30 px square -> x 60..72, y 280..292 pt
    assert bubble(sheet, "q1", "A") == approx((60, 280, 72, 292))
    # D is three bubblesGap (60 px) to the right: x 330 px
    assert bubble(sheet, "q1", "D") == approx((132, 280, 144, 292))
    # q10 is nine labelsGap (55 px) down: y 1195 px; B at x 210 px
    assert bubble(sheet, "q10", "B") == approx((84, 478, 96, 490))
    # q13 is the third row of the right-hand column: origin (750, 700), C at +120 px, +110 px
    assert bubble(sheet, "q13", "C") == approx((348, 324, 360, 336))
    q1 = field(sheet, "q1")
    assert [v for v, _ in q1.bubbles] == ["A", "B", "C", "D"]
    assert q1.kind == "choice"


def test_roll_number_is_a_group_of_six_digit_columns_running_down() -> None:
    sheet = parse(template())
    roll = sheet.student_number()
    assert roll is not None
    assert (roll.label, roll.kind, roll.bubbles) == ("Roll", "digit", ())
    assert [c.label for c in roll.columns] == [f"roll{i}" for i in range(1, 7)]
    first, last = roll.columns[0], roll.columns[-1]
    assert [v for v, _ in first.bubbles] == list("0123456789")
    assert first.kind == "digit"
    # roll1 "0" at origin (900, 150) px; roll6 "9" at 900 + 5*50, 150 + 9*45 px
    assert dict(first.bubbles)["0"] == approx((360, 60, 372, 72))
    assert dict(last.bubbles)["9"] == approx((460, 222, 472, 234))
    assert roll.box == approx((360, 60, 472, 234))


def test_custom_true_false_block_keeps_values_own_size_and_empty_value() -> None:
    sheet = parse(template())
    tf3 = field(sheet, "tf3")
    assert [v for v, _ in tf3.bubbles] == ["T", "F"]
    assert (tf3.kind, tf3.empty_value) == ("choice", "-")
    # origin (150, 1400), two labelsGap down (1520), F one bubblesGap right (230), 40 x 30 px
    assert dict(tf3.bubbles)["F"] == approx((92, 608, 108, 620))
    assert field(sheet, "q1").empty_value == ""


def test_ranges_expand_in_order_with_two_or_three_dots() -> None:
    t = template()
    t["fieldBlocks"]["MCQ_left"]["fieldLabels"] = ["q1...3", "q4", "q5..10"]
    sheet = parse(t)
    assert [f.label for f in sheet.fields][1:11] == [f"q{i}" for i in range(1, 11)]
    assert bubble(sheet, "q4", "A") == approx((60, 280 + 3 * 55 * 0.4, 72, 292 + 3 * 55 * 0.4))


def test_x_and_y_scale_independently() -> None:
    sheet = parse(template(), page_width_pt=612, page_height_pt=792)  # Letter
    sx, sy = 612 / 1500, 792 / 2000
    assert bubble(sheet, "q13", "C") == approx((870 * sx, 810 * sy, 900 * sx, 840 * sy))
    assert sheet.width_pt == 612


def test_frame_places_page_dimensions_on_part_of_the_page() -> None:
    # CropOnMarkers: pageDimensions is the rectangle between the marker centres
    sheet = parse(template(), frame_pt=(50, 100, 550, 700))
    assert bubble(sheet, "q13", "C") == approx((50 + 290, 100 + 243, 50 + 300, 100 + 252))
    with pytest.raises(ValueError, match="frame_pt"):
        parse(template(), frame_pt=(50, 100, 650, 700))


def test_vertical_custom_block_and_label_gap_list() -> None:
    t = template()
    t["fieldBlocks"]["TrueFalse"].update(direction="vertical", labelsGap=[60, 100, 60, 60],
                                         bubblesGap=40)
    sheet = parse(t)
    # vertical: T and F stack down 40 px; fields step right by the listed gaps
    assert bubble(sheet, "tf1", "F") == approx((60, 576, 76, 588))
    assert bubble(sheet, "tf3", "T") == approx(((150 + 160) * 0.4, 560, (190 + 160) * 0.4, 572))


def test_int_from_1_and_mcq5_values() -> None:
    t = template()
    t["fieldBlocks"]["RollNumber"]["fieldType"] = "QTYPE_INT_FROM_1"
    t["fieldBlocks"]["MCQ_left"]["fieldType"] = "QTYPE_MCQ5"
    sheet = parse(t)
    assert [v for v, _ in field(sheet, "roll1").bubbles] == list("1234567890")
    assert sheet.student_number() is not None
    assert [v for v, _ in field(sheet, "q2").bubbles] == list("ABCDE")


def test_output_columns_order_first_and_unlisted_fields_follow() -> None:
    t = template()
    t["outputColumns"] = ["tf1..5", "roll3", "q20"]
    sheet = parse(t)
    labels = [f.label for f in sheet.fields]
    # roll3 brings its whole group; fields not listed keep template order after them
    assert labels[:7] == ["tf1", "tf2", "tf3", "tf4", "tf5", "Roll", "q20"]
    assert labels[7:] == [f"q{i}" for i in range(1, 20)]


def test_student_number_needs_a_digit_group_with_a_number_like_name() -> None:
    t = template()
    t["customLabels"] = {"Section": ["roll1..2"], "学号": ["roll3..6"]}
    sheet = parse(t)
    sn = sheet.student_number()
    assert sn is not None
    assert sn.label == "学号"
    t["customLabels"] = {"Paid": ["roll1..6"]}  # "id" inside a word is not an id
    assert parse(t).student_number() is None
    t["customLabels"] = {"Student ID": ["roll1..6"]}
    assert parse(t).student_number() is not None
    t["customLabels"] = {"roll_answers": ["q1..2"]}  # choice columns: not a number
    assert parse(t).student_number() is None


def test_text_input_with_bom_is_read() -> None:
    sheet = parse("\ufeff" + SHEET.read_text())
    assert len(sheet.fields) == 26


# --- refusals --------------------------------------------------------------------------


def refused(data: Any, where: str, *words: str) -> OmrTemplateError:
    with pytest.raises(OmrTemplateError) as info:
        parse(data)
    err = info.value
    assert err.where.startswith(where), str(err)
    for w in words:
        assert w in str(err), str(err)
    return err


def mutated(path: str, value: Any) -> dict[str, Any]:
    t = template()
    *parents, last = path.split("/")
    node: Any = t
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return t


DELETE = object()


def test_not_json_and_not_an_object() -> None:
    refused(b"{\"pageDimensions\": [1, 2],", "template", "not valid JSON", "line 1")
    refused("[1, 2]", "template", "JSON object")
    refused(b"\xff\xfe{}", "template", "UTF-8")
    refused("[" * 100_000 + "]" * 100_000, "template", "not valid JSON")
    refused('{"pageDimensions": [NaN, 2]}', "template", "NaN")


def test_over_one_megabyte_refused_before_parsing() -> None:
    big = b'{"x": "' + b"a" * MAX_TEMPLATE_BYTES + b'"}'
    refused(big, "template", "limit")
    refused(big.decode(), "template", "limit")


def test_missing_and_unknown_keys() -> None:
    refused(mutated("pageDimensions", DELETE), "template", "pageDimensions")
    refused(mutated("fieldBlocks", DELETE), "template", "fieldBlocks")
    refused(mutated("fieldBlocks/MCQ_left/origin", DELETE), "fieldBlocks['MCQ_left']", "origin")
    refused(mutated("fieldblocks", {}), "template", "fieldblocks")
    refused(mutated("fieldBlocks/TrueFalse/bubbleValues", DELETE),
            "fieldBlocks['TrueFalse']", "fieldType", "bubbleValues")


def test_duplicate_json_key_is_refused() -> None:
    text = SHEET.read_text().replace('"MCQ_right"', '"MCQ_left"')
    refused(text, "template", "MCQ_left", "twice")


def test_unknown_field_type_lists_known_ones() -> None:
    err = refused(mutated("fieldBlocks/MCQ_left/fieldType", "QTYPE_MCQ6"),
                  "fieldBlocks['MCQ_left'].fieldType", "QTYPE_MCQ6", "QTYPE_MCQ4", "QTYPE_INT")
    assert err.problem.startswith("unknown fieldType")


def test_bad_ranges_and_labels() -> None:
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", ["q5..2"]),
            "fieldBlocks['MCQ_left'].fieldLabels[0]", "q5..2", "start 5", "end 2")
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", ["q5..5"]),
            "fieldBlocks['MCQ_left'].fieldLabels[0]", "q5..5")
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", ["q.1"]),
            "fieldBlocks['MCQ_left'].fieldLabels[0]", "range like")
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", []), "fieldBlocks['MCQ_left'].fieldLabels")
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", [7]),
            "fieldBlocks['MCQ_left'].fieldLabels[0]", "string")


def test_a_huge_range_fails_fast_without_expanding() -> None:
    start = time.perf_counter()
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", ["q1..999999999999"]),
            "fieldBlocks['MCQ_left'].fieldLabels[0]", "2000")
    assert time.perf_counter() - start < 1.0


def test_duplicate_labels_within_and_between_blocks() -> None:
    refused(mutated("fieldBlocks/MCQ_left/fieldLabels", ["q1..10", "q3"]),
            "fieldBlocks['MCQ_left'].fieldLabels", "'q3'", "twice")
    refused(mutated("fieldBlocks/MCQ_right/fieldLabels", ["q10..19"]),
            "fieldBlocks['MCQ_right'].fieldLabels", "'q10'", "MCQ_left")


def test_bubbles_outside_the_page() -> None:
    refused(mutated("fieldBlocks/MCQ_right/origin", [1300, 700]), "fieldBlocks['MCQ_right']",
            "q11=D", "outside the page", "1500 x 2000")
    refused(mutated("fieldBlocks/MCQ_left/labelsGap", 150), "fieldBlocks['MCQ_left']",
            "q10=A", "outside the page")
    refused(mutated("fieldBlocks/MCQ_left/origin", [-5, 700]), "fieldBlocks['MCQ_left'].origin[0]")


def test_overlapping_bubbles_between_blocks_and_within_a_field() -> None:
    refused(mutated("fieldBlocks/MCQ_right/origin", [340, 710]), "fieldBlocks['MCQ_right']",
            "overlaps", "MCQ_left")
    refused(mutated("fieldBlocks/MCQ_left/bubblesGap", 10), "fieldBlocks['MCQ_left']",
            "q1=B overlaps bubble q1=A")
    # boxes drawn a pixel larger than their spacing only touch: accepted
    parse(mutated("fieldBlocks/MCQ_left/bubblesGap", 29))


def test_more_than_2000_bubbles() -> None:
    t = template()
    t["fieldBlocks"]["MCQ_left"].update(fieldLabels=["q1..500"], labelsGap=3, bubblesGap=2,
                                        bubbleDimensions=[2, 2])
    refused(t, "fieldBlocks['MCQ_left']", "2000")


def test_dense_sheet_near_the_bubble_limit_parses_quickly() -> None:
    # 1,961 bubbles packed 7 px apart next to one large bubble: the overlap check must not
    # compare every pair that shares the large bubble's bucket
    t = {"pageDimensions": [1500, 2000], "bubbleDimensions": [6, 6], "fieldBlocks": {
        "big": {"bubbleValues": ["X"], "bubbleDimensions": [175, 175], "origin": [1300, 1800],
                "bubblesGap": 0, "labelsGap": 0, "fieldLabels": ["big"]},
        "dense": {"bubbleValues": [str(i) for i in range(40)], "direction": "vertical",
                  "origin": [0, 0], "bubblesGap": 7, "labelsGap": 7.5, "fieldLabels": ["q1..49"]}}}
    start = time.perf_counter()
    sheet = parse(t)
    assert time.perf_counter() - start < 0.5
    assert sum(len(f.bubbles) for f in sheet.fields) == 1961


def test_absurd_sizes() -> None:
    refused(mutated("pageDimensions", [0, 2000]), "pageDimensions[0]", "out of range")
    refused(mutated("pageDimensions", [1500, 1e9]), "pageDimensions[1]", "out of range")
    refused(mutated("pageDimensions", [1500]), "pageDimensions", "two numbers")
    refused(mutated("pageDimensions", [True, 2000]), "pageDimensions[0]", "number")
    refused(mutated("pageDimensions", ["1500", 2000]), "pageDimensions[0]", "number")
    refused(mutated("bubbleDimensions", [0, 30]), "bubbleDimensions[0]")
    # a 1 px bubble on a 1500 px page is 0.4 pt: the template is for another page
    refused(mutated("bubbleDimensions", [1, 1]), "bubbleDimensions", "pt", "pageDimensions")
    refused(mutated("fieldBlocks/TrueFalse/bubbleDimensions", [400, 30]),
            "fieldBlocks['TrueFalse'].bubbleDimensions", "pt")
    refused(mutated("fieldBlocks/MCQ_left/bubblesGap", -3), "fieldBlocks['MCQ_left'].bubblesGap")


def test_bad_custom_values_direction_and_gap_list() -> None:
    refused(mutated("fieldBlocks/TrueFalse/bubbleValues", ["T", "T"]),
            "fieldBlocks['TrueFalse'].bubbleValues", "repeat")
    refused(mutated("fieldBlocks/TrueFalse/bubbleValues", []),
            "fieldBlocks['TrueFalse'].bubbleValues")
    refused(mutated("fieldBlocks/TrueFalse/direction", "diagonal"),
            "fieldBlocks['TrueFalse'].direction", "diagonal")
    refused(mutated("fieldBlocks/TrueFalse/labelsGap", [60, 60]),
            "fieldBlocks['TrueFalse'].labelsGap", "4 entries")
    refused(mutated("fieldBlocks/MCQ_left/bubbleValues", ["A", "B"]),
            "fieldBlocks['MCQ_left']", "not both")


def test_bad_custom_labels_and_output_columns() -> None:
    refused(mutated("customLabels/Roll", ["roll1..7"]), "customLabels['Roll']", "roll7")
    refused(mutated("customLabels/Other", ["roll6"]), "customLabels['Other']", "roll6", "'Roll'")
    refused(mutated("customLabels", {"q1": ["tf1"]}), "customLabels['q1']", "field outside")
    refused(mutated("outputColumns", ["q1", "nope"]), "outputColumns", "'nope'")
    refused(mutated("outputColumns", ["q1", "q1"]), "outputColumns", "twice")


def test_preprocessors_must_be_named_objects() -> None:
    refused(mutated("preProcessors", [{"options": {}}]), "preProcessors[0]", "name")
    refused(mutated("preProcessors", "CropPage"), "preProcessors", "list")
    t = mutated("preProcessors", [{"name": "CropOnMarkers", "options": {"relativePath": "m.jpg"}},
                                  {"name": "GaussianBlur", "options": {}}])
    assert parse(t).preprocessors == ("CropOnMarkers", "GaussianBlur")


def test_other_template_versions_are_named() -> None:
    legacy = {"dimensions": [300, 400], "bubbleDimensions": [20, 20],
              "qBlocks": {"b": {"qType": "QTYPE_MCQ5", "orig": [0, 0]}}}
    refused(legacy, "template", "pre-2022")
    v2 = {"templateDimensions": [1500, 2000], "bubbleDimensions": [30, 30], "fieldBlocks": {}}
    refused(v2, "template", "v2")
    t = template()
    t["fieldBlocks"]["MCQ_left"]["bubbleFieldType"] = t["fieldBlocks"]["MCQ_left"].pop("fieldType")
    refused(t, "template", "v2")


# --- never a crash ---------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=8)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _walk(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        if (isinstance(node, dict) and p in node) or (
                isinstance(node, list) and isinstance(p, int) and p < len(node)):
            node = node[p]
        else:
            return None
    return node


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_mutation_parses_or_is_refused_cleanly(data: st.DataObject) -> None:
    t = template()
    paths = _paths(t)[1:]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = _walk(t, path[:-1])  # an earlier mutation may have removed the path
        key = path[-1]
        in_dict = isinstance(node, dict) and isinstance(key, str)
        in_list = isinstance(node, list) and isinstance(key, int) and key < len(node)
        if in_dict or in_list:
            node[key] = data.draw(JSON_VALUES)
    problems: list[OmrTemplateError] = []
    for form in (t, json.dumps(t), json.dumps(t).encode()):
        try:
            sheet = parse(copy.deepcopy(form) if isinstance(form, dict) else form)
        except OmrTemplateError as err:
            problems.append(err)
        else:
            assert all(0 <= b[0] < b[2] <= W and 0 <= b[1] < b[3] <= H
                       for f in sheet.fields
                       for c in (f.columns or (f,)) for _, b in c.bubbles)
    # the three forms of one template get the same verdict, each with a place and a reason
    assert len(problems) in (0, 3)
    assert all(e.where and e.problem for e in problems)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_cleanly(blob: bytes) -> None:
    with pytest.raises(OmrTemplateError):
        parse(blob)
