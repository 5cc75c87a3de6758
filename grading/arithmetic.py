"""Grader for arithmetic drill items (口算): the key is computed from the stem."""

from __future__ import annotations

import re

from grading.arithmetic_stem import ArithmeticStem, ArithmeticStemError, parse_arithmetic_stem
from grading.base import AnswerKeyError, Grader, Judgement, strip_decoration
from grading.causes import CauseCode, diagnose_arithmetic, diagnose_remainder
from grading.grade import Verdict
from grading.numbers import NumberParseError, parse_number
from grading.questions import ArithmeticQuestion
from grading.response import Response
from grading.textnorm import normalize_text, to_halfwidth

__all__ = ["ArithmeticGrader", "parse_quotient_remainder"]

_QR = re.compile(r"(\d{1,12})\s*(?:…+|\.{2,}|余|\s)\s*(\d{1,12})")


def parse_quotient_remainder(readings: tuple[str, ...]) -> tuple[int | None, int | None]:
    """Read ``3……2`` / ``3...2`` / ``3余2`` / ``3 2`` (or two blanks ``("3", "2")``).

    Args:
        readings: the response's readings; two readings are quotient and remainder.

    Returns:
        (quotient, remainder); a part that is missing or not a whole number is None.
    """

    def whole(text: str) -> int | None:
        text = to_halfwidth(text).strip()
        return int(text) if text.isdigit() and len(text) <= 12 else None

    if len(readings) >= 2:
        return whole(readings[0]), whole(readings[1])
    text = strip_decoration(to_halfwidth(readings[0]))
    m = _QR.fullmatch(text.strip())
    if m:
        return int(m[1]), int(m[2])
    return whole(text), None


class ArithmeticGrader(Grader[ArithmeticQuestion]):
    """Drill items such as ``37 + 48 =``, ``56 ÷ 8 =``, ``17 ÷ 5 = （ ）……（ ）`` and fraction
    sums; wrong answers are diagnosed by replaying the usual faulty procedures."""

    kind = "arithmetic"

    def stem(self) -> ArithmeticStem:
        """The parsed stem (or the key's override expression).

        Raises:
            AnswerKeyError: the stem does not compute (the question model normally
                rejects such stems already).
        """
        try:
            return parse_arithmetic_stem(self.question.key.expression or self.question.stem)
        except ArithmeticStemError as exc:
            raise AnswerKeyError(str(exc)) from exc

    def _judge(self, response: Response) -> Judgement:
        stem = self.stem()
        if stem.with_remainder:
            return self._judge_remainder(stem, response)
        raw = strip_decoration(response.text)
        try:
            student = parse_number(raw)
        except NumberParseError:
            shown = normalize_text(raw)
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"“{shown}”不是一个数",
                f"'{shown}' is not a number",
                cause=CauseCode.UNKNOWN,
                review=True,
            )
        answer = stem.answer_text()
        if student.value == stem.value:
            if self.question.key.simplest_form and not student.simplest:
                return Judgement(
                    Verdict.INCORRECT,
                    0.0,
                    student.text,
                    f"{student.text} 等于 {answer}，但没有化成最简分数",
                    f"{student.text} equals {answer} but is not in simplest form",
                    cause=CauseCode.FRACTION_NOT_SIMPLIFIED,
                )
            return Judgement(
                Verdict.CORRECT,
                self.max_score,
                student.text,
                f"{stem.expression} = {student.text}，正确",
                f"{stem.expression} = {student.text}, correct",
            )
        cause = diagnose_arithmetic(stem.operator, stem.operands, student.value, stem.value)
        return Judgement(
            Verdict.INCORRECT,
            0.0,
            student.text,
            f"{stem.expression} = {answer}，不是 {student.text}",
            f"{stem.expression} = {answer}, not {student.text}",
            cause=cause,
        )

    def _judge_remainder(self, stem: ArithmeticStem, response: Response) -> Judgement:
        q, r = parse_quotient_remainder(response.readings())
        answer = stem.answer_text()
        shown = f"{'' if q is None else q}……{'' if r is None else r}"
        if q is None:
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                normalize_text(response.text),
                "读不出商",
                "no quotient could be read",
                cause=CauseCode.UNKNOWN,
                review=True,
            )
        if q == stem.quotient and (r == stem.remainder or (r is None and stem.remainder == 0)):
            return Judgement(
                Verdict.CORRECT,
                self.max_score,
                shown,
                f"{stem.expression} = {answer}，正确",
                f"{stem.expression} = {answer}, correct",
            )
        dividend, divisor = (int(x) for x in stem.operands)
        cause = diagnose_remainder(dividend, divisor, q, r)
        return Judgement(
            Verdict.INCORRECT,
            0.0,
            shown,
            f"{stem.expression} = {answer}，不是 {shown}",
            f"{stem.expression} = {answer}, not {shown}",
            cause=cause,
        )
