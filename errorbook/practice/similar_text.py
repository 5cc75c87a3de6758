"""Character n-gram similarity of question stems, suited to Chinese and to drills.

Chinese has no spaces, so words are not units; overlapping character 2- and 3-grams are.
Digits are masked in one of two gram sets so that drills of the same shape (``37 + 48``
and ``26 + 59``) look alike without looking identical.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["GramMatrix", "Grams", "pair_similarity", "stem_grams", "stem_similarity"]

Grams = tuple[frozenset[str], frozenset[str]]


def _normalize(stem: str) -> str:
    return "".join(unicodedata.normalize("NFKC", stem).lower().split())


def _grams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i : i + k] for k in (2, 3) for i in range(len(text) - k + 1))


def stem_grams(stem: str) -> Grams:
    """The (digit-masked, raw) character 2/3-gram sets of a stem (NFKC, no whitespace)."""
    raw = _normalize(stem)
    masked = "".join("#" if c.isdigit() else c for c in raw)
    return _grams(masked), _grams(raw)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def pair_similarity(a: Grams, b: Grams) -> float:
    """Stem similarity of two precomputed ``stem_grams`` results."""
    return 0.5 * _jaccard(a[0], b[0]) + 0.5 * _jaccard(a[1], b[1])


def stem_similarity(a: str, b: str) -> float:
    """Stem similarity in [0, 1]: half digit-masked, half raw character 2/3-gram Jaccard.

    ``37 + 48 =`` vs ``26 + 59 =`` scores 0.5 (same shape, other numbers); a word problem
    with only its numbers changed scores about 0.75; a copy or a one-word edit of a long
    stem reaches the default near-duplicate threshold of 0.8.
    """
    return pair_similarity(stem_grams(a), stem_grams(b))


class GramMatrix:
    """Candidates' n-gram sets as a sparse 0/1 matrix, for one-pass Jaccard against a set.

    Args:
        sets: one gram set per candidate, in pool order.
    """

    def __init__(self, sets: Sequence[frozenset[str]]) -> None:
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for row, grams in enumerate(sets):
            for g in grams:
                rows.append(row)
                cols.append(self.vocab.setdefault(g, len(self.vocab)))
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.sizes = np.asarray([len(s) for s in sets], dtype=np.float64)
        self.count = len(sets)

    def jaccard(self, grams: frozenset[str]) -> npt.NDArray[np.float64]:
        """Jaccard similarity of every candidate's set with ``grams``."""
        hit = np.zeros(len(self.vocab) + 1, dtype=bool)
        ids = [self.vocab[g] for g in grams if g in self.vocab]
        hit[ids] = True
        inter = np.bincount(self.rows[hit[self.cols]], minlength=self.count).astype(np.float64)
        union = self.sizes + len(grams) - inter
        return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
