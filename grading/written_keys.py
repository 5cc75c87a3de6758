"""How a right answer looks on paper: the strings the reader verifies against the crop.

Grading a handwritten answer asks whether the child wrote the key. The reader can only
score strings it can write, so each answer box gets the key's written forms in the
numeric alphabet (``0-9 - . /``): an arithmetic item's result as a child writes it
(``85``, ``3/4``, ``2.5``; a quotient and a remainder in their own boxes), a numeric
question's value and its numeric alternatives. A form with a unit or a word (``150厘米``,
``八``) is left out: the numeric reader cannot write it, and the grader still judges
whatever was read. The strings only ever add evidence; they never decide a grade alone.
"""

from __future__ import annotations

import re
from typing import Any

from grading.arithmetic_stem import ArithmeticStemError, format_fraction, parse_arithmetic_stem
from grading.numbers import NumberParseError, parse_number

__all__ = ["MAX_FORMS", "written_keys"]

# What the numeric reader can write (ocr.reading.ctc's ``numeric`` alphabet).
_NUMERIC = re.compile(r"-?[0-9]+(\.[0-9]+)?|-?[0-9]+/[0-9]+")
# A key has few written forms; a bank entry listing dozens is not worth a reader pass each.
MAX_FORMS = 4


def _forms_of_value(text: str) -> list[str]:
    """``text`` if the reader can write it, and its plain decimal or fraction twin."""
    out = [text] if _NUMERIC.fullmatch(text) else []
    try:
        number = parse_number(text)
    except NumberParseError:
        return out
    if number.unit_text:
        return out
    for twin in (format_fraction(number.value), format_fraction(number.value, decimal=True)):
        if twin not in out and _NUMERIC.fullmatch(twin):
            out.append(twin)
    return out


def written_keys(question: Any, blank: int) -> tuple[str, ...]:
    """The written forms of the right answer in one answer box.

    Args:
        question: A bank question (``grading.questions``).
        blank: The box's number within the question (0 for a one-box answer).

    Returns:
        Up to :data:`MAX_FORMS` strings, most usual first; empty when the question's answer
        is not written in numerals (choices, text, expressions) or its key does not compute.
    """
    kind = getattr(question, "kind", None)
    forms: list[str] = []
    if kind == "arithmetic":
        try:
            stem = parse_arithmetic_stem(question.key.expression or question.stem)
        except ArithmeticStemError:
            return ()
        if stem.with_remainder:
            part = stem.quotient if blank == 0 else stem.remainder if blank == 1 else None
            forms = [str(part)] if part is not None else []
        elif blank == 0:
            first = stem.answer_text()
            # Fraction twins are always reduced, so the simplest-form rule accepts them.
            forms = [first] + [f for f in _forms_of_value(first) if f != first]
    elif kind == "numeric" and blank == 0:
        for text in (question.key.value, *question.key.alternatives):
            forms += [f for f in _forms_of_value(text) if f not in forms]
    return tuple(f for f in forms if _NUMERIC.fullmatch(f))[:MAX_FORMS]
