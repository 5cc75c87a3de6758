"""Independent verification of a drafted variant before anyone sees it.

Three computations must agree: sympy on the drafter's operation tree, the drafter's own
arithmetic, and the answer key as the grading code reads it from the stem. Then the real
grader must mark the right answer ``correct`` and the typical wrong answer ``incorrect``
with exactly the cause the template promises (``unknown`` when it promises none).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import sympy
from pydantic import ValidationError

from errorbook.practice.variants.model import Draft, Formula, VariantQuestion
from grading.arithmetic_stem import parse_arithmetic_stem
from grading.causes import CauseCode
from grading.grade import Verdict
from grading.numbers import NumberParseError, parse_number
from grading.questions import ArithmeticQuestion
from grading.registry import grader_for
from grading.response import Response

__all__ = ["Rejection", "evaluate_formula", "verify_draft"]


class Rejection(StrEnum):
    """Why a draft was discarded (counted in the generation stats)."""

    INVALID_QUESTION = "invalid_question"
    KEY_MISMATCH = "key_mismatch"
    ANSWER_MISMATCH = "answer_mismatch"
    ANSWER_NOT_CORRECT = "answer_not_correct"
    WRONG_NOT_INCORRECT = "wrong_not_incorrect"
    WRONG_CAUSE_MISMATCH = "wrong_cause_mismatch"


def evaluate_formula(formula: Formula) -> sympy.Rational:
    """Evaluate an operation tree exactly with sympy.

    Args:
        formula: a literal (``"37"``, ``"3.5"``, ``"3/8"``) or ``(op, left, right)`` with
            ``op`` one of ``+ - * /``.

    Returns:
        The exact rational value.

    Raises:
        ValueError: an unknown operator or a division by zero.
    """
    if isinstance(formula, str):
        # sympy.Rational reads "3.5" and "3/8" exactly (no binary floating point).
        return sympy.Rational(formula)
    op, left, right = formula
    lhs, rhs = evaluate_formula(left), evaluate_formula(right)
    if op == "+":
        return lhs + rhs
    if op == "-":
        return lhs - rhs
    if op == "*":
        return lhs * rhs
    if op == "/":
        if rhs == 0:
            raise ValueError("division by zero in a variant formula")
        return lhs / rhs
    raise ValueError(f"unknown operator '{op}' in a variant formula")


def _same(value: sympy.Rational, other: object) -> bool:
    """sympy rational equals a ``Fraction``/int (compared as numerator and denominator)."""
    num = getattr(other, "numerator", None)
    den = getattr(other, "denominator", None)
    return num is not None and den is not None and (int(value.p), int(value.q)) == (num, den)


def _key_check(draft: Draft, question: VariantQuestion) -> Rejection | None:
    """sympy, the drafter and the key as the grading code reads it agree."""
    if draft.remainder is not None:
        if isinstance(draft.formula, str) or draft.formula[0] != "/":
            return Rejection.KEY_MISMATCH
        dividend, divisor = (evaluate_formula(f) for f in draft.formula[1:])
        q, r = divmod(sympy.Integer(dividend), sympy.Integer(divisor))
        stem = parse_arithmetic_stem(draft.stem)
        agree = (
            stem.with_remainder
            and (int(q), int(r)) == (stem.quotient, stem.remainder)
            and draft.answer == int(q)
            and draft.remainder == int(r)
        )
        return None if agree else Rejection.KEY_MISMATCH
    value = evaluate_formula(draft.formula)
    if not _same(value, draft.answer):
        return Rejection.KEY_MISMATCH
    if isinstance(question, ArithmeticQuestion):
        key_value = parse_arithmetic_stem(question.key.expression or question.stem).value
    else:
        key_value = parse_number(question.key.value).value
    if not _same(value, key_value):
        return Rejection.KEY_MISMATCH
    try:
        written = parse_number(draft.answer_text).value
    except NumberParseError:
        return Rejection.ANSWER_MISMATCH
    return None if _same(value, written) else Rejection.ANSWER_MISMATCH


def verify_draft(
    draft: Draft, build: Callable[[], VariantQuestion]
) -> tuple[VariantQuestion | None, Rejection | None]:
    """Build the question for a draft and check it end to end.

    Args:
        draft: the drafted item.
        build: a zero-argument callable returning the question model (called here so a
            pydantic validation error is a counted rejection, not a crash).

    Returns:
        (question, None) when every check passes, else (None, the first failed check).
    """
    try:
        question = build()
    except ValidationError:
        return None, Rejection.INVALID_QUESTION
    rejected = _key_check(draft, question)
    if rejected is not None:
        return None, rejected
    grader = grader_for(question)
    right = grader.grade(Response(text=draft.answer_text), key_revision=0)
    if right.verdict is not Verdict.CORRECT:
        return None, Rejection.ANSWER_NOT_CORRECT
    if draft.wrong_answer == draft.answer_text:
        return None, Rejection.WRONG_NOT_INCORRECT
    wrong = grader.grade(Response(text=draft.wrong_answer), key_revision=0)
    if wrong.verdict is not Verdict.INCORRECT:
        return None, Rejection.WRONG_NOT_INCORRECT
    # A slip with no cause code must not be mistaken by the grader for a known one, or the
    # error book would practise the wrong thing.
    if wrong.cause is not (draft.wrong_cause or CauseCode.UNKNOWN):
        return None, Rejection.WRONG_CAUSE_MISMATCH
    return question, None
