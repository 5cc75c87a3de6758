"""Maths signs as a textbook prints them: ×, ÷, the minus sign and the comparison circle.

Question banks are typed on keyboards, so stems arrive as ``6 * 8``, ``72 - 29`` and
``3/7（ ）5/7``. A grade-3 textbook prints ``6 × 8``, ``72 − 29`` (a minus sign, longer than
a hyphen) and, for "fill in >, < or =", a circle between the two sides: ``3/7 ○ 5/7``.
:func:`typeset_math` rewrites only what it is sure of; fractions are stacked later by the
text layout (:mod:`errorbook.printing.book.text`). It is idempotent, so text typeset once
can be measured and drawn again without changing.
"""

from __future__ import annotations

import re

__all__ = ["COMPARISON_CIRCLE", "is_comparison", "typeset_math"]

COMPARISON_CIRCLE = "○"
MINUS = "\u2212"

# "*" between two operands (digits, letters, brackets), spaces allowed around it.
_TIMES = re.compile(r"(?<=[\w)）])(\s*)\*(\s*)(?=[\w(（])")
# A hyphen used as a minus: after a digit, a closing bracket, "=" or the start of a term,
# before a digit, a letter or an opening bracket. Words such as "T-shirt" keep theirs.
_MINUS = re.compile(r"(?:(?<=[\d)）=＝])|(?<=[\d)）=＝] )|(?<=^)|(?<=[\s(（]))-(?=\s?[\w(（])")
# "Fill in >, < or =" (填上“>”“<”或“=”), ASCII or full-width signs, in any quoting.
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_COMPARE = re.compile(r"[>\uff1e].{0,4}[<\uff1c].{0,5}[=\uff1d]")
_EMPTY_BRACKETS = re.compile(r"\s*(?:（\s*）|\(\s*\))\s*")


def is_comparison(text: str) -> bool:
    """Whether ``text`` asks to fill in ``>``, ``<`` or ``=``."""
    return bool(_COMPARE.search(text))


def typeset_math(text: str) -> str:
    """``text`` with maths signs as printed: ``*`` → ``×``, a hyphen used as a minus →
    ``−``, and in a comparison question the empty brackets between the two sides → ``○``
    (and "在括号里" → "在○里", so the instruction names what is printed).

    Args:
        text: a stem, an option or an answer as typed in the bank.

    Returns:
        The text to print (unchanged when nothing is sure to be maths).
    """
    out = _TIMES.sub(lambda m: f"{m.group(1) or ' '}×{m.group(2) or ' '}", text)
    dates = [m.span() for m in _DATE.finditer(out)]  # 2026-01-05 keeps its hyphens
    out = _MINUS.sub(lambda m: m.group(0) if any(a <= m.start() < b for a, b in dates)
                     else MINUS, out)
    if is_comparison(out):
        head, sep, tail = out.rpartition("：") if "：" in out else ("", "", out)
        tail = _EMPTY_BRACKETS.sub(f" {COMPARISON_CIRCLE} ", tail).strip()
        head = head.replace("在括号里", f"在{COMPARISON_CIRCLE}里")
        out = f"{head}{sep}{tail}"
    return out
