"""Answer areas of drill items: trimmed to the handwriting, read over the right alphabet.

Split from :mod:`ocr.drill.page` (which re-exports these names): the answer area right of a
printed ``=`` is cut to its stroke-sized ink (no such ink means the item was left blank),
padded with paper, and read by the answer reader over the characters the expression's
answer can use.

Key verification: every drill item's key follows from its printed expression, so the
caller (``service.drill``, which may use ``grading``) can pass each item's key written
forms as ``expected``. A recogniser that verifies keys (``verifies_keys``, the reading
ensemble) then scores them against the ink beside its own readings, as it does for a
printed worksheet's answer regions (``ocr.pipeline.RegionSpec.expected``): a right answer
the top reader misread keeps the key as a strong candidate, and the review policy decides.
The key is only ever a candidate scored on the ink; it never decides a reading alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

import cv2
import numpy as np

from ocr.drill.items import ItemLayout
from ocr.reading.ctc import ALPHABETS, Alphabet
from ocr.reading.preprocess import ink_map, to_gray
from ocr.reading.recognize import Reading, TextRecognizer

__all__ = [
    "IMPLAUSIBLE",
    "REMAINDER",
    "KeyForms",
    "answer_crop",
    "denominator_prior",
    "fraction_alphabet",
    "key_forms",
    "plausible_denominators",
    "read_results",
    "result_alphabet",
    "unchallenged",
]

# An item's expression (``37+48``) -> its key's written forms (``("85",)``); empty: none.
KeyForms = Callable[[str], tuple[str, ...]]

# Weight of a fraction reading whose denominator no answer to its expression has.
IMPLAUSIBLE = 0.1

REMAINDER = Alphabet("drill_remainder", "0123456789.…", r"[0-9]+|[0-9]+(?:…+|\.{2,})[0-9]+")


def result_alphabet(expression: str) -> Alphabet:
    """The alphabet a student's answer to ``expression`` can use.

    Args:
        expression: A parsed expression such as ``37+48`` or ``17÷5``.

    Returns:
        Quotient/remainder forms for whole-number division, fractions when the
        expression has a fraction bar, decimals when it has a decimal point, signed
        whole numbers when it subtracts, else digits.
    """
    if "/" in expression:
        return fraction_alphabet(expression)
    if "." in expression:
        return ALPHABETS["signed_decimal"]
    if "÷" in expression:
        return REMAINDER
    if "-" in expression:
        return Alphabet("drill_signed", "0123456789-", r"-?[0-9]+")
    return ALPHABETS["digits"]


def fraction_alphabet(expression: str) -> Alphabet:
    """The answers a fraction expression can have: ``a/b``, whole numbers, decimals.

    Handwritten ``/`` and ``1`` look alike, and every reader turns a written ``6/7`` into
    ``617`` now and then. As a whole number that reading fits the generic numeric format,
    so nothing argued against it; as the answer to ``4/7 + 2/7`` it is absurd. Numbers are
    bounded by the expression's own: a numerator or denominator has at most one digit
    more than the longest number printed, a whole number (or a decimal's whole part) at
    most as many digits as it, and never fewer than two (``11`` is a wrong answer a child
    does write). The alphabet keeps the name ``numeric``: it is that format, narrowed,
    and the readers trained on it still read it.

    Args:
        expression: A parsed expression with a fraction bar, such as ``3/7+2/7``.

    Returns:
        The narrowed numeric alphabet; a minus sign only when the expression subtracts.
    """
    longest = max((len(n) for n in re.findall(r"[0-9]+", expression)), default=1)
    whole = max(2, longest)
    part = f"[0-9]{{1,{longest + 1}}}"
    sign = "-?" if "-" in expression else ""
    pattern = (f"{sign}(?:{part}/{part}|[0-9]{{1,{whole}}}(?:\\.[0-9]{{1,3}})?)")
    chars = "0123456789./" + ("-" if sign else "")
    return Alphabet("numeric", chars, pattern)


def plausible_denominators(expression: str) -> frozenset[int]:
    """Denominators an answer to a fraction ``expression`` can have, right or wrong.

    For ``+`` and ``-``: the divisors of the denominators' least common multiple (a
    reduced answer), its multiples up to four times (an unreduced one), and the sum of the
    denominators (the commonest mistake, ``1/5 + 2/5 = 3/10``). For ``×`` and ``÷``: the
    divisors of the product of every number printed. Never 1: ``5/1`` is no way to write 5.
    """
    numbers = [int(n) for n in re.findall(r"[0-9]+", expression)]
    if "×" in expression or "÷" in expression:
        product = math.prod(n for n in numbers if n) or 1
        out = {d for d in range(2, min(product, 10_000) + 1) if product % d == 0}
    else:
        dens = [int(d) for d in re.findall(r"/([0-9]+)", expression) if int(d)] or [1]
        lcm = math.lcm(*dens)
        out = {d for d in range(2, lcm + 1) if lcm % d == 0}
        out |= {k * lcm for k in range(1, 5)} | {sum(dens)}
    return frozenset(out - {1})


def denominator_prior(reading: Reading, expression: str) -> Reading:
    """``reading`` with its fraction alternatives weighed by :func:`plausible_denominators`.

    A written ``5/7`` read ``5/1`` (the ``7`` a ``1``), or ``7/13`` read ``71/3`` (the
    slash moved past a ``1``), is a fraction no child writes for ``1/7 + 3/7`` or
    ``4/13 + 3/13``. Such a reading's share is multiplied by ``IMPLAUSIBLE`` (0.1) and the
    shares renormalised: a prior, not a rule. A strange reading stays first unless a
    plausible one was at least a tenth as likely, and then the two are close, so the review
    policy sees both; a key that was a plausible alternative gains weight enough to be
    seen. Whole numbers and decimals are left as they are (their alphabet bounds them).

    Args:
        reading: The answer reading (``ok`` with alternatives, else returned as it is).
        expression: Its fraction expression.

    Returns:
        The reading, its text and confidence those of the likeliest alternative.
    """
    if reading.status != "ok" or not reading.alternatives:
        return reading
    dens = plausible_denominators(expression)
    weighed = [(t, p * (IMPLAUSIBLE if _denominator(t) not in dens | {None} else 1.0))
               for t, p in reading.alternatives]
    total = sum(p for _, p in weighed)
    if total <= 0 or all(w == p for (_, w), (_, p) in zip(weighed, reading.alternatives,
                                                             strict=True)):
        return reading
    alts = tuple(sorted(((t, p / total) for t, p in weighed), key=lambda tp: -tp[1]))
    text, share = alts[0]
    if text == reading.text:
        return replace(reading, confidence=share, alternatives=alts)
    return replace(reading, text=text, confidence=share, alternatives=alts,
                   char_confidences=(),
                   detail=f"{reading.detail}; denominators weighed ({reading.text!r} was first)")


def _denominator(text: str) -> int | None:
    if "/" not in text:
        return None
    try:
        return int(text.rsplit("/", 1)[1])
    except ValueError:
        return None


def answer_crop(
    gray: np.ndarray, box: tuple[int, int, int, int], char_height: float
) -> np.ndarray | None:
    """Cut an answer area to its handwriting, with a margin of clean paper, or None if blank.

    The answer reader's preparation was made for printed answer boxes: it erases straight
    strokes hugging a crop's sides and ink lying wholly in its outer band (stubs of the
    box). In a drill answer area a written ``1`` often sits right at the left edge, so the
    area is trimmed to its ink here and padded with paper first. Ink is counted only in
    components of a stroke's size, so copier noise and JPEG specks on grey paper do not make
    a blank answer look written.

    Args:
        gray: The page in grayscale.
        box: The answer area ``(x0, y0, x1, y1)``.
        char_height: Printed character height in pixels (sets the speck size).

    Returns:
        The padded crop, or None when no stroke-sized ink is there.
    """
    x0, y0, x1, y1 = box
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    # A low threshold keeps thin, light pencil strokes whole; specks are then rejected by
    # size (a stroke spans a good part of a character, copier noise a few pixels).
    ink = ink_map(crop) > 0.18
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    min_area = max(6.0, (0.12 * char_height) ** 2)
    min_extent = 0.3 * char_height
    keep = [
        k for k in range(1, n)
        if stats[k, 4] >= min_area and max(stats[k, 2], stats[k, 3]) >= min_extent
    ]
    if not keep:
        return None
    kx0 = min(int(stats[k, 0]) for k in keep)
    ky0 = min(int(stats[k, 1]) for k in keep)
    kx1 = max(int(stats[k, 0] + stats[k, 2]) for k in keep)
    ky1 = max(int(stats[k, 1] + stats[k, 3]) for k in keep)
    m = int(0.2 * char_height) + 2
    sub = crop[max(0, ky0 - m) : ky1 + m, max(0, kx0 - m) : kx1 + m]
    paper = int(np.percentile(crop, 75))
    pad = int(0.6 * char_height) + 4
    # Keep the ink off the sides, where a box-border heuristic would look for rules.
    side = max(pad, int(0.5 * sub.shape[1]))
    return cv2.copyMakeBorder(sub, pad, pad, side, side, cv2.BORDER_CONSTANT, value=paper)


def read_results(
    image: np.ndarray,
    layouts: Sequence[ItemLayout],
    recognizer: TextRecognizer,
    decoding: Literal["masked", "plain"] = "masked",
    expected_for: KeyForms | None = None,
) -> list[Reading]:
    """Read every item's answer area.

    Args:
        image: The page the layouts were found on.
        layouts: Located items.
        recognizer: Answer reader.
        decoding: ``masked`` (alphabet from the expression) or ``plain`` (none).
        expected_for: Each item's key written forms from its expression, passed to a
            recogniser that verifies keys (see the module docstring); None: no keys.

    Returns:
        One reading per layout; an item whose expression did not parse is read
        with the generic numeric alphabet (its answer is still shown to the reviewer).
    """
    gray = to_gray(image)
    crops = [answer_crop(gray, la.result_box, la.char_height) for la in layouts]
    out: list[Reading | None] = [None] * len(layouts)
    # One batch per alphabet (fraction alphabets differ by the expression's numbers).
    groups: dict[Alphabet | None, list[int]] = {}
    for i, la in enumerate(layouts):
        if crops[i] is None:
            out[i] = Reading("blank", detail="no handwriting right of '='")
            continue
        chosen = result_alphabet(la.expression) if la.expression else ALPHABETS["numeric"]
        groups.setdefault(chosen if decoding == "masked" else None, []).append(i)
    for alphabet, members in groups.items():
        batch = [c for c in (crops[i] for i in members) if c is not None]
        extra: dict[str, Any] = {}
        if expected_for is not None and getattr(recognizer, "verifies_keys", False):
            extra["expected"] = [key_forms(expected_for, layouts[i].expression) for i in members]
        readings = recognizer.recognize(batch, alphabet=alphabet, **extra)
        keys = extra.get("expected") or [()] * len(members)
        for i, reading, forms in zip(members, readings, keys, strict=True):
            if "/" in layouts[i].expression and decoding == "masked":
                reading = denominator_prior(reading, layouts[i].expression)
            out[i] = unchallenged(reading, forms)
    return [r if r is not None else Reading("engine_error") for r in out]


def unchallenged(reading: Reading, keys: Sequence[str]) -> Reading:
    """``reading``, or ``unreadable`` when its only candidates were the key's forms.

    When no reader writes a reading of its own that fits the alphabet, the key is the
    only candidate left and takes the whole posterior share however poorly it fits the
    ink: that verifies nothing (a written ``10……2`` read as the key ``9……2`` with
    confidence 1). Such an answer is unreadable, as it is when read without the key.
    """
    if reading.status != "ok" or not keys or not reading.alternatives:
        return reading
    if any(text not in keys for text, _ in reading.alternatives):
        return reading
    return Reading("unreadable", detail=f"only the key fits the alphabet ({reading.detail})")


def key_forms(expected_for: KeyForms | None, expression: str) -> tuple[str, ...]:
    """The key forms of one item; none without keys, for an unparsed expression, or for a
    failing key.

    A key that cannot be computed only loses the verification: the answer is still read.
    """
    if expected_for is None or not expression:
        return ()
    try:
        return tuple(expected_for(expression))
    except Exception:
        return ()
