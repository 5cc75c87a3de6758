"""Error causes (错因): stable codes, their labels, and diagnosis from the wrong answer itself.

A cause is returned only when the wrong answer is *reproduced* by the faulty procedure (for
example ``37 + 48`` done without carrying gives exactly ``75``). When nothing reproduces the
answer, the cause is ``unknown``: causes feed the error book and class reports, so an
invented cause would mislead a teacher.
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction

__all__ = [
    "CAUSE_LABELS",
    "CauseCode",
    "cause_labels",
    "diagnose_arithmetic",
    "diagnose_numeric",
    "diagnose_remainder",
]


class CauseCode(StrEnum):
    """Stable error-cause codes; never rename one (stored grades and reports use them)."""

    FORGOT_CARRY = "forgot_carry"
    FORGOT_BORROW = "forgot_borrow"
    WRONG_OPERATION = "wrong_operation"
    TIMES_TABLE_SLIP = "times_table_slip"
    DIGIT_TRANSPOSITION = "digit_transposition"
    PLACE_VALUE = "place_value"
    REMAINDER_ERROR = "remainder_error"
    OFF_BY_TEN = "off_by_ten"
    OFF_BY_HUNDRED = "off_by_hundred"
    FRACTION_NOT_SIMPLIFIED = "fraction_not_simplified"
    UNIT_NOT_CONVERTED = "unit_not_converted"
    DISTRACTOR_CHOSEN = "distractor_chosen"
    MISSED_OPTION = "missed_option"
    RUBRIC_POINTS_MISSED = "rubric_points_missed"
    UNKNOWN = "unknown"


CAUSE_LABELS: dict[CauseCode, tuple[str, str]] = {
    CauseCode.FORGOT_CARRY: ("进位遗漏", "forgot to carry"),
    CauseCode.FORGOT_BORROW: ("退位遗漏", "forgot to borrow"),
    CauseCode.WRONG_OPERATION: ("运算符号看错", "wrong operation"),
    CauseCode.TIMES_TABLE_SLIP: ("乘法口诀错误", "multiplication-table slip"),
    CauseCode.DIGIT_TRANSPOSITION: ("数字颠倒", "digits transposed"),
    CauseCode.PLACE_VALUE: ("数位或小数点错误", "place-value or decimal-point error"),
    CauseCode.REMAINDER_ERROR: ("余数错误", "remainder error"),
    CauseCode.OFF_BY_TEN: ("相差一个十", "off by ten"),
    CauseCode.OFF_BY_HUNDRED: ("相差一个百", "off by one hundred"),
    CauseCode.FRACTION_NOT_SIMPLIFIED: ("分数未化简", "fraction not in simplest form"),
    CauseCode.UNIT_NOT_CONVERTED: ("单位未换算", "unit not converted"),
    CauseCode.DISTRACTOR_CHOSEN: ("选了干扰项", "chose a distractor"),
    CauseCode.MISSED_OPTION: ("漏选正确选项", "missed a correct option"),
    CauseCode.RUBRIC_POINTS_MISSED: ("缺少得分要点", "missed scoring points"),
    CauseCode.UNKNOWN: ("原因未知", "unknown"),
}


def cause_labels(code: CauseCode) -> tuple[str, str]:
    """The (Chinese, English) labels of a cause code."""
    return CAUSE_LABELS[code]


def _digits(n: int) -> list[int]:
    """Digits of a non-negative integer, least significant first."""
    return [int(c) for c in reversed(str(n))]


def _add_without_carry(a: int, b: int) -> set[int]:
    """Column sums without carrying: the carry dropped everywhere (``37+48 -> 75``), dropped
    except in the leftmost column, which is written in full (``58+67 -> 115``), or every
    column sum written whole (``37+48 -> 715``)."""
    da, db = _digits(a), _digits(b)
    width = max(len(da), len(db))
    da += [0] * (width - len(da))
    db += [0] * (width - len(db))
    sums = [x + y for x, y in zip(da, db, strict=True)]
    dropped = sum((s % 10) * 10**i for i, s in enumerate(sums))
    full_top = dropped - (sums[-1] % 10) * 10 ** (width - 1) + sums[-1] * 10 ** (width - 1)
    whole = int("".join(str(s) for s in reversed(sums)))
    return {dropped, full_top, whole}


def _subtract_without_borrow(a: int, b: int) -> set[int]:
    """Two classic borrow bugs of ``a - b`` (a >= b): smaller-from-larger per column,
    and borrowing ten without taking it from the next column."""
    da, db = _digits(a), _digits(b)
    db += [0] * (len(da) - len(db))
    smaller_from_larger = sum(
        abs(x - y) * 10**i for i, (x, y) in enumerate(zip(da, db, strict=True))
    )
    no_decrement = sum(((x - y) % 10) * 10**i for i, (x, y) in enumerate(zip(da, db, strict=True)))
    return {smaller_from_larger, no_decrement}


def _is_adjacent_transposition(wrong: str, right: str) -> bool:
    if len(wrong) != len(right) or wrong == right:
        return False
    diff = [i for i, (x, y) in enumerate(zip(wrong, right, strict=True)) if x != y]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and wrong[diff[0]] == right[diff[1]]
        and wrong[diff[1]] == right[diff[0]]
    )


def _plain(value: Fraction) -> str | None:
    """Digits of a non-negative integer or terminating decimal, for transposition checks."""
    if value < 0:
        return None
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.6f}".rstrip("0")
    return text if Fraction(text) == value else None


def diagnose_numeric(student: Fraction, correct: Fraction) -> CauseCode:
    """Diagnose a wrong number against the right one, with no knowledge of the operation.

    Args:
        student: the value the student wrote (already known to be wrong).
        correct: the right value.

    Returns:
        ``place_value`` (off by a power of ten), ``digit_transposition`` (two neighbouring
        digits swapped), ``off_by_ten``/``off_by_hundred``, else ``unknown``.
    """
    if student == correct:
        return CauseCode.UNKNOWN
    if correct != 0 and student != 0:
        ratio = student / correct
        if ratio in {Fraction(10) ** k for k in (-3, -2, -1, 1, 2, 3)}:
            return CauseCode.PLACE_VALUE
    s_text, c_text = _plain(student), _plain(correct)
    if s_text and c_text and _is_adjacent_transposition(s_text, c_text):
        return CauseCode.DIGIT_TRANSPOSITION
    if abs(student - correct) == 10:
        return CauseCode.OFF_BY_TEN
    if abs(student - correct) == 100:
        return CauseCode.OFF_BY_HUNDRED
    return CauseCode.UNKNOWN


def _whole(*values: Fraction) -> bool:
    return all(v.denominator == 1 and v >= 0 for v in values)


def diagnose_arithmetic(
    operator: str | None, operands: tuple[Fraction, ...], student: Fraction, correct: Fraction
) -> CauseCode:
    """Diagnose a wrong drill answer by replaying the usual faulty procedures.

    Args:
        operator: the item's top-level operator (``+ - * ÷``), or None for longer items.
        operands: the two operands of a two-operand item (empty otherwise).
        student: the student's (wrong) value.
        correct: the right value.

    Returns:
        The first cause whose faulty procedure reproduces ``student`` exactly, checked from
        the most specific (carry, borrow) to the most generic (off by ten); else
        ``unknown`` (from :func:`diagnose_numeric` when no operator is known).
    """
    if student == correct:
        return CauseCode.UNKNOWN
    if operator is None or len(operands) != 2:
        return diagnose_numeric(student, correct)
    a, b = operands
    if _whole(a, b, student):
        ia, ib, s = int(a), int(b), int(student)
        if operator == "+" and s in _add_without_carry(ia, ib):
            return CauseCode.FORGOT_CARRY
        if operator == "-" and ia >= ib and s in _subtract_without_borrow(ia, ib):
            return CauseCode.FORGOT_BORROW
    others = {"+": a + b, "-": a - b, "*": a * b}
    if b != 0:
        others["÷"] = a / b
    # Subtracting the wrong way round (29 - 72 for 72 - 29) is a wrong operation too.
    others["-r"] = b - a
    for op, value in others.items():
        if op != operator and value == student and value != correct:
            return CauseCode.WRONG_OPERATION
    if operator == "*" and _whole(a, b) and min(a, b) <= 10:
        slips = {a * (b + 1), a * (b - 1), (a + 1) * b, (a - 1) * b}
        if student in slips:
            return CauseCode.TIMES_TABLE_SLIP
    if operator == "÷" and _whole(a, b, correct) and b <= 10 and abs(student - correct) == 1:
        return CauseCode.TIMES_TABLE_SLIP
    return diagnose_numeric(student, correct)


def diagnose_remainder(
    dividend: int, divisor: int, quotient: int | None, remainder: int | None
) -> CauseCode:
    """Diagnose a wrong quotient-and-remainder answer of ``dividend ÷ divisor``.

    Args:
        dividend, divisor: the item's operands (whole numbers, divisor > 0).
        quotient, remainder: what the student wrote (None where a part is missing).

    Returns:
        ``remainder_error`` when the quotient is right but the remainder is wrong or
        missing, or the pair is consistent but the remainder is not less than the divisor;
        ``times_table_slip`` when the quotient is off by one and the remainder follows
        from it; else the numeric diagnosis of the quotient, or ``unknown``.
    """
    q, r = divmod(dividend, divisor)
    if quotient is None:
        return CauseCode.UNKNOWN
    if quotient == q and remainder != r:
        return CauseCode.REMAINDER_ERROR
    if (
        remainder is not None
        and quotient * divisor + remainder == dividend
        and remainder >= divisor
    ):
        return CauseCode.REMAINDER_ERROR
    if (
        remainder is not None
        and remainder >= 0
        and abs(quotient - q) == 1
        and remainder == dividend - quotient * divisor
    ):
        return CauseCode.TIMES_TABLE_SLIP
    if remainder == r:
        return diagnose_numeric(Fraction(quotient), Fraction(q))
    return CauseCode.UNKNOWN
