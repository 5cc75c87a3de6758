"""Grader for numeric answers: exact values, forms, tolerances, units and simplest form."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from grading.base import AnswerKeyError, Grader, Judgement, strip_decoration
from grading.causes import CauseCode, diagnose_numeric
from grading.grade import Verdict
from grading.numbers import (
    NumberParseError,
    ParsedNumber,
    Unit,
    lookup_unit,
    parse_number,
    units_named_in,
)
from grading.questions import NumericKey, NumericQuestion
from grading.response import Response
from grading.textnorm import normalize_text

__all__ = ["NumericGrader"]


@dataclass(frozen=True)
class _KeyValue:
    number: ParsedNumber
    unit: Unit | None


def _key_values(key: NumericKey) -> tuple[list[_KeyValue], list[str]]:
    """The key's numbers, and its alternatives that are words (``八``), normalised."""
    values = []
    words = []
    for i, text in enumerate((key.value, *key.alternatives)):
        try:
            number = parse_number(text)
        except NumberParseError as exc:
            if i > 0:
                words.append(normalize_text(text))
                continue
            raise AnswerKeyError(f"numeric key '{text}' is not a number: {exc}") from exc
        unit_text = number.unit_text or key.unit
        unit = lookup_unit(unit_text) if unit_text else None
        if unit_text and unit is None and number.unit_text:
            raise AnswerKeyError(f"numeric key '{text}' has an unknown unit '{unit_text}'")
        values.append(_KeyValue(number, unit))
    return values, words


def _within(student: Fraction, key: Fraction, k: NumericKey) -> bool:
    gap = abs(student - key)
    return (
        gap == 0
        or gap <= Fraction(str(k.tolerance_abs))
        or gap <= Fraction(str(k.tolerance_rel)) * abs(key)
    )


class NumericGrader(Grader[NumericQuestion]):
    """Numbers in any written form (``7/8`` = ``0.875`` = ``87.5%``), with absolute or
    relative tolerance, unit conversion when the key allows it, and "simplest form"."""

    kind = "numeric"

    def _judge(self, response: Response) -> Judgement:
        key = self.question.key
        keys, words = _key_values(key)
        raw = strip_decoration(response.text)
        try:
            student = parse_number(raw)
        except NumberParseError:
            shown = normalize_text(raw)
            if shown in words:
                return Judgement(
                    Verdict.CORRECT,
                    self.max_score,
                    shown,
                    f"{shown}，正确",
                    f"{shown}, an accepted answer",
                )
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"“{shown}”不是一个数",
                f"'{shown}' is not a number",
                cause=CauseCode.UNKNOWN,
                review=True,
            )
        if student.unit_text and keys[0].unit and self._student_unit(student, keys[0]) is None:
            # A unit we do not know next to a key with a unit: misread or wrong, a human
            # decides rather than a guess either way.
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                student.text,
                f"无法识别单位“{student.unit_text}”",
                f"unknown unit '{student.unit_text}'",
                cause=CauseCode.UNKNOWN,
                review=True,
            )
        for kv in keys:
            judged = self._against(student, kv)
            if judged is not None:
                return judged
        return self._wrong(student, keys[0])

    def _student_unit(self, student: ParsedNumber, kv: _KeyValue) -> Unit | None:
        return lookup_unit(student.unit_text, prefer=kv.unit) if student.unit_text else None

    def _against(self, student: ParsedNumber, kv: _KeyValue) -> Judgement | None:
        key = self.question.key
        s_unit = self._student_unit(student, kv)
        value = student.value
        converted = False
        if s_unit and kv.unit and s_unit.name != kv.unit.name:
            if s_unit.dimension != kv.unit.dimension:
                return None
            value = student.value * s_unit.factor / kv.unit.factor
            converted = True
        if not _within(value, kv.number.value, key):
            return None
        shown, wanted = (
            student.text,
            kv.number.text + (kv.unit.name if kv.unit and not kv.number.unit_text else ""),
        )
        if converted and not key.convert_units:
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"{shown} 没有换算成要求的单位",
                f"{shown} is not in the required unit",
                cause=CauseCode.UNIT_NOT_CONVERTED,
            )
        if key.simplest_form and not student.simplest:
            credit = key.unsimplified_credit
            return Judgement(
                Verdict.PARTIALLY_CORRECT if credit > 0 else Verdict.INCORRECT,
                self.max_score * credit,
                shown,
                f"{shown} 与 {wanted} 等值，但不是最简形式",
                f"{shown} equals {wanted} but is not in simplest form",
                cause=CauseCode.FRACTION_NOT_SIMPLIFIED,
            )
        if normalize_text(shown) == normalize_text(wanted):
            zh, en = f"{shown}，正确", f"{shown}, correct"
        elif value == kv.number.value:
            zh, en = f"{shown} 与 {wanted} 等值", f"{shown} equals {wanted}"
        else:
            zh, en = f"{shown} 在 {wanted} 的允许误差内", f"{shown} is within tolerance of {wanted}"
        return Judgement(Verdict.CORRECT, self.max_score, shown, zh, en)

    def _wrong(self, student: ParsedNumber, kv: _KeyValue) -> Judgement:
        cause = CauseCode.UNKNOWN
        if kv.unit and student.unit_text is None:
            # Only a unit the stem itself names (``1.5米 = （ ）厘米``) explains the answer; any
            # other power of ten is a place-value slip, diagnosed below.
            target = kv.number.value * kv.unit.factor
            for other in units_named_in(self.question.stem):
                same_kind = other.dimension == kv.unit.dimension and other.name != kv.unit.name
                if same_kind and student.value * other.factor == target:
                    cause = CauseCode.UNIT_NOT_CONVERTED
                    break
        if cause is CauseCode.UNKNOWN:
            cause = diagnose_numeric(student.value, kv.number.value)
        wanted = kv.number.text
        return Judgement(
            Verdict.INCORRECT,
            0.0,
            student.text,
            f"{student.text} 不等于 {wanted}",
            f"{student.text} is not {wanted}",
            cause=cause,
        )
