"""Whose page: the comb's, the name's and the seat bubbles' evidence as one score per child.

Each source gives a posterior over the class roster; the page's score for a child is the
sum of the sources' log-probabilities, each mixed with a floor so that no single source,
however sure, can veto the others (a child who writes a neighbour's seat, a name read from
a smudge). When the number and the name are each sure of a different child, and no seat
sides with one of them, the page is marked as a conflict: it is never placed without a
teacher.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["NAME_FLOOR", "SEAT_MISS", "SURE", "Identity", "combine", "seat_posterior"]

# Chance the name evidence points at the wrong child (the name reader is judged on a
# synthetic stand-in for children's Chinese handwriting: it is trusted less than its
# own posterior says).
NAME_FLOOR = 0.05
# Chance a seat read from two filled bubbles is not the child's (a slip of the pencil).
SEAT_MISS = 0.002
# A source this sure of one child, against another source as sure of another: a conflict.
SURE = 0.9


@dataclass(frozen=True)
class Identity:
    """A page's identity evidence.

    Attributes:
        scores: Per roster entry, the log posterior given all sources (uniform prior).
        conflict: Two sources are each sure of a different child.
        sources: Which sources had ink (``number``, ``name``, ``seat``).
    """

    scores: tuple[float, ...]
    conflict: bool
    sources: tuple[str, ...]

    def posteriors(self) -> list[float]:
        return [math.exp(s) for s in self.scores]


def seat_posterior(seat: str, numbers: Sequence[str]) -> list[float]:
    """The roster posterior of a seat read from the bubbles: the seat number is the last two
    digits of the student number, so every child whose number ends so is equally likely.
    A number read from an answer sheet's grid is matched the same way on all its digits
    (so a whole number picks out its child, a number's last digits those it ends with)."""
    hits = [("".join(ch for ch in n if ch.isdigit()))[-len(seat):] == seat for n in numbers]
    k = sum(hits)
    n = len(numbers)
    if not n:
        return []
    if not k:
        return [1.0 / n] * n
    return [(1 - SEAT_MISS) / k + SEAT_MISS / n if h else SEAT_MISS / n for h in hits]


def _sure_of(post: Sequence[float] | None) -> int | None:
    if not post:
        return None
    best = int(np.argmax(post))
    return best if post[best] >= SURE else None


def combine(n: int, *, number: Sequence[float] | None = None,
            name: Sequence[float] | None = None,
            seat: Sequence[float] | None = None) -> Identity:
    """One roster posterior from the sources that were read.

    Args:
        n: Roster size.
        number: The comb's posterior (``ocr.students.number.rank_roster``), or None.
        name: The name box's posterior, or None.
        seat: The seat bubbles' posterior (:func:`seat_posterior`), or None.

    Returns:
        The combined identity; all scores equal (log 1/n) when no source was read.
    """
    logs = np.zeros(n)
    sources = []
    for label, post, floor in (("number", number, 0.0), ("name", name, NAME_FLOOR),
                               ("seat", seat, 0.0)):
        if post is None or len(post) != n or not any(post):
            continue
        sources.append(label)
        p = (1 - floor) * np.asarray(post, dtype=float) + floor / n
        logs += np.log(np.maximum(p, 1e-300))
    if n:
        logs -= np.logaddexp.reduce(logs)
    number_sure, name_sure = _sure_of(number), _sure_of(name)
    conflict = number_sure is not None and name_sure is not None and number_sure != name_sure
    if conflict and seat is not None:
        # A seat that sides with exactly one of them settles it (the stack's margin still
        # decides); a seat against the number alone is weighed, never flagged: a misread 7
        # in the comb is likelier than a wrong pair of bubbles.
        group = {i for i, p in enumerate(seat) if p > 10 * SEAT_MISS / max(n, 1)}
        conflict = (number_sure in group) == (name_sure in group)
    return Identity(tuple(float(v) for v in logs), conflict, tuple(sources))
