"""Wrapped text with stacked fractions, measured before it is drawn.

Error-book cards repeat maths stems, answers and explanations; ``3/4`` set on one line
reads as a date or a division to a nine-year-old, so simple ``a/b`` fractions are typeset
stacked (numerator over a bar over denominator), as in the textbook. Everything is
measured first (:func:`layout_text`) so a card knows its height before it is placed, and
drawn later (:func:`draw_lines`) without measuring again.

Line breaking follows :mod:`errorbook.printing.textwrap_cjk`: Chinese breaks between any two
characters, Latin words and numbers stay whole, closing punctuation never starts a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.mathtext import typeset_math
from errorbook.printing.text import draw_text, text_width

__all__ = ["ELLIPSIS", "Piece", "TextBox", "TextLine", "draw_line", "draw_lines", "layout_text",
           "line_text"]

ELLIPSIS = "…"
LEADING = 1.45  # line pitch as a multiple of the font size
FRACTION_SCALE = 0.85  # numerator/denominator size relative to the text
# A stacked fraction reaches above the cap height and below the descender.
FRACTION_RISE = 0.30  # the bar's height above the baseline (the maths axis), x size
FRACTION_GAP = 0.14  # space between bar and digits, x size
FRACTION_PAD = 0.12  # side bearing around a fraction, x size
FRACTION_EXTRA_TOP = 0.20  # extra room a fraction line needs above, x size
FRACTION_EXTRA_BOTTOM = 0.35  # ... and below, x size

_FRACTION = re.compile(r"(?<![\w/.])(\d{1,5})/(\d{1,5})(?![\w/]|\.\d)")
_TOKENS = re.compile(r"[A-Za-z0-9.,/%+\-\u2212=×÷<>()_']+|[ \t]+|.", re.S)
_NO_LINE_START = set("，。、；：？！）》」』”’,.;:?!)…%")
_NO_LINE_END = set("（《「『“‘(")


@dataclass(frozen=True)
class Piece:
    """A run of plain text, or a stacked fraction (``den`` set), and its width in points."""

    text: str
    width: float
    den: str = ""

    @property
    def is_fraction(self) -> bool:
        return bool(self.den)


@dataclass(frozen=True)
class TextLine:
    """One measured line: its pieces, width, and the space it takes above/below."""

    pieces: tuple[Piece, ...]
    width: float
    ascent: float
    height: float


@dataclass(frozen=True)
class TextBox:
    """Measured lines of one text at one size, and whether anything was cut off."""

    lines: tuple[TextLine, ...]
    size: float
    truncated: bool

    @property
    def height(self) -> float:
        return sum(line.height for line in self.lines)


def _fraction(num: str, den: str, size: float) -> Piece:
    small = size * FRACTION_SCALE
    w = max(text_width(num, small), text_width(den, small)) + 2 * FRACTION_PAD * size
    return Piece(num, w, den)


def _tokens(paragraph: str, size: float, fractions: bool) -> list[Piece]:
    out: list[Piece] = []
    pos = 0
    if fractions:
        paragraph = typeset_math(paragraph)
    matches = list(_FRACTION.finditer(paragraph)) if fractions else []
    for m in [*matches, None]:
        end = m.start() if m else len(paragraph)
        for tok in _TOKENS.findall(paragraph[pos:end]):
            out.append(Piece(tok, text_width(tok, size)))
        if m:
            out.append(_fraction(m.group(1), m.group(2), size))
            pos = m.end()
    return out


def _make_line(pieces: list[Piece], size: float) -> TextLine:
    # Trailing spaces take no room; adjacent text runs merge into one draw call.
    while pieces and not pieces[-1].is_fraction and not pieces[-1].text.strip():
        pieces.pop()
    merged: list[Piece] = []
    for p in pieces:
        if merged and not p.is_fraction and not merged[-1].is_fraction:
            merged[-1] = Piece(merged[-1].text + p.text, merged[-1].width + p.width)
        else:
            merged.append(p)
    has_frac = any(p.is_fraction for p in merged)
    ascent = size * (1.0 + (FRACTION_EXTRA_TOP if has_frac else 0.0))
    height = size * (LEADING + (FRACTION_EXTRA_TOP + FRACTION_EXTRA_BOTTOM if has_frac else 0))
    return TextLine(tuple(merged), sum(p.width for p in merged), ascent, height)


def _split_long(piece: Piece, room: float, width: float, size: float) -> list[Piece]:
    """A text token wider than the line (a long number) cut by characters: the first
    chunk fills ``room``, the others ``width``."""
    out: list[Piece] = []
    rest = piece.text
    limit = room
    while rest:
        cut = len(rest)
        while cut > 1 and text_width(rest[:cut], size) > limit:
            cut -= 1
        out.append(Piece(rest[:cut], text_width(rest[:cut], size)))
        rest = rest[cut:]
        limit = width
    return out


def _is_space(p: Piece) -> bool:
    return not p.is_fraction and not p.text.strip()


def _take_opening(line: list[Piece]) -> list[Piece]:
    """Opening brackets and quotes never end a line: pop them to move down with the word."""
    opening: list[Piece] = []
    while len(line) > 1:
        if _is_space(line[-1]):
            line.pop()
        elif not line[-1].is_fraction and line[-1].text[-1] in _NO_LINE_END:
            opening.insert(0, line.pop())
        else:
            break
    return opening


def _wrap(text: str, width: float, size: float, fractions: bool) -> list[list[Piece]]:
    lines: list[list[Piece]] = []
    for paragraph in text.split("\n"):
        line: list[Piece] = []
        used = 0.0
        for tok in _tokens(paragraph, size, fractions):
            blank = not tok.is_fraction and not tok.text.strip()
            has_ink = any(p.is_fraction or p.text.strip() for p in line)
            hangs = not tok.is_fraction and tok.text[0] in _NO_LINE_START
            # A space never breaks a line by itself: the break comes at the next word, so
            # what follows the space (closing punctuation) is judged by the rules below.
            if used + tok.width <= width or not has_ink or blank:
                if blank and not has_ink:
                    continue
                if tok.width > width - used and not tok.is_fraction and not blank:
                    # Wider than the whole line (a long number): cut by characters.
                    *full, tok = _split_long(tok, width - used, width, size)
                    for chunk in full:
                        lines.append([*line, chunk])
                        line, used = [], 0.0
                line.append(tok)
                used += tok.width
                continue
            if hangs:
                # Closing punctuation may not start a line, and hanging it past the margin
                # would overflow the card: the word before it moves down with it.
                carried: list[Piece] = []
                while len(line) > 1:
                    if _is_space(line[-1]):
                        line.pop()
                        continue
                    carried.insert(0, line.pop())
                    if carried[0].is_fraction or carried[0].text[0] not in _NO_LINE_START:
                        break
                carried = _take_opening(line) + carried
                if sum(p.width for p in carried) + tok.width > width:
                    # A run of punctuation too long to move: breaking the rule beats
                    # crossing the margin.
                    line.extend(carried)
                    carried = []
                lines.append(line)
                line = [*carried, tok]
                used = sum(p.width for p in line)
                continue
            opening = _take_opening(line)
            if opening and sum(p.width for p in opening) + min(tok.width, width) > width:
                line.extend(opening)  # the same: never past the margin
                opening = []
            lines.append(line)
            line, used = opening, sum(p.width for p in opening)
            if tok.width > width - used and not tok.is_fraction:
                *full, tok = _split_long(tok, width - used, width, size)
                for i, p in enumerate(full):
                    if i == 0 and line:
                        lines.append([*line, p])
                    else:
                        lines.append([p])
                if full:
                    line, used = [], 0.0
            line.append(tok)
            used += tok.width
        lines.append(line)
    return lines


def _ellipsize(pieces: list[Piece], width: float, size: float) -> list[Piece]:
    """The line cut so that it ends in ``…`` within ``width``."""
    dots = text_width(ELLIPSIS, size)
    pieces = list(pieces)
    while pieces and sum(p.width for p in pieces) + dots > width:
        last = pieces.pop()
        if not last.is_fraction and len(last.text) > 1:
            shorter = last.text[:-1]
            pieces.append(Piece(shorter, text_width(shorter, size)))
    # Never end on a dangling comma or space before the ellipsis.
    while pieces and not pieces[-1].is_fraction and pieces[-1].text[-1:] in set(" ，,、；;：:"):
        trimmed = pieces.pop().text[:-1]
        if trimmed:
            pieces.append(Piece(trimmed, text_width(trimmed, size)))
    return [*pieces, Piece(ELLIPSIS, dots)]


def layout_text(text: str, width: float, size: float, *, fractions: bool = False,
                max_lines: int | None = None) -> TextBox:
    """Measure ``text`` wrapped to ``width`` points.

    Args:
        text: the text; newlines start new lines.
        width: the line width in points.
        size: the font size.
        fractions: typeset as maths: ``a/b`` (digits only) as stacked fractions, and the
            signs of :func:`errorbook.printing.mathtext.typeset_math` (×, −, ○).
        max_lines: keep at most this many lines, the last ending in ``…`` when cut.

    Returns:
        The measured lines; every line's width is at most ``width`` (a line holding a
        single fraction wider than ``width`` is the only exception).

    Raises:
        ValueError: a width or size that is not positive, or ``max_lines`` below 1.
    """
    if width <= 0 or size <= 0:
        raise ValueError("width and size must be positive")
    if max_lines is not None and max_lines < 1:
        raise ValueError("max_lines must be 1 or more")
    raw = _wrap(text.strip(), width, size, fractions)
    truncated = max_lines is not None and len(raw) > max_lines
    if truncated:
        assert max_lines is not None
        raw = raw[:max_lines]
        raw[-1] = _ellipsize(raw[-1], width, size)
    return TextBox(tuple(_make_line(p, size) for p in raw), size, truncated)


def _draw_fraction(c: Canvas, x: float, baseline: float, piece: Piece, size: float) -> None:
    small = size * FRACTION_SCALE
    mid = x + piece.width / 2
    axis = baseline + size * FRACTION_RISE
    gap = size * FRACTION_GAP
    draw_text(c, mid, axis + gap, piece.text, small, "center")
    # Digits have no descender; their cap height is ~0.72 of the size in both fonts used.
    draw_text(c, mid, axis - gap - small * 0.72, piece.den, small, "center")
    pad = size * FRACTION_PAD * 0.6
    c.saveState()
    c.setLineWidth(max(0.5, size * 0.05))
    c.line(x + pad, axis, x + piece.width - pad, axis)
    c.restoreState()


def line_text(line: TextLine) -> str:
    """The text of a measured line (fractions as ``a/b``), to store and lay out again:
    :func:`layout_text` of it with ``fractions=True`` gives the same line."""
    return "".join(f"{p.text}/{p.den}" if p.is_fraction else p.text for p in line.pieces)


def draw_line(c: Canvas, line: TextLine, x: float, baseline: float, size: float) -> None:
    """Draw one measured line with its baseline at ``baseline`` (reportlab coordinates)."""
    px = x
    for piece in line.pieces:
        if piece.is_fraction:
            _draw_fraction(c, px, baseline, piece, size)
        else:
            draw_text(c, px, baseline, piece.text, size)
        px += piece.width


def draw_lines(c: Canvas, box: TextBox, x: float, top: float, page_height: float) -> float:
    """Draw measured lines from ``top`` (page space, points from the top) down.

    Args:
        c: the canvas; its fill colour is used.
        box: lines from :func:`layout_text`.
        x: the left edge.
        top: the top of the first line, page space.
        page_height: to convert to reportlab's bottom-left origin.

    Returns:
        The page-space y just below the last line.
    """
    y = top
    for line in box.lines:
        draw_line(c, line, x, page_height - (y + line.ascent), box.size)
        y += line.height
    return y
