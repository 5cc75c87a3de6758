"""Column arithmetic items (竖式) on drill pages: operands stacked over a printed rule.

A column item prints the first operand, below it the operator and the second operand
(right-aligned), and a horizontal rule; the student writes the result under the rule.
There is no ``=`` to anchor on, so the rule is the anchor: long thin horizontal strokes
are found in the pixels, and an item is kept only when the two print rows just above the
rule read as ``digits`` over ``operator digits`` and parse as arithmetic. The answer area
is the band under the rule, as wide as the rule plus a margin (children's digits overhang
it). Name lines (``姓名：____``) and other rules have no such rows above them and are
ignored. Long division's layout is not recognised.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from ocr.drill.items import ItemLayout, LineChars
from ocr.reading.preprocess import ink_map, to_gray

__all__ = ["find_column_items", "find_rules", "line_height", "operator_glyph"]

Box = tuple[int, int, int, int]
_OPERATORS = "+-×"
# Printed digit cap height relative to the detector's box around a digit row.
_CAP_PER_BOX = 0.7


def line_height(lines: Sequence[LineChars]) -> float | None:
    """The median height of the detected lines holding a digit (the page's print scale for
    finding rules); None on a page with no such line."""
    boxes = [ln.box[3] - ln.box[1] for ln in lines if any(c.isdigit() for c in ln.chars)]
    return float(statistics.median(boxes)) if boxes else None


def find_rules(gray: np.ndarray, print_height: float) -> list[Box]:
    """Long, thin horizontal strokes: rules under column items (and name lines).

    Args:
        gray: The page in grayscale.
        print_height: Typical height of a detected print box in pixels.

    Returns:
        Bounding boxes ``(x0, y0, x1, y1)`` of strokes at least 1.6 print heights long
        and no thicker than a third of one (a 1.5° skew included).
    """
    # Darker than half the paper tone (``ink_map(gray) > 0.5``), the tone taken from a
    # histogram of every fourth pixel: this runs on whole pages, so each step is cheap.
    hist = np.bincount(gray[::4, ::4].ravel(), minlength=256).cumsum()
    paper = float(np.searchsorted(hist, 0.75 * hist[-1]))
    dark = (gray < 0.5 * paper).astype(np.uint8)
    # A thin rule on a skewed page is a staircase whose rows hold only part of it each,
    # and copier noise breaks them further: joining every three rows first keeps its runs
    # long. Eroding with a horizontal bar then keeps only the middle of long runs and
    # drops digits, whose horizontal strokes are shorter; each surviving run is widened
    # back by half the bar afterwards.
    joined = cv2.dilate(dark, np.ones((3, 1), np.uint8))
    k = max(5, int(0.6 * print_height))
    cores = cv2.erode(joined, np.ones((1, k), np.uint8))
    contours, _ = cv2.findContours(cores, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    runs = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        runs.append([x - k // 2, y, x + w + k // 2, y + h])
    # On a skewed page a rule is a staircase of runs, each a step lower than the last:
    # widened back, neighbouring steps touch end to end; join them into one rule.
    runs.sort()
    merged: list[list[int]] = []
    for r in runs:
        for m in reversed(merged):
            if r[0] <= m[2] + 2 and r[1] <= m[3] + 2 and r[3] >= m[1] - 2:
                m[1], m[2], m[3] = min(m[1], r[1]), max(m[2], r[2]), max(m[3], r[3])
                break
        else:
            merged.append(r)
    out = []
    for x0, y0, x1, y1 in merged:
        w, h = x1 - x0, y1 - y0
        if w >= 1.6 * print_height and h <= 0.35 * print_height + 0.035 * w:
            out.append((max(0, x0), y0, min(gray.shape[1], x1), y1))
    return out


@dataclass
class _Row:
    """One print row above a rule: its characters left to right and its vertical span."""

    chars: list[tuple[str, float, float]]
    y0: int
    y1: int

    @property
    def text(self) -> str:
        return "".join(c for c, _, _ in self.chars)


def _rows_above(lines: Sequence[LineChars], rule: Box, print_height: float) -> list[_Row]:
    """The print rows just above the rule, over its span, lowest row first."""
    x0, y0, x1, _ = rule
    margin = 0.5 * print_height
    rows: list[_Row] = []
    for ln in sorted(lines, key=lambda ln: -(ln.box[1] + ln.box[3])):
        cy = (ln.box[1] + ln.box[3]) / 2
        if not (y0 - 3.5 * print_height < cy < y0) or ln.box[2] < x0 - margin \
                or ln.box[0] > x1 + margin:
            continue
        chars = [(c, x, p) for c, x, p in zip(ln.chars, ln.xs, ln.probs, strict=True)
                 if x0 - margin <= x <= x1 + margin]
        if rows and abs((rows[-1].y0 + rows[-1].y1) / 2 - cy) < 0.5 * print_height:
            row = rows[-1]
            row.chars = sorted(row.chars + chars, key=lambda t: t[1])
            row.y0, row.y1 = min(row.y0, ln.box[1]), max(row.y1, ln.box[3])
        else:
            rows.append(_Row(sorted(chars, key=lambda t: t[1]), ln.box[1], ln.box[3]))
    return [r for r in rows if r.chars]


def operator_glyph(gray: np.ndarray, box: Box) -> str:
    """Classify the one printed operator in ``box`` by its shape: ``-``, ``+``, ``×`` or "".

    A lone operator printed apart from its operand is often missed by the text detector
    or read as a look-alike (``十`` for ``+``); its shape decides it instead. A bar is
    much wider than tall (with dots over and under it, a division sign, which no column
    item here uses); a plus has its middle row inked end to end; a times sign crosses in
    the middle only.
    """
    x0, y0, x1, y1 = box
    crop = gray[max(0, y0):y1, max(0, x0):x1]
    if crop.size == 0:
        return ""
    dark = (ink_map(crop) > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    if n < 2:
        return ""
    k = 1 + int(np.argmax(stats[1:, 4]))
    x, y, w, h, area = stats[k]
    if area < 6:
        return ""
    if w >= 2.2 * h:
        # A bar with dots over and under it is a division sign, not a minus.
        dots = [j for j in range(1, n) if j != k and stats[j, 4] >= max(6, 0.1 * area)
                and x <= stats[j, 0] + stats[j, 2] / 2 <= x + w
                and (stats[j, 1] + stats[j, 3] <= y or stats[j, 1] >= y + h)]
        return "" if dots else "-"
    if h < 0.5 * w or h > 2.0 * w:
        return ""
    glyph = labels[y:y + h, x:x + w] == k
    middle = glyph[max(0, h // 2 - 1): h // 2 + 2].any(axis=0).mean()
    return "+" if middle > 0.8 else "×"


def _column_expression(
    gray: np.ndarray, rows: list[_Row], rule: Box, print_height: float
) -> tuple[str, str, float]:
    """(expression, raw reading, lowest character probability) of the two rows."""
    if len(rows) < 2:
        return "", "", 0.0
    lower, upper = rows[0], rows[1]
    top, bottom = upper.text, lower.text
    raw = f"{top} / {bottom}".replace("\x00", "?")
    probs = [p for _, _, p in upper.chars]
    operand = bottom.lstrip("\x00")
    first = next((x for c, x, _ in lower.chars if c.isdigit()), None)
    if first is None:
        return "", raw, 0.0
    # The detector's box of the row may reach down into the rule: stop above it.
    glyph_box = (int(rule[0] - 0.3 * print_height), lower.y0,
                 int(first - 0.45 * print_height), min(lower.y1, rule[1] - 1))
    pitch = _pitch((upper, lower), print_height)
    for k, (c, x, p) in enumerate(lower.chars):
        if k < len(bottom) - len(operand) and first - x >= 1.4 * pitch:
            # A look-alike read in the operator's place (``十`` for ``+``), printed apart
            # from the digits: the shape test below decides it, its reading says nothing.
            continue
        if k == len(bottom) - len(operand) and c in _OPERATORS and p < 0.95 \
                and operator_glyph(gray, glyph_box) == c:
            # A weakly read operator whose shape says the same: the two agree.
            p = 0.95
        probs.append(p)
    if operand[:1] not in _OPERATORS:
        # No operator read in front of the second operand: look at the pixels there.
        op = operator_glyph(gray, glyph_box)
        if not op:
            return "", raw, 0.0
        operand = op + operand
        # The shape test is sound but is no recogniser: leave room for review.
        probs.append(0.95)
    expr = top + operand
    if not top[:1].isdigit() or not all(c.isdigit() or c == "." for c in top):
        return "", raw, 0.0
    try:
        parse_arithmetic_stem(expr + "=")
    except ArithmeticStemError:
        return "", raw, 0.0
    return expr, raw, min(probs)


def _pitch(rows: Sequence[_Row], print_height: float) -> float:
    """The print's digit advance: the median distance between neighbouring digits' centres
    in the rows (0.5 print heights when no two digits stand side by side)."""
    gaps = [b[1] - a[1] for r in rows for a, b in itertools.pairwise(r.chars)
            if a[0].isdigit() and b[0].isdigit() and 0 < b[1] - a[1] < print_height]
    return float(statistics.median(gaps)) if gaps else 0.5 * print_height


def find_column_items(
    page: np.ndarray, lines: Sequence[LineChars], *, answer_height: float = 3.6
) -> list[ItemLayout]:
    """Locate column items: one per rule with ``digits`` over ``operator digits`` above it.

    Args:
        page: The page (grayscale or BGR).
        lines: Every detected box read with positions (``ExpressionReader.read``).
        answer_height: Depth of the answer area under the rule, in printed digit heights
            (handwriting is about twice the print's height and starts a little below
            the rule).

    Returns:
        The column items found (an empty list on a page without any).
    """
    print_height = line_height(lines)
    if print_height is None:
        return []
    gray = to_gray(page)
    height, width = gray.shape
    found = []
    for rule in find_rules(gray, print_height):
        rows = _rows_above(lines, rule, print_height)
        expr, raw, conf = _column_expression(gray, rows, rule, print_height)
        if not expr:
            continue
        x0, _, x1, y1 = rule
        ch = _CAP_PER_BOX * print_height
        top = rows[1].y0
        pad = int(0.6 * print_height)
        found.append(
            ItemLayout(
                expression=expr,
                raw=raw,
                expression_confidence=conf,
                expression_box=(x0, max(0, top), x1, y1),
                result_box=(
                    max(0, x0 - pad), min(height, y1 + 1), min(width, x1 + pad),
                    int(min(height, y1 + 1 + answer_height * ch)),
                ),
                char_height=ch,
            )
        )
    return found
