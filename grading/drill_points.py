"""The knowledge points a drill item (口算) practises, read off its printed expression.

A free-form drill page has no bank entry to say what it practises, so the operation and
its operands decide: ``37 + 48`` is addition with carrying, ``52 - 17`` subtraction with
borrowing, ``6 × 7`` the multiplication tables, ``17 ÷ 5`` division with a remainder. The
codes are the sample bank's (``sample_scans/question_bank.json``), so a drill answer and a
worksheet answer on the same skill feed the same mastery state.
"""

from __future__ import annotations

import re
from fractions import Fraction

from grading.arithmetic_stem import parse_arithmetic_stem
from grading.questions import KnowledgePoint

__all__ = ["DRILL_POINTS", "drill_knowledge_points"]

# code: (中文, English); parents are listed so a school without the sample bank gets them.
DRILL_POINTS: dict[str, tuple[str, str]] = {
    "math": ("数学", "Mathematics"),
    "math.add": ("加法", "Addition"),
    "math.add.nocarry": ("不进位加法", "Addition without carrying"),
    "math.add.carry": ("进位加法", "Addition with carrying"),
    "math.sub": ("减法", "Subtraction"),
    "math.sub.noborrow": ("不退位减法", "Subtraction without borrowing"),
    "math.sub.borrow": ("退位减法", "Subtraction with borrowing"),
    "math.sub.borrow_zero": ("连续退位减法（中间有0）", "Borrowing across zero"),
    "math.mul": ("乘法", "Multiplication"),
    "math.mul.table": ("表内乘法（乘法口诀）", "Multiplication tables"),
    "math.mul.multidigit": ("多位数乘法", "Multi-digit multiplication"),
    "math.div": ("除法", "Division"),
    "math.div.exact": ("没有余数的除法", "Exact division"),
    "math.div.remainder": ("有余数的除法", "Division with remainder"),
    "math.decimal": ("小数", "Decimals"),
    "math.decimal.add_sub": ("小数加减法", "Adding and subtracting decimals"),
    "math.frac": ("分数", "Fractions"),
    "math.frac.same_denominator": ("同分母分数加减法", "Adding and subtracting like fractions"),
    "math.frac.unlike_denominator": ("异分母分数加减法",
                                     "Adding and subtracting unlike fractions"),
    "math.mixed": ("四则混合运算", "Mixed operations"),
    "math.mixed.order": ("运算顺序", "Order of operations"),
}


def _digits(n: int) -> list[int]:
    return [int(c) for c in str(n)[::-1]]


def _carries(a: int, b: int) -> bool:
    da, db = _digits(a), _digits(b)
    carry = 0
    for i in range(max(len(da), len(db))):
        s = (da[i] if i < len(da) else 0) + (db[i] if i < len(db) else 0) + carry
        carry = int(s >= 10)
        if carry:
            return True
    return False


def _borrows(a: int, b: int) -> tuple[bool, bool]:
    """(borrows at all, borrows across a 0 digit)."""
    da, db = _digits(a), _digits(b)
    borrow, any_borrow, across_zero = 0, False, False
    for i in range(len(da)):
        top = da[i] - borrow
        if borrow and da[i] == 0:
            across_zero = True
        low = db[i] if i < len(db) else 0
        borrow = int(top < low)
        any_borrow = any_borrow or bool(borrow)
    return any_borrow, across_zero


def _whole(values: tuple[Fraction, ...]) -> bool:
    return all(v.denominator == 1 and v >= 0 for v in values)


def _codes(expression: str) -> list[str]:
    stem = parse_arithmetic_stem(expression + "=")
    op, operands = stem.operator, stem.operands
    if "/" in expression:  # a fraction bar: the operator is the fraction's business
        if any(c in expression for c in "+-"):
            dens = {Fraction(t).denominator for t in _fraction_terms(expression)}
            return ["math.frac.same_denominator" if len(dens) <= 1
                    else "math.frac.unlike_denominator"]
        return ["math.frac"]
    if op is None or len(operands) != 2:
        return ["math.mixed.order"]
    if "." in expression:
        return ["math.decimal.add_sub"] if op in "+-" else ["math.decimal"]
    if not _whole(operands):
        return ["math.mixed"]
    a, b = (int(v) for v in operands)
    if op == "+":
        return ["math.add.carry" if _carries(a, b) else "math.add.nocarry"]
    if op == "-":
        if a < b:
            return ["math.sub"]
        borrows, across_zero = _borrows(a, b)
        if across_zero:
            return ["math.sub.borrow_zero"]
        return ["math.sub.borrow" if borrows else "math.sub.noborrow"]
    if op == "*":
        return ["math.mul.table" if a <= 9 and b <= 9 else "math.mul.multidigit"]
    if op == "÷":
        if b == 0 or a % b:
            return ["math.div.remainder"]
        return ["math.div.exact"]
    return ["math.mixed"]


def _fraction_terms(expression: str) -> list[str]:
    """The ``p/q`` terms of an expression, as written (``1/5+2/5`` → ``1/5``, ``2/5``)."""
    return re.findall(r"\d+/\d+", expression)


def drill_knowledge_points(expression: str) -> tuple[KnowledgePoint, ...]:
    """The knowledge points one drill item practises, most specific first, with their
    parents (so they can be created where the school's bank lacks them).

    Args:
        expression: The printed expression without ``=`` (``37+48``, ``17÷5``).

    Returns:
        The leaf point first, then its ancestors up to ``math``.

    Raises:
        ArithmeticStemError: The expression does not parse.
    """
    leaves = _codes(expression)
    out: dict[str, KnowledgePoint] = {}
    for leaf in leaves:
        parts = leaf.split(".")
        for n in range(len(parts), 0, -1):
            code = ".".join(parts[:n])
            zh, en = DRILL_POINTS[code]
            out.setdefault(code, KnowledgePoint(code=code, name_zh=zh, name_en=en))
    return tuple(out.values())
