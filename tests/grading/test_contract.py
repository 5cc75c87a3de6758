"""One contract over every registered grader: range, determinism, blanks, serialisation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.base import Grader
from grading.grade import Grade, Verdict
from grading.math_expr import MathChecker, MathExprGrader
from grading.questions import QUESTION_KINDS
from grading.registry import GRADERS, UnknownKindError, get_grader, grader_for
from grading.response import Alternative, Marks, Response, ResponseStatus

from .conftest import (
    arithmetic,
    choice,
    math_expr,
    multi,
    numeric,
    short_answer,
    text,
    true_false,
)

SAMPLES: dict[str, tuple[Any, list[str]]] = {
    "choice": (
        choice("B", negative_marking=0.5, misconceptions={"A": "概念混淆"}),
        ["B", "A", "AB", "Z", "（C）"],
    ),
    "multi_choice": (multi(["A", "C"], "per_option"), ["AC", "A", "ABCD", "X"]),
    "true_false": (true_false(True), ["√", "×", "对", "maybe"]),
    "numeric": (
        numeric("7/8", simplest_form=True, unsimplified_credit=0.5),
        ["0.875", "14/16", "1/8", "abc", "1,000"],
    ),
    "text": (text(["长江"], ["黄河"], allow_one_typo=True), ["长江", "黄河", "x"]),
    "math_expr": (math_expr("x^2-1"), ["(x+1)(x-1)", "x^2", "x^", "9^9^9"]),
    "arithmetic": (arithmetic("17 ÷ 5 = （ ）……（ ）"), ["3……2", "3……1", "3", "z"]),
    "short_answer": (short_answer(), ["水蒸发，水蒸气凝结，下雨", "蒸发", "不会"]),
}


@pytest.fixture(scope="module")
def graders(checker: MathChecker) -> dict[str, Grader[Any]]:
    built: dict[str, Grader[Any]] = {}
    for kind, (question, _) in SAMPLES.items():
        built[kind] = (
            MathExprGrader(question, checker) if kind == "math_expr" else grader_for(question)
        )
    return built


def _responses(kind: str) -> list[Response]:
    answers = SAMPLES[kind][1]
    out = [Response.typed(a) for a in answers]
    out += [
        Response(
            text=a, confidence=0.7, alternatives=(Alternative(text=answers[0], probability=0.2),)
        )
        for a in answers
    ]
    out += [Response(status=s, confidence=0.9) for s in ResponseStatus]
    out += [Response(text="", confidence=0.9), Response.typed("")]
    if kind == "text":
        out += [Response.typed(blanks=("黄河", "长江")), Response.typed(blanks=("", "黄河"))]
    if kind in ("choice", "multi_choice"):
        out += [Response(marks=Marks(fill={"A": 0.9, "C": 0.5}, marked=("A", "C")))]
    return out


def _check(grade: Grade, grader: Grader[Any], response: Response, revision: int) -> None:
    assert grade.kind == grader.kind
    assert grade.key_revision == revision
    assert grade.max_score == grader.max_score
    if grade.verdict is Verdict.NEEDS_REVIEW:
        assert grade.score is None
        assert not grade.auto
    else:
        assert grade.score is not None
        floor = 0.0
        if grader.kind == "choice":
            floor = -grader.question.key.negative_marking * grader.max_score
        assert floor <= grade.score <= grade.max_score
        assert (grade.score == grade.max_score) == (grade.verdict is Verdict.CORRECT)
    if response.status is ResponseStatus.BLANK:
        assert grade.verdict is Verdict.BLANK
        assert grade.score == 0.0
    elif response.status is not ResponseStatus.OK:
        assert grade.verdict is Verdict.NEEDS_REVIEW
    if grade.verdict in (Verdict.INCORRECT, Verdict.PARTIALLY_CORRECT) and grade.cause:
        assert grade.cause_zh
        assert grade.cause_en
    assert grade.reason_zh
    assert grade.reason_en
    assert Grade.model_validate_json(grade.model_dump_json()) == grade


def test_every_kind_is_registered() -> None:
    assert set(GRADERS) == set(QUESTION_KINDS) == set(SAMPLES)
    for kind, cls in GRADERS.items():
        assert cls.kind == kind
        assert cls.__doc__


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(UnknownKindError) as info:
        get_grader("essay")
    assert "essay" in str(info.value)
    assert "numeric" in str(info.value)
    assert info.value.known == tuple(sorted(QUESTION_KINDS))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_contract(kind: str, graders: dict[str, Grader[Any]]) -> None:
    grader = graders[kind]
    for i, response in enumerate(_responses(kind)):
        first = grader.grade(response, key_revision=i)
        again = grader.grade(response, key_revision=i)
        assert first == again, "grading must be deterministic"
        _check(first, grader, response, i)


@pytest.mark.parametrize("kind", sorted(k for k in SAMPLES if k != "math_expr"))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answer=st.text(max_size=40), confidence=st.floats(0, 1))
def test_contract_on_any_text(
    kind: str, answer: str, confidence: float, graders: dict[str, Grader[Any]]
) -> None:
    grader = graders[kind]
    response = Response(text=answer, confidence=confidence)
    _check(grader.grade(response, key_revision=1), grader, response, 1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answer=st.text(alphabet="x12+-*/^()= ", max_size=20))
def test_contract_on_any_maths_text(answer: str, graders: dict[str, Grader[Any]]) -> None:
    grader = graders["math_expr"]
    response = Response.typed(answer)
    _check(grader.grade(response, key_revision=1), grader, response, 1)
