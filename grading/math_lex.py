"""The tokenizer of the safe maths parser: an allow-list from characters to tokens.

Tokens are numbers (``"12"``, ``"1.5"``), variables (``"$x"``), words (``sqrt``, ``pi``,
``oo``, ``or``) and operator symbols. Anything outside the allow-list raises
:class:`MathParseError`; nothing is ever evaluated.
"""

from __future__ import annotations

import re

from grading.textnorm import to_halfwidth

__all__ = ["FUNCS", "MAX_NUMBER_DIGITS", "MAX_TOKENS", "RELOPS", "MathParseError", "tokenize"]

MAX_TOKENS = 200
MAX_NUMBER_DIGITS = 15

FUNCS = ("sqrt", "sin", "cos", "tan", "ln", "log", "abs")
_WORDS = (*FUNCS, "pi", "oo", "inf")
_WORDS_LONGEST_FIRST = sorted(_WORDS, key=len, reverse=True)
_LATEX = {
    "frac": "frac",
    "dfrac": "frac",
    "tfrac": "frac",
    "sqrt": "sqrt",
    "cdot": "*",
    "times": "*",
    "div": "/",
    "le": "<=",
    "leq": "<=",
    "leqslant": "<=",
    "ge": ">=",
    "geq": ">=",
    "geqslant": ">=",
    "ne": "!=",
    "neq": "!=",
    "infty": "oo",
    "pi": "pi",
    "cup": "∪",
    "in": "∈",
    "left": "",
    "right": "",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "ln": "ln",
    "log": "log",
    "lt": "<",
    "gt": ">",
}
_SYMBOLS = {
    "+": "+",
    "-": "-",
    "*": "*",
    "×": "*",
    "·": "*",
    "/": "/",
    "÷": "/",
    "^": "^",
    "(": "(",
    ")": ")",
    "[": "[",
    "]": "]",
    "{": "{",
    "}": "}",
    ",": ",",
    ";": ",",
    "=": "=",
    "<": "<",
    ">": ">",
    "≤": "<=",
    "≥": ">=",
    "≦": "<=",
    "≧": ">=",
    "≠": "!=",
    "∞": "oo",
    "π": "pi",
    "∪": "∪",
    "∈": "∈",
    "|": "|",
    "√": "sqrt",
    "或": "or",
}
_SUPERSCRIPTS = str.maketrans(
    {
        "⁰": "0",
        "¹": "1",
        "²": "2",
        "³": "3",
        "⁴": "4",
        "⁵": "5",
        "⁶": "6",
        "⁷": "7",
        "⁸": "8",
        "⁹": "9",
    }
)
_SUPER_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
RELOPS = ("=", "<", ">", "<=", ">=", "!=")


class MathParseError(ValueError):
    """The text is not a maths answer this parser accepts (says why)."""


def tokenize(text: str) -> list[str]:
    """Split a maths answer into allow-listed tokens.

    Args:
        text: the answer; superscript digits become powers, full-width forms are folded.

    Returns:
        The tokens (variables are prefixed ``$``).

    Raises:
        MathParseError: a character or command outside the allow-list, a number with too
            many digits, or more than ``MAX_TOKENS`` tokens.
    """
    # Superscript digits mean powers; NFKC would turn x² into x2, so convert them first.
    text = _SUPER_RUN.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPTS), text)
    text = to_halfwidth(text).replace("**", "^")
    for two, one in (("<=", "≤"), (">=", "≥"), ("!=", "≠")):
        text = text.replace(two, one)
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            m = re.match(r"\d*\.?\d+|\d+", text[i:])
            assert m is not None  # the branch condition guarantees a digit here
            if sum(c.isdigit() for c in m.group(0)) > MAX_NUMBER_DIGITS:
                raise MathParseError("a number is too long")
            tokens.append(m.group(0))
            i += len(m.group(0))
        elif ch == "\\":
            m = re.match(r"\\([a-zA-Z]+|[{}])", text[i:])
            if not m:
                raise MathParseError("a stray backslash")
            word = m.group(1)
            if word in "{}":
                tokens.append(word)
            elif word in _LATEX:
                if _LATEX[word]:
                    tokens.append(_LATEX[word])
            else:
                raise MathParseError(f"unsupported command \\{word}")
            i += len(m.group(0))
        elif ch.isascii() and ch.isalpha():
            m = re.match(r"[a-zA-Z]+", text[i:])
            assert m is not None
            tokens.extend(_split_letters(m.group(0)))
            i += len(m.group(0))
        elif ch in _SYMBOLS:
            tokens.append(_SYMBOLS[ch])
            i += 1
        else:
            raise MathParseError(f"unexpected character {ch!r}")
        if len(tokens) > MAX_TOKENS:
            raise MathParseError("the answer is too long")
    return tokens


def _split_letters(run: str) -> list[str]:
    """Split a run of letters into known words and single-letter variables (``2ab`` is
    ``2·a·b``). A letter directly followed by digits becomes a subscripted name later."""
    if run.lower() == "or":
        return ["or"]
    out: list[str] = []
    lower = run.lower()
    i = 0
    while i < len(run):
        word = next((w for w in _WORDS_LONGEST_FIRST if lower.startswith(w, i)), None)
        if word is not None:
            out.append("oo" if word == "inf" else word)
            i += len(word)
        else:
            out.append("$" + run[i])
            i += 1
    return out
