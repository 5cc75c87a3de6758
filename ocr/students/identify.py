"""Whose page: everything an anonymous copy says about its child, read in one place.

The comb (``ocr.students.number``), the name box (``ocr.students.name``) and, when the copy
was printed with them, the seat bubbles (``ocr.students.seat``) are each read as a
posterior over the class roster and combined (``ocr.students.evidence``). The service and
the benchmark both call :func:`read_identity`, so what is measured is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr.align import Alignment
from ocr.students.evidence import Identity, combine, seat_posterior
from ocr.students.name import UNLISTED_LOG_ODDS, name_posteriors, read_name
from ocr.students.number import CombRead, rank_roster, read_comb
from ocr.students.seat import read_seat

__all__ = ["IdentityRead", "read_identity"]

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


def read_identity(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
                  blank_px_per_pt: float, *, comb_boxes: Sequence[Box], name_box: Box | None,
                  seat_bubbles: Sequence[tuple[int, int, Box]], numbers: Sequence[str],
                  names: Sequence[str], recognizer: object) -> IdentityRead:
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
    """
    n = len(numbers)
    comb = read_comb(upright, alignment, blank_page, blank_px_per_pt, comb_boxes, recognizer)
    number_post = rank_roster(comb, numbers) if comb.written else None
    name_text, name_post = "", None
    if name_box is not None:
        evidence = read_name(upright, alignment, blank_page, blank_px_per_pt, name_box,
                             recognizer)
        if evidence is not None:
            name_text = evidence.text
            # "Someone not on the roster" keeps a guest's or a nickname's closest roster
            # name from looking sure.
            name_post = name_posteriors(evidence, names, unlisted_log_odds=UNLISTED_LOG_ODDS)
    seat = read_seat(upright, alignment, blank_page, blank_px_per_pt, seat_bubbles) \
        if seat_bubbles else None
    seat_post = seat_posterior(seat.seat, numbers) if seat and seat.seat else None
    identity = combine(n, number=number_post, name=name_post, seat=seat_post)
    return IdentityRead(identity, comb, name_text, seat.seat if seat else None,
                        seat.status if seat else "absent", number_post, name_post, seat_post)
