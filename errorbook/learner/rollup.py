"""Roll knowledge-point mastery up the code hierarchy (``math.add.carry`` → ``math.add`` → ``math``).

Knowledge-point codes are dot-separated paths; every proper prefix of a code is its
ancestor, whether or not it was listed. A node's estimate is the attempts-weighted mean of
its children's (rolled-up) estimates and of its own direct data, so a parent reflects where
the answers were, and a child with many answers counts for more than one with a single
answer. Attempts add up the tree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["RollupEstimate", "ancestors", "parent_code", "rollup"]


@dataclass(frozen=True)
class RollupEstimate:
    """One node's rolled-up mastery.

    Attributes:
        code: the knowledge-point code.
        p_mastery: weighted mean mastery of the node and everything below it; ``None``
            when nothing at or below it has an estimate.
        attempts: answers at or below the node.
        children: direct child codes, sorted.
    """

    code: str
    p_mastery: float | None
    attempts: int
    children: tuple[str, ...]


def parent_code(code: str) -> str | None:
    """The code's parent by prefix (``math.add`` for ``math.add.carry``), None at the root.

    Args:
        code: a dot-separated knowledge-point code.

    Returns:
        The parent code or None.
    """
    head, sep, _ = code.rpartition(".")
    return head if sep else None


def ancestors(code: str) -> tuple[str, ...]:
    """Every proper prefix of ``code``, nearest first.

    Args:
        code: a dot-separated knowledge-point code.

    Returns:
        E.g. ``("math.add", "math")`` for ``math.add.carry``.
    """
    out = []
    parent = parent_code(code)
    while parent is not None:
        out.append(parent)
        parent = parent_code(parent)
    return tuple(out)


def _check(code: str, p: float, attempts: int) -> None:
    if not code or any(not part for part in code.split(".")):
        raise ValueError(f"bad knowledge-point code {code!r}")
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"p_mastery of {code!r} must lie in [0, 1], got {p!r}")
    if attempts < 0:
        raise ValueError(f"attempts of {code!r} must be >= 0, got {attempts!r}")


def rollup(leaf_estimates: Mapping[str, tuple[float, int]],
           codes: Iterable[str]) -> dict[str, RollupEstimate]:
    """Estimates for every node of the hierarchy.

    Weights are attempts. Where a node's parts all have zero attempts (estimates with no
    answers behind them), their plain mean is used rather than dropping them.

    Args:
        leaf_estimates: code → ``(p_mastery, attempts)`` for knowledge points with data
            (a parent may have direct data too).
        codes: the hierarchy's codes (e.g. all knowledge points of a subject); their
            prefixes and the codes of ``leaf_estimates`` are added.

    Returns:
        code → :class:`RollupEstimate` for every node.

    Raises:
        ValueError: an empty code segment, ``p_mastery`` outside [0, 1] or negative
            attempts.
    """
    for code, (p, n) in leaf_estimates.items():
        _check(code, p, n)
    nodes: set[str] = set()
    for code in [*codes, *leaf_estimates]:
        if not code or any(not part for part in code.split(".")):
            raise ValueError(f"bad knowledge-point code {code!r}")
        nodes.add(code)
        nodes.update(ancestors(code))
    children: dict[str, list[str]] = {code: [] for code in nodes}
    for code in nodes:
        parent = parent_code(code)
        if parent is not None:
            children[parent].append(code)

    out: dict[str, RollupEstimate] = {}
    # Deepest first, so every child is done before its parent.
    for code in sorted(nodes, key=lambda c: (-c.count("."), c)):
        parts: list[tuple[float, int]] = []
        if code in leaf_estimates:
            p, n = leaf_estimates[code]
            parts.append((float(p), int(n)))
        kids = tuple(sorted(children[code]))
        for kid in kids:
            est = out[kid]
            if est.p_mastery is not None:
                parts.append((est.p_mastery, est.attempts))
        attempts = sum(n for _, n in parts)
        if not parts:
            mean: float | None = None
        elif attempts > 0:
            mean = math.fsum(p * n for p, n in parts) / attempts
        else:
            mean = math.fsum(p for p, _ in parts) / len(parts)
        out[code] = RollupEstimate(code, mean, attempts, kids)
    return out
