"""Shared builders for grading tests: questions of every kind with little boilerplate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from grading.math_expr import MathChecker
from grading.questions import (
    ArithmeticQuestion,
    ChoiceKey,
    ChoiceOption,
    ChoiceQuestion,
    MathExprKey,
    MathExprQuestion,
    MultiChoiceKey,
    MultiChoiceQuestion,
    NumericKey,
    NumericQuestion,
    RubricPoint,
    ShortAnswerKey,
    ShortAnswerQuestion,
    TextBlank,
    TextKey,
    TextQuestion,
    TrueFalseKey,
    TrueFalseQuestion,
)

BASE: dict[str, Any] = {
    "id": "q-1",
    "subject": "math",
    "grade": 4,
    "knowledge_points": ["math.test"],
}


def options(labels: str = "ABCD") -> list[ChoiceOption]:
    return [ChoiceOption(label=label, text=f"选项{label}") for label in labels]


def arithmetic(stem: str, **key: Any) -> ArithmeticQuestion:
    return ArithmeticQuestion(kind="arithmetic", stem=stem, key=key or {}, **BASE)


def numeric(value: str, stem: str = "填空", score: float = 2.0, **key: Any) -> NumericQuestion:
    return NumericQuestion(
        kind="numeric", stem=stem, score=score, key=NumericKey(value=value, **key), **BASE
    )


def choice(answer: str = "B", **key: Any) -> ChoiceQuestion:
    return ChoiceQuestion(
        kind="choice", stem="选择", options=options(), key=ChoiceKey(answer=answer, **key), **BASE
    )


def multi(
    answers: list[str], scoring: str = "all_or_nothing", score: float = 4.0
) -> MultiChoiceQuestion:
    return MultiChoiceQuestion(
        kind="multi_choice",
        stem="多选",
        score=score,
        options=options(),
        key=MultiChoiceKey(answers=answers, scoring=scoring),  # type: ignore[arg-type]
        **BASE,
    )


def true_false(answer: bool) -> TrueFalseQuestion:
    return TrueFalseQuestion(
        kind="true_false", stem="判断", key=TrueFalseKey(answer=answer), **BASE
    )


def text(*blanks: list[str] | TextBlank, score: float = 2.0, **key: Any) -> TextQuestion:
    built = [b if isinstance(b, TextBlank) else TextBlank(accept=b) for b in blanks]
    return TextQuestion(
        kind="text", stem="填空", score=score, key=TextKey(blanks=built, **key), **BASE
    )


def math_expr(answer: str, score: float = 3.0) -> MathExprQuestion:
    return MathExprQuestion(
        kind="math_expr", stem="化简", score=score, key=MathExprKey(answer=answer), **BASE
    )


def short_answer() -> ShortAnswerQuestion:
    points = [
        RubricPoint(id="evap", description="蒸发", keywords=["蒸发", "汽化"], points=2),
        RubricPoint(
            id="cond", description="凝结", keywords=["凝结", "液化"], required=["水蒸气"], points=2
        ),
        RubricPoint(id="rain", description="降水", keywords=["降雨", "下雨", "降水"], points=1),
    ]
    return ShortAnswerQuestion(
        kind="short_answer",
        subject="science",
        id="q-sa",
        grade=5,
        stem="简述水循环",
        knowledge_points=["science.water_cycle"],
        score=5,
        key=ShortAnswerKey(points=points),
    )


@pytest.fixture(scope="session")
def checker() -> Iterator[MathChecker]:
    """One maths worker for the whole session (starting one costs about half a second)."""
    c = MathChecker(timeout_s=5.0)
    yield c
    c.close()
