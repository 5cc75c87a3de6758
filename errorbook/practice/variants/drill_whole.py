"""Drafters for whole-number drills: addition, subtraction, multiplication and division.

Each drafter draws its operands from constraints that make the item practise exactly what
its template says (one carry, borrowing across a zero, …) and writes the typical slip with
the faulty procedure from :mod:`errorbook.practice.variants.columns`.
"""

from __future__ import annotations

import random
from fractions import Fraction

from errorbook.practice.variants.columns import (
    PLACES,
    add_without_carry,
    digits,
    mul_without_carry,
    multiplication_rhyme,
    smaller_from_larger,
)
from errorbook.practice.variants.model import Draft
from grading.causes import CauseCode

__all__ = [
    "draft_add_carry_once",
    "draft_add_carry_twice",
    "draft_div_exact",
    "draft_div_remainder",
    "draft_mul_one_digit",
    "draft_mul_table",
    "draft_sub_borrow",
    "draft_sub_borrow_zero",
    "two_digit_one_carry",
]


def two_digit_one_carry(rng: random.Random) -> tuple[int, int]:
    """Two two-digit numbers whose sum carries once, from the ones into the tens only."""
    ao = rng.randint(1, 9)
    bo = rng.randint(10 - ao, 9)
    at = rng.randint(1, 7)
    bt = rng.randint(1, 8 - at)
    return 10 * at + ao, 10 * bt + bo


def draft_add_carry_once(rng: random.Random) -> Draft:
    """Two-digit addition with exactly one carry (``37 + 48``)."""
    a, b = two_digit_one_carry(rng)
    s, wrong = a + b, add_without_carry(a, b)
    (ao, at), (bo, bt) = digits(a), digits(b)
    explanation = (
        f"个位 {ao} + {bo} = {ao + bo}，写 {(ao + bo) % 10} 向十位进 1；"
        f"十位 {at} + {bt} + 1 = {at + bt + 1}。所以 {a} + {b} = {s}。"
        f"常见错误：忘记加上进位的 1，算成 {wrong}。"
    )
    return Draft(f"{a} + {b} =", ("+", str(a), str(b)), Fraction(s), str(s), str(wrong),
                 CauseCode.FORGOT_CARRY, explanation)


def draft_add_carry_twice(rng: random.Random) -> Draft:
    """Three-digit addition carrying from the ones and from the tens, none out of the
    hundreds (``256 + 378``)."""
    ao = rng.randint(1, 9)
    bo = rng.randint(10 - ao, 9)
    at = rng.randint(0, 9)
    bt = rng.randint(max(0, 9 - at), 9)  # tens sum plus the carried 1 reaches ten
    ah = rng.randint(1, 7)
    bh = rng.randint(1, 8 - ah)
    a, b = 100 * ah + 10 * at + ao, 100 * bh + 10 * bt + bo
    s, wrong = a + b, add_without_carry(a, b)
    tens = at + bt + 1
    explanation = (
        f"个位 {ao} + {bo} = {ao + bo}，写 {(ao + bo) % 10} 进 1；"
        f"十位 {at} + {bt} + 1 = {tens}，写 {tens % 10} 进 1；"
        f"百位 {ah} + {bh} + 1 = {ah + bh + 1}。所以 {a} + {b} = {s}。"
        f"连续进位时每一位都要加上进上来的 1。常见错误：忘记进位，算成 {wrong}。"
    )
    return Draft(f"{a} + {b} =", ("+", str(a), str(b)), Fraction(s), str(s), str(wrong),
                 CauseCode.FORGOT_CARRY, explanation)


def draft_sub_borrow(rng: random.Random) -> Draft:
    """Two-digit subtraction borrowing from the tens (``72 - 29``)."""
    ao = rng.randint(0, 8)
    bo = rng.randint(ao + 1, 9)
    at = rng.randint(3, 9)
    bt = rng.randint(1, at - 1)
    a, b = 10 * at + ao, 10 * bt + bo
    d, wrong = a - b, smaller_from_larger(a, b)
    explanation = (
        f"个位 {ao} 不够减 {bo}，从十位退 1 当 10：{ao + 10} - {bo} = {ao + 10 - bo}；"
        f"十位退 1 后是 {at - 1}，{at - 1} - {bt} = {at - 1 - bt}。所以 {a} - {b} = {d}。"
        f"常见错误：个位用大数减小数（{bo} - {ao}），算成 {wrong}。"
    )
    return Draft(f"{a} - {b} =", ("-", str(a), str(b)), Fraction(d), str(d), str(wrong),
                 CauseCode.FORGOT_BORROW, explanation)


def draft_sub_borrow_zero(rng: random.Random) -> Draft:
    """Three-digit subtraction where the ones borrow across a zero in the tens (``403 - 178``)."""
    ah = rng.randint(2, 9)
    ao = rng.randint(0, 8)
    bh = rng.randint(1, ah - 1)
    bt = rng.randint(1, 9)
    bo = rng.randint(ao + 1, 9)
    a, b = 100 * ah + ao, 100 * bh + 10 * bt + bo
    d, wrong = a - b, smaller_from_larger(a, b)
    explanation = (
        f"个位 {ao} 不够减 {bo}，要向十位借，但十位是 0，只能先从百位退 1："
        f"百位剩 {ah - 1}，十位变成 10，再退 1 给个位，十位剩 9。"
        f"个位 {ao + 10} - {bo} = {ao + 10 - bo}；十位 9 - {bt} = {9 - bt}；"
        f"百位 {ah - 1} - {bh} = {ah - 1 - bh}。所以 {a} - {b} = {d}。"
        f"常见错误：每一位都用大数减小数，算成 {wrong}。"
    )
    return Draft(f"{a} - {b} =", ("-", str(a), str(b)), Fraction(d), str(d), str(wrong),
                 CauseCode.FORGOT_BORROW, explanation)


def draft_mul_table(rng: random.Random) -> Draft:
    """A times-table product (``6 × 7``); the slip is the neighbouring line of the rhyme."""
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    off = rng.choice((-1, 1))
    p, wrong = a * b, a * (b + off)
    explanation = (
        f"用乘法口诀“{multiplication_rhyme(a, b)}”：{a} × {b} = {p}。"
        f"常见错误：口诀记错，算成 {a} × {b + off} = {wrong}。"
    )
    return Draft(f"{a} × {b} =", ("*", str(a), str(b)), Fraction(p), str(p), str(wrong),
                 CauseCode.TIMES_TABLE_SLIP, explanation)


def _column_digits(b: int, carry_in: int, want_carry: bool) -> list[int]:
    """Digits ``d`` with ``d × b + carry_in`` producing a carry of exactly 1 (or none)."""
    if want_carry:
        return [d for d in range(10) if 10 <= d * b + carry_in <= 19]
    return [d for d in range(10) if d * b + carry_in <= 9]


def draft_mul_one_digit(rng: random.Random) -> Draft:
    """Two- or three-digit number times a one-digit number with exactly one carry of 1
    (``23 × 4``, ``142 × 3``). Forgetting that carry is off by ten (carry out of the ones)
    or by one hundred (out of the tens), which is what the grader names."""
    b = rng.randint(2, 9)
    into_hundreds = rng.random() < 0.5
    width = 3 if into_hundreds else rng.choice((2, 3))
    carry_at = 1 if into_hundreds else 0  # the column whose product carries
    out: list[int] = []
    carry = 0
    for i in range(width):
        choices = _column_digits(b, carry, want_carry=i == carry_at)
        if i == width - 1:
            choices = [d for d in choices if d > 0]
        if not choices:
            # Only b = 9 with a carry into the hundreds has no leading digit: fall back to
            # the carry out of the ones, which every b allows.
            return _mul_ones_carry(rng, b)
        d = rng.choice(choices)
        out.append(d)
        carry = (d * b + carry) // 10
    a = sum(d * 10**i for i, d in enumerate(out))
    return _mul_draft(a, b, CauseCode.OFF_BY_HUNDRED if into_hundreds else CauseCode.OFF_BY_TEN)


def _mul_ones_carry(rng: random.Random, b: int) -> Draft:
    """The ``23 × 4`` form (carry out of the ones) for a given one-digit ``b``."""
    ones = rng.choice(_column_digits(b, 0, want_carry=True))
    tens = rng.choice([d for d in _column_digits(b, 1, want_carry=False) if d > 0] or [0])
    a = 10 * tens + ones if tens else 100 + ones  # 1x2 × 9: a zero in the tens keeps it one carry
    return _mul_draft(a, b, CauseCode.OFF_BY_TEN)


def _mul_draft(a: int, b: int, cause: CauseCode) -> Draft:
    p, wrong = a * b, mul_without_carry(a, b)
    steps: list[str] = []
    carry = 0
    for i, d in enumerate(digits(a)):
        value = d * b + carry
        shown = f"{d} × {b}" + (f" + {carry}" if carry else "")
        new_carry = value // 10
        if new_carry and i < len(str(a)) - 1:
            steps.append(f"{PLACES[i]} {shown} = {value}，写 {value % 10} 进 {new_carry}")
        else:
            steps.append(f"{PLACES[i]} {shown} = {value}")
        carry = new_carry
    explanation = (
        "；".join(steps) + f"。所以 {a} × {b} = {p}。常见错误：忘记加上进位，算成 {wrong}。"
    )
    return Draft(f"{a} × {b} =", ("*", str(a), str(b)), Fraction(p), str(p), str(wrong),
                 cause, explanation)


def draft_div_exact(rng: random.Random) -> Draft:
    """Division inside the times tables (``56 ÷ 8``)."""
    b, q = rng.randint(2, 9), rng.randint(2, 9)
    a = b * q
    wrong = q + rng.choice((-1, 1))
    explanation = (
        f"想乘法口诀“{multiplication_rhyme(b, q)}”：{b} × {q} = {a}，所以 {a} ÷ {b} = {q}。"
        f"常见错误：口诀想错，商写成 {wrong}。"
    )
    return Draft(f"{a} ÷ {b} =", ("/", str(a), str(b)), Fraction(q), str(q), str(wrong),
                 CauseCode.TIMES_TABLE_SLIP, explanation)


def draft_div_remainder(rng: random.Random) -> Draft:
    """Division with a remainder (``47 ÷ 6 = （ ）……（ ）``); the slip is a quotient one too
    small, leaving a remainder not less than the divisor."""
    b = rng.randint(3, 9)
    q = rng.randint(2, 9)
    r = rng.randint(1, b - 1)
    a = b * q + r
    wrong = f"{q - 1}……{r + b}"
    explanation = (
        f"想：{b} 乘几最接近 {a} 又不超过 {a}？{b} × {q} = {b * q}，"
        f"{a} - {b * q} = {r}，余数 {r} 比除数 {b} 小。所以 {a} ÷ {b} = {q}……{r}。"
        f"常见错误：商小了，写成 {wrong}，余数 {r + b} 比除数 {b} 还大。"
    )
    return Draft(f"{a} ÷ {b} = （ ）……（ ）", ("/", str(a), str(b)), Fraction(q),
                 f"{q}……{r}", wrong, CauseCode.REMAINDER_ERROR, explanation, remainder=r)
