"""Combine the answer readers into one calibrated reading.

Candidates are PP-OCR's top-k strings, the glyph reader's best segmentations and, for
numeric answers, the handwriting line reader's top strings (``ocr.reading.hand_reader``). Each is
scored on every reader's scale: log P_ctc(s | crop) by forced CTC scoring (PP-OCR and the
line reader), and log P_glyph(s) as the product of per-segment class probabilities (a
string whose length differs from the number of segments gets a fixed penalty per missing
or extra glyph). The winner's share of the combined probability over the candidates is
its confidence, so readers that agree give a confident answer and readers that disagree
send it to review; where a calibrated model was fitted for the answer format
(``ocr.reading.confidence``), the confidence is instead that model's chance that the winner is
right, from the share and from how far each reader prefers the winner.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ocr.reading.confidence import ConfidenceModel, decision_features
from ocr.reading.ctc import Alphabet, CTCMatrix, beam_search, forced_log_probs, masked
from ocr.reading.glyphs import GLYPH_CLASSES, GlyphClassifier, SegmentLattice, segment_lattice
from ocr.reading.hand_reader import HandLineReader
from ocr.reading.preprocess import PrepOptions, clean_ink, prepare_crop, prepare_ink
from ocr.reading.recognize import PPOCRRecognizer, Reading

__all__ = [
    "NUMERAL_ALPHABETS",
    "EnsembleOptions",
    "EnsembleRecognizer",
    "Evidence",
    "combined_score",
    "evidence_features",
    "glyph_log_prob",
    "rank_candidates",
]


@dataclass(frozen=True)
class EnsembleOptions:
    """Weights of the combination.

    Attributes:
        glyph_weight: Multiplier of the glyph reader's log-probability.
        length_penalty: Log-probability charged per glyph of length mismatch.
        line_variants: Extra preparations of each crop read by PP-OCR (test-time
            variants); a candidate's CTC score is its mean log-probability over the
            primary preparation and these.
        temperature: Scale applied to combined log-scores before normalising; below 1 it
            keeps confident posteriors from saturating at 1.0, where crops could no longer
            be ranked against each other when an auto-accept threshold is chosen. 0.5
            minimises the log-loss of the truth on calib-split crops for the three-reader
            combination below (``bench/tune_answer_ensemble.py``); 0.3, right for the old
            combination without floors, left readings 95% right with a mean confidence of
            0.67.
        edit_penalty: Log-probability charged to a glyph reading per segmentation edit
            (a touching pair split, a broken glyph merged, a stacked dot separated).
        char_bias: (character, log-score) added to a candidate per occurrence of the
            character. PP-OCR learned printed text, where ``/`` looks nothing like a
            handwritten one, so its CTC score undervalues a written fraction slash
            against ``1``; the bias corrects that prior (chosen on the calib split).
        line_floor, glyph_floor: Lowest log-probability either reader may give a
            candidate. Both are overconfident when wrong (PP-OCR reads a handwritten 7
            as 4 at odds of e^-12); capping the evidence against keeps one reader from
            vetoing what the others read clearly.
        hand_weight, hand_floor: The same for the handwriting line reader
            (``ocr.reading.hand_reader``), used only for answers whose alphabet it can write.
            1.5 since its medium network (2026-12-04), which reads alone about as well
            as all three did before: on 12,208 calib-split answers 1.5 to 3 are equally
            good (11,913-11,915 right), 1.0 gives 11,901.
        leading_zero_penalty: Log-score added to a candidate with a leading zero in a
            number (``05``, ``-07``, ``3/04``; not ``0``, ``0.5`` or ``3/0``). Children do
            not write numbers that way, so such a reading is a misread stroke (a ``6``
            closed into ``0``) unless the readers are very sure of it: the prior odds are
            e^-8. On 12,208 answers of 1,200 calib-split pages it fixed 3 readings and
            broke none.
    """

    glyph_weight: float = 1.5
    hand_weight: float = 1.5
    hand_floor: float = -6.0
    length_penalty: float = -3.0
    line_variants: tuple[PrepOptions, ...] = ()
    temperature: float = 0.5
    edit_penalty: float = -2.0
    char_bias: tuple[tuple[str, float], ...] = (("/", 4.0),)
    line_floor: float = -4.0
    glyph_floor: float = -4.0
    leading_zero_penalty: float = -8.0


def glyph_log_prob(probs: np.ndarray, text: str, length_penalty: float) -> float:
    """log P_glyph(text): one character per segment, penalising a count mismatch.

    Args:
        probs: (n_segments, n_classes) glyph class probabilities.
        text: Candidate string.
        length_penalty: Log-probability per missing or extra glyph.

    Returns:
        The log-probability (``-inf`` for a character the classifier does not know).
    """
    if any(c not in GLYPH_CLASSES for c in text):
        return float("-inf")
    n = len(probs)
    if n != len(text):
        # Segmentation miscounts touching digits; the mismatch is evidence, not a veto.
        return length_penalty * abs(n - len(text))
    return float(
        sum(
            math.log(max(float(probs[i, GLYPH_CLASSES.index(c)]), 1e-9)) for i, c in enumerate(text)
        )
    )


# Alphabets whose strings are numbers (a student number is read digit by digit, one box
# each, so a code's leading zero never meets the penalty either way).
NUMERAL_ALPHABETS = frozenset({"digits", "numeric", "signed_decimal", "drill_signed"})
# A zero followed by a digit at the start of a number: the string, or after a sign or slash.
_LEADING_ZERO = re.compile(r"(?:^|[-/])0[0-9]")


def _floored(log_prob: float, floor: float) -> float:
    # Impossible stays impossible (a character the reader cannot produce); only finite
    # evidence against a candidate is capped.
    return max(log_prob, floor) if math.isfinite(log_prob) else log_prob


@dataclass(frozen=True)
class Evidence:
    """What each reader says about one candidate string, before any weighting.

    Attributes:
        text: The candidate.
        line: PP-OCR's log P (mean over the crop's preparations).
        glyph: The glyph reader's log-score.
        hand: The handwriting line reader's log P, or None when it was not asked.
    """

    text: str
    line: float
    glyph: float
    hand: float | None = None


def combined_score(ev: Evidence, options: EnsembleOptions, *, numeral: bool = False) -> float:
    """One candidate's log-score: floored, weighted evidence plus the character bias.

    Args:
        ev: The readers' evidence for the candidate.
        options: Weights and floors.
        numeral: The answer is a number (``NUMERAL_ALPHABETS``), so a leading zero is
            penalised; a digit code such as a student number may start with one.

    Returns:
        The score (before the temperature); ``-inf`` when a reader cannot write it.
    """
    o = options
    score = _floored(ev.line, o.line_floor) + o.glyph_weight * _floored(ev.glyph, o.glyph_floor)
    score += sum(b * ev.text.count(c) for c, b in o.char_bias)
    if numeral and _LEADING_ZERO.search(ev.text):
        score += o.leading_zero_penalty
    if ev.hand is not None:
        score += o.hand_weight * _floored(ev.hand, o.hand_floor)
    return score


def rank_candidates(evidence: Sequence[Evidence], options: EnsembleOptions, *,
                    numeral: bool = False) -> tuple[list[Evidence], np.ndarray]:
    """The candidates some reader can write, with their posterior shares.

    Args:
        evidence: Every candidate's evidence.
        options: Weights, floors and temperature.
        numeral: See :func:`combined_score`.

    Returns:
        The kept candidates (input order) and their shares (summing to 1; empty when no
        candidate is possible).
    """
    kept = [(combined_score(ev, options, numeral=numeral), ev) for ev in evidence]
    kept = [(s, ev) for s, ev in kept if math.isfinite(s)]
    if not kept:
        return [], np.zeros(0)
    scores = np.array([s for s, _ in kept]) * options.temperature
    return [ev for _, ev in kept], np.exp(scores - np.logaddexp.reduce(scores))


def evidence_features(cands: Sequence[Evidence], post: np.ndarray) -> np.ndarray:
    """``ocr.reading.confidence.decision_features`` of the winner of :func:`rank_candidates`."""
    return decision_features(post, [ev.line for ev in cands], [ev.glyph for ev in cands],
                             [ev.hand for ev in cands], int(np.argmax(post)))


class EnsembleRecognizer:
    """PP-OCR, the glyph classifier and (optionally) the handwriting line reader, behind
    the ``TextRecognizer`` interface.

    Args:
        line: The PP-OCR recogniser.
        glyphs: The glyph classifier.
        options: Combination weights.
        hand: The handwriting line reader, or None to combine the first two only.
        confidence: Calibrated confidence for the answer formats it was fitted on
            (``ocr.reading.confidence``); None keeps the posterior share as the confidence.
    """

    def __init__(
        self,
        line: PPOCRRecognizer,
        glyphs: GlyphClassifier,
        options: EnsembleOptions | None = None,
        hand: HandLineReader | None = None,
        confidence: ConfidenceModel | None = None,
    ) -> None:
        self._line = line
        self._glyphs = glyphs
        self._hand = hand
        self._confidence = confidence
        self.options = options or EnsembleOptions()
        # Set to False to read without the answer keys (the benchmark's before-and-after).
        self.verifies_keys = True
        # Set to a list to collect every crop's candidate evidence (weight tuning on the
        # calib split: bench/tune_answer_ensemble.py); None in production.
        self.evidence_log: list[list[Evidence]] | None = None

    def recognize(
        self,
        crops: Sequence[np.ndarray],
        *,
        alphabet: Alphabet | None = None,
        length: tuple[int, int] | None = None,
        expected: Sequence[Sequence[str]] | None = None,
    ) -> list[Reading]:
        """Read crops with the three readers (see ``TextRecognizer.recognize``).

        PP-OCR's line recogniser and the glyph classifier read every crop; the CTC
        handwriting reader adds its evidence when it is configured and the answer's format
        is one it was trained on (``HandLineReader.covers``).

        Verification: each crop's ``expected`` strings (the answer key's written forms)
        join its candidates and are scored by every reader like the readers' own guesses,
        so the key always gets a posterior share. A right answer misread as something else
        then still shows the key as a plausible alternative, and the review policy sends
        it to a teacher instead of marking it wrong (``grading.review_policy``).

        Args:
            crops: uint8 grayscale or BGR crops.
            alphabet: Allowed characters, or None.
            length: Inclusive expected length range, or None.
            expected: Per crop, strings to verify (empty or None: none).

        Returns:
            One reading per crop: the combined reading, or PP-OCR's own where it found the
            box blank or failed, where no reader could write a candidate, or (with the
            error in ``detail``) where combining failed.
        """
        prep = self._line.options.prep
        # Clean each crop once: PP-OCR's input and the other readers' ink come from it.
        cleaned: list[tuple[np.ndarray | None, float] | ValueError] = []
        for crop in crops:
            try:
                cleaned.append(clean_ink(crop, prep))
            except ValueError as exc:
                cleaned.append(exc)
            except Exception as exc:
                # A cleaning bug costs this crop only (engine_error, so a teacher sees it),
                # not every answer read with it.
                cleaned.append(ValueError(f"cleaning failed: {type(exc).__name__}: {exc}"))
        if prep.raw:
            base = self._line.recognize(crops, alphabet=alphabet, length=length)
        else:
            ready = [c if isinstance(c, ValueError) else prepare_ink(c[0], c[1], prep)
                     for c in cleaned]
            base = self._line.recognize(crops, alphabet=alphabet, length=length,
                                        prepared=ready)
        variants: list[list[Reading | None]] = []
        for prep in self.options.line_variants:
            variants.append(self._variant(crops, prep, alphabet, length))
        usable = [i for i, (clean, reading) in enumerate(zip(cleaned, base, strict=True))
                  if reading.status not in ("blank", "engine_error") and reading.ctc is not None
                  and not isinstance(clean, ValueError) and clean[0] is not None]
        hand = self._hand_matrices(cleaned, usable, alphabet)
        out = []
        for i, (clean, reading) in enumerate(zip(cleaned, base, strict=True)):
            if reading.status in ("blank", "engine_error") or reading.ctc is None \
                    or isinstance(clean, ValueError):
                out.append(reading)
                continue
            extra = [v[i] for v in variants]
            others = [r for r in extra if r is not None and r.ctc is not None]
            try:
                keys = tuple(expected[i]) if expected is not None and i < len(expected) else ()
                out.append(self._combine(clean[0], reading, alphabet, others, hand.get(i),
                                         length, keys))
            except Exception as exc:  # a second-reader failure must not hide the first
                out.append(replace(reading, detail=f"glyph reader failed: {exc}"))
        return out

    def _hand_matrices(
        self,
        cleaned: Sequence[tuple[np.ndarray | None, float] | ValueError],
        usable: Sequence[int],
        alphabet: Alphabet | None,
    ) -> dict[int, CTCMatrix]:
        """The handwriting reader's matrices, masked to the alphabet, for the usable crops.

        A failure of this reader leaves the other two to decide: it only ever adds
        evidence, so losing it must not lose the answer.
        """
        if self._hand is None or not usable or not HandLineReader.covers(alphabet):
            return {}
        assert alphabet is not None
        inks = [cleaned[i][0] for i in usable]  # type: ignore[index]
        try:
            matrices = self._hand.matrices(inks)  # type: ignore[arg-type]
        except Exception:  # see the docstring
            return {}
        return {i: masked(m, alphabet) for i, m in zip(usable, matrices, strict=True)}

    def _variant(
        self,
        crops: Sequence[np.ndarray],
        prep: PrepOptions,
        alphabet: Alphabet | None,
        length: tuple[int, int] | None,
    ) -> list[Reading | None]:
        prepared = [prepare_crop(c, prep).image for c in crops]
        owners = [i for i, img in enumerate(prepared) if img is not None]
        images = [img for img in prepared if img is not None]
        out: list[Reading | None] = [None] * len(crops)
        for i, probs in zip(owners, self._line.probabilities(images), strict=True):
            out[i] = self._line.decode(probs, alphabet=alphabet, length=length)
        return out

    def _combine(
        self,
        ink: np.ndarray | None,
        reading: Reading,
        alphabet: Alphabet | None,
        variants: Sequence[Reading] = (),
        hand: CTCMatrix | None = None,
        length: tuple[int, int] | None = None,
        keys: Sequence[str] = (),
    ) -> Reading:
        assert reading.ctc is not None
        o = self.options
        lattice = segment_lattice(ink) if ink is not None else SegmentLattice((), ())
        glyph = self._glyphs.read(lattice, alphabet, o.edit_penalty)
        hand_top: list[str] = []
        if hand is not None:
            # A narrower, pruned beam: the reader is sharp, and this runs on every crop.
            hyps = beam_search(hand, beam_width=5, top_k=8, length=length, prune=1e-3)
            hand_top = [h.text for h in hyps if h.text and
                        (alphabet is None or alphabet.allows(h.text))][:3]
        views = [reading, *variants]
        matrices = [
            masked(r.ctc, alphabet) if alphabet is not None else r.ctc
            for r in views
            if r.ctc is not None
        ]
        candidates = dict.fromkeys(t for r in views for t, _ in r.alternatives)
        for text, _ in glyph.alternatives:
            candidates[text] = None
        for text in hand_top:
            candidates[text] = None
        # A key is evidence beside what the readers wrote, scored on the ink like their
        # readings; alone it would take the whole share whatever the ink says.
        if self.verifies_keys and candidates:
            for text in keys:
                if text and (alphabet is None or alphabet.allows(text)):
                    candidates[text] = None
        texts = list(candidates)
        line = np.mean([forced_log_probs(m, texts) for m in matrices], axis=0)
        hand_lp = forced_log_probs(hand, texts) if hand is not None else [None] * len(texts)
        evidence = [
            Evidence(text, float(line[k]), glyph.score(text, o.length_penalty), hand_lp[k])
            for k, text in enumerate(texts)
        ]
        if self.evidence_log is not None:
            self.evidence_log.append(evidence)
        numeral = alphabet is not None and alphabet.name in NUMERAL_ALPHABETS
        cands, post = rank_candidates(evidence, o, numeral=numeral)
        if not cands:
            return reading
        order = np.argsort(-post, kind="stable")  # first of equals wins, as np.argmax
        alts = tuple((cands[i].text, float(post[i])) for i in order)
        best = alts[0][0]
        confidence = alts[0][1]
        if self._confidence is not None and self._confidence.applies(
                alphabet.name if alphabet is not None else None):
            confidence = self._confidence.probability(evidence_features(cands, post))
        agree = "agree" if best == reading.text == glyph.text else "disagree"
        hand_said = f" hand={hand_top[0]!r}" if hand_top else ""
        shares = dict(alts)
        checked = [k for k in keys if k in shares]
        if checked and self.verifies_keys:
            hand_said += " key=" + ",".join(f"{k!r}:{shares[k]:.2g}" for k in checked)
        return Reading(
            "ok",
            best,
            confidence,
            reading.char_confidences if best == reading.text else glyph.char_probs,
            alts,
            reading.ctc,
            detail=f"line={reading.text!r} glyphs={glyph.text!r}{hand_said} ({agree})",
        )
