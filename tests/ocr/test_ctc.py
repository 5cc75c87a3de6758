"""CTC tools on small hand-made matrices with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocr.reading.ctc import (
    ALPHABETS,
    OTHER,
    Alphabet,
    CTCMatrix,
    beam_search,
    charset_index,
    forced_log_prob,
    greedy_decode,
    masked,
    restrict,
)


def _matrix(rows: list[list[float]], symbols: str) -> CTCMatrix:
    p = np.array(rows, np.float64)
    p /= p.sum(axis=1, keepdims=True)
    return CTCMatrix(np.log(p).astype(np.float32), symbols)


def _collapse(path: tuple[int, ...], symbols: str) -> str:
    out, prev = [], 0
    for k in path:
        if k and k != prev:
            out.append(symbols[k - 1])
        prev = k
    return "".join(out)


def test_greedy_collapses_repeats_and_drops_blanks() -> None:
    # Frames: a a blank a b b -> "aab"
    m = _matrix(
        [
            [0.1, 0.8, 0.1],
            [0.1, 0.8, 0.1],
            [0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8],
            [0.1, 0.1, 0.8],
        ],
        "ab",
    )
    hyp = greedy_decode(m)
    assert hyp.text == "aab"
    assert len(hyp.char_probs) == 3
    assert hyp.log_prob == pytest.approx(6 * math.log(0.8), rel=1e-5)


def test_greedy_all_blank_is_empty() -> None:
    assert greedy_decode(_matrix([[0.9, 0.1]] * 3, "a")).text == ""


def _alignment_totals(m: CTCMatrix) -> dict[str, float]:
    """P(text) for every text, by enumerating every frame-by-frame path (tiny matrices)."""
    probs = np.exp(m.log_probs.astype(np.float64))
    frames, classes = probs.shape
    totals: dict[str, float] = {}
    for path in itertools.product(range(classes), repeat=frames):
        text = _collapse(path, m.symbols)
        totals[text] = totals.get(text, 0.0) + float(np.prod(probs[np.arange(frames), path]))
    return totals


def test_forced_probability_equals_brute_force_sum_over_alignments() -> None:
    rng = np.random.default_rng(0)
    m = _matrix(rng.random((4, 3)).tolist(), "ab")
    totals = _alignment_totals(m)
    assert sum(totals.values()) == pytest.approx(1.0, rel=1e-5)
    for text in ["", "a", "ab", "ba", "aa", "aba", "abab"]:
        expected = totals.get(text, 0.0)
        got = math.exp(forced_log_prob(m, text))
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-9), text


def test_forced_impossible_strings() -> None:
    m = _matrix([[0.5, 0.5]] * 2, "a")
    assert forced_log_prob(m, "aa") == float("-inf")  # needs a blank between: 3 frames
    assert forced_log_prob(m, "z") == float("-inf")


def test_beam_search_probabilities_match_forced_scores_and_sort() -> None:
    rng = np.random.default_rng(1)
    m = _matrix(rng.random((6, 4)).tolist(), "abc")
    hyps = beam_search(m, beam_width=16, top_k=5)
    assert [h.log_prob for h in hyps] == sorted((h.log_prob for h in hyps), reverse=True)
    for h in hyps:
        assert h.log_prob == pytest.approx(forced_log_prob(m, h.text), abs=1e-6)


def test_beam_search_length_constraint() -> None:
    m = _matrix([[0.1, 0.9, 0.0001], [0.9, 0.1, 0.0001], [0.1, 0.9, 0.0001]], "ab")
    assert beam_search(m, top_k=1)[0].text == "aa"
    constrained = beam_search(m, top_k=3, length=(1, 1))
    assert constrained
    assert all(len(h.text) == 1 for h in constrained)


def test_restrict_keeps_mass_in_other_column() -> None:
    charset = ["<blank>", "1", "7", "/", "l"]
    probs = np.array([[0.1, 0.2, 0.1, 0.1, 0.5]])
    m = restrict(probs, charset, "17")
    assert m.symbols == "17" + OTHER
    assert np.exp(m.log_probs).sum() == pytest.approx(1.0)
    assert np.exp(m.log_probs[0, -1]) == pytest.approx(0.6)
    # A caller's prebuilt index gives the same matrix; the blank is never a kept column.
    index = charset_index(charset)
    assert "<blank>" not in index
    assert index["/"] == 3
    cached = restrict(probs, charset, "17", index)
    assert cached.symbols == m.symbols
    assert np.array_equal(cached.log_probs, m.log_probs)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_masked_decoding_never_leaves_the_alphabet(seed: int) -> None:
    rng = np.random.default_rng(seed)
    charset = ["<blank>", *"0123456789abcxyz-./"]
    probs = rng.dirichlet(np.full(len(charset), 0.3), size=12)
    alphabet = ALPHABETS["digits"]
    m = masked(restrict(probs, charset, alphabet.chars), alphabet)
    assert set(greedy_decode(m).text) <= set(alphabet.chars)
    for h in beam_search(m, top_k=3):
        assert set(h.text) <= set(alphabet.chars)


def test_alphabet_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="alphabet 'bad' must list distinct characters"):
        Alphabet("bad", "aa")


def test_numeric_format_rejects_misplaced_symbols() -> None:
    numeric = ALPHABETS["numeric"]
    for good in ["85", "-12", "3.5", "7/8", "0"]:
        assert numeric.allows(good), good
    for bad in ["55/", "/85", "--1", "9.8-", "1.2.3", "7//8", "8a"]:
        assert not numeric.allows(bad), bad


def test_batched_forced_scores_equal_brute_force() -> None:
    """Strings of different lengths scored together: padding must not leak into any."""
    from ocr.reading.ctc import forced_log_probs

    rng = np.random.default_rng(3)
    m = _matrix(rng.random((5, 4)).tolist(), "abc")
    totals = _alignment_totals(m)
    texts = ["abc", "", "a", "aa", "cab", "x", "abab", "ccc", "abcabc", "b"]
    batched = forced_log_probs(m, texts)
    for text, got in zip(texts, batched, strict=True):
        expected = totals.get(text, 0.0)
        assert math.exp(got) == pytest.approx(expected, rel=1e-4, abs=1e-12), text
    # An unknown character and a string needing more frames than there are: impossible.
    assert batched[5] == float("-inf")
    assert batched[8] == float("-inf")
