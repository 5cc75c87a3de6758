"""Pure-numpy CTC tools over a small, restricted probability matrix.

The recogniser's raw output has ~18,700 classes per frame. Grading only ever asks about a
few of them (the answer's alphabet), so :func:`restrict` folds the matrix into
``[blank, alphabet..., other]`` columns, where *other* keeps the probability mass of every
character outside the alphabet. That matrix is small and picklable, and it still answers:

* the best reading (:func:`greedy_decode`), with or without the alphabet mask
  (:func:`masked`: drop *other* and renormalise per frame);
* the top-k readings with their probabilities (:func:`beam_search`), optionally limited to
  an expected length range;
* the probability of any given string (:func:`forced_log_prob`, the CTC forward
  algorithm), which is what verification compares: log P(key | crop) against the best
  reading's.

All probabilities are natural-log; column 0 is always the CTC blank.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALPHABETS",
    "OTHER",
    "Alphabet",
    "CTCMatrix",
    "Hypothesis",
    "beam_search",
    "charset_index",
    "forced_log_prob",
    "forced_log_probs",
    "greedy_decode",
    "masked",
    "restrict",
]

# Stands for "some character outside the alphabet" in a restricted matrix.
OTHER = "\x00"
_NEG_INF = float("-inf")


@dataclass(frozen=True)
class Alphabet:
    """The characters an answer may use.

    Attributes:
        name: Identifier (``digits``, ``numeric``, ``choice_ad``...).
        chars: The allowed characters, each once.
        pattern: Optional regular expression a whole answer must match (``-?\\d+`` ...);
            a handwritten ``1`` and ``/`` look alike, and only the format says that
            ``55/`` cannot be an answer while ``5/5`` can.
    """

    name: str
    chars: str
    pattern: str | None = None

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars) or not self.chars:
            raise ValueError(f"alphabet {self.name!r} must list distinct characters")
        if self.pattern is not None:
            re.compile(self.pattern)

    def allows(self, text: str) -> bool:
        """Whether ``text`` uses only the alphabet and matches its pattern.

        Args:
            text: A candidate answer.

        Returns:
            True if the answer is well-formed.
        """
        if any(c not in self.chars for c in text):
            return False
        return self.pattern is None or re.fullmatch(self.pattern, text) is not None


ALPHABETS: dict[str, Alphabet] = {
    a.name: a
    for a in (
        Alphabet("digits", "0123456789", r"[0-9]+"),
        # Integer, decimal or fraction, optionally negative: "85", "-12", "3.5", "7/8".
        Alphabet("numeric", "0123456789-./", r"-?[0-9]+(\.[0-9]+)?|-?[0-9]+/[0-9]+"),
        Alphabet("signed_decimal", "0123456789-.", r"-?[0-9]+(\.[0-9]+)?"),
        Alphabet("choice_ad", "ABCD"),
        Alphabet("choice_ae", "ABCDE"),
        Alphabet("true_false", "TF"),
        Alphabet("expression", "0123456789+-*/=().x"),
    )
}


@dataclass(frozen=True)
class CTCMatrix:
    """Per-frame log-probabilities over ``blank + symbols``.

    Attributes:
        log_probs: float32 array (T, 1 + len(symbols)); column 0 is the blank.
        symbols: The character of each non-blank column, in order; may include
            :data:`OTHER` as the last symbol.
    """

    log_probs: np.ndarray
    symbols: str

    def __post_init__(self) -> None:
        if self.log_probs.ndim != 2 or self.log_probs.shape[1] != len(self.symbols) + 1:
            raise ValueError("log_probs must be (T, 1 + len(symbols))")


@dataclass(frozen=True)
class Hypothesis:
    """One decoded string.

    Attributes:
        text: The string.
        log_prob: Its log-probability (exact CTC probability when from beam search,
            best-path probability when from greedy decoding).
        char_probs: Per-character confidence (max frame probability of each emitted char).
    """

    text: str
    log_prob: float
    char_probs: tuple[float, ...]


def restrict(
    probs: np.ndarray,
    charset: Sequence[str],
    keep: str,
    index: Mapping[str, int] | None = None,
) -> CTCMatrix:
    """Fold a full softmax matrix onto ``blank + keep + OTHER``.

    Args:
        probs: (T, C) probabilities from the recogniser, column 0 the blank.
        charset: The recogniser's characters; ``charset[i]`` labels column ``i`` (index 0,
            the blank, is ignored).
        keep: Characters to keep as their own columns; unknown ones are skipped.
        index: ``{character: column}`` of ``charset`` (blank excluded), when the caller
            keeps one: building it for PP-OCR's ~18,700 classes costs more per crop than
            the restriction itself.

    Returns:
        The restricted log-probability matrix, whose rows still sum to 1.
    """
    if index is None:
        index = charset_index(charset)
    kept = "".join(c for c in dict.fromkeys(keep) if c in index)
    cols = [0] + [index[c] for c in kept]
    sub = probs[:, cols].astype(np.float64)
    other = np.clip(probs.sum(axis=1, dtype=np.float64) - sub.sum(axis=1), 0.0, None)
    full = np.concatenate([sub, other[:, None]], axis=1)
    full /= full.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return CTCMatrix(np.log(full).astype(np.float32), kept + OTHER)


def charset_index(charset: Sequence[str]) -> dict[str, int]:
    """``{character: column}`` of a recogniser's charset, the blank (column 0) excluded.

    Args:
        charset: The recogniser's characters.

    Returns:
        The lookup :func:`restrict` uses.
    """
    return {c: i for i, c in enumerate(charset) if i > 0}


def masked(matrix: CTCMatrix, alphabet: Alphabet) -> CTCMatrix:
    """Keep only the blank and ``alphabet`` columns, renormalised per frame.

    Args:
        matrix: A restricted matrix.
        alphabet: Allowed characters; those absent from ``matrix`` get no column.

    Returns:
        A matrix that can only decode to strings over the alphabet.
    """
    cols = [0] + [i + 1 for i, c in enumerate(matrix.symbols) if c in alphabet.chars]
    kept = "".join(matrix.symbols[i - 1] for i in cols[1:])
    lp = matrix.log_probs[:, cols].astype(np.float64)
    lp -= np.logaddexp.reduce(lp, axis=1, keepdims=True)
    return CTCMatrix(lp.astype(np.float32), kept)


def greedy_decode(matrix: CTCMatrix) -> Hypothesis:
    """Best-path decoding: argmax per frame, merge repeats, drop blanks.

    Args:
        matrix: Log-probabilities.

    Returns:
        The best-path string, the path's log-probability and per-char confidences.
    """
    best = matrix.log_probs.argmax(axis=1)
    path_lp = float(matrix.log_probs[np.arange(len(best)), best].sum())
    text: list[str] = []
    confs: list[float] = []
    prev = 0
    for t, k in enumerate(best):
        k = int(k)
        p = math.exp(float(matrix.log_probs[t, k]))
        if k != 0 and k != prev:
            text.append(matrix.symbols[k - 1])
            confs.append(p)
        elif k != 0:
            confs[-1] = max(confs[-1], p)
        prev = k
    return Hypothesis("".join(text), path_lp, tuple(confs))


def _char_probs(matrix: CTCMatrix, text: str) -> tuple[float, ...]:
    # A per-character summary for display and review: the strongest frame for each char.
    peaks = np.exp(matrix.log_probs.max(axis=0))
    return tuple(float(peaks[matrix.symbols.index(c) + 1]) for c in text)


def forced_log_prob(matrix: CTCMatrix, text: str) -> float:
    """log P(text | crop) by the CTC forward algorithm (sum over all alignments).

    Args:
        matrix: Log-probabilities.
        text: The string to score; any character without a column makes it impossible.

    Returns:
        The log-probability; ``-inf`` if the string cannot be produced (a missing
        character, or more frames needed than available).
    """
    return forced_log_probs(matrix, [text])[0]


def forced_log_probs(matrix: CTCMatrix, texts: Sequence[str]) -> list[float]:
    """:func:`forced_log_prob` of several strings over one matrix, in one pass.

    The forward recursion runs once over a (strings x states) array, so scoring ten
    candidates costs about what scoring one did: the per-frame numpy calls, not the
    arithmetic, are what a short answer's scoring spends its time on.

    Args:
        matrix: Log-probabilities.
        texts: The strings to score.

    Returns:
        One log-probability per string, in order (``-inf`` where impossible).
    """
    lp = matrix.log_probs.astype(np.float64)
    n_frames = lp.shape[0]
    out = [float(_NEG_INF)] * len(texts)
    rows: list[tuple[int, list[int]]] = []
    for i, text in enumerate(texts):
        try:
            labels = [matrix.symbols.index(c) + 1 for c in text]
        except ValueError:
            continue
        if not labels:
            out[i] = float(lp[:, 0].sum())
            continue
        ext = [0]
        for k in labels:
            ext += [k, 0]
        rows.append((i, ext))
    if not rows:
        return out
    n, s_len = len(rows), max(len(ext) for _, ext in rows)
    states = np.zeros((n, s_len), np.int64)
    valid = np.zeros((n, s_len), bool)
    # A label may skip the blank before it unless it repeats the previous label.
    skip_ok = np.full((n, s_len), _NEG_INF)
    for r, (_, ext) in enumerate(rows):
        states[r, : len(ext)] = ext
        valid[r, : len(ext)] = True
        for s in range(2, len(ext)):
            if ext[s] != 0 and ext[s] != ext[s - 2]:
                skip_ok[r, s] = 0.0
    # Padding states of shorter strings emit nothing, so they stay unreachable.
    emit = np.where(valid[None], lp[:, states], _NEG_INF)
    alpha = np.full((n, s_len), _NEG_INF)
    alpha[:, :2] = emit[0, :, :2]
    skip = np.full((n, s_len), _NEG_INF)
    for t in range(1, n_frames):
        step = alpha.copy()
        step[:, 1:] = np.logaddexp(alpha[:, 1:], alpha[:, :-1])
        skip[:, 2:] = alpha[:, :-2] + skip_ok[:, 2:]
        alpha = np.logaddexp(step, skip) + emit[t]
    for r, (i, ext) in enumerate(rows):
        end = len(ext)
        out[i] = float(np.logaddexp(alpha[r, end - 1], alpha[r, end - 2]))
    return out


def _lae(a: float, b: float) -> float:
    # math-based log-add-exp: numpy's ufunc on Python scalars dominates the loop otherwise.
    if a == _NEG_INF:
        return b
    if b == _NEG_INF:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _add(
    beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], pb: float, pnb: float
) -> None:
    cur = beams.setdefault(prefix, [_NEG_INF, _NEG_INF])
    cur[0] = _lae(cur[0], pb)
    cur[1] = _lae(cur[1], pnb)


def beam_search(
    matrix: CTCMatrix,
    *,
    beam_width: int = 8,
    top_k: int = 5,
    length: tuple[int, int] | None = None,
    prune: float = 1e-4,
) -> list[Hypothesis]:
    """CTC prefix beam search returning the top-k strings with their probabilities.

    Args:
        matrix: Log-probabilities.
        beam_width: Prefixes kept per frame.
        top_k: Strings returned.
        length: Inclusive (min, max) string length; prefixes longer than max are dropped
            and shorter finals are discarded.
        prune: Characters below this frame probability are not extended (speed only).

    Returns:
        Up to ``top_k`` hypotheses, best first; each ``log_prob`` is re-scored exactly with
        :func:`forced_log_prob`.
    """
    lp = matrix.log_probs.astype(np.float64)
    max_len = length[1] if length else 10**9
    log_prune = math.log(prune)
    # prefix -> (log P ending in blank, log P ending in non-blank)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, _NEG_INF)}
    for t in range(lp.shape[0]):
        row = lp[t]
        cands = [int(k) for k in np.flatnonzero(row > log_prune) if k != 0]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = _lae(pb, pnb)
            _add(nxt, prefix, total + float(row[0]), _NEG_INF)
            if prefix:
                _add(nxt, prefix, _NEG_INF, pnb + float(row[prefix[-1]]))
            for k in cands:
                if len(prefix) >= max_len:
                    break
                # A repeat of the last label needs a blank in between.
                src = pb if prefix and prefix[-1] == k else total
                _add(nxt, (*prefix, k), _NEG_INF, src + float(row[k]))
        ranked = sorted(nxt.items(), key=lambda kv: -_lae(kv[1][0], kv[1][1]))
        beams = {p: (v[0], v[1]) for p, v in ranked[:beam_width]}
    finals = [p for p in beams if length is None or length[0] <= len(p) <= length[1]]
    texts = ["".join(matrix.symbols[k - 1] for k in prefix) for prefix in finals]
    out = [Hypothesis(text, score, _char_probs(matrix, text))
           for text, score in zip(texts, forced_log_probs(matrix, texts), strict=True)]
    out.sort(key=lambda h: -h.log_prob)
    return out[:top_k]
