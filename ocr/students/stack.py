"""Use the stack: in one class upload each child hands in a page at most once.

Page by page, a one-digit slip can make a child's number another child's; across the
stack, that other child's own page usually claims their number far more strongly. The
pages are matched to roster students by the assignment with the highest total
log-probability (:func:`best_assignment`, the Hungarian method), and a page is placed only
when forbidding its match costs the whole stack at least a margin
(:func:`stack_margins`): the doubt left is the page's own, not a neighbour's.
:func:`place_pages` adds the way out that a real stack needs: a page may belong to nobody
still free (a second scan of a child already graded, a child of another class), so each
page also gets a "nobody" column, and a page matched to it is left for a teacher.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NOBODY", "PLACE_MARGIN", "SEAT_MARGIN", "best_assignment", "margin_for",
           "place_pages", "stack_margins"]

# Log-probability standing for "impossible" (finite, so sums stay ordered).
_NEVER = -1e6
# What forbidding a page's placement must cost the stack before the page is placed without a
# teacher, chosen on the calibration writers' stacks (bench/bench_student_ids.py --choose,
# 1,200 pages): from the comb (and name) alone no wrong placement at 6 and above, 8 kept
# for room; with a read pair of seat bubbles none at 2 and above, 4 kept for room.
PLACE_MARGIN = 8.0
SEAT_MARGIN = 4.0
# Log-score of "this page is nobody's who is still free": a page's evidence for a free child
# must beat it; the evidence is a log posterior over the whole roster, so a second scan of a
# child already placed scores about log(slip) for that child's neighbours, below this.
NOBODY = -9.2


def best_assignment(scores: np.ndarray) -> list[int]:
    """The column of each row in the assignment with the highest total score.

    Args:
        scores: (pages, students) log-probabilities; pages must not outnumber students.

    Returns:
        One distinct column per row.

    Raises:
        ValueError: If there are more rows than columns.
    """
    n, m = scores.shape
    if n > m:
        raise ValueError(f"{n} pages cannot be matched to {m} students one to one")
    if n == 0:
        return []
    # Hungarian method on costs (the shortest augmenting path form, O(n^2 m)); row 0 and
    # column 0 of the potentials are sentinels.
    cost = -np.maximum(scores, _NEVER)
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=int)  # owner[j]: the row matched to column j (1-based)
    way = np.zeros(m + 1, dtype=int)
    for row in range(1, n + 1):
        owner[0] = row
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    out = [-1] * n
    for j in range(1, m + 1):
        if owner[j]:
            out[owner[j] - 1] = j - 1
    return out


def stack_margins(scores: np.ndarray) -> list[tuple[int, float]]:
    """Each page's student in the best assignment, and what forbidding it would cost.

    Args:
        scores: (pages, students) log-probabilities (e.g. the log of
            ``ocr.students.number.rank_roster``'s posteriors).

    Returns:
        Per page: (column, margin), the margin being the best total's drop when that page
        may not have that student (0 when no other assignment exists).
    """
    best = best_assignment(scores)
    rows = np.arange(len(best))
    total = float(np.maximum(scores, _NEVER)[rows, best].sum()) if best else 0.0
    out = []
    for i, j in enumerate(best):
        forbidden = scores.copy()
        forbidden[i, j] = _NEVER
        alt = best_assignment(forbidden)
        alt_total = float(np.maximum(forbidden, _NEVER)[rows, alt].sum())
        out.append((j, total - alt_total))
    return out


def margin_for(sources: Sequence[str]) -> float:
    """The margin a page needs, by what it was read from (``Identity.sources``)."""
    return SEAT_MARGIN if "seat" in sources else PLACE_MARGIN


def place_pages(scores: np.ndarray, *, margin: float | Sequence[float] = PLACE_MARGIN,
                nobody: float = NOBODY) -> list[tuple[int, float]]:
    """Place a stack's pages on the free children, each at most once, or on nobody.

    Args:
        scores: (pages, free children) log-scores of each page's evidence.
        margin: The least cost of forbidding a placement for the page to be placed: one
            for every page, or one per page (:func:`margin_for`).
        nobody: The log-score of a page belonging to none of the free children.

    Returns:
        Per page: (column, margin) with column -1 when the page is left for a teacher
        (matched to nobody, or placed with less than ``margin``).
    """
    n, m = scores.shape
    if n == 0:
        return []
    # One "nobody" column per page, so every page can always take one.
    padded = np.concatenate([scores, np.full((n, n), nobody)], axis=1)
    needed = [float(margin)] * n if isinstance(margin, int | float) else list(margin)
    out = []
    for (j, cost), least in zip(stack_margins(padded), needed, strict=True):
        out.append((j if j < m and cost >= least else -1, cost))
    return out
