"""Column arithmetic written out the way a teacher explains it, and its classic slips.

These helpers replay procedures digit by digit (right and faulty) for drafters. They are
deliberately separate from :mod:`grading.causes`: a variant's wrong answer is produced
here and then *checked* against the grader's diagnosis, so the two must not share code.
"""

from __future__ import annotations

__all__ = [
    "PLACES",
    "add_without_carry",
    "digits",
    "mul_without_carry",
    "multiplication_rhyme",
    "smaller_from_larger",
]

#: Column names from the ones upwards (个位, 十位, …).
PLACES = ("个位", "十位", "百位", "千位", "万位")

_CN_DIGITS = "零一二三四五六七八九"


def digits(n: int, width: int = 0) -> list[int]:
    """Digits of a non-negative integer, ones first, padded with zeros to ``width``."""
    out = [int(c) for c in reversed(str(n))]
    return out + [0] * (width - len(out))


def add_without_carry(a: int, b: int) -> int:
    """``a + b`` with every carry dropped (``37 + 48 -> 75``).

    Args:
        a, b: non-negative integers.

    Returns:
        The column sums taken modulo ten.
    """
    width = max(len(str(a)), len(str(b)))
    da, db = digits(a, width), digits(b, width)
    return sum(((x + y) % 10) * 10**i for i, (x, y) in enumerate(zip(da, db, strict=True)))


def smaller_from_larger(a: int, b: int) -> int:
    """``a - b`` done by taking the smaller digit from the larger in every column, the
    classic borrowing slip (``72 - 29 -> 57``).

    Args:
        a, b: non-negative integers with ``a >= b``.

    Returns:
        The column differences' absolute values put together.
    """
    width = len(str(a))
    da, db = digits(a, width), digits(b, width)
    return sum(abs(x - y) * 10**i for i, (x, y) in enumerate(zip(da, db, strict=True)))


def mul_without_carry(a: int, b: int) -> int:
    """``a × b`` (``b`` one digit) forgetting to add carries: each column writes its own
    product's ones digit, except the leftmost, which is written in full
    (``23 × 4 -> 82``)."""
    da = digits(a)
    total = 0
    for i, d in enumerate(da):
        product = d * b
        total += (product if i == len(da) - 1 else product % 10) * 10**i
    return total


def _cn_number(n: int) -> str:
    """A number below 100 in the words of the multiplication rhyme (十二, 二十一)."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return head + "十" + (_CN_DIGITS[ones] if ones else "")


def multiplication_rhyme(a: int, b: int) -> str:
    """The line of the multiplication rhyme (乘法口诀) for ``a × b``, both 1..9.

    Args:
        a, b: one-digit factors in either order.

    Returns:
        E.g. ``三七二十一`` for 3 × 7, ``二五一十`` for 2 × 5, ``二三得六`` for 2 × 3.
    """
    lo, hi = sorted((a, b))
    product = lo * hi
    if product < 10:
        return f"{_CN_DIGITS[lo]}{_CN_DIGITS[hi]}得{_CN_DIGITS[product]}"
    # 10 is said 一十 in the rhyme (二五一十, 一十 keeps the four-syllable beat).
    words = "一十" if product == 10 else _cn_number(product)
    return f"{_CN_DIGITS[lo]}{_CN_DIGITS[hi]}{words}"
