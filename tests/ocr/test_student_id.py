"""Roster matching from handwritten number and name."""

from __future__ import annotations

from ocr.students.match import RosterEntry, match_student

ROSTER = [RosterEntry(1, "20250301", "王小明"), RosterEntry(2, "20250302", "李华"),
          RosterEntry(3, "20250303", "张伟"), RosterEntry(4, "20250311", "王晓敏"),
          RosterEntry(5, "20250320", "欧阳晨")]


def test_exact_number_matches() -> None:
    m = match_student(ROSTER, number="20250302", number_conf=0.99)
    assert m.status == "matched"
    assert m.student_id == 2


def test_one_misread_digit_with_a_unique_neighbour() -> None:
    m = match_student(ROSTER, number="20250328", number_conf=0.98)  # 0320 is the only close one
    assert m.candidates[0].student_id == 5
    assert m.status == "ambiguous"
    both = match_student(ROSTER, number="20250328", number_conf=0.98, name="欧阳晨",
                         name_conf=0.95)
    assert both.status == "matched"
    assert both.student_id == 5


def test_misread_digit_between_two_students_is_not_guessed() -> None:
    m = match_student(ROSTER, number="20250301", number_conf=0.6)
    assert m.status == "ambiguous"
    m = match_student(ROSTER, number="20250331", number_conf=0.99)  # close to 0301 and 0311
    assert m.status == "unmatched"


def test_homophone_name_found_by_pinyin() -> None:
    m = match_student(ROSTER, name="欧阳辰", name_conf=0.95)
    assert m.candidates[0].student_id == 5
    close = match_student(ROSTER, name="王小敏", name_conf=0.95)  # between 王小明 and 王晓敏
    assert close.status == "ambiguous"
    assert {c.student_id for c in close.candidates[:2]} == {1, 4}


def test_nothing_readable_is_unmatched() -> None:
    assert match_student(ROSTER).status == "unmatched"
    assert match_student(ROSTER, number="99999999", number_conf=0.99).student_id is None
