"""Whose paper is it: the handwritten name, decided among the class's names.

The name box is read once by the PP-OCR line recogniser over its whole charset (Chinese,
Latin letters, digits), and its CTC matrix is kept (:func:`read_name`). The name is then
not decoded as free text: every roster name is scored by forced alignment, the exact
probability that the recogniser's frames spell it (:func:`rank_names`). A child writes
their name in more than one way, so each name is a small mixture of its written forms:
the Chinese name, the given name alone, and its pinyin (spaced or not, lower case or
capitalised). A form with a character outside the recogniser's charset cannot be written
and drops out. The posterior over the roster (uniform prior) says how sure the choice is
(:func:`name_posteriors`); the student-number comb (``ocr.students.number``) and the name
are independent evidence about the same child.

Names of different lengths need no length normalisation: every roster name is scored
against the same matrix, and CTC's forced probability already charges a short name for
the frames of ink it leaves unexplained (they must be read as blanks) and a long one for
characters the ink does not show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ocr.align import Alignment
from ocr.reading.ctc import CTCMatrix, forced_log_probs, greedy_decode
from ocr.reading.preprocess import prepare_crop
from ocr.regions import blank_box, has_ink, measure_ink, register_blank, remove_print
from ocr.students.capture import COPIER, Capture, cut, locate
from ocr.students.number import COMB_INSET_PT

__all__ = ["COMPOUND_SURNAMES", "UNLISTED_LOG_ODDS", "NameEvidence", "evidence_of", "line_recognizer",
           "name_posteriors", "name_variants", "rank_names", "read_name"]

Box = tuple[float, float, float, float]
# Two-character surnames; a name that starts with one keeps the rest as its given name.
COMPOUND_SURNAMES = frozenset(("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙",
                               "慕容", "令狐", "司徒", "夏侯", "长孙", "宇文", "轩辕", "端木"))
# Prior weight of each kind of written form: most children write their name in
# characters. Explicit weights (summing to 1 per name) keep a name from gaining on the
# others merely by having more forms, e.g. a one-syllable given name with fewer pinyin forms.
FORM_WEIGHTS = {"chinese": 0.8, "given": 0.05, "pinyin": 0.15}
# Log weight of "someone not on the roster wrote this" against a roster name spelling the
# free reading exactly: provisional, from bench/bench_names.py on synthetic font names
# (a listed name's best form scored at most 3 below the free reading, an unlisted name's
# nearest roster name at least 16 below).
UNLISTED_LOG_ODDS = -8.0


@dataclass(frozen=True)
class NameEvidence:
    """What the recogniser saw in the name box.

    Attributes:
        ctc: Per-frame log-probabilities over PP-OCR's whole charset (column 0 the blank):
            about 40 frames x 18,710 columns, some megabytes; ranked where it is read.
        text: The best-path reading, for display only (the decision is :func:`rank_names`).
        free_log_prob: The forced log-probability of ``text``: how well the ink is
            explained by a reading not restricted to the roster (see ``unlisted_log_odds``
            of :func:`name_posteriors`).
    """

    ctc: CTCMatrix
    text: str
    free_log_prob: float = 0.0


def line_recognizer(recognizer: Any) -> Any:
    """The PP-OCR line recogniser inside ``recognizer``, reusing its session.

    Args:
        recognizer: A ``PPOCRRecognizer``, or the ``EnsembleRecognizer`` the service and
            ``ocr.reading.default.build_default_recognizer`` build (its first reader).

    Returns:
        The ``PPOCRRecognizer``.

    Raises:
        TypeError: If ``recognizer`` holds no PP-OCR line recogniser.
    """
    for candidate in (recognizer, getattr(recognizer, "_line", None)):
        if callable(getattr(candidate, "probabilities", None)) and hasattr(candidate, "_charset"):
            return candidate
    raise TypeError(f"{type(recognizer).__name__} holds no PP-OCR line recogniser")


def read_name(upright: np.ndarray, alignment: Alignment, blank_page: np.ndarray,
              blank_px_per_pt: float, box: Box, recognizer: Any, *,
              capture: Capture = COPIER) -> NameEvidence | None:
    """Read the name box with PP-OCR over its whole charset.

    The box is cut just inside its printed outline (the label 姓名 is outside it), the
    print subtracted, and the ink read as one line.

    Args:
        upright: The page image, turned upright.
        alignment: Its page-space → pixel alignment.
        blank_page: The blank page rendered at ``blank_px_per_pt``.
        blank_px_per_pt: That rendering's resolution.
        box: The name box in page points (``PageLayout.name_box``).
        recognizer: See :func:`line_recognizer`.
        capture: How the page's boxes are cut (``ocr.students.capture``): on a photo the
            box is located again by its printed border and corners and its crop divided
            by the paper's level under it.

    Returns:
        The evidence, or None when the box holds no ink, its border was not found on a
        photo, or the recogniser failed (an engine failure is no evidence, never a guess).
    """
    margin = -COMB_INSET_PT
    fits = locate(upright, alignment, [box], blank_page, blank_px_per_pt, capture)
    if fits is not None and not fits[0].found:
        return None
    crop = cut(upright, alignment, box, capture, margin_pt=margin,
               fit=fits[0] if fits is not None else None)
    blank = register_blank(crop, blank_box(blank_page, blank_px_per_pt, box, margin_pt=margin))
    ink = remove_print(crop, blank)
    if not has_ink(measure_ink(ink)):
        return None
    line = line_recognizer(recognizer)
    # The outline is already subtracted and inset away; looking for box rules again could
    # take a long horizontal stroke (一, 二) for one.
    prep = replace(line.options.prep, remove_border=False, bridge_dashes=False)
    ready = prepare_crop(ink, prep)
    if ready.image is None:
        return None
    try:
        probs = line.probabilities([ready.image])[0]
    except Exception:  # see Returns
        return None
    return evidence_of(probs, line._charset)


def evidence_of(probs: np.ndarray, charset: Sequence[str]) -> NameEvidence:
    """Name evidence from a line recogniser's per-frame probabilities.

    Args:
        probs: Frames x classes probabilities over PP-OCR's whole charset.
        charset: The model's labels, blank first, one character each.

    Returns:
        The evidence (its matrix, best-path text and that text's forced log-probability).
    """
    with np.errstate(divide="ignore"):
        matrix = CTCMatrix(np.log(probs.astype(np.float32)), "".join(charset[1:]))
    text = greedy_decode(matrix).text
    return NameEvidence(matrix, text, _forced(matrix, [text])[0])


def name_variants(name: str) -> list[tuple[str, float]]:
    """The written forms of a roster name, each with its prior weight.

    Args:
        name: The name in Chinese characters (surname first); a name with no Chinese
            characters is its own only form.

    Returns:
        (form, weight) pairs, distinct forms, weights summing to 1.
    """
    name = "".join(name.split())
    if not name or name.isascii():
        return [(name, 1.0)] if name else []
    surname_len = 2 if name[:2] in COMPOUND_SURNAMES or len(name) == 4 else 1
    given = name[surname_len:] if len(name) > surname_len else ""
    # pypinyin loads ~60 MB of phrase tables: only when a name is scored (as match.py).
    from pypinyin import lazy_pinyin

    sur = [s.lower() for s in lazy_pinyin(name[:surname_len])]
    giv = [s.lower() for s in lazy_pinyin(given)] if given else []
    syllables = sur + giv
    pinyin = {" ".join(syllables), "".join(syllables),
              " ".join(s.capitalize() for s in syllables),
              "".join(sur).capitalize() + (" " + "".join(giv).capitalize() if giv else ""),
              "".join(syllables).capitalize()}
    # pypinyin writes ü as v (lv, nv); children write ü.
    pinyin |= {p.replace("v", "ü") for p in pinyin if "v" in p}
    forms: dict[str, float] = {name: FORM_WEIGHTS["chinese"]}
    if given:
        forms[given] = forms.get(given, 0.0) + FORM_WEIGHTS["given"]
    else:  # a one-character name: its share goes to the name itself
        forms[name] += FORM_WEIGHTS["given"]
    for p in sorted(pinyin):
        forms[p] = forms.get(p, 0.0) + FORM_WEIGHTS["pinyin"] / len(pinyin)
    return list(forms.items())


def rank_names(evidence: NameEvidence, names: Sequence[str]) -> list[float]:
    """Log-likelihood of the name box under each roster name.

    Each name's likelihood is the weighted sum, over its written forms
    (:func:`name_variants`), of the forced CTC probability of that form; forms the
    recogniser cannot write (a character outside its charset) contribute nothing.

    Args:
        evidence: The name box as read.
        names: The roster's names.

    Returns:
        One natural-log likelihood per name, in order (``-inf`` where no form can be
        written).
    """
    forms = [name_variants(n) for n in names]
    scores = _forced(evidence.ctc, [f for fs in forms for f, _ in fs])
    out = []
    k = 0
    for fs in forms:
        terms = [math.log(w) + s for (_, w), s in zip(fs, scores[k:k + len(fs)], strict=True)
                 if s > float("-inf")]
        k += len(fs)
        out.append(float(np.logaddexp.reduce(terms)) if terms else float("-inf"))
    return out


def name_posteriors(evidence: NameEvidence, names: Sequence[str], *,
                    unlisted_log_odds: float | None = None) -> list[float]:
    """Posterior of each roster name given the name box (uniform prior over the roster).

    A closed set always has a winner: a name that is not on the roster (a guest, a
    nickname, a name the roster spells differently) still hands most of the posterior to
    its nearest roster name (measured: 79 of 100 such boxes gave one 0.99 or more).
    ``unlisted_log_odds`` adds the hypothesis "written by someone not listed", scored as
    the free reading's probability times ``exp(unlisted_log_odds)``; a roster name then
    wins only when it explains the ink almost as well as the free reading does.

    Args:
        evidence: The name box as read.
        names: The roster's names.
        unlisted_log_odds: Log weight of the unlisted hypothesis against a listed name
            that spells the free reading exactly, or None for a closed set;
            :data:`UNLISTED_LOG_ODDS` is a provisional value.

    Returns:
        One probability per name; they sum to 1 for a closed set, to 1 minus the unlisted
        hypothesis's share otherwise (all 0 when no name can be written or the roster is
        empty).
    """
    logs = np.array(rank_names(evidence, names), np.float64)
    if not logs.size or not np.isfinite(logs).any():
        return [0.0] * len(names)
    norm = np.logaddexp.reduce(logs)
    if unlisted_log_odds is not None:
        norm = np.logaddexp(norm, evidence.free_log_prob + unlisted_log_odds)
    post = np.exp(logs - norm)
    return [float(p) for p in post]


def _forced(matrix: CTCMatrix, texts: Sequence[str]) -> list[float]:
    """``forced_log_probs`` over the full-charset matrix, on the columns ``texts`` use."""
    # Forced alignment reads no other column, and a T x 18,710 float64 copy per call is
    # what scoring on the full matrix would cost.
    wanted = "".join(dict.fromkeys(c for t in texts for c in t if c in matrix.symbols))
    cols = [0] + [matrix.symbols.index(c) + 1 for c in wanted]
    return forced_log_probs(CTCMatrix(matrix.log_probs[:, cols], wanted), texts)
