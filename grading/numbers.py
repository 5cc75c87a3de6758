"""Parse written numbers exactly: integers, decimals, fractions, mixed numbers, percentages,
thousands separators, and an optional unit with conversion between units of one dimension.

Values are ``fractions.Fraction`` so ``7/8`` and ``0.875`` compare exactly. Inputs are
bounded (length and digit count) and parsed by regular expressions without backtracking
blow-ups, so hostile OCR text costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Literal

from grading.textnorm import to_halfwidth

__all__ = [
    "NumberParseError",
    "ParsedNumber",
    "Unit",
    "lookup_unit",
    "parse_number",
    "units_named_in",
]

MAX_NUMBER_CHARS = 64
MAX_DIGITS = 30

NumberForm = Literal["integer", "decimal", "fraction", "mixed", "percent"]


class NumberParseError(ValueError):
    """The text is not a number this module understands (says why)."""


@dataclass(frozen=True)
class Unit:
    """A unit: its canonical name, its dimension, and its size in the dimension's base unit."""

    name: str
    dimension: str
    factor: Fraction


def _units() -> dict[str, tuple[Unit, ...]]:
    table: list[tuple[str, str, Fraction, tuple[str, ...]]] = [
        ("毫米", "length", Fraction(1, 1000), ("mm",)),
        ("厘米", "length", Fraction(1, 100), ("cm",)),
        ("分米", "length", Fraction(1, 10), ("dm",)),
        ("米", "length", Fraction(1), ("m",)),
        ("千米", "length", Fraction(1000), ("km", "公里")),
        ("平方毫米", "area", Fraction(1, 10**6), ("mm2", "mm²")),
        ("平方厘米", "area", Fraction(1, 10**4), ("cm2", "cm²")),
        ("平方分米", "area", Fraction(1, 100), ("dm2", "dm²")),
        ("平方米", "area", Fraction(1), ("m2", "m²")),
        ("公顷", "area", Fraction(10**4), ("ha",)),
        ("平方千米", "area", Fraction(10**6), ("km2", "km²")),
        ("立方厘米", "volume", Fraction(1, 10**6), ("cm3", "cm³")),
        ("立方分米", "volume", Fraction(1, 1000), ("dm3", "dm³")),
        ("立方米", "volume", Fraction(1), ("m3", "m³")),
        ("毫升", "volume", Fraction(1, 10**6), ("ml",)),
        ("升", "volume", Fraction(1, 1000), ("l",)),
        ("克", "mass", Fraction(1, 1000), ("g",)),
        ("千克", "mass", Fraction(1), ("kg", "公斤")),
        ("斤", "mass", Fraction(1, 2), ()),
        ("吨", "mass", Fraction(1000), ("t",)),
        ("秒", "time", Fraction(1), ("s",)),
        ("分钟", "time", Fraction(60), ("min",)),
        ("小时", "time", Fraction(3600), ("h", "时")),
        ("天", "time", Fraction(86400), ("日",)),
        ("元", "money", Fraction(1), ("块",)),
        ("角", "money", Fraction(1, 10), ("毛",)),
        ("分", "money", Fraction(1, 100), ()),
        ("度", "angle", Fraction(1), ("°",)),
    ]
    index: dict[str, tuple[Unit, ...]] = {}
    for name, dimension, factor, aliases in table:
        unit = Unit(name, dimension, factor)
        for spelling in (name, *aliases):
            index[spelling] = (*index.get(spelling, ()), unit)
    # "分" is also a minute; the key's unit decides which one a student meant.
    index["分"] = (*index["分"], Unit("分钟", "time", Fraction(60)))
    return index


_UNITS = _units()


def lookup_unit(text: str, *, prefer: Unit | None = None) -> Unit | None:
    """The unit spelled ``text``, or None when unknown.

    Args:
        text: a unit as written (``厘米``, ``cm``, ``公斤``); case-insensitive for Latin.
        prefer: resolve an ambiguous spelling (``分``) to this unit's dimension.

    Returns:
        The unit, or None.
    """
    candidates = _UNITS.get(text) or _UNITS.get(text.lower()) or ()
    if prefer is not None:
        for unit in candidates:
            if unit.dimension == prefer.dimension:
                return unit
    return candidates[0] if candidates else None


def units_named_in(text: str) -> list[Unit]:
    """The units a text (a stem such as ``1.5米 = （ ）厘米``) names, longest spelling first
    so ``厘米`` is not also read as ``米``; Latin spellings count only as whole words."""
    found: dict[str, Unit] = {}
    rest = text
    for spelling in sorted(_UNITS, key=len, reverse=True):
        if spelling.isascii():
            pattern = rf"(?<![A-Za-z]){re.escape(spelling)}(?![A-Za-z0-9²³])"
        else:
            pattern = re.escape(spelling)
        rest, hits = re.subn(pattern, "\0", rest)
        if hits:
            for unit in _UNITS[spelling]:
                found.setdefault(unit.name, unit)
    return list(found.values())


@dataclass(frozen=True)
class ParsedNumber:
    """A parsed number.

    Attributes:
        value: the exact value (a percentage is already divided by 100).
        form: how it was written.
        unit_text: the unit as written after the number, or None.
        simplest: False for a fraction (or mixed number's fraction part) that can still be
            reduced, or a mixed number whose fraction part is not proper.
        text: the normalised spelling, used for display and grouping.
    """

    value: Fraction
    form: NumberForm
    unit_text: str | None
    simplest: bool
    text: str


_SIGN = r"(?P<sign>[+-]?)"
_MIXED = re.compile(_SIGN + r"(?P<whole>\d+)(?:又|\s+|\+)(?P<num>\d+)/(?P<den>\d+)")
_FRACTION = re.compile(_SIGN + r"(?P<num>\d+)/(?P<den>\d+)")
_CN_FRACTION = re.compile(_SIGN + r"(?P<den>\d+)分之(?P<num>\d+)")
_LATEX_FRACTION = re.compile(_SIGN + r"\\d?frac\{(?P<num>\d+)\}\{(?P<den>\d+)\}")
_DECIMAL = re.compile(_SIGN + r"(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d+))?")
_SPLIT_UNIT = re.compile(r"^(?P<number>.*?[\d}%])\s*(?P<unit>[^\d\s%}.,/+\-]*)$")


def _digits_ok(text: str) -> None:
    if sum(c.isdigit() for c in text) > MAX_DIGITS:
        raise NumberParseError(f"more than {MAX_DIGITS} digits")


def _fraction(sign: str, num: str, den: str, form: NumberForm, whole: str = "") -> ParsedNumber:
    n, d = int(num), int(den)
    if d == 0:
        raise NumberParseError("a fraction with denominator 0")
    value = Fraction(n, d) + (int(whole) if whole else 0)
    simplest = gcd(n, d) == 1 and (not whole or n < d)
    if sign == "-":
        value = -value
    text = f"{sign if sign == '-' else ''}{whole + '又' if whole else ''}{n}/{d}"
    return ParsedNumber(value, form, None, simplest, text)


def _parse_bare(text: str) -> ParsedNumber:
    percent = text.endswith("%")
    body = text[:-1].strip() if percent else text
    patterns: tuple[tuple[re.Pattern[str], NumberForm], ...] = (
        (_MIXED, "mixed"),
        (_FRACTION, "fraction"),
        (_CN_FRACTION, "fraction"),
        (_LATEX_FRACTION, "fraction"),
    )
    for pattern, fraction_form in patterns:
        m = pattern.fullmatch(body)
        if m:
            if percent:
                raise NumberParseError("a percentage of a fraction")
            groups = m.groupdict()
            whole = groups.get("whole") or ""
            return _fraction(groups["sign"], groups["num"], groups["den"], fraction_form, whole)
    m = _DECIMAL.fullmatch(body)
    if not m or not (m["int"] or m["frac"]):
        raise NumberParseError(f"'{text}' is not a number")
    digits = m["int"].replace(",", "") or "0"
    frac = m["frac"] or ""
    value = Fraction(int(digits + frac), 10 ** len(frac))
    if m["sign"] == "-":
        value = -value
    form: NumberForm = "decimal" if frac else "integer"
    canonical = f"{'-' if m['sign'] == '-' else ''}{int(digits)}{'.' + frac if frac else ''}"
    if percent:
        return ParsedNumber(value / 100, "percent", None, True, canonical + "%")
    return ParsedNumber(value, form, None, True, canonical)


def parse_number(raw: str) -> ParsedNumber:
    """Parse a written number with an optional trailing unit.

    Accepts ``85``, ``-3``, ``0.875``, ``.5``, ``1,234``/``1，234``, ``7/8``, ``8分之7``,
    ``\\frac{7}{8}``, ``1又1/2``, ``1 1/2``, ``87.5%``, ``１５０厘米``, ``1.5 m``.

    Args:
        raw: the answer text (full-width forms allowed).

    Returns:
        The parsed number; ``unit_text`` is the unit as written (unknown units included,
        so the caller can judge them).

    Raises:
        NumberParseError: empty, too long, too many digits, or not a number.
    """
    text = to_halfwidth(raw).strip().replace("％", "%")
    if not text:
        raise NumberParseError("empty")
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberParseError(f"longer than {MAX_NUMBER_CHARS} characters")
    _digits_ok(text)
    text = re.sub(r"\s*/\s*", "/", text)
    m = _SPLIT_UNIT.match(text)
    if not m:
        raise NumberParseError(f"'{raw}' is not a number")
    number, unit = m["number"].strip(), m["unit"] or None
    parsed = _parse_bare(number)
    return ParsedNumber(
        parsed.value,
        parsed.form,
        unit,
        parsed.simplest,
        parsed.text + (unit or ""),
    )
