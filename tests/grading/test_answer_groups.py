"""Tests of answer groups and common wrong answers."""

from __future__ import annotations

from grading.answer_groups import AnswerRow, common_wrong_answers, group_answers, rows_from_grades
from grading.arithmetic import ArithmeticGrader
from grading.grade import Verdict
from grading.response import Response

from .conftest import arithmetic

C, W, R, B = Verdict.CORRECT, Verdict.INCORRECT, Verdict.NEEDS_REVIEW, Verdict.BLANK


def _class_rows() -> list[AnswerRow]:
    grader = ArithmeticGrader(arithmetic("37 + 48 ="))
    answers = ["85", "75", "８５", "75", "85 ", "", "95", "75", "58", "85"]
    graded = [
        (f"s{i:02d}", grader.grade(Response.typed(a), key_revision=1))
        for i, a in enumerate(answers)
    ]
    return rows_from_grades(graded)


def test_identical_normalised_answers_group_together() -> None:
    groups = group_answers(_class_rows())
    assert [(g.normalized_answer, g.count) for g in groups] == [
        ("85", 4),
        ("75", 3),
        ("", 1),
        ("58", 1),
        ("95", 1),
    ]
    assert groups[0].verdict is C
    assert groups[1].verdict is W
    assert groups[0].response_ids == ("s00", "s02", "s04", "s09")


def test_most_common_wrong_answers() -> None:
    assert common_wrong_answers(_class_rows(), limit=2) == [("75", 3), ("58", 1)]


def test_mixed_group_has_no_single_verdict() -> None:
    rows = [AnswerRow("a", "7", C), AnswerRow("b", "7", R), AnswerRow("c", "7", R)]
    (group,) = group_answers(rows)
    assert group.verdict is None
    assert group.needs_review == 2
    assert group.verdicts == ((R, 2), (C, 1))


def test_grouping_is_order_independent() -> None:
    rows = _class_rows()
    assert group_answers(rows) == group_answers(list(reversed(rows)))


def test_blank_is_its_own_group_and_not_a_wrong_answer() -> None:
    rows = [AnswerRow("a", "", B), AnswerRow("b", "", B)]
    assert group_answers(rows)[0].verdict is B
    assert common_wrong_answers(rows) == []


def test_teacher_decides_a_whole_group() -> None:
    import pytest

    from grading.answer_groups import apply_group_decision
    from grading.numeric import NumericGrader

    from .conftest import numeric

    grader = NumericGrader(numeric("12"))
    grades = {
        f"s{i}": grader.grade(Response(text="l2", confidence=0.9), key_revision=2) for i in range(3)
    }
    (group,) = group_answers(rows_from_grades(grades.items()))
    assert group.verdict is R
    decided = apply_group_decision(group, grades, verdict=C, score=2.0)
    assert set(decided) == set(grades)
    assert all(
        g.verdict is C and g.score == 2.0 and not g.auto and g.key_revision == 2
        for g in decided.values()
    )
    with pytest.raises(ValueError, match="cannot be needs_review"):
        apply_group_decision(group, grades, verdict=R, score=0.0)
    with pytest.raises(ValueError, match=r"score 5\.0 is outside \[0, 2\.0\]"):
        apply_group_decision(group, grades, verdict=C, score=5.0)
