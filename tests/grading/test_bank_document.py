"""The bank document validator and the sample bank that ships with markbook."""

from __future__ import annotations

from typing import Any

import pytest

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from grading.bank import BankValidationError, parse_bank
from grading.questions import QUESTION_KINDS, ArithmeticQuestion


def test_sample_bank_is_valid_and_big_enough(sample_bank: dict[str, Any]) -> None:
    bank = parse_bank(sample_bank)
    maths = [q for q in bank.questions if q.subject == "math" and q.grade in (3, 4)]
    chinese = [q for q in bank.questions if q.subject == "chinese"]
    assert len(maths) >= 60
    assert len(chinese) >= 30
    declared = {kp.code for kp in bank.knowledge_points}
    for q in bank.questions:
        assert q.explanation, q.id
        for code in q.knowledge_points:
            parts = code.split(".")
            assert {".".join(parts[:i]) for i in range(1, len(parts) + 1)} <= declared
    used = {q.kind for q in bank.questions}
    assert used == set(QUESTION_KINDS)


def test_every_arithmetic_key_computes(sample_bank: dict[str, Any]) -> None:
    for q in parse_bank(sample_bank).questions:
        if isinstance(q, ArithmeticQuestion):
            assert parse_arithmetic_stem(q.stem).answer_text()


def test_all_problems_reported_at_once() -> None:
    doc = {"format": "markbook-questions/1", "questions": [
        {"id": "a", "kind": "numeric"},
        {"id": "b", "kind": "nope"},
        "not an object",
        {"id": "a", "kind": "true_false", "subject": "math", "grade": 3, "stem": "x",
         "knowledge_points": ["math"], "key": {"answer": True}},
        {"id": "a", "kind": "true_false", "subject": "math", "grade": 3, "stem": "x",
         "knowledge_points": ["math"], "key": {"answer": True}},
    ]}
    with pytest.raises(BankValidationError) as info:
        parse_bank(doc)
    wheres = [p.where for p in info.value.problems]
    assert wheres == ["questions[0] (id 'a')", "questions[1] (id 'b')", "questions[2]",
                      "questions[4] (id 'a')"]
    assert "and 3 more problems" in str(info.value)


@pytest.mark.parametrize("doc", [[], {"questions": []}, {"questions": "x"},
                                 {"format": "other/9", "questions": [{}]}])
def test_document_shape_errors(doc: Any) -> None:
    with pytest.raises(BankValidationError):
        parse_bank(doc)


@pytest.mark.parametrize(("stem", "answer"), [
    ("37 + 48 =", "85"), ("72 - 29 =", "43"), ("6 × 7 =", "42"), ("56 ÷ 8 =", "7"),
    ("17 ÷ 5 = （ ）……（ ）", "3……2"), ("1/5 + 2/5 =", "3/5"), ("6 ÷ 1/2 =", "12"),
    ("2.5 × 4 =", "10"), ("3.6 ÷ 4 =", "0.9"), ("(3 + 4) × 2 =", "14"), ("3 + 4 × 2 =", "11"),
    ("１２＋３＝", "15"), ("25 x 4 =", "100"), ("-3 + 5 =", "2"),
])
def test_arithmetic_stems(stem: str, answer: str) -> None:
    assert parse_arithmetic_stem(stem).answer_text() == answer


@pytest.mark.parametrize("stem", ["", "小明有几个苹果？", "5 =", "1 ÷ 0 =", "1/0 =", "(1 + 2 =",
                                  "1 + =", "9" * 13 + " + 1 =", "1 + 2" * 40, "3.5 ÷ 2 = （ ）……（ ）",
                                  "__import__('os') =", "2 ** 3 ** 99 =", "٣ + ٤ ="])
def test_arithmetic_stems_rejected(stem: str) -> None:
    with pytest.raises(ArithmeticStemError):
        parse_arithmetic_stem(stem)
