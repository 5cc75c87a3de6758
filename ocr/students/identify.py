"""Whose page: everything an anonymous copy says about its child, read in one place.

The comb (``ocr.students.number``), the name box (``ocr.students.name``) and, when the copy
was printed with them, the seat bubbles (``ocr.students.seat``) are each read as a
posterior over the class roster and combined (``ocr.students.evidence``). The service and
the benchmark both call :func:`read_identity`, so what is measured is what runs.

Each page is first judged as a copier scan or a photo (``ocr.students.capture``): on a
photo every reader locates its boxes again by their print (page curl) and divides its
crops by the paper's level under them (shadows), as the answer boxes are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr.align import Alignment
from ocr.students.capture import Capture, capture_of
from ocr.students.evidence import Identity, combine, seat_posterior
from ocr.students.name import UNLISTED_LOG_ODDS, name_posteriors, read_name
from ocr.students.number import CombRead, rank_roster, read_comb
from ocr.students.seat import read_seat

__all__ = ["IdentityRead", "page_capture", "read_identity"]

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class IdentityRead:
    """One page's identity evidence.

    Attributes:
        identity: The sources combined.
        comb: The comb as read (per-box digit probabilities).
        name: The name box's free reading ("" when empty), for display.
        seat: The seat bubbles' two digits when read, else None.
        seat_status: ``absent``, ``blank``, ``read`` or ``unclear``.
        number_post, name_post, seat_post: Each source's own roster posterior, or None
            when it had nothing to say.
    """

    identity: Identity
    comb: CombRead
    name: str
    seat: str | None
    seat_status: str
    number_post: list[float] | None
    name_post: list[float] | None
    seat_post: list[float] | None

    @property
    def written(self) -> bool:
        """Whether the page carries any identity at all."""
        return bool(self.identity.sources)


def page_capture(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
                 blank_px_per_pt: float, *, comb_boxes: Sequence[Box], name_box: Box | None
                 ) -> Capture:
    """Whether a page is read as a copier scan or as a photo, judged on its identity boxes
    (``ocr.students.capture.capture_of``, the comb and the name box as probes).

    Args:
        upright, alignment, blank_page, blank_px_per_pt: as for :func:`read_identity`.
        comb_boxes: The student-number boxes.
        name_box: The name box, or None.
    """
    probes = [*comb_boxes, *([name_box] if name_box is not None else [])]
    return capture_of(upright, alignment, blank_page, blank_px_per_pt, probes)


def read_identity(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
                  blank_px_per_pt: float, *, comb_boxes: Sequence[Box], name_box: Box | None,
                  seat_bubbles: Sequence[tuple[int, int, Box]], numbers: Sequence[str],
                  names: Sequence[str], recognizer: object,
                  capture: Capture | None = None) -> IdentityRead:
    """Read the comb, the name and the seat bubbles and weigh them over the roster.

    Args:
        upright: The page image, turned upright.
        alignment: Its page-space → pixel alignment.
        blank_page: The blank page rendered at ``blank_px_per_pt``.
        blank_px_per_pt: That rendering's resolution.
        comb_boxes: The student-number boxes, left to right.
        name_box: The name box, or None to leave the name out.
        seat_bubbles: The layout's seat bubbles (empty: none on this layout).
        numbers: The roster's student numbers.
        names: The roster's names, in the same order.
        recognizer: The reading ensemble.
        capture: How the page's boxes are cut, when the caller decided it already
            (:func:`page_capture`); None decides it here.
    """
    n = len(numbers)
    if capture is None:
        capture = page_capture(upright, alignment, blank_page, blank_px_per_pt,
                               comb_boxes=comb_boxes, name_box=name_box)
    comb = read_comb(upright, alignment, blank_page, blank_px_per_pt, comb_boxes, recognizer,
                     capture=capture)
    number_post = rank_roster(comb, numbers) if comb.written else None
    name_text, name_post = "", None
    if name_box is not None:
        evidence = read_name(upright, alignment, blank_page, blank_px_per_pt, name_box,
                             recognizer, capture=capture)
        if evidence is not None:
            name_text = evidence.text
            # "Someone not on the roster" keeps a guest's or a nickname's closest roster
            # name from looking sure.
            name_post = name_posteriors(evidence, names, unlisted_log_odds=UNLISTED_LOG_ODDS)
    seat = read_seat(upright, alignment, blank_page, blank_px_per_pt, seat_bubbles,
                     capture=capture) if seat_bubbles else None
    seat_post = seat_posterior(seat.seat, numbers) if seat and seat.seat else None
    identity = combine(n, number=number_post, name=name_post, seat=seat_post)
    return IdentityRead(identity, comb, name_text, seat.seat if seat else None,
                        seat.status if seat else "absent", number_post, name_post, seat_post)
