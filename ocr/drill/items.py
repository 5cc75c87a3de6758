"""Find arithmetic drill items (口算) on a page with no layout: printed ``a ○ b =`` anchors.

Every detected text line is read by the PP-OCR recogniser with the character positions its
CTC best path gives (frame ``t`` of ``T`` covers ``t/T`` of the crop's width). Each ``=``
anchors one item: the printed expression is the run of maths characters just left of it
(the longest suffix that parses as arithmetic), and the student's answer area starts right
of the ``=`` glyph (found in the pixels, so the CTC position's ±half-character error does
not leave a bar of the ``=`` in the answer crop) and ends before the next item's expression
on the same line. The answer area is cut from the page pixels, not from detected boxes:
a light pencil answer the detector missed is still read, and a blank one is still seen.

Expression decoding folds look-alike classes of the 18,710-character charset into one
maths symbol (``x X * ×`` are all "times"; ``－ − —`` are all "minus") and keeps a single
"other" column for everything else, so a Chinese title can never turn into an item.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import cv2
import numpy as np

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from ocr.drill.detect import TextBox
from ocr.drill.slash import no_hidden_slash
from ocr.reading.ctc import CTCMatrix, forced_log_prob, forced_log_probs
from ocr.reading.preprocess import ink_map, to_gray
from ocr.reading.recognize import PPOCRRecognizer, charset_from_session

__all__ = ["ExpressionReader", "ItemLayout", "LineChars", "find_items", "group_lines"]

Box = tuple[int, int, int, int]
# Canonical maths symbol -> the charset classes folded into it.
_FOLD: dict[str, str] = {
    **{d: d for d in "0123456789"},
    "+": "+＋",
    "-": "-−－—–",
    "×": "×xX*✕✖·",
    "÷": "÷",
    "=": "=＝",
    "(": "(（",
    ")": ")）",
    ".": ".",
    "/": "/",
}
_EXPR_CHARS = set("0123456789+-×÷()./")
_OPERATORS = "+-×÷"
# Widest gap between character centres inside an expression, in print heights.
_GAP = 2.0
# Half the height of a print re-read crop, in print heights (the print fills 62% of it:
# on calib pages 0.5 and 1.1 read fewer fraction expressions right than 0.8).
_PRINT_PAD = 0.8
_OTHER = "\x00"
# Confidence of an expression that an operator precedes (so it was cut short).
_TRUNCATED = 0.2
_MIDDLE_ONE = re.compile(r"[0-9]1[0-9]")


@dataclass(frozen=True)
class LineChars:
    """Characters read on one detected text box, with page x positions.

    Attributes:
        box: The text box in page pixels.
        chars: The decoded characters (``\\x00`` for a non-maths character).
        xs: Page x of each character's centre.
        probs: Best-path probability of each character.
        matrix: Log-probabilities over ``blank + maths symbols + other`` (masked
            decoding only), for scoring look-alike readings.
        prints: ``(index of a "=" in chars, the print left of it re-read)``: each
            printed expression read again from a crop cut to the print's own height
            (:meth:`ExpressionReader.read`); its ``box`` is that crop.
    """

    box: Box
    chars: str
    xs: tuple[float, ...]
    probs: tuple[float, ...]
    matrix: CTCMatrix | None = None
    prints: tuple[tuple[int, LineChars], ...] = ()


@dataclass(frozen=True)
class ItemLayout:
    """One drill item located on the page (pixels of the image given).

    Attributes:
        expression: The printed expression as read (``37+48``, ``17÷5``), "" if no
            arithmetic could be parsed left of the ``=``.
        raw: The characters read left of the ``=`` (for review when unparsed).
        expression_confidence: The lowest character probability of the expression.
        expression_box: Where the expression and its ``=`` are.
        result_box: The answer area cut from the page for the student's result.
        char_height: Height of the printed characters in pixels.
    """

    expression: str
    raw: str
    expression_confidence: float
    expression_box: Box
    result_box: Box
    char_height: float


class ExpressionReader:
    """Reads printed text lines with character positions, over a maths alphabet.

    Args:
        session: onnxruntime session of the PP-OCR recogniser (the same session the
            answer reader uses can be shared).
        decoding: ``masked`` folds look-alike classes into maths symbols and everything
            else into "other"; ``plain`` takes the full charset's best path (the baseline).
        reread_prints: Read each printed expression again at the print's own height
            (``LineChars.prints``; masked decoding only). False: the detected lines only.
    """

    def __init__(
        self,
        session: Any,
        decoding: Literal["masked", "plain"] = "masked",
        *,
        reread_prints: bool = True,
    ) -> None:
        self._line = PPOCRRecognizer(session)
        self.reread_prints = reread_prints
        charset = charset_from_session(session)
        self._charset = charset
        self.decoding = decoding
        index = {c: i for i, c in enumerate(charset)}
        self._symbols = "".join(_FOLD)
        self._groups = [[index[c] for c in group if c in index] for group in _FOLD.values()]
        # A word space separates "37 + 48"; it is no character of the expression, so its
        # probability counts as the CTC blank's.
        self._space = index.get(" ")

    def read(self, page: np.ndarray, boxes: Sequence[TextBox]) -> list[LineChars]:
        """Read every box.

        Args:
            page: The page (grayscale or BGR).
            boxes: Detected text boxes on it.

        Returns:
            One :class:`LineChars` per box, in the same order.
        """
        gray = to_gray(page)
        lines = self._read_boxes(gray, [b.box for b in boxes])
        if self.decoding != "masked" or not self.reread_prints:
            return lines
        # A detected line is as tall as the handwriting on it, so the print fills a third
        # of the recogniser's 48 rows and a printed "/" becomes a thin near-vertical
        # stroke it reads as "1" or drops ("3/7" -> "317", "1/7" -> "17"). Read again
        # at the print's own height, the same model reads the slash (on calib-split
        # pages: 119 of 120 fraction expressions against 80).
        wanted = [(k, i, box) for k, line in enumerate(lines)
                  for i, box in _print_boxes(gray, line)]
        reread = self._read_boxes(gray, [box for _, _, box in wanted])
        prints: dict[int, list[tuple[int, LineChars]]] = {}
        for (k, i, _), chars in zip(wanted, reread, strict=True):
            prints.setdefault(k, []).append((i, chars))
        return [replace(line, prints=tuple(prints.get(k, ()))) for k, line in enumerate(lines)]

    def _read_boxes(self, gray: np.ndarray, boxes: Sequence[Box]) -> list[LineChars]:
        images: list[np.ndarray] = []
        for x0, y0, x1, y1 in boxes:
            crop = gray[y0:y1, x0:x1]
            width = max(16, round(crop.shape[1] * 48 / max(crop.shape[0], 1)))
            images.append(cv2.resize(crop, (min(width, 3200), 48), interpolation=cv2.INTER_AREA))
        mats = self._line.probabilities(images) if images else []
        return [self._decode(b, m) for b, m in zip(boxes, mats, strict=True)]

    def _decode(self, box: Box, probs: np.ndarray) -> LineChars:
        if self.decoding == "masked":
            blank = probs[:, 0] + (probs[:, self._space] if self._space is not None else 0.0)
            cols = [blank] + [probs[:, g].sum(axis=1) for g in self._groups]
            folded = np.stack(cols, axis=1)
            other = np.clip(1.0 - folded.sum(axis=1), 0.0, None)
            table = np.concatenate([folded, other[:, None]], axis=1)
            symbols = self._symbols + _OTHER
        else:
            table = probs
            symbols = ""
        best = table.argmax(axis=1)
        n = len(best)
        x0, x1 = box[0], box[2]
        chars: list[str] = []
        xs: list[float] = []
        ps: list[float] = []
        prev = 0
        # A character's confidence is its share against the strongest other non-blank
        # class in the same frame: a printed "/" read as "1" keeps a visible "/" runner-up.
        rival = table.copy()
        rival[:, 0] = 0.0
        rival[np.arange(n), best] = 0.0
        runner = rival.max(axis=1)
        for t, k in enumerate(best.tolist()):
            p = float(table[t, k]) / (float(table[t, k]) + float(runner[t]) + 1e-12)
            if k != 0 and k != prev:
                sym = symbols[k - 1] if symbols else _plain_symbol(self._charset[k])
                if not sym:
                    prev = k
                    continue
                chars.append(sym)
                xs.append(x0 + (t + 0.5) * (x1 - x0) / n)
                ps.append(p)
            elif k != 0:
                ps[-1] = max(ps[-1], p)
            prev = k
        matrix = None
        if symbols:
            with np.errstate(divide="ignore"):
                matrix = CTCMatrix(np.log(table / table.sum(axis=1, keepdims=True)), symbols)
        return LineChars(box, "".join(chars), tuple(xs), tuple(ps), matrix)


def _plain_symbol(c: str) -> str:
    c = unicodedata.normalize("NFKC", c)
    if c == " ":
        return ""
    for canon, group in _FOLD.items():
        if c in group:
            return canon
    return c if len(c) == 1 and c in _EXPR_CHARS | {"="} else _OTHER


def group_lines(lines: Sequence[LineChars]) -> list[list[LineChars]]:
    """Group boxes whose vertical centres are within half a box height, left to right.

    Args:
        lines: Read boxes.

    Returns:
        Lines of boxes, top to bottom.
    """
    rest = sorted(lines, key=lambda r: (r.box[1] + r.box[3]) / 2)
    out: list[list[LineChars]] = []
    while rest:
        first = rest[0]
        cy = (first.box[1] + first.box[3]) / 2
        h = first.box[3] - first.box[1]
        same = [r for r in rest if abs((r.box[1] + r.box[3]) / 2 - cy) < h / 2]
        out.append(sorted(same, key=lambda r: r.box[0]))
        rest = [r for r in rest if all(r is not s for s in same)]
    return out


def _expression_suffix(text: str) -> str:
    """The longest suffix of ``text`` that parses as an arithmetic expression."""
    for start in range(len(text)):
        cand = text[start:]
        if not (cand[0].isdigit() or cand[0] == "("):
            continue
        try:
            parse_arithmetic_stem(cand + "=")
        except ArithmeticStemError:
            continue
        return cand
    return ""


def _anchor_geometry(gray: np.ndarray, box: Box, x_eq: float) -> tuple[float, float, float]:
    """Right edge and centre line of the printed ``=`` near ``x_eq``, and the print height.

    The detector's box may also hold the (taller) handwriting, so the print's own height
    is measured on the character just left of the ``=``: a digit or a bracket.
    """
    _, by0, _, by1 = box
    bh = by1 - by0
    wx0 = int(max(0, x_eq - 2.0 * bh))
    wx1 = int(min(gray.shape[1], x_eq + 1.0 * bh))
    ink = ink_map(gray[by0:by1, wx0:wx1])
    binary = (ink > 0.4).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    guess = x_eq - wx0
    bars = sorted(
        (
            stats[k]
            for k in range(1, n)
            if stats[k, 2] >= 2.0 * stats[k, 3]
            and stats[k, 2] <= 0.8 * bh
            and stats[k, 4] >= 4
            and abs(stats[k, 0] + stats[k, 2] / 2 - guess) < 0.5 * bh
        ),
        key=lambda s: abs(s[0] + s[2] / 2 - guess),
    )[:2]
    if len(bars) == 2:
        right = float(max(b[0] + b[2] for b in bars))
        left = float(min(b[0] for b in bars))
        cy = float(np.mean([b[1] + b[3] / 2 for b in bars]))
        bar_w = right - left
    else:
        right, left, cy, bar_w = guess + 0.25 * bh, guess - 0.25 * bh, bh / 2, 0.35 * bh
    # The nearest component left of the "=" on its centre line is the last printed char.
    before = [
        stats[k]
        for k in range(1, n)
        if stats[k, 0] + stats[k, 2] <= left + 1
        and left - (stats[k, 0] + stats[k, 2]) < 1.5 * bar_w
        and stats[k, 1] <= cy <= stats[k, 1] + stats[k, 3]
        and stats[k, 4] >= 6
    ]
    if before:
        last = max(before, key=lambda s: s[0] + s[2])
        ch = float(last[3])
    else:
        ch = 1.4 * bar_w
    return wx0 + right, by0 + cy, max(ch, 4.0)


def _joins(left: str, right: str, distance: float, gap: float) -> bool:
    """Whether a maths character ``left`` belongs to the expression that ``right`` starts.

    Printed operators have spaces on both sides (``3/7 + 2/7``), wider than ``gap`` in
    some fonts (a Kai face's ``+``), so next to an operator the limit is half as wide
    again; digits of one operand are always close.
    """
    if left not in _EXPR_CHARS:
        return False
    limit = 1.75 * gap if left in _OPERATORS or right in _OPERATORS + "=" else gap
    return distance < limit


def _print_boxes(gray: np.ndarray, line: LineChars, gap: float = _GAP) -> list[tuple[int, Box]]:
    """Crops cut to the print's height around each printed expression and its ``=``.

    The expression is the run of maths characters left of the ``=`` whose centres are
    less than ``gap`` printed character heights apart (as :func:`find_items` takes it);
    the crop reaches further (see below), and most of a character beyond, in case the
    line's reading missed its first character; it is 1.6 print heights tall. Only
    expressions where a fraction bar may have been lost are re-read.
    """
    height, width = gray.shape[:2]
    out: list[tuple[int, Box]] = []
    for i, c in enumerate(line.chars):
        if c != "=":
            continue
        eq_right, cy, ch = _anchor_geometry(gray, line.box, line.xs[i])
        j = i
        while j > 0 and _joins(line.chars[j - 1], line.chars[j],
                               line.xs[j] - line.xs[j - 1], gap * ch):
            j -= 1
        run = line.chars[j:i]
        # On the line, a fraction bar read as nothing leaves its neighbours' positions
        # a character apart ("6/8+1/8" as "6/8+18" with "1" and "8" far apart), so the
        # crop takes in what a gap half as wide again would; its own reading then
        # decides where the expression starts (_print_expression).
        k = j
        while k > 0 and _joins(line.chars[k - 1], line.chars[k],
                               line.xs[k] - line.xs[k - 1], 1.5 * gap * ch):
            k -= 1
        if not any(d.isdigit() for d in run):
            continue
        run = line.chars[k:i]
        # Only where a fraction bar may hide: a "1" or "/" was read, the line's own
        # probabilities give a slash look-alike some weight (a bar dropped between two
        # digits), or no operator was read (the run is not the whole expression). Other
        # expressions read right on the line; re-reading them all would cost a page
        # about a third more recogniser time.
        whole = "/" not in run and any(o in run for o in _OPERATORS)
        if whole and "1" not in run and _look_alike_share(line, k, i) >= 0.99:
            continue
        # Most runs with a "1" are whole numbers ("15+27"): their print's ink shows no
        # mark that could be a bar (ocr.drill.slash), and the re-read is skipped.
        if whole and "1" in run and no_hidden_slash(
                gray, line.xs[k] - 0.9 * ch, eq_right, cy, ch, run):
            continue
        box = (
            int(max(0, line.xs[k] - 0.9 * ch)),
            int(max(0, cy - _PRINT_PAD * ch)),
            int(min(width, eq_right + 0.3 * ch)),
            int(min(height, cy + _PRINT_PAD * ch)),
        )
        if box[2] - box[0] >= ch and box[3] - box[1] >= 4:
            out.append((i, box))
    return out


def _print_expression(line: LineChars, eq_index: int) -> tuple[str, float, float] | None:
    """The expression left of ``line.chars[eq_index]`` as its print re-read gives it.

    Returns:
        ``(expression, confidence, page x of its first character)``, or None when the
        print was not re-read or its reading holds no arithmetic before a ``=``.
    """
    tight = dict(line.prints).get(eq_index)
    if tight is None or "=" not in tight.chars:
        return None
    stop = tight.chars.rindex("=")
    # The crop reaches further left than the expression may (see _print_boxes); at the
    # print's height character positions are sharp enough for the gap rule.
    ch = (tight.box[3] - tight.box[1]) / (2 * _PRINT_PAD)
    first = stop
    while first > 0 and _joins(tight.chars[first - 1], tight.chars[first],
                               tight.xs[first] - tight.xs[first - 1], _GAP * ch):
        first -= 1
    expr = _expression_suffix(tight.chars[first:stop])
    if not expr:
        return None
    start = stop - len(expr)
    conf = min(tight.probs[start : stop + 1])
    conf = min(conf, _look_alike_share(tight, start, stop))
    if start > 0 and tight.chars[start - 1] in _OPERATORS:
        # "+1/5" is the end of a longer expression whose start was not read: its own
        # key would grade the item.
        conf = min(conf, _TRUNCATED)
    return expr, conf, tight.xs[start]


def _index_in_line(line: LineChars, x: float) -> int:
    return min(range(len(line.xs)), key=lambda k: abs(line.xs[k] - x))


def _fraction_doubt(line: LineChars, start: int, stop: int) -> float:
    """How likely, relative to the reading, a ``1`` in ``chars[start:stop]`` was a ``/``.

    A printed fraction bar and a ``1`` are the recogniser's commonest confusion in drill
    expressions. The alternative strings are scored by the CTC forward algorithm on the
    whole line, so the answer is a probability ratio, not a guess.
    """
    if line.matrix is None or "/" not in line.matrix.symbols:
        return 0.0
    text = line.chars
    best = forced_log_prob(line.matrix, text)
    worst = 0.0
    for k in range(start, stop):
        if text[k] == "1":
            variant = text[:k] + "/" + text[k + 1 :]
            worst = max(worst, float(np.exp(min(forced_log_prob(line.matrix, variant) - best, 0.0))))
    return worst


def _look_alike_share(line: LineChars, start: int, stop: int) -> float:
    """The reading's share of probability against its slash look-alikes in ``[start, stop)``.

    The alternatives are the recogniser's commonest confusions in printed fractions: a
    ``1`` that was a ``/``, a ``/`` that was a ``1``, a ``/`` read where there was none
    and one dropped between two digits. Each is scored with the reading by the CTC
    forward algorithm on the whole crop, so the share is a probability, not a rule.
    """
    if line.matrix is None or "/" not in line.matrix.symbols:
        return 1.0
    text = line.chars
    variants: list[str] = []
    for k in range(start, stop):
        if text[k] in "1/":
            variants.append(text[:k] + ("/" if text[k] == "1" else "1") + text[k + 1 :])
        if text[k] == "/":
            variants.append(text[:k] + text[k + 1 :])
        if k + 1 < stop and text[k].isdigit() and text[k + 1].isdigit():
            variants.append(text[: k + 1] + "/" + text[k + 1 :])
    if not variants:
        return 1.0
    scores = np.array(forced_log_probs(line.matrix, [text, *variants]), dtype=np.float64)
    if not np.isfinite(scores[0]):
        return 0.0
    return float(1.0 / np.exp(np.logaddexp.reduce(scores - scores[0])))


def find_items(
    page: np.ndarray,
    lines: Sequence[LineChars],
    *,
    gap: float = 2.0,
    max_result_width: float = 10.0,
    result_pad: float = 1.6,
) -> list[ItemLayout]:
    """Locate the items: one per ``=`` read on a line.

    Args:
        page: The page (grayscale or BGR).
        lines: Every detected box read with positions.
        gap: A gap between character centres wider than this many printed character
            heights ends the expression (what lies further left belongs to something
            else, e.g. the previous item's handwritten answer).
        max_result_width: Widest answer area, in printed character heights.
        result_pad: Half-height of the answer area around the print's centre line, in
            printed character heights (handwriting is taller than print and not on its
            baseline).

    Returns:
        The items, top to bottom and left to right.
    """
    gray = to_gray(page)
    height, width = gray.shape
    pending: list[tuple[str, str, float, float, float, float, float]] = []
    for row in group_lines(lines):
        chars = sorted(
            ((c, x, p, r) for r in row for c, x, p in zip(r.chars, r.xs, r.probs, strict=True)),
            key=lambda t: t[1],
        )
        for i, (c, x_eq, _, line) in enumerate(chars):
            if c != "=":
                continue
            eq_right, cy, ch = _anchor_geometry(gray, line.box, x_eq)
            j = i
            while j > 0 and _joins(chars[j - 1][0], chars[j][0],
                                   chars[j][1] - chars[j - 1][1], gap * ch):
                j -= 1
            raw = "".join(ch_ for ch_, *_ in chars[j:i])
            if not any(k.isdigit() for k in raw):
                continue
            reread = _print_expression(line, _index_in_line(line, x_eq))
            if reread is not None:
                expr, conf, x_first = reread
                pending.append((expr, raw, conf, x_first - 0.6 * ch, eq_right, cy, ch))
                continue
            expr = _expression_suffix(raw)
            first = i - len(expr) if expr else j
            conf = min(chars[k][2] for k in range(first, i + 1))
            # Indices into the line's own string (the expression is almost always on the
            # "=" box; characters from other boxes are skipped).
            own = [k for k in range(first, i) if chars[k][3] is line]
            if own:
                offset = _index_in_line(line, chars[own[0]][1])
                doubt = _fraction_doubt(line, offset, offset + len(own))
                conf = min(conf, 1.0 - doubt)
            # Read on the detected line, the recogniser reads a printed "/" before a 7
            # or 8 as "1" with high confidence, so a "1" between two digits may be a
            # fraction bar: such expressions are doubtful (review costs coverage on
            # 3-digit operands like 215; a wrong key would cost a wrong verdict).
            if _MIDDLE_ONE.search(expr):
                conf = min(conf, 0.5)
            if raw[: len(raw) - len(expr)].endswith(tuple(_OPERATORS)):
                conf = min(conf, _TRUNCATED)
            pending.append((expr, raw, conf, chars[first][1] - 0.6 * ch, eq_right, cy, ch))
    # Printed operators anchor the end of an answer area even when their own "=" was not
    # read: whatever is printed further right is not this item's answer.
    ops = [
        (x, (r.box[1] + r.box[3]) / 2, r.box[3] - r.box[1])
        for r in lines
        for c, x in zip(r.chars, r.xs, strict=True)
        if c in "+×÷="
    ]
    found: list[ItemLayout] = []
    for expr, raw, conf, x_start, eq_right, cy, ch in pending:
        # The answer area ends before the next item on the same print line (rows found
        # by the print's own centre line, not by detected boxes, which may hold taller
        # handwriting).
        nxt = float(width)
        for other in pending:
            if other[3] > eq_right and abs(other[5] - cy) < ch:
                nxt = min(nxt, other[3] - 0.5 * ch)
        for x, oy, oh in ops:
            if x > eq_right + 2.5 * ch and abs(oy - cy) < oh / 2:
                nxt = min(nxt, x - 2.0 * ch)
        rx0 = int(eq_right + 0.2 * ch)
        rx1 = int(max(min(nxt, rx0 + max_result_width * ch, width), rx0 + ch))
        found.append(
            ItemLayout(
                expression=expr,
                raw=raw,
                expression_confidence=conf,
                expression_box=(
                    int(max(0, x_start)), int(cy - 0.6 * ch), int(eq_right), int(cy + 0.6 * ch)
                ),
                result_box=(
                    rx0,
                    int(max(0, cy - result_pad * ch)),
                    min(rx1, width),
                    int(min(height, cy + result_pad * ch)),
                ),
                char_height=ch,
            )
        )
    found.sort(key=lambda f: (f.expression_box[1] + f.expression_box[3], f.expression_box[0]))
    return found
