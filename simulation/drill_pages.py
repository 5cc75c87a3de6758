"""Synthetic free-form arithmetic drill pages (口算) filled with real handwriting.

A page has a Chinese title and a name line, then a grid (3-4 columns × 8-10 rows) of
printed expressions (``37 + 48 =``, ``6 × 7 =``, ``56 ÷ 8 =``, ``17 ÷ 5 =``, decimals and
like-denominator fractions) in the CJK TrueType font the PDFs embed (found through
``errorbook.printing.fonts``). Answers are written by hand with glyphs of one split of the real
handwriting sets (``simulation.handwriting``'s ink layer): mostly right, some wrong in the usual
ways, some left blank; a remainder answer is written ``3......2`` (six dots). The page is
then skewed, blurred, noised, JPEG-compressed and sometimes binarised like a copier scan
(``simulation.pages.degrade_page``), and every printed/written thing is kept as truth,
with boxes mapped through the same skew. For tests and benchmarks only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.fonts import find_cjk_font
from grading.arithmetic_stem import parse_arithmetic_stem
from simulation.handwriting import GlyphBank
from simulation.handwriting import _ink_layer as ink_layer
from simulation.pages import FillOptions, degrade_page

__all__ = [
    "DrillPage",
    "DrillPageOptions",
    "DrillTruth",
    "make_drill_page",
    "random_column_item",
    "random_item",
    "random_long_division",
    "working_rows",
]

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class DrillTruth:
    """One printed item and what the student wrote.

    Attributes:
        stem: The printed text (``37 + 48 =``).
        expression: The expression as the reader spells it (``37+48``, ``6×7``).
        key: The right answer (``85``, ``3……2``, ``3/4``).
        written: What was written (``""`` for blank; remainders as ``3……2``).
        correct: Whether ``written`` is right.
        box: The expression's box on the scan (pixels, after the skew).
        answer_box: Where the answer was (or would have been) written, on the scan.
    """

    stem: str
    expression: str
    key: str
    written: str
    correct: bool
    box: Box
    answer_box: Box


@dataclass(frozen=True)
class DrillPage:
    """A filled, scanned drill page.

    Attributes:
        image: Grayscale uint8 scan.
        dpi: Its resolution.
        items: The truth of every item.
    """

    image: np.ndarray
    dpi: int
    items: tuple[DrillTruth, ...]


@dataclass(frozen=True)
class DrillPageOptions:
    """Sampling ranges for one page (millimetres at print scale).

    Attributes:
        dpi_choices: Scan resolutions to draw from.
        columns: Column-count range.
        rows: Row-count range.
        print_mm: Printed character height (cap height of digits).
        hand_mm: Handwritten digit height range.
        blank_prob: Chance an item is left blank.
        wrong_prob: Chance a written answer is wrong.
        rotation_deg: Largest page skew.
        layout: ``horizontal`` (``37 + 48 =`` items in a grid), ``vertical``
            (column arithmetic, 竖式: operands stacked right-aligned over a rule, the
            answer written under the rule) or ``long_division`` (除法竖式: the divisor left
            of a 厂-shaped bracket, the dividend under its rule; the quotient written above
            the rule, the working under the dividend, its last line the remainder). Long
            division is opt-in: the other layouts' pages are the same for a seed as before.
        student_no: Printed header asks for a 学号 and the child writes this number on
            its line; "" keeps the header without one (and the page exactly as before).
        name: The child writes this name on the 姓名 line (``simulation.names.write_name``:
            a Kai font with jitter, a synthetic stand-in far tidier than a child's hand).
        name_distort: How much the name's strokes are bent (``write_name``'s ``distort``).
    """

    dpi_choices: tuple[int, ...] = (200, 250, 300)
    columns: tuple[int, int] = (3, 4)
    rows: tuple[int, int] = (8, 10)
    print_mm: tuple[float, float] = (3.0, 3.8)
    hand_mm: tuple[float, float] = (4.5, 7.0)
    blank_prob: float = 0.1
    wrong_prob: float = 0.2
    rotation_deg: float = 1.5
    layout: Literal["horizontal", "vertical", "long_division"] = "horizontal"
    student_no: str = ""
    name: str = ""
    name_distort: float = 0.0


@lru_cache(maxsize=4)
def _font_path(configured: str | None) -> str:
    # Parsing a font collection to check it takes a moment: once per font per process.
    return str(find_cjk_font(configured))


def random_item(rng: np.random.Generator) -> str:
    """Draw one printed stem such as ``37 + 48 =``.

    Args:
        rng: Random generator.

    Returns:
        The printed stem, ending in ``=``.
    """
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    kind = rng.choice(
        ["add", "sub", "mul", "div", "rem", "dec", "frac", "three"],
        p=[0.2, 0.18, 0.17, 0.12, 0.12, 0.08, 0.05, 0.08],
    )
    if kind == "add":
        return f"{r(10, 89)} + {r(5, 99)} ="
    if kind == "sub":
        a = r(20, 99)
        return f"{a} - {r(1, a)} ="
    if kind == "mul":
        return f"{r(2, 9)} × {r(2, 12)} ="
    if kind == "div":
        b = r(2, 9)
        return f"{b * r(2, 9)} ÷ {b} ="
    if kind == "rem":
        b = r(3, 9)
        return f"{b * r(2, 9) + r(1, b - 1)} ÷ {b} ="
    if kind == "dec":
        return f"{r(1, 9)}.{r(1, 9)} + {r(1, 9)}.{r(1, 9)} ="
    if kind == "frac":
        d = r(5, 9)
        a = r(1, d - 2)
        return f"{a}/{d} + {r(1, d - a - 1)}/{d} ="
    return f"{r(10, 50)} + {r(10, 40)} - {r(5, 20)} ="


def random_column_item(rng: np.random.Generator) -> tuple[str, str, str]:
    """Draw one column-arithmetic item: (top operand, operator, bottom operand).

    Args:
        rng: Random generator.

    Returns:
        Addition and subtraction of two- and three-digit numbers, or a two- or
        three-digit number times one digit (long division is not drawn: its layout is a
        different thing altogether).
    """
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    kind = rng.choice(["add", "sub", "mul"], p=[0.4, 0.35, 0.25])
    if kind == "add":
        return str(r(10, 899)), "+", str(r(10, 899))
    if kind == "sub":
        a = r(30, 999)
        return str(a), "-", str(r(10, a - 1))
    return str(r(12, 399)), "×", str(r(2, 9))


def random_long_division(rng: np.random.Generator) -> tuple[int, int]:
    """Draw one long-division item: (dividend, divisor).

    Args:
        rng: Random generator.

    Returns:
        A two- or three-digit dividend (a one-digit divisor; one item in six a two-digit
        one, as grade 4 sheets have) whose quotient has two or three digits; half of them
        leave a remainder.
    """
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    divisor = r(12, 39) if rng.random() < 1 / 6 else r(2, 9)
    quotient = r(10, 999 // divisor - 1)
    rest = r(1, divisor - 1) if rng.random() < 0.5 else 0
    return divisor * quotient + rest, divisor


def working_rows(dividend: str, divisor: int) -> list[tuple[str, int, bool]]:
    """The working a child writes under a long division, as Chinese schools teach it.

    Each quotient digit's partial product goes under the dividend digits it was taken
    from, with a rule under it; the difference with the next dividend digit brought down
    is the next line. A quotient digit 0 writes no product (the next digit is brought down
    at once). The last line is the remainder (``0`` when it comes out even).

    Args:
        dividend: The printed dividend's digits.
        divisor: The divisor.

    Returns:
        ``(text, index of the dividend digit its last digit stands under, rule under it)``
        per line, top to bottom.
    """
    rows: list[tuple[str, int, bool]] = []
    cur, first, last = 0, True, len(dividend) - 1
    for i, ch in enumerate(dividend):
        cur = cur * 10 + int(ch)
        if cur < divisor and i < last:
            continue
        if cur < divisor:
            rows.append((str(cur), i, False))
            return rows
        if not first:
            rows.append((str(cur), i, False))
        first = False
        product = cur // divisor * divisor
        rows.append((str(product), i, True))
        cur -= product
    rows.append((str(cur), last, False))
    return rows


def _wrong(key: str, rng: np.random.Generator) -> str:
    if "……" in key:
        q, rem = key.split("……")
        return f"{q}……{int(rem) + 1}" if rng.random() < 0.5 else f"{int(q) + 1}……{rem}"
    if "/" in key:
        n, d = key.split("/")
        return f"{int(n) + 1}/{d}"
    if "." in key:
        whole, frac = key.split(".")
        return f"{whole}.{(int(frac[0]) + 1) % 10 or 1}"
    value = int(key)
    options = [value + 1, value - 1, value + 10, abs(value - 10)]
    if value >= 10:
        options.append(int(str(value)[::-1]))
    choices = [v for v in options if v != value and v >= 0]
    return str(choices[int(rng.integers(len(choices)))])


def _key(stem: str) -> tuple[str, str]:
    expr = stem.removesuffix("=").replace(" ", "")
    parsed = parse_arithmetic_stem(stem)
    if parsed.operator == "÷" and parsed.value.denominator != 1:
        parsed = parse_arithmetic_stem(stem + " ……")
    return expr, parsed.answer_text()


def make_drill_page(
    bank: GlyphBank, rng: np.random.Generator, options: DrillPageOptions | None = None,
    *, font: str | Path | None = None,
) -> DrillPage:
    """Render, fill and scan one drill page.

    Args:
        bank: Handwriting glyphs (its split decides train/calib/test data).
        rng: The only source of randomness.
        options: Sampling ranges.
        font: The CJK TrueType file to print with; None: the first system font in
            ``errorbook.printing.fonts.FONT_CANDIDATES``.

    Returns:
        The scan and the truth of every item.
    """
    o = options or DrillPageOptions()
    dpi = int(rng.choice(o.dpi_choices))
    mm = dpi / 25.4
    w, h = int(210 * mm), int(297 * mm)
    canvas = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(canvas)
    # Digit cap height is ~0.72 of the font size in WenQuanYi.
    size = int(rng.uniform(*o.print_mm) * mm / 0.72)
    font_file = _font_path(str(font) if font is not None else None)
    text_font = ImageFont.truetype(font_file, size)
    title = ImageFont.truetype(font_file, int(size * 1.5))
    draw.text((int(70 * mm), int(15 * mm)), "口算练习（二）", font=title, fill=0)
    header = "姓名：________  班级：______  用时：____分钟"
    if o.student_no or o.name:
        header = "姓名：____________  学号：______________  用时：____分钟"
    draw.text((int(18 * mm), int(30 * mm)), header, font=text_font, fill=0)
    divisions: dict[int, _LongDivision] = {}
    if o.layout == "vertical":
        plan = _plan_vertical(draw, text_font, rng, mm)
    elif o.layout == "long_division":
        plan, divisions = _plan_long_division(draw, text_font, rng, mm)
    else:
        plan = _plan_horizontal(draw, text_font, rng, o, mm)
    page = np.asarray(canvas, np.float32) / 255.0 * rng.uniform(0.92, 1.0)
    filled = []
    for n, (stem, expr, key, bbox, abox, place) in enumerate(plan):
        roll = rng.random()
        if roll < o.blank_prob:
            written = ""
        elif roll < o.blank_prob + o.wrong_prob:
            written = _wrong(key, rng)
        else:
            written = key
        if written and n in divisions:
            _write_long_division(page, bank, written, divisions[n],
                                 rng.uniform(*o.hand_mm) * mm, rng, mm)
        elif written:
            hand = rng.uniform(*o.hand_mm) * mm
            ink = ink_layer(bank, written.replace("……", "......"), hand, rng)
            _write(page, ink, abox, bbox, place, rng, mm)
        filled.append((stem, expr, key, written, bbox, abox))
    if o.name:
        from simulation.names import write_name

        x = 18 * mm + draw.textlength("姓名：", font=text_font)
        line_y = 30 * mm + size * 0.8
        nbox = (x, line_y - 7 * mm, x + draw.textlength("____________", font=text_font),
                line_y + 0.5 * mm)
        layer = np.full(page.shape, 255, np.uint8)
        px_per_pt = dpi / 72
        x0, y0, x1, y1 = (v / px_per_pt for v in nbox)
        write_name(layer, px_per_pt, (x0, y0, x1, y1), o.name, rng, distort=o.name_distort)
        page *= layer.astype(np.float32) / 255.0
    if o.student_no:
        # On the 学号 line, a little above it, as a child writes on a rule.
        x = int(18 * mm + draw.textlength(header.split("学号：")[0] + "学号：", font=text_font))
        line_y = int(30 * mm + size * 0.8)
        ink = ink_layer(bank, o.student_no, rng.uniform(*o.hand_mm) * mm, rng)
        nbox = (x, line_y - int(3 * mm),
                x + int(draw.textlength("______________", font=text_font)),
                line_y + int(2 * mm))
        _write(page, ink, nbox, nbox, ("after", 0, 0), rng, mm)
    angle = rng.uniform(-o.rotation_deg, o.rotation_deg)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    page = np.asarray(
        cv2.warpAffine(page, m, (w, h), borderValue=float(page[5, 5]), flags=cv2.INTER_LINEAR),
        np.float32,
    )
    scan = degrade_page(page, rng, FillOptions(rotation_deg=0.0))
    items = tuple(
        DrillTruth(stem, expr, key, written, written == key, _warp(bbox, m), _warp(abox, m))
        for stem, expr, key, written, bbox, abox in filled
    )
    return DrillPage(scan, dpi, items)


# Where an answer is written: ("after", 0, 0) right of a horizontal item's "=", centred on
# its print line; ("under", right, top) right-aligned under a column item's rule.
Place = tuple[str, int, int]
Plan = list[tuple[str, str, str, Box, Box, Place]]


def _plan_horizontal(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, rng: np.random.Generator,
    o: DrillPageOptions, mm: float,
) -> Plan:
    cols = int(rng.integers(o.columns[0], o.columns[1] + 1))
    rows = int(rng.integers(o.rows[0], o.rows[1] + 1))
    col_w = 180 * mm / cols
    row_h = 230 * mm / rows
    plan: Plan = []
    for r in range(rows):
        for c in range(cols):
            stem = random_item(rng)
            expr, key = _key(stem)
            x = int(15 * mm + c * col_w + rng.uniform(0, 3) * mm)
            y = int(48 * mm + r * row_h)
            draw.text((x, y), stem, font=font, fill=0)
            tb = draw.textbbox((x, y), stem, font=font)
            bbox = (int(tb[0]), int(tb[1]), int(tb[2]), int(tb[3]))
            abox = (bbox[2], bbox[1], int(15 * mm + (c + 1) * col_w - 6 * mm), bbox[3])
            plan.append((stem, expr, key, bbox, abox, ("after", 0, 0)))
    return plan


def _plan_vertical(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, rng: np.random.Generator,
    mm: float,
) -> Plan:
    """Column items (竖式): top operand, operator and bottom operand right-aligned, a rule."""
    cols = int(rng.integers(4, 6))
    rows = int(rng.integers(4, 6))
    col_w = 180 * mm / cols
    row_h = 230 * mm / rows
    size = font.size
    digit_w = draw.textlength("0", font=font)
    plan: Plan = []
    for r in range(rows):
        for c in range(cols):
            top, op, bottom = random_column_item(rng)
            stem = f"{top} {op} {bottom} ="
            expr, key = _key(stem)
            right = int(15 * mm + c * col_w + 0.55 * col_w + rng.uniform(-2, 2) * mm)
            y = int(48 * mm + r * row_h)
            line = int(size * rng.uniform(1.3, 1.6))
            # Operands right-aligned; the operator one digit-width left of the longer one.
            width = max(len(top), len(bottom), len(key)) * digit_w
            op_x = int(right - width - 1.6 * digit_w)
            draw.text((right, y), top, font=font, fill=0, anchor="ra")
            draw.text((op_x, y + line), op, font=font, fill=0, anchor="la")
            draw.text((right, y + line), bottom, font=font, fill=0, anchor="ra")
            rule_y = int(y + line + size * rng.uniform(1.15, 1.35))
            x0, x1 = int(op_x - 0.4 * digit_w), int(right + 0.6 * digit_w)
            thick = max(2, int(0.25 * mm))
            draw.rectangle((x0, rule_y, x1, rule_y + thick - 1), fill=0)
            tb = draw.textbbox((right, y), top, font=font, anchor="ra")
            bbox = (x0, int(tb[1]), x1, rule_y + thick)
            abox = (x0, rule_y + thick, x1, int(rule_y + thick + 2.6 * size))
            plan.append((stem, expr, key, bbox, abox, ("under", x1, rule_y + thick)))
    return plan


@dataclass(frozen=True)
class _LongDivision:
    """Where a long division's handwriting goes (page pixels before the skew).

    Attributes:
        dividend: The printed dividend's digits.
        divisor: The divisor.
        right: Right edge of the dividend's last digit.
        pitch: One printed digit's advance.
        rule_y: Top of the bracket's rule.
        below: Bottom of the printed dividend.
    """

    dividend: str
    divisor: int
    right: float
    pitch: float
    rule_y: int
    below: int


def _plan_long_division(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, rng: np.random.Generator,
    mm: float,
) -> tuple[Plan, dict[int, _LongDivision]]:
    """Long divisions (除法竖式): ``divisor )‾dividend‾`` under a 厂-shaped bracket.

    The bracket is a rule over the dividend whose left end turns down into a stroke curved
    like ``)``, the divisor printed left of it; room is left above the rule for the
    quotient and below the dividend for the working.
    """
    cols = int(rng.integers(3, 5))
    rows = 3
    col_w = 180 * mm / cols
    row_h = 230 * mm / rows
    size = font.size
    digit_w = draw.textlength("0", font=font)
    thick = max(2, int(0.25 * mm))
    plan: Plan = []
    divisions: dict[int, _LongDivision] = {}
    for r in range(rows):
        for c in range(cols):
            dividend, divisor = random_long_division(rng)
            stem = f"{dividend} ÷ {divisor} ="
            expr, key = _key(stem)
            left = 15 * mm + c * col_w + rng.uniform(1, 5) * mm
            hook = left + draw.textlength(str(divisor), font=font) + 0.5 * digit_w
            # Room for the quotient (a child's digits are about twice the print) above.
            rule_y = int(48 * mm + r * row_h + rng.uniform(9, 12) * mm)
            text_x = hook + 0.75 * digit_w
            text_y = rule_y + thick + size * rng.uniform(0.25, 0.4)
            digits = str(dividend)
            right = text_x + draw.textlength(digits, font=font)
            end = int(right + 0.6 * digit_w)
            draw.text((int(text_x), int(text_y)), digits, font=font, fill=0)
            draw.text((int(hook - 0.3 * digit_w), int(text_y)), str(divisor), font=font,
                      fill=0, anchor="ra")
            draw.rectangle((int(hook), rule_y, end, rule_y + thick - 1), fill=0)
            # The bracket's left stroke: from the rule's end down past the dividend,
            # bulging right a little as ")" does.
            depth = size * rng.uniform(1.1, 1.35)
            t = np.linspace(0.0, 1.0, 12)
            pts = [(float(hook + 0.3 * digit_w * np.sin(np.pi * v) - 0.1 * digit_w * v),
                    float(rule_y + v * depth)) for v in t]
            draw.line(pts, fill=0, width=thick)
            tb = draw.textbbox((int(text_x), int(text_y)), digits, font=font)
            db = draw.textbbox((int(hook - 0.3 * digit_w), int(text_y)), str(divisor),
                               font=font, anchor="ra")
            below = int(max(tb[3], rule_y + depth))
            bbox = (int(db[0]), rule_y, end, below)
            # The quotient is right-aligned over the dividend; a child's large digits
            # overhang the bracket on the left.
            abox = (int(hook - 1.5 * size), int(rule_y - 2.6 * size), end, rule_y)
            divisions[len(plan)] = _LongDivision(digits, divisor, right, digit_w, rule_y,
                                                 int(tb[3]))
            plan.append((stem, expr, key, bbox, abox, ("above", end, rule_y)))
    return plan, divisions


def _write_long_division(page: np.ndarray, bank: GlyphBank, written: str, d: _LongDivision,
                         hand: float, rng: np.random.Generator, mm: float) -> None:
    """Write a long division's quotient above the rule and its working under the dividend.

    The quotient's last digit stands over the dividend's last digit; the working's lines
    are right-aligned under the dividend digits they belong to (``working_rows``), a
    little smaller than the quotient, with a hand-drawn rule under each partial product;
    the last line is the written remainder (``0`` when none is written).
    """
    quotient, _, remainder = written.partition("……")
    ink = _trimmed(ink_layer(bank, quotient, hand, rng))
    x1 = int(d.right + rng.uniform(-0.25, 0.15) * d.pitch)
    y1 = int(d.rule_y - rng.uniform(0.6, 1.8) * mm)
    _darken(page, ink, x1 - ink.shape[1], y1 - ink.shape[0], rng)
    rows = working_rows(d.dividend, d.divisor)
    rows[-1] = (remainder or "0", rows[-1][1], False)
    small = hand * rng.uniform(0.7, 0.85)
    y = d.below + rng.uniform(1.2, 2.5) * mm
    last = len(d.dividend) - 1
    for text, at, rule in rows:
        ink = _trimmed(ink_layer(bank, text, small, rng))
        x1 = int(d.right - (last - at) * d.pitch + rng.uniform(-0.3, 0.1) * d.pitch)
        _darken(page, ink, x1 - ink.shape[1], int(y), rng)
        y += ink.shape[0] + rng.uniform(0.6, 1.2) * mm
        if rule:
            # A pencil rule under the product, at least two digits wide, a little slanted.
            x0 = int(min(x1 - ink.shape[1], x1 - 2 * d.pitch) - rng.uniform(0.5, 2.0) * mm)
            xe = int(x1 + rng.uniform(0.5, 2.0) * mm)
            layer = np.zeros(page.shape, np.float32)
            cv2.line(layer, (x0, int(y)), (xe, int(y + rng.uniform(-0.6, 0.6) * mm)), 1.0,
                     max(1, int(rng.uniform(0.15, 0.3) * mm)), cv2.LINE_AA)
            page *= 1.0 - rng.uniform(0.6, 0.95) * layer
            y += rng.uniform(1.0, 2.0) * mm


def _trimmed(ink: np.ndarray) -> np.ndarray:
    """The ink layer cut to its strokes (``ink_layer`` pads its right and bottom)."""
    ys, xs = np.nonzero(ink > 0.05)
    if not len(ys):
        return ink
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _darken(page: np.ndarray, ink: np.ndarray, x: int, y: int, rng: np.random.Generator) -> None:
    """Darken ``page`` with ``ink`` whose top-left corner is at ``(x, y)``."""
    x, y = max(0, x), max(0, y)
    region = page[y : y + ink.shape[0], x : x + ink.shape[1]]
    dark = rng.uniform(0.35, 0.6) if rng.random() < 0.2 else rng.uniform(0.75, 1.0)
    region *= 1.0 - dark * ink[: region.shape[0], : region.shape[1]]


def _write(page: np.ndarray, ink: np.ndarray, abox: Box, bbox: Box, place: Place,
           rng: np.random.Generator, mm: float) -> None:
    """Darken ``page`` with one handwritten answer where a child would write it."""
    if place[0] == "after":
        ax = int(abox[0] + rng.uniform(1.5, 4.0) * mm)
        room = abox[2] - ax
    else:
        room = abox[2] - abox[0]
    if ink.shape[1] > room:
        # Children write smaller when the space runs out; they do not cut digits.
        ink = cv2.resize(ink, None, fx=room / ink.shape[1], fy=room / ink.shape[1],
                         interpolation=cv2.INTER_AREA)
    if place[0] == "after":
        cy = (bbox[1] + bbox[3]) / 2 + rng.normal(0, 0.6) * mm
        ay = int(cy - ink.shape[0] * 0.55)
    else:
        # Right-aligned under the rule, as the column sum is written.
        ax = int(place[1] - ink.shape[1] - rng.uniform(0.3, 2.0) * mm)
        ay = int(place[2] + rng.uniform(0.8, 2.5) * mm)
    region = page[ay : ay + ink.shape[0], ax : ax + ink.shape[1]]
    dark = rng.uniform(0.35, 0.6) if rng.random() < 0.2 else rng.uniform(0.75, 1.0)
    region *= 1.0 - dark * ink[: region.shape[0], : region.shape[1]]


def _warp(box: tuple[int, ...], m: np.ndarray) -> Box:
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64) @ m.T
    return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max()))
