"""Drafters for fractions, decimals, a word problem and the order of operations."""

from __future__ import annotations

import random
from fractions import Fraction
from math import gcd, lcm

from errorbook.practice.variants.columns import add_without_carry
from errorbook.practice.variants.drill_whole import two_digit_one_carry
from errorbook.practice.variants.model import Draft, Formula
from grading.causes import CauseCode

__all__ = [
    "WORD_SCENES",
    "decimal_text",
    "draft_decimal_add_sub",
    "draft_frac_same_denominator",
    "draft_frac_unlike_add",
    "draft_order_of_operations",
    "draft_word_add",
]


def decimal_text(value: Fraction) -> str:
    """A terminating decimal written out (``3.45``, ``6``), without trailing zeros.

    Raises:
        ValueError: the value has no terminating decimal form.
    """
    sign = "-" if value < 0 else ""
    value = abs(value)
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
        if places > 12:
            raise ValueError(f"{value} has no short decimal form")
    scaled = int(value * 10**places)
    if places == 0:
        return f"{sign}{scaled}"
    whole, frac = divmod(scaled, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}".rstrip("0").rstrip(".")


def _fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def draft_frac_same_denominator(rng: random.Random) -> Draft:
    """Like-denominator sum or difference whose result must be reduced (``1/6 + 3/6``)."""
    while True:  # a few rejections at most: most denominators have reducible numerators
        n = rng.randint(4, 12)
        plus = rng.random() < 0.5
        if plus:
            a = rng.randint(1, n - 2)
            b = rng.randint(1, n - 1 - a)
            s = a + b
        else:
            a = rng.randint(2, n - 1)
            b = rng.randint(1, a - 1)
            s = a - b
        if gcd(s, n) > 1:
            break
    op = "+" if plus else "-"
    value = Fraction(s, n)
    g = gcd(s, n)
    explanation = (
        f"同分母分数相{'加' if plus else '减'}，分母不变，分子相{'加' if plus else '减'}："
        f"{a} {op} {b} = {s}，得 {s}/{n}；{s} 和 {n} 的最大公因数是 {g}，"
        f"约分得 {_fraction_text(value)}。常见错误：没有约分，写成 {s}/{n}。"
    )
    return Draft(f"{a}/{n} {op} {b}/{n} =", (op, f"{a}/{n}", f"{b}/{n}"), value,
                 _fraction_text(value), f"{s}/{n}", CauseCode.FRACTION_NOT_SIMPLIFIED,
                 explanation)


def _proper(rng: random.Random, den: int) -> int:
    """A numerator making ``num/den`` a proper fraction in simplest form."""
    return rng.choice([k for k in range(1, den) if gcd(k, den) == 1])


def draft_frac_unlike_add(rng: random.Random) -> Draft:
    """Unlike-denominator addition, answer in simplest form (``1/4 + 5/6``). The slip is
    the product of the denominators as common denominator and no reduction, which always
    leaves a reducible fraction because the denominators share a factor."""
    while True:
        m, n = rng.randint(2, 12), rng.randint(2, 12)
        if m != n and gcd(m, n) > 1:
            break
    a, b = _proper(rng, m), _proper(rng, n)
    value = Fraction(a, m) + Fraction(b, n)
    common = lcm(m, n)
    total = a * common // m + b * common // n
    wrong = f"{a * n + b * m}/{m * n}"
    reduce = "" if Fraction(total, common).denominator == common else (
        f"，约分得 {_fraction_text(value)}"
    )
    explanation = (
        f"分母 {m} 和 {n} 的最小公倍数是 {common}，先通分：{a}/{m} = {a * common // m}/{common}，"
        f"{b}/{n} = {b * common // n}/{common}；再相加得 {total}/{common}{reduce}。"
        f"常见错误：用分母的乘积 {m * n} 通分后没有约分，写成 {wrong}。"
    )
    return Draft(f"{a}/{m} + {b}/{n} =", ("+", f"{a}/{m}", f"{b}/{n}"), value,
                 _fraction_text(value), wrong, CauseCode.FRACTION_NOT_SIMPLIFIED, explanation)


def draft_decimal_add_sub(rng: random.Random) -> Draft:
    """Decimal addition or subtraction with one or two decimal places (``4.75 - 1.3``);
    the slip is an answer written without its decimal point."""
    while True:
        places_a, places_b = rng.choice(((1, 1), (1, 1), (2, 1), (1, 2), (2, 2)))
        a = Fraction(rng.randint(11, 99 * 10 ** (places_a - 1)), 10**places_a)
        b = Fraction(rng.randint(11, 99 * 10 ** (places_b - 1)), 10**places_b)
        plus = rng.random() < 0.5
        if not plus and a < b:
            a, b = b, a
        value = a + b if plus else a - b
        # A whole-number result has no decimal point to forget; a tiny one reads oddly.
        if value.denominator != 1 and value >= Fraction(1, 10):
            break
    op = "+" if plus else "-"
    answer = decimal_text(value)
    wrong = answer.replace(".", "").lstrip("0") or "0"
    explanation = (
        f"小数点对齐，相同数位对齐，再按整数{'加' if plus else '减'}法计算："
        f"{decimal_text(a)} {op} {decimal_text(b)} = {answer}，得数的小数点要和上面对齐。"
        f"常见错误：得数漏写小数点，写成 {wrong}。"
    )
    return Draft(f"{decimal_text(a)} {op} {decimal_text(b)} =",
                 (op, decimal_text(a), decimal_text(b)), value, answer, wrong,
                 CauseCode.PLACE_VALUE, explanation)


#: Word-problem scenes: (stem pattern, measure word, thing counted). ``{who}`` is a name;
#: ``{a}``/``{b}`` the two addends; the answer is counted in the measure word.
WORD_SCENES: tuple[tuple[str, str, str], ...] = (
    ("{who}有 {a} 张邮票，又买了 {b} 张。现在一共有多少张邮票？", "张", "邮票"),
    ("{who}第一天看了 {a} 页书，第二天看了 {b} 页。两天一共看了多少页？", "页", "书"),
    ("果园里有 {a} 棵桃树，今年又种了 {b} 棵。现在一共有多少棵桃树？", "棵", "桃树"),
    ("二年级一班有 {a} 本图书，二班有 {b} 本。两个班一共有多少本图书？", "本", "图书"),
    ("{who}折了 {a} 只纸鹤，妈妈又帮忙折了 {b} 只。一共折了多少只纸鹤？", "只", "纸鹤"),
    ("停车场上午停了 {a} 辆车，下午又开来 {b} 辆。现在一共有多少辆车？", "辆", "车"),
    ("{who}收集了 {a} 颗玻璃珠，哥哥又送来 {b} 颗。{who}现在有多少颗玻璃珠？", "颗", "玻璃珠"),
)
_NAMES = ("小明", "小红", "小华", "小刚", "小丽", "小军", "小芳")


def draft_word_add(rng: random.Random) -> Draft:
    """A two-step-free addition word problem in natural Chinese with one carry. Forgetting
    the carry is ten short, which the numeric grader names ``off_by_ten``."""
    pattern, unit, thing = rng.choice(WORD_SCENES)
    who = rng.choice(_NAMES)
    a, b = two_digit_one_carry(rng)
    s, wrong = a + b, add_without_carry(a, b)
    stem = pattern.format(who=who, a=a, b=b)
    explanation = (
        f"求一共有多少，把两部分合起来，用加法：{a} + {b} = {s}"
        f"（个位 {a % 10} + {b % 10} = {a % 10 + b % 10}，满十向十位进 1）。"
        f"答：一共有 {s} {unit}{thing}。常见错误：忘记进位，算成 {wrong} {unit}。"
    )
    return Draft(stem, ("+", str(a), str(b)), Fraction(s), f"{s}{unit}", f"{wrong}{unit}",
                 CauseCode.OFF_BY_TEN, explanation, unit=unit)


def _order_form(rng: random.Random) -> tuple[str, Formula, Fraction, Fraction, str, str]:
    """One mixed-operation item: (stem, formula, value, left-to-right value, steps, slip)."""
    form = rng.randrange(4)
    b, c = rng.randint(2, 9), rng.randint(2, 9)
    if form == 0:  # a + b × c
        a = rng.randint(10, 60)
        steps = f"先算乘法，再算加法：{b} × {c} = {b * c}，{a} + {b * c} = {a + b * c}"
        return (f"{a} + {b} × {c} =", ("+", str(a), ("*", str(b), str(c))),
                Fraction(a + b * c), Fraction((a + b) * c), steps,
                f"从左往右算成 ({a} + {b}) × {c} = {(a + b) * c}")
    if form == 1:  # a - b × c
        a = rng.randint(b * c + 1, b * c + 60)
        steps = f"先算乘法，再算减法：{b} × {c} = {b * c}，{a} - {b * c} = {a - b * c}"
        return (f"{a} - {b} × {c} =", ("-", str(a), ("*", str(b), str(c))),
                Fraction(a - b * c), Fraction((a - b) * c), steps,
                f"从左往右算成 ({a} - {b}) × {c} = {(a - b) * c}")
    if form == 2:  # a + b ÷ c with b a multiple of c
        a, q = rng.randint(10, 60), rng.randint(2, 9)
        b = c * q
        steps = f"先算除法，再算加法：{b} ÷ {c} = {q}，{a} + {q} = {a + q}"
        return (f"{a} + {b} ÷ {c} =", ("+", str(a), ("/", str(b), str(c))),
                Fraction(a + q), Fraction(a + b, c), steps,
                f"从左往右算成 ({a} + {b}) ÷ {c} = {_fraction_text(Fraction(a + b, c))}")
    a = rng.randint(10, 40)  # (a + b) × c
    steps = f"先算括号里的加法：{a} + {b} = {a + b}，再算乘法：{a + b} × {c} = {(a + b) * c}"
    return (f"({a} + {b}) × {c} =", ("*", ("+", str(a), str(b)), str(c)),
            Fraction((a + b) * c), Fraction(a + b * c), steps,
            f"没有先算括号，算成 {a} + {b} × {c} = {a + b * c}")


def draft_order_of_operations(rng: random.Random) -> Draft:
    """Two-operation items where the order matters (``36 + 4 × 5``, ``(23 + 7) × 4``). The
    slip (left to right, or brackets ignored) has no cause code; the grader must say
    ``unknown`` for it, so the wrong answer is kept only when it is a whole number."""
    while True:
        stem, formula, value, slip, steps, slip_words = _order_form(rng)
        if slip.denominator == 1 and slip != value:
            break
    explanation = f"{steps}。所以 {stem} {_fraction_text(value)}。常见错误：{slip_words}。"
    return Draft(stem, formula, value, _fraction_text(value), _fraction_text(slip), None,
                 explanation)
