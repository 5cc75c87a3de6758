"""Whose paper is it: the handwritten student number, decided among the class's numbers.

A comb box holds one digit, and the answer is one of the roster's numbers, so the comb is
not read as free text. Each box is cut out alone (the printed box removed by subtracting
the blank), padded with paper so the readers see a glyph with room around it, and read as
exactly one digit: every digit 0-9 is scored on all three readers (the ensemble's key
verification, ``ocr.reading.ensemble``), giving each box a distribution over the ten
digits. A roster number's likelihood is the product of its digits' probabilities, each
mixed with a small slip probability, so a child who writes one digit wrong, or a digit
the readers cannot tell apart, still points at the right number when the others agree;
the posterior over the roster (uniform prior) says how sure the choice is
(:func:`rank_roster`); ``ocr.students.identify`` combines it with the name and the seat
bubbles, and the service places pages on the stack as a whole (``ocr.students.stack``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr.align import Alignment
from ocr.reading.ctc import ALPHABETS
from ocr.regions import blank_box, has_ink, measure_ink, register_blank, remove_print
from ocr.students.capture import COPIER, Capture, cut, locate

__all__ = ["DIGITS", "CombRead", "rank_roster", "read_comb"]

Box = tuple[float, float, float, float]
# Each box is cut just inside its printed outline, so no sliver of the box's own line (left
# by a slightly misregistered blank) reads as a "1".
COMB_INSET_PT = 1.2
DIGITS = tuple("0123456789")
# A box's glyph is padded with paper to this many times its crop width: alone in a
# 6 mm box a digit is far narrower than the lines the readers learned (measured: a 1 in a
# tight crop reads as anything, padded it reads as 1).
PAD_WIDTHS = 3
# Chance a box's digit is not what the readers' evidence says (a child's slip, a digit the
# readers cannot tell apart); it keeps one wrong box from vetoing the roster number.
SLIP = 0.02
# Chance of an empty box inside a roster number, or of ink past its last digit.
STRAY = 0.01


@dataclass(frozen=True)
class CombRead:
    """The comb as read: per box, the ten digits' probabilities, or None for an empty box.

    Attributes:
        boxes: Left to right.
    """

    boxes: tuple[tuple[float, ...] | None, ...]

    @property
    def text(self) -> str:
        """The likeliest digit of each box up to the first empty one (for display)."""
        out = ""
        for probs in self.boxes:
            if probs is None:
                break
            out += DIGITS[int(np.argmax(probs))]
        return out

    @property
    def written(self) -> bool:
        """Whether any box has ink."""
        return any(p is not None for p in self.boxes)


# What :func:`_box_inks` gives a box whose printed border was not found on a photo (a
# thumb, a fold over it): its ink is unknown, so it is read as no evidence.
_LOST = np.zeros((0, 0), np.uint8)


def _box_inks(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
              blank_px_per_pt: float, boxes: Sequence[Box], *, margin_pt: float,
              pad_widths: int, capture: Capture = COPIER) -> list[np.ndarray | None]:
    fits = locate(upright, alignment, boxes, blank_page, blank_px_per_pt, capture)
    inks: list[np.ndarray | None] = []
    for k, box in enumerate(boxes):
        fit = fits[k] if fits is not None else None
        if fit is not None and not fit.found:
            inks.append(_LOST)
            continue
        crop = cut(upright, alignment, box, capture, margin_pt=margin_pt, fit=fit)
        blank = register_blank(crop, blank_box(blank_page, blank_px_per_pt, box,
                                               margin_pt=margin_pt))
        ink = remove_print(crop, blank)
        if not has_ink(measure_ink(ink)):
            inks.append(None)
            continue
        pad = ink.shape[1] * (pad_widths - 1) // 2
        inks.append(np.pad(ink, ((0, 0), (pad, pad)), constant_values=255) if pad else ink)
    return inks


def read_comb(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
              blank_px_per_pt: float, boxes: Sequence[Box], recognizer: object, *,
              capture: Capture = COPIER) -> CombRead:
    """Read each comb box as exactly one digit, with every digit's probability.

    Args:
        upright: The page image, turned upright.
        alignment: Its page-space → pixel alignment.
        blank_page: The blank page rendered at ``blank_px_per_pt``.
        blank_px_per_pt: That rendering's resolution.
        boxes: The comb's boxes in page points, left to right.
        recognizer: A ``TextRecognizer``; one that verifies (``verifies_keys``) scores all
            ten digits in every box, any other gives its own alternatives.
        capture: How the page's boxes are cut (``ocr.students.capture``): on a photo each
            box is located again by its printed border and corners and its crop divided
            by the paper's level under it.

    Returns:
        The comb: a uniform distribution for a box whose ink could not be read (an
        engine failure never becomes a guess) or, on a photo, whose border was not found;
        None for an empty box.
    """
    inks = _box_inks(upright, alignment, blank_page, blank_px_per_pt, boxes,
                     margin_pt=-COMB_INSET_PT, pad_widths=PAD_WIDTHS, capture=capture)
    inked = [ink for ink in inks if ink is not None and ink.size]
    readings: list[object] = []
    if inked:
        extra: dict[str, object] = {}
        if getattr(recognizer, "verifies_keys", False):
            extra["expected"] = [DIGITS] * len(inked)
        try:
            readings = recognizer.recognize(inked, alphabet=ALPHABETS["digits"],  # type: ignore[attr-defined]
                                            length=(1, 1), **extra)
        except Exception:  # an engine failure means "no evidence", never a guess
            readings = []
    uniform = tuple([0.1] * 10)
    temperature = float(getattr(getattr(recognizer, "options", None), "temperature", 1.0) or 1.0)
    out: list[tuple[float, ...] | None] = []
    k = 0
    for ink in inks:
        if ink is None:
            out.append(None)
            continue
        if not ink.size:
            out.append(uniform)
            continue
        reading = readings[k] if k < len(readings) else None
        k += 1
        shares = dict(getattr(reading, "alternatives", ()) or ())
        if getattr(reading, "status", "") != "ok":
            out.append(uniform)
            continue
        # The ensemble's shares are tempered to rank one crop's candidates; undoing the
        # temperature gives the readers' own odds between the ten digits.
        probs = np.array([float(shares.get(d, 0.0)) for d in DIGITS]) ** (1.0 / temperature)
        total = probs.sum()
        out.append(tuple((probs / total).tolist()) if total > 0 else uniform)
    return CombRead(tuple(out))


def rank_roster(comb: CombRead, numbers: Sequence[str], slip: float = SLIP,
                stray: float = STRAY) -> list[float]:
    """Posterior of each roster number given the comb (uniform prior over the roster).

    Args:
        comb: The comb as read.
        numbers: The roster's student numbers (non-digits are ignored; a number longer
            than the comb is compared on the comb's boxes).
        slip: Chance a box's digit differs from the evidence.
        stray: Chance of an empty box inside the number or ink past its end.

    Returns:
        One probability per number, in order, summing to 1 (all 0 for an empty comb or
        an empty roster).
    """
    if not numbers or not comb.written:
        return [0.0] * len(numbers)
    logs = []
    for number in numbers:
        digits = "".join(ch for ch in number if ch.isdigit())
        total = 0.0
        for i, probs in enumerate(comb.boxes):
            if i < len(digits):
                if probs is None:
                    total += math.log(stray)
                else:
                    total += math.log((1 - slip) * probs[int(digits[i])] + slip / 10)
            elif probs is not None:
                total += math.log(stray)
        logs.append(total)
    arr = np.array(logs)
    post = np.exp(arr - np.logaddexp.reduce(arr))
    return [float(p) for p in post]
