"""Choose similar questions from the bank for a wrong item (举一反三).

Each candidate is scored against the wrong item (the *target*) and the student:

* ``kp``: weighted knowledge-point overlap; the same code counts 1, a parent or child 0.6
  (0.36 two levels apart), a sibling 0.4, a cousin under the same strand 0.2, nothing
  shared below the subject 0. Candidates with no related KP are never picked.
* ``difficulty``: closeness of the candidate's difficulty (logits) to the student's ability
  plus a small stretch (``STRETCH``), a Gaussian of width ``DIFFICULTY_SCALE``.
* ``stem``: character 2- and 3-gram Jaccard similarity, half on the text with every digit
  masked (so ``37 + 48`` and ``26 + 59`` look alike), half on the raw text.
* ``cause``: 1 when the candidate practises the diagnosed error cause.

The score is the ``WEIGHTS``-weighted sum; ties go to the smaller question id. Picks are
greedy: a candidate whose stem similarity to the target or to an earlier pick reaches
``near_duplicate`` is skipped, so the student never gets the same item twice in new clothes.

Build a :class:`SimilarIndex` once per pool (it precomputes the n-grams) and call
``select`` per request; :func:`select_similar` is the one-shot form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from errorbook.practice.similar_text import GramMatrix, pair_similarity, stem_grams, stem_similarity
from grading.causes import CAUSE_LABELS

__all__ = [
    "DIFFICULTY_SCALE",
    "STRETCH",
    "WEIGHTS",
    "Candidate",
    "Pick",
    "SimilarIndex",
    "kp_overlap",
    "kp_similarity",
    "select_similar",
    "stem_grams",
    "stem_similarity",
]

#: Weights of the score's parts (they add up to 1, so a score lies in [0, 1]).
WEIGHTS: Mapping[str, float] = {"kp": 0.45, "difficulty": 0.25, "stem": 0.15, "cause": 0.15}
#: Practice slightly above the current level (logits).
STRETCH = 0.3
#: Width of the difficulty preference in logits (about one bank difficulty level).
DIFFICULTY_SCALE = 0.8
#: Share of the KP part given to covering the target's KPs (the rest: the candidate's
#: KPs being on topic), so an item with one extra KP is only mildly penalised.
_COVERAGE = 0.7
_CAUSE_NAMES: dict[str, tuple[str, str]] = {str(c): v for c, v in CAUSE_LABELS.items()}


@dataclass(frozen=True)
class Candidate:
    """A bank question as the selector sees it.

    Attributes:
        question_id: the question's id.
        knowledge_points: its KP codes.
        difficulty: in logits, 0 = average (the service maps bank 1..5 via ``(d-3)*0.8``).
        stem: the question text.
        causes: error-cause codes this item practises (may be empty).
    """

    question_id: str
    knowledge_points: tuple[str, ...]
    difficulty: float
    stem: str
    causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pick:
    """One selected question.

    Attributes:
        question_id: the candidate's id.
        score: the weighted score in [0, 1].
        reason_zh, reason_en: why it was chosen, in the teacher's words (about the student).
        parts: the unweighted parts (``kp``, ``difficulty``, ``stem``, ``cause``), each in [0, 1].
    """

    question_id: str
    score: float
    reason_zh: str
    reason_en: str
    parts: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- knowledge points


@lru_cache(maxsize=65536)
def kp_similarity(a: str, b: str) -> float:
    """How close two KP codes are, in [0, 1] (see the module docstring for the levels).

    Args:
        a, b: KP codes such as ``math.add.carry``.

    Returns:
        1 same, 0.6 per level for an ancestor, 0.4 siblings, 0.2 cousins, else 0. Codes that
        share only the subject (``math``) are unrelated.
    """
    if a == b:
        return 1.0
    pa, pb = a.split("."), b.split(".")
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    if common < 2:
        return 0.0
    if common == min(len(pa), len(pb)):  # one is an ancestor of the other
        return 0.6 ** abs(len(pa) - len(pb))
    if len(pa) == len(pb) == common + 1:
        return 0.4
    return 0.2


def _best(code: str, others: Iterable[str]) -> tuple[float, str]:
    best, other = 0.0, ""
    for o in others:
        s = kp_similarity(code, o)
        if s > best:
            best, other = s, o
    return best, other


def kp_overlap(target: Sequence[str], candidate: Sequence[str]) -> tuple[float, str, float]:
    """Weighted KP overlap of two items.

    Args:
        target: the wrong item's KP codes.
        candidate: the candidate's KP codes.

    Returns:
        (overlap in [0, 1], the candidate KP of the best single match, that match's
        similarity). The overlap is ``0.7 × mean best match of each target KP + 0.3 × mean
        best match of each candidate KP``.
    """
    if not target or not candidate:
        return 0.0, "", 0.0
    cover = [_best(t, candidate) for t in target]
    on_topic = sum(_best(c, target)[0] for c in candidate) / len(candidate)
    score = _COVERAGE * sum(s for s, _ in cover) / len(target) + (1 - _COVERAGE) * on_topic
    top, code = max(cover, key=lambda sc: (sc[0], sc[1]))
    return score, code, top


class SimilarIndex:
    """A pool of candidates prepared for fast repeated selection.

    Building precomputes every stem's n-grams, groups candidates by KP set and by cause,
    and orders ids for tie-breaking; ``select`` is then a few vectorised passes plus a short
    greedy loop (about a millisecond or two for 5,000 candidates).

    Args:
        pool: the candidates (question ids should be unique; the first of a repeated id
            is kept).
        kp_names: optional ``code -> (name_zh, name_en)`` used in the reasons; a point
            without a name goes unnamed (a code is never shown).
    """

    def __init__(
        self, pool: Sequence[Candidate], *, kp_names: Mapping[str, tuple[str, str]] | None = None
    ) -> None:
        seen_ids: set[str] = set()
        unique: list[Candidate] = []
        for c in pool:
            if c.question_id not in seen_ids:
                seen_ids.add(c.question_id)
                unique.append(c)
        self.pool: tuple[Candidate, ...] = tuple(unique)
        self.kp_names: Mapping[str, tuple[str, str]] = dict(kp_names or {})
        self._grams = [stem_grams(c.stem) for c in self.pool]
        self._masked = GramMatrix([g[0] for g in self._grams])
        self._raw = GramMatrix([g[1] for g in self._grams])
        self._difficulty = np.asarray([c.difficulty for c in self.pool], dtype=np.float64)
        groups: dict[tuple[str, ...], int] = {}
        self._group = np.asarray(
            [groups.setdefault(c.knowledge_points, len(groups)) for c in self.pool],
            dtype=np.int64,
        )
        self._group_kps = list(groups)
        # KP sets as a padded code-index matrix; the pad column scores 0 against everything.
        self._codes = sorted({code for kps in groups for code in kps})
        at = {code: i for i, code in enumerate(self._codes)}
        width = max((len(kps) for kps in groups), default=1) or 1
        self._group_codes = np.full((len(groups), width), len(self._codes), dtype=np.int64)
        for g, kps in enumerate(groups):
            self._group_codes[g, : len(kps)] = [at[code] for code in kps]
        self._group_len = np.maximum([len(kps) for kps in groups], 1).astype(np.float64)
        self._by_cause: dict[str, npt.NDArray[np.bool_]] = {}
        for i, c in enumerate(self.pool):
            for cause in c.causes:
                mask = self._by_cause.setdefault(cause, np.zeros(len(self.pool), dtype=bool))
                mask[i] = True
        order = sorted(range(len(self.pool)), key=lambda i: self.pool[i].question_id)
        self._id_rank = np.empty(len(self.pool), dtype=np.int64)
        self._id_rank[order] = np.arange(len(self.pool))

    def select(
        self,
        target: Candidate,
        *,
        ability: float,
        cause: str | None,
        seen: Set[str],
        n: int,
        near_duplicate: float = 0.8,
    ) -> list[Pick]:
        """The ``n`` best similar questions for ``target``.

        Args:
            target: the item the student got wrong.
            ability: the student's level on the target's KPs, in logits.
            cause: the diagnosed error cause (a ``CauseCode`` value), or None.
            seen: question ids the student has already had; never picked.
            n: how many to pick.
            near_duplicate: stem similarity at or above which a candidate counts as a
                near duplicate of the target or of an earlier pick and is skipped.

        Returns:
            Up to ``n`` picks, best first; fewer when the pool has too few related,
            unseen, distinct candidates.
        """
        if n <= 0 or not self.pool or not target.knowledge_points:
            return []
        kp = self._kp_scores(target.knowledge_points)[self._group]
        desired = ability + STRETCH
        diff = np.exp(-0.5 * ((self._difficulty - desired) / DIFFICULTY_SCALE) ** 2)
        target_grams = stem_grams(target.stem)
        stem = 0.5 * (self._masked.jaccard(target_grams[0]) + self._raw.jaccard(target_grams[1]))
        cause_part = (
            self._by_cause[cause].astype(np.float64)
            if cause is not None and cause in self._by_cause
            else np.zeros(len(self.pool))
        )
        score = (
            WEIGHTS["kp"] * kp + WEIGHTS["difficulty"] * diff
            + WEIGHTS["stem"] * stem + WEIGHTS["cause"] * cause_part
        )
        # Unrelated items never qualify however close their difficulty.
        score = np.where(kp > 0, score, -np.inf)
        order = np.lexsort((self._id_rank, -score))
        picks: list[Pick] = []
        kept = [target_grams]
        for i in order.tolist():
            if len(picks) >= n or score[i] == -np.inf:
                break
            c = self.pool[i]
            if c.question_id in seen or c.question_id == target.question_id:
                continue
            grams = self._grams[i]
            if any(pair_similarity(grams, k) >= near_duplicate for k in kept):
                continue
            kept.append(grams)
            parts = {
                "kp": round(float(kp[i]), 4),
                "difficulty": round(float(diff[i]), 4),
                "stem": round(float(stem[i]), 4),
                "cause": float(cause_part[i]),
            }
            _, code, rel = kp_overlap(target.knowledge_points, c.knowledge_points)
            zh, en = self._reasons(code, rel, float(c.difficulty - desired), cause, parts)
            picks.append(Pick(c.question_id, round(float(score[i]), 4), zh, en, parts))
        return picks

    def _kp_scores(self, target: Sequence[str]) -> npt.NDArray[np.float64]:
        """:func:`kp_overlap` of ``target`` with every KP group, vectorised."""
        sim = np.zeros((len(target), len(self._codes) + 1))
        for t, code in enumerate(target):
            sim[t, :-1] = [kp_similarity(code, other) for other in self._codes]
        # numpy types ``max(axis=...)`` as Any; the results are float64 like ``sim``.
        cover: npt.NDArray[np.float64] = sim[:, self._group_codes].max(axis=2).mean(axis=0)
        on_topic: npt.NDArray[np.float64] = (
            sim.max(axis=0)[self._group_codes].sum(axis=1) / self._group_len
        )
        return _COVERAGE * cover + (1 - _COVERAGE) * on_topic

    def _reasons(
        self, code: str, relation: float, gap: float, cause: str | None, parts: Mapping[str, float]
    ) -> tuple[str, str]:
        # A code (``math.add.carry``) is never shown: without a name the point goes unnamed.
        name_zh, name_en = self.kp_names.get(code, ("", ""))
        in_zh = f"（{name_zh}）" if name_zh else ""
        in_en = f" ({name_en})" if name_en else ""
        if relation >= 1.0:
            zh, en = [f"同一知识点{in_zh}"], [f"same knowledge point{in_en}"]
        elif relation >= 0.6:
            zh, en = [f"相关知识点{in_zh}"], [f"related knowledge point{in_en}"]
        else:
            zh, en = [f"同类知识点{in_zh}"], [f"neighbouring knowledge point{in_en}"]
        if parts["cause"] and cause is not None:
            label = _CAUSE_NAMES.get(cause, (cause, cause))
            zh.append(f"专练“{label[0]}”")
            en.append(f"practises '{label[1]}'")
        if parts["stem"] >= 0.5:
            zh.append("题型相似")
            en.append("similar wording")
        # The reasons are read by the teacher (the key, recommendations): about the student.
        if abs(gap) <= 0.4:
            zh.append("难度与该生水平相当")
            en.append("difficulty close to the student's level")
        elif gap > 0:
            zh.append("比该生水平稍难，用于提高")
            en.append("a little above the student's level")
        else:
            zh.append("比该生水平稍易，用于巩固")
            en.append("a little easier, to consolidate")
        return "，".join(zh), ", ".join(en)


def select_similar(
    target: Candidate,
    pool: Sequence[Candidate],
    *,
    ability: float,
    cause: str | None,
    seen: Set[str],
    n: int,
    near_duplicate: float = 0.8,
    kp_names: Mapping[str, tuple[str, str]] | None = None,
) -> list[Pick]:
    """One-shot selection: builds a :class:`SimilarIndex` over ``pool`` and selects.

    Build the index yourself when selecting repeatedly from one pool.

    Args:
        target: the item the student got wrong.
        pool: the candidates.
        ability: the student's level in logits.
        cause: the diagnosed error cause, or None.
        seen: question ids never to pick.
        n: how many to pick.
        near_duplicate: stem-similarity threshold for skipping near duplicates.
        kp_names: optional ``code -> (name_zh, name_en)`` for the reasons.

    Returns:
        Up to ``n`` picks, best first (see :meth:`SimilarIndex.select`).
    """
    return SimilarIndex(pool, kp_names=kp_names).select(
        target, ability=ability, cause=cause, seen=seen, n=n, near_duplicate=near_duplicate
    )
