"""Grading one item of a free-form arithmetic drill page (口算).

A drill page prints ``a ○ b =`` and the student writes the result; the key is computed
from the expression, so grading needs only the printed expression (as read), how sure the
reader was of it, and the student's answer as a :class:`~grading.response.Response`.
Reading the page is ``ocr.drill``'s job; this module never sees pixels.

Doubt is never hidden: an expression that does not parse, one read with low confidence,
and every answer the review policy does not decide alone give an item that needs review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from grading.grade import Grade, Verdict
from grading.questions import ArithmeticQuestion
from grading.response import Response, ResponseStatus
from grading.review_policy import ReviewPolicy, grade_response

__all__ = [
    "DrillDecision",
    "DrillGradeOptions",
    "drill_question",
    "expects_remainder",
    "grade_drill_item",
    "right_for_neighbour",
]


@dataclass(frozen=True)
class DrillGradeOptions:
    """How drill items are decided.

    Attributes:
        min_expression_confidence: Below this lowest-character probability the printed
            expression itself is doubtful, and even a decided grade goes to review.
        policy: The review policy applied to each grade.
    """

    min_expression_confidence: float = 0.9
    policy: ReviewPolicy = field(default_factory=ReviewPolicy)


@dataclass(frozen=True)
class DrillDecision:
    """The outcome of grading one drill item.

    Attributes:
        grade: The arithmetic grader's decision; None when the expression is unusable.
        needs_review: True when a teacher must look (never silently wrong).
        reason: Why it needs review (empty otherwise).
    """

    grade: Grade | None
    needs_review: bool
    reason: str = ""


def expects_remainder(expression: str) -> bool:
    """Whether the printed expression asks for ``quotient……remainder``.

    Args:
        expression: The expression without ``=`` (``17÷5``).

    Returns:
        True for a division of whole numbers that does not come out even.

    Raises:
        ArithmeticStemError: If the expression does not parse.
    """
    stem = parse_arithmetic_stem(expression + "=")
    return stem.operator == "÷" and stem.value.denominator != 1 and all(
        o.denominator == 1 and o >= 0 for o in stem.operands
    )


def drill_question(expression: str, remainder: bool, index: int) -> ArithmeticQuestion:
    """The arithmetic question a drill item stands for (its key is the expression's value).

    Args:
        expression: The expression without ``=``.
        remainder: Whether the answer is written as ``quotient……remainder``.
        index: The item's position on the page (names the question).

    Returns:
        A question the registered ``arithmetic`` grader can grade.
    """
    return ArithmeticQuestion(
        id=f"drill-{index}",
        kind="arithmetic",
        subject="math",
        grade=3,
        stem=f"{expression} =" + (" ……" if remainder else ""),
        knowledge_points=["math.arithmetic.oral"],
    )


def grade_drill_item(
    expression: str,
    response: Response,
    *,
    raw_expression: str = "",
    expression_confidence: float = 1.0,
    index: int = 0,
    detail: str = "",
    options: DrillGradeOptions | None = None,
    printed_digits: int | None = None,
) -> DrillDecision:
    """Grade one drill answer with the ``arithmetic`` grader and the review policy.

    Args:
        expression: The printed expression as read (``37+48``); "" when the reader could
            not make one out.
        response: The student's answer as read.
        raw_expression: What was read left of the ``=`` (for the review reason).
        expression_confidence: The reader's lowest character probability in the expression.
        index: The item's position on the page.
        detail: The reader's reason for a non-``ok`` answer (for the review reason).
        options: Review settings.
        printed_digits: How many printed digits the page shows in the expression (counted
            in the pixels, ``ocr.drill.doubts.printed_digits``), None when not counted. As
            many as were read rules out a dropped or an added digit, the only misreads
            :func:`right_for_neighbour` stands for, so a wrong answer is not held for it.

    Returns:
        The decision; unusable expressions and doubtful readings need review.
    """
    o = options or DrillGradeOptions()
    if not expression:
        return DrillDecision(None, True, f"expression '{raw_expression}' could not be parsed")
    try:
        remainder = expects_remainder(expression)
    except ArithmeticStemError as exc:
        return DrillDecision(None, True, f"expression '{expression}': {exc}")
    grade = grade_response(
        drill_question(expression, remainder, index), response, key_revision=0, policy=o.policy
    )
    reason = ""
    if not grade.auto:
        reason = grade.reason_en or f"answer {response.status}: {detail}"
    elif expression_confidence < o.min_expression_confidence:
        # The answer may match the expression as read, but not the one printed.
        reason = f"expression read with confidence {expression_confidence:.2f}"
    elif grade.verdict != Verdict.CORRECT and response.status == ResponseStatus.OK \
            and printed_digits != sum(c.isdigit() for c in expression):
        near = right_for_neighbour(expression, response, index)
        if near:
            reason = (f"the answer is right for {near}, one digit away from the expression "
                      f"as read ({expression}): check the printed expression")
    return DrillDecision(grade, bool(reason), reason)


def _neighbours(expression: str) -> list[str]:
    """The expression with one digit dropped or one digit added inside or beside a number:
    what the reader makes of a printed item when it misses a digit, or takes in a
    handwritten one (an answer of the item to the left written against this one)."""
    out: dict[str, None] = {}
    for i, c in enumerate(expression):
        if c.isdigit():
            out[expression[:i] + expression[i + 1:]] = None
    for i in range(len(expression) + 1):
        left = expression[i - 1] if i > 0 else ""
        right = expression[i] if i < len(expression) else ""
        if left.isdigit() or right.isdigit():
            for d in "0123456789":
                out[expression[:i] + d + expression[i:]] = None
    out.pop(expression, None)
    return list(out)


def right_for_neighbour(expression: str, response: Response, index: int = 0) -> str:
    """A neighbour of the expression as read (:func:`_neighbours`) for which the answer is
    right, or "".

    A wrong verdict has to survive the thought that the expression, not the child, is
    wrong: an answer that is exactly right for the printed item with one digit more or less
    is far likelier a misread expression than a coincidence. Substituted digits are not
    tried: ``6×7 = 48`` is a classic slip of the tables, and must stay wrong.
    """
    text = "".join(response.text.split())
    try:
        value = parse_arithmetic_stem(expression + "=").value
    except ArithmeticStemError:
        return ""
    for near in _neighbours(expression):
        try:
            remainder = expects_remainder(near)
            stem = parse_arithmetic_stem(near + "=" + (" ……" if remainder else ""))
        except ArithmeticStemError:
            continue
        if stem.value == value:
            continue  # a digit that changes nothing (a leading 0) tells nothing
        if remainder or "……" in text:
            if text == stem.answer_text():
                return near
            continue
        try:
            if Fraction(text) == stem.value:
                return near
        except (ValueError, ZeroDivisionError):
            return ""  # not a plain number: no neighbour can say more than the grader
    return ""
