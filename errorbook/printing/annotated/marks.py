"""Teacher's marks for annotated papers: the glyphs (✓ ✗ half-tick 空 ?) and where they go.

Everything here works in *sheet space*: PDF points from the top-left corner of the output
page (the scan drawn full-page), ``(x0, y0, x1, y1)``. :mod:`errorbook.printing.annotated.paper` maps each
answer region from worksheet page space through the page's homography into sheet space
first; this module only decides where a mark block may sit without covering an answer,
and draws it.

A *mark block* is the verdict glyph plus its score text ("2/3"), either side by side
(``inline``) or the score under the glyph (``stacked``, for narrow margins). The big total
and the small header/note lines are drawn here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportlab.pdfgen.canvas import Canvas

from errorbook.contract import Box, PageLayout
from errorbook.printing.geometry import MM
from errorbook.printing.layout import LINE_HEIGHT, STEM_FONT_SIZE
from errorbook.printing.text import draw_text, text_width
from grading.grade import Verdict

__all__ = [
    "GREY",
    "RED",
    "MarkRequest",
    "Placement",
    "Rect",
    "draw_block",
    "draw_strip",
    "draw_total",
    "layout_keep_clear",
    "place_marks",
]

Rect = tuple[float, float, float, float]  # sheet space: points from the output page's top-left
Side = Literal["right", "above", "left", "below"]

# A pen red that prints as red and survives greyscale photocopying as a mid-dark grey.
RED = (0.85, 0.07, 0.07)
GREY = (0.45, 0.45, 0.45)
GAP = 3.0  # points between an answer box and its mark
PAD = 1.5  # answer boxes are grown by this much: a mark touching the box edge reads as inside
SCORE_GAP = 2.0


@dataclass(frozen=True)
class MarkRequest:
    """One mark to place.

    Attributes:
        region: the answer box in sheet space.
        verdict: decides the glyph.
        size: the glyph's side in points.
        score_text: drawn beside or under the glyph ("" for none).
        score_size: the score text's font size.
        blank_word: the mark beside a blank answer (the school's language).
    """

    region: Rect
    verdict: Verdict
    size: float
    score_text: str
    score_size: float
    blank_word: str = "空"

    def block_size(self, stacked: bool) -> tuple[float, float]:
        """(width, height) of the mark block in either arrangement."""
        if not self.score_text:
            return self.size, self.size
        tw = text_width(self.score_text, self.score_size)
        if stacked:
            return max(self.size, tw), self.size + SCORE_GAP + self.score_size
        return self.size + SCORE_GAP + tw, self.size


@dataclass(frozen=True)
class Placement:
    """Where one mark block went.

    Attributes:
        block: the block's rectangle in sheet space.
        side: which side of the answer box it sits on.
        stacked: score under the glyph (True) or beside it.
        overlap: area in pt² the block covers of answers, other marks, kept-clear areas or
            the page edge; 0 when it found a clear spot.
    """

    block: Rect
    side: Side
    stacked: bool
    overlap: float


def _area(a: Rect, b: Rect) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _outside(block: Rect, usable: Rect) -> float:
    full = (block[2] - block[0]) * (block[3] - block[1])
    return full - _area(block, usable)


def _candidates(region: Rect, w: float, h: float) -> list[tuple[Side, Rect]]:
    x0, y0, x1, y1 = region
    box_h = y1 - y0
    # Short boxes: centre the mark on the answer line; tall boxes (short-answer areas): put
    # it level with the first line of writing, where a teacher would.
    top = y0 + (box_h - h) / 2 if box_h <= 2 * h else y0 + 2.0
    return [
        ("right", (x1 + GAP, top, x1 + GAP + w, top + h)),
        ("above", (x1 - w, y0 - GAP - h, x1, y0 - GAP)),
        ("left", (x0 - GAP - w, top, x0 - GAP, top + h)),
        ("below", (x1 - w, y1 + GAP, x1, y1 + GAP + h)),
    ]


# Right of the answer first (score beside, then under the glyph), then above, left, below.
_ORDER: tuple[tuple[Side, bool], ...] = (("right", False), ("right", True), ("above", False),
                                         ("left", False), ("left", True), ("below", False))


def place_marks(requests: Sequence[MarkRequest], sheet: tuple[float, float], *,
                keep_clear: Sequence[Rect] = (), margin: float = 2.0) -> list[Placement]:
    """Choose a spot for every mark block that covers no answer.

    Tried in order: right of the answer (score beside, then under the glyph), above its
    right end, left of it, below it. The first spot that overlaps no answer box (of any
    region on the page, grown by ``PAD``), no earlier mark, nothing in ``keep_clear`` and
    stays on the page wins; when none is clear, the one covering the least wins and its
    ``overlap`` says by how much.

    Args:
        requests: the marks of one page, in drawing order.
        sheet: the output page's (width, height) in points.
        keep_clear: more sheet-space rectangles to avoid (the total, printed stems...).
        margin: distance to keep from the page edge.

    Returns:
        One placement per request, in the same order.
    """
    answers = [(r.region[0] - PAD, r.region[1] - PAD, r.region[2] + PAD, r.region[3] + PAD)
               for r in requests]
    taken: list[Rect] = list(keep_clear)
    usable = (margin, margin, sheet[0] - margin, sheet[1] - margin)
    out: list[Placement] = []
    for req in requests:
        best: Placement | None = None
        for side, stacked in _ORDER:
            w, h = req.block_size(stacked)
            rect = dict(_candidates(req.region, w, h))[side]
            # Leaving the page is worse than brushing a neighbour's box: weigh it up.
            cost = (sum(_area(rect, a) for a in answers) + sum(_area(rect, t) for t in taken)
                    + 4.0 * _outside(rect, usable))
            if best is None or cost < best.overlap:
                best = Placement(rect, side, stacked, cost)
            if cost == 0.0:
                break
        assert best is not None  # the candidate list is never empty
        taken.append(best.block)
        out.append(best)
    return out


def _line(c: Canvas, page_h: float, pts: Sequence[tuple[float, float]]) -> None:
    path = c.beginPath()
    path.moveTo(pts[0][0], page_h - pts[0][1])
    for x, y in pts[1:]:
        path.lineTo(x, page_h - y)
    c.drawPath(path, stroke=1, fill=0)


def _glyph(c: Canvas, verdict: Verdict, x: float, y: float, m: float, page_h: float,
           blank_word: str = "空") -> None:
    """Draw the verdict glyph in the m×m square whose top-left is (x, y) (sheet space)."""

    def p(u: float, v: float) -> tuple[float, float]:
        return x + u * m, y + v * m

    c.setLineWidth(max(1.2, m * 0.09))
    c.setLineCap(1)
    c.setLineJoin(1)
    if verdict in (Verdict.CORRECT, Verdict.PARTIALLY_CORRECT):
        # A hand-drawn tick: short down-stroke, long up-stroke.
        _line(c, page_h, [p(0.06, 0.55), p(0.36, 0.9), p(0.96, 0.08)])
        if verdict is Verdict.PARTIALLY_CORRECT:
            # 半对: a slash across the long stroke, as Chinese teachers mark half marks.
            _line(c, page_h, [p(0.47, 0.36), p(0.86, 0.64)])
    elif verdict is Verdict.INCORRECT:
        _line(c, page_h, [p(0.14, 0.14), p(0.86, 0.86)])
        _line(c, page_h, [p(0.86, 0.14), p(0.14, 0.86)])
    elif verdict is Verdict.BLANK:
        draw_text(c, x + m / 2, page_h - y - m * 0.78, blank_word, m * 0.75, "center")
    else:  # needs_review: a grey question mark, not a decision
        draw_text(c, x + m / 2, page_h - y - m * 0.85, "?", m, "center")


def draw_block(c: Canvas, req: MarkRequest, place: Placement, page_h: float) -> None:
    """Draw one mark block (glyph and score) where :func:`place_marks` put it.

    Args:
        c: the canvas, on the page being annotated.
        req: the mark.
        place: its placement.
        page_h: the output page's height (reportlab's origin is bottom-left).
    """
    colour = GREY if req.verdict is Verdict.NEEDS_REVIEW else RED
    c.saveState()
    c.setStrokeColorRGB(*colour)
    c.setFillColorRGB(*colour)
    bx0, by0, bx1, _ = place.block
    m = req.size
    if place.stacked:
        _glyph(c, req.verdict, (bx0 + bx1 - m) / 2, by0, m, page_h, req.blank_word)
        if req.score_text:
            draw_text(c, (bx0 + bx1) / 2, page_h - by0 - m - SCORE_GAP - req.score_size * 0.85,
                      req.score_text, req.score_size, "center")
    else:
        _glyph(c, req.verdict, bx0, by0, m, page_h, req.blank_word)
        if req.score_text:
            # Baseline a little below the glyph's middle: reads as one unit with it.
            draw_text(c, bx0 + m + SCORE_GAP, page_h - by0 - m / 2 - req.score_size * 0.35,
                      req.score_text, req.score_size)
    c.restoreState()


def layout_keep_clear(page: PageLayout) -> tuple[Box, ...]:
    """The printed parts of a markbook worksheet page that marks should not cover.

    Question numbers, stem and option lines (measured as printed), blank labels, and the
    header furniture (markers, QR code, name and student-number boxes) and the footer's
    seat-number bubbles (printed on some anonymous copies), in page space.
    Pass them as :attr:`errorbook.printing.annotated.paper.ScanPage.keep_clear`: on two-column drill rows
    the space right of the left answer box is the next question's stem.

    Args:
        page: the worksheet layout page.

    Returns:
        Page-space boxes.
    """
    size = STEM_FONT_SIZE
    out: list[Box] = [m.box for m in page.markers]
    out.extend([page.qr_box, page.name_box, *page.student_no_boxes])
    out.extend(box for _, _, box in page.seat_bubbles)
    for b in page.blocks:
        # Lines are laid out LINE_HEIGHT apart with the first baseline one font size down.
        num_w = text_width(f"{b.number}.", size)
        out.append((b.stem_x - 1.5 * MM - num_w, b.top, b.stem_x - 1.5 * MM, b.top + size * 1.2))
        lines = [(b.stem_x, line) for line in b.stem_lines]
        lines += [(b.stem_x, line) for line in b.option_lines]
        for i, (x, line) in enumerate(lines):
            y = b.top + i * LINE_HEIGHT
            for j, cell in enumerate(line.split("\t")):
                cx = x + j * b.option_col_width
                out.append((cx, y, cx + text_width(cell, size), y + size * 1.2))
        for label, x, by in b.blank_labels:
            out.append((x, by - 9.0, x + text_width(label, 9.0), by + 2.0))
    return tuple(out)


def draw_total(c: Canvas, big: str, small: str, anchor: tuple[float, float],
               sheet: tuple[float, float], size: float, avoid: Sequence[Rect],
               clearance: float) -> Rect:
    """The big red total ("92" and a smaller "/100"), its baseline centred on ``anchor``.

    It shrinks (to 55% at most) until it stays ``clearance`` points clear of ``avoid``
    (student-number boxes, QR code), so "100/100" fits where "92/100" does.

    Args:
        c: the canvas.
        big, small: the score and the "/max" part ("" for none).
        anchor: sheet-space middle of the baseline.
        sheet: the output page's (width, height).
        size: the full font size of ``big``.
        avoid: sheet-space rectangles to stay clear of.
        clearance: how far, in points.

    Returns:
        The sheet-space rectangle it covers, for the marks to avoid.
    """
    full = size
    while True:
        small_size = size * 0.35
        w_big, w_small = text_width(big, size), text_width(small, small_size)
        width = w_big + w_small
        x0 = min(max(anchor[0] - width / 2, 4.0), sheet[0] - 4 - width)
        base = min(max(anchor[1], size * 0.8 + 4), sheet[1] - 10)
        rect = (x0 - 2, base - size * 0.8, x0 + width + 2, base + 8)
        clear = not any(min(rect[2], a[2]) + clearance > max(rect[0], a[0])
                        and min(rect[3], a[3]) + clearance > max(rect[1], a[1]) for a in avoid)
        if clear or size <= full * 0.55:
            break
        size *= 0.9
    c.saveState()
    c.setFillColorRGB(*RED)
    c.setStrokeColorRGB(*RED)
    draw_text(c, x0, sheet[1] - base, big, size)
    if small:
        draw_text(c, x0 + w_big, sheet[1] - base, small, small_size)
    # Two strokes under the score, the way teachers underline a total.
    c.setLineWidth(1.4)
    c.setLineCap(1)
    for dy in (3.0, 6.5):
        c.line(x0, sheet[1] - base - dy, x0 + w_big, sheet[1] - base - dy)
    c.restoreState()
    return rect


def draw_strip(c: Canvas, sheet: tuple[float, float], y: float, text: str,
               colour: tuple[float, float, float], size: float = 7.5) -> None:
    """A line of small text centred at sheet-space baseline ``y`` on a faint white band.

    Args:
        c: the canvas.
        sheet: the output page's (width, height).
        y: the baseline, from the top.
        text: the line.
        colour: RGB fill.
        size: font size.
    """
    w = text_width(text, size)
    x = sheet[0] / 2
    c.saveState()
    c.setFillColorRGB(1, 1, 1)
    c.setFillAlpha(0.75)  # legible over scan content without hiding it
    c.rect(x - w / 2 - 3, sheet[1] - y - 2.5, w + 6, size + 3, stroke=0, fill=1)
    c.setFillAlpha(1.0)
    c.setFillColorRGB(*colour)
    draw_text(c, x, sheet[1] - y, text, size, "center")
    c.restoreState()
