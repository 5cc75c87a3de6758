"""Use the stack: in one class upload each child hands in a page at most once.

Page by page, a one-digit slip can make a child's number another child's; across the
stack, that other child's own page usually claims their number far more strongly. The
pages are matched to roster students by the assignment with the highest total
log-probability (:func:`best_assignment`, the Hungarian method), and a page is placed only
when forbidding its match costs the whole stack at least a margin
(:func:`stack_margins`): the doubt left is the page's own, not a neighbour's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_assignment", "stack_margins"]

# Log-probability standing for "impossible" (finite, so sums stay ordered).
_NEVER = -1e6


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
