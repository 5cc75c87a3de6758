"""Table-driven tests of choice, multi-choice and true/false graders."""

from __future__ import annotations

import pytest

from grading.choice import ChoiceGrader, MultiChoiceGrader, TrueFalseGrader, parse_true_false
from grading.grade import Verdict
from grading.response import Marks, Response

from .conftest import choice, multi, true_false

C, P, W, R, B = (
    Verdict.CORRECT,
    Verdict.PARTIALLY_CORRECT,
    Verdict.INCORRECT,
    Verdict.NEEDS_REVIEW,
    Verdict.BLANK,
)

CHOICE = [
    ("B", C, 1.0, None, ""),
    ("b", C, 1.0, None, ""),
    ("Ｂ", C, 1.0, None, ""),
    ("（ B ）", C, 1.0, None, ""),
    ("(B)", C, 1.0, None, ""),
    ("A", W, 0.0, "distractor_chosen", "A"),
    ("C", W, 0.0, "distractor_chosen", "C: 把周长当成面积"),
    ("BC", W, 0.0, "unknown", ""),
    ("E", R, None, None, ""),
    ("?", R, None, None, ""),
]


@pytest.mark.parametrize(("answer", "verdict", "score", "cause", "detail"), CHOICE)
def test_choice_table(
    answer: str, verdict: Verdict, score: float | None, cause: str | None, detail: str
) -> None:
    q = choice("B", misconceptions={"C": "把周长当成面积"})
    grade = ChoiceGrader(q).grade(Response.typed(answer), key_revision=1)
    assert (grade.verdict, grade.score, grade.cause) == (verdict, score, cause)
    if detail:
        assert grade.cause_detail == detail


def test_choice_negative_marking_and_blank() -> None:
    grader = ChoiceGrader(choice("B", negative_marking=0.25))
    assert grader.grade(Response.typed("D"), key_revision=1).score == -0.25
    blank = grader.grade(Response.typed(""), key_revision=1)
    assert (blank.verdict, blank.score) == (B, 0.0)


def test_choice_from_marks() -> None:
    grader = ChoiceGrader(choice("D"))
    marks = Marks(fill={"A": 0.02, "B": 0.05, "C": 0.03, "D": 0.91}, marked=("D",))
    grade = grader.grade(Response(marks=marks, confidence=0.98), key_revision=1)
    assert grade.verdict is C
    assert grade.normalized_answer == "D"


MULTI = [
    # scoring, answer, verdict, score (of 4)
    ("all_or_nothing", "AC", C, 4.0),
    ("all_or_nothing", "CA", C, 4.0),
    ("all_or_nothing", "A C", C, 4.0),
    ("all_or_nothing", "A", W, 0.0),
    ("all_or_nothing", "ACD", W, 0.0),
    ("half_for_subset", "AC", C, 4.0),
    ("half_for_subset", "A", P, 2.0),
    ("half_for_subset", "C", P, 2.0),
    ("half_for_subset", "AB", W, 0.0),
    ("half_for_subset", "ABCD", W, 0.0),
    ("per_option", "AC", C, 4.0),
    ("per_option", "A", P, 3.0),
    ("per_option", "ACD", P, 3.0),
    ("per_option", "BD", W, 0.0),
    ("per_option", "B", P, 1.0),
]


@pytest.mark.parametrize(("scoring", "answer", "verdict", "score"), MULTI)
def test_multi_choice_table(scoring: str, answer: str, verdict: Verdict, score: float) -> None:
    grade = MultiChoiceGrader(multi(["A", "C"], scoring)).grade(
        Response.typed(answer), key_revision=1
    )
    assert (grade.verdict, grade.score) == (verdict, score)


def test_multi_choice_causes() -> None:
    grader = MultiChoiceGrader(multi(["A", "C"], "half_for_subset"))
    missed = grader.grade(Response.typed("A"), key_revision=1)
    assert missed.cause == "missed_option"
    assert missed.cause_detail == "C"
    extra = grader.grade(Response.typed("ACD"), key_revision=1)
    assert extra.cause == "distractor_chosen"
    assert extra.cause_detail == "D"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("✓", True),
        ("√", True),
        ("对", True),
        ("T", True),
        ("t", True),
        ("正确", True),
        ("（√）", True),
        ("✗", False),
        ("×", False),
        ("错", False),
        ("F", False),
        ("x", False),
        ("错误", False),
        ("（ × ）", False),
        ("?", None),
        ("对错", None),
        ("", None),
    ],
)
def test_parse_true_false(text: str, value: bool | None) -> None:
    assert parse_true_false(text) is value


@pytest.mark.parametrize(
    ("key", "answer", "verdict"),
    [
        (True, "√", C),
        (True, "×", W),
        (False, "×", C),
        (False, "对", W),
        (True, "？", R),
    ],
)
def test_true_false_table(key: bool, answer: str, verdict: Verdict) -> None:
    grade = TrueFalseGrader(true_false(key)).grade(Response.typed(answer), key_revision=1)
    assert grade.verdict is verdict


def test_true_false_marks() -> None:
    grader = TrueFalseGrader(true_false(False))
    assert grader.grade(Response.typed(marked=("F",)), key_revision=1).verdict is C
    assert grader.grade(Response.typed(marked=("T", "F")), key_revision=1).verdict is R


def test_multi_choice_misconceptions_in_detail() -> None:
    from grading.questions import MultiChoiceKey, MultiChoiceQuestion

    from .conftest import BASE, options

    q = MultiChoiceQuestion(
        kind="multi_choice",
        stem="多选",
        options=options(),
        key=MultiChoiceKey(answers=["A"], misconceptions={"D": "混淆单位"}),
        **BASE,
    )
    grade = MultiChoiceGrader(q).grade(Response.typed("AD"), key_revision=1)
    assert grade.cause_detail == "D: 混淆单位"


MARKS = [
    # marked labels, written text, verdict
    (("B",), "", C),
    (("C",), "", W),
    (("B", "C"), "", W),
    (("Z",), "", R),
    (("B",), "C", C),  # marks win over a stray written letter
    ((), "B", C),  # no marks detected: the written letter is read
]


@pytest.mark.parametrize(("marked", "written", "verdict"), MARKS)
def test_choice_marks_table(marked: tuple[str, ...], written: str, verdict: Verdict) -> None:
    fill = {label: (0.9 if label in marked else 0.05) for label in "ABCD"}
    response = Response(text=written, marks=Marks(fill=fill, marked=marked), confidence=0.99)
    assert ChoiceGrader(choice("B")).grade(response, key_revision=1).verdict is verdict
