"""Parse and evaluate arithmetic-drill stems (口算) such as ``37 + 48 =`` or ``17 ÷ 5 = （ ）……（ ）``.

A tiny recursive-descent parser over exact fractions: no ``eval``, no sympy, bounded input,
so it is safe on OCR output and on anything a bank file contains. ``/`` is a fraction bar
and binds tighter than ``×`` and ``÷`` (``6 ÷ 1/2 = 12``), as in Chinese primary maths.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["ArithmeticStem", "ArithmeticStemError", "parse_arithmetic_stem"]

MAX_STEM_CHARS = 120
MAX_DIGITS = 12

_OPS = {"+": "+", "＋": "+", "-": "-", "－": "-", "−": "-", "×": "*", "*": "*", "x": "*",
        "X": "*", "·": "*", "÷": "÷", ":": "÷", "/": "/", "(": "(", ")": ")", "（": "(", "）": ")"}
_REMAINDER_MARKS = ("……", "…", "...", "余")
_TOKEN = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?|[+＋\-－−×*xX·÷:/()（）])")


class ArithmeticStemError(ValueError):
    """The stem is not a computable arithmetic item (says why, in plain words)."""


@dataclass(frozen=True)
class ArithmeticStem:
    """A parsed drill item.

    Attributes:
        expression: the normalised left-hand side, e.g. ``37+48``.
        value: its exact value.
        with_remainder: the item asks for quotient and remainder (``17 ÷ 5 = 3……2``).
        quotient, remainder: set when ``with_remainder``.
        operator: the top-level operator (``+ - * ÷``) of a two-operand item, else None.
        operands: the two operands of a two-operand item, else an empty tuple.
    """

    expression: str
    value: Fraction
    with_remainder: bool = False
    quotient: int | None = None
    remainder: int | None = None
    operator: str | None = None
    operands: tuple[Fraction, ...] = ()

    def answer_text(self) -> str:
        """The expected answer as a student would write it (``85``, ``3……2``, ``3/4``, ``2.5``)."""
        if self.with_remainder:
            return f"{self.quotient}……{self.remainder}"
        return format_fraction(self.value, decimal="." in self.expression)


def format_fraction(value: Fraction, *, decimal: bool = False) -> str:
    """Render an exact value: an integer, a decimal (when asked and terminating), or ``p/q``."""
    if value.denominator == 1:
        return str(value.numerator)
    if decimal:
        den = value.denominator
        for p in (2, 5):
            while den % p == 0:
                den //= p
        if den == 1:
            text = f"{float(value):.10f}".rstrip("0").rstrip(".")
            return text
    return f"{value.numerator}/{value.denominator}"


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            raise ArithmeticStemError(f"unexpected character '{text[pos]}' in '{text}'")
        tok = m.group(1)
        if tok[0].isdigit():
            if len(tok.replace(".", "")) > MAX_DIGITS:
                raise ArithmeticStemError(f"number '{tok}' is too long")
            tokens.append(tok)
        else:
            tokens.append(_OPS[tok])
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ArithmeticStemError("the expression ends too early")
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.fraction()
        while self.peek() in ("*", "÷"):
            op = self.take()
            rhs = self.fraction()
            if op == "*":
                value *= rhs
            else:
                if rhs == 0:
                    raise ArithmeticStemError("division by zero")
                value /= rhs
        return value

    def fraction(self) -> Fraction:
        value = self.atom()
        while self.peek() == "/":
            self.take()
            den = self.atom()
            if den == 0:
                raise ArithmeticStemError("a fraction with denominator 0")
            value /= den
        return value

    def atom(self) -> Fraction:
        tok = self.take()
        if tok == "(":
            value = self.expr()
            if self.take() != ")":
                raise ArithmeticStemError("unbalanced parentheses")
            return value
        if tok == "-":
            return -self.atom()
        if tok[0].isdigit():
            return Fraction(tok)
        raise ArithmeticStemError(f"expected a number, found '{tok}'")


def parse_arithmetic_stem(stem: str) -> ArithmeticStem:
    """Parse a drill stem and compute its answer.

    Args:
        stem: text such as ``37 + 48 =``, ``56 ÷ 8 = ( )``, ``17 ÷ 5 = （ ）……（ ）``.
            Everything after ``=`` is the answer area and is ignored except to spot a
            remainder item.

    Returns:
        The parsed item with its exact value.

    Raises:
        ArithmeticStemError: empty, too long, not arithmetic, or not computable.
    """
    # NFKC folds full-width digits and signs (１２＋３＝) typed with Chinese input methods.
    text = unicodedata.normalize("NFKC", stem).strip()
    if not text:
        raise ArithmeticStemError("the stem is empty")
    if len(text) > MAX_STEM_CHARS:
        raise ArithmeticStemError(f"the stem is longer than {MAX_STEM_CHARS} characters")
    lhs, eq, rhs = text.replace("＝", "=").partition("=")
    with_remainder = bool(eq) and any(mark in rhs for mark in _REMAINDER_MARKS)
    tokens = _tokenize(lhs)
    if not tokens:
        raise ArithmeticStemError("no expression before '='")
    parser = _Parser(tokens)
    value = parser.expr()
    if parser.peek() is not None:
        raise ArithmeticStemError(f"unexpected '{parser.peek()}' after the expression")
    if not any(t in ("+", "-", "*", "÷", "/") for t in tokens):
        raise ArithmeticStemError("the stem has no operation")
    operator: str | None = None
    operands: tuple[Fraction, ...] = ()
    if len(tokens) == 3 and tokens[1] in ("+", "-", "*", "÷"):
        operator = tokens[1]
        operands = (Fraction(tokens[0]), Fraction(tokens[2]))
    quotient = remainder = None
    if with_remainder:
        if operator != "÷" or any(o.denominator != 1 or o < 0 for o in operands):
            raise ArithmeticStemError("a remainder item must be 'a ÷ b' with whole numbers")
        quotient, remainder = divmod(int(operands[0]), int(operands[1]))
    return ArithmeticStem(
        expression="".join(tokens),
        value=value,
        with_remainder=with_remainder,
        quotient=quotient,
        remainder=remainder,
        operator=operator,
        operands=operands,
    )
