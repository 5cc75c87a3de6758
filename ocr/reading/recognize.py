"""Text recognition of answer-box crops: the engine interface, PP-OCR, and a fake.

:class:`PPOCRRecognizer` runs the PP-OCRv6 line recogniser on an injected onnxruntime
session (opened once by the caller via :func:`models.loader.open_session`). Besides the
best string it returns the evidence grading needs: calibrated-ish confidence (the exact
CTC probability of the reading among strings over the answer's alphabet), top-k
alternatives, and a small restricted CTC matrix so a grader can score the key itself
(:func:`ocr.reading.ctc.forced_log_prob`).

Statuses never collapse: ``blank`` (no ink), ``unreadable`` (ink but no string over the
alphabet), ``engine_error`` (the model failed) are distinct from an ``ok`` reading.
"""

from __future__ import annotations

import math
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from ocr.reading.ctc import (
    OTHER,
    Alphabet,
    CTCMatrix,
    Hypothesis,
    beam_search,
    charset_index,
    forced_log_prob,
    greedy_decode,
    masked,
    restrict,
)
from ocr.reading.preprocess import PreparedCrop, PrepOptions, prepare_crop

__all__ = [
    "FakeRecognizer",
    "PPOCRRecognizer",
    "Reading",
    "ReadingStatus",
    "RecognizerOptions",
    "TextRecognizer",
    "charset_from_session",
]

ReadingStatus = Literal["ok", "blank", "unreadable", "engine_error"]
# Columns kept in a Reading's matrix when no alphabet is given: enough for numeric and
# choice keys, small enough to pickle cheaply.
_DEFAULT_KEEP = string.digits + string.ascii_letters + "+-*/=.,:()%<>"


@dataclass(frozen=True)
class Reading:
    """What the recogniser read in one crop.

    Attributes:
        status: ``ok``, ``blank``, ``unreadable`` or ``engine_error``.
        text: The best reading ("" unless ``ok``).
        confidence: P(text | crop) among strings the alphabet allows, 0..1.
        char_confidences: Per-character confidence of ``text``.
        alternatives: Top readings with probabilities, best first (includes ``text``).
        ctc: Restricted CTC log-probabilities (blank, alphabet, other) for verification;
            None when there was no model output.
        detail: Human-readable reason for a non-``ok`` status.
    """

    status: ReadingStatus
    text: str = ""
    confidence: float = 0.0
    char_confidences: tuple[float, ...] = ()
    alternatives: tuple[tuple[str, float], ...] = ()
    ctc: CTCMatrix | None = None
    detail: str = ""


class TextRecognizer(Protocol):
    """Reads answer-box crops.

    Implementations must return exactly one :class:`Reading` per crop, in order, and
    report failures as ``engine_error`` readings rather than raise or return "".
    """

    def recognize(
        self,
        crops: Sequence[np.ndarray],
        *,
        alphabet: Alphabet | None = None,
        length: tuple[int, int] | None = None,
    ) -> list[Reading]:
        """Read crops.

        Args:
            crops: uint8 grayscale or BGR crops.
            alphabet: Characters the answer may use; None leaves the output unconstrained.
            length: Inclusive expected length range of the answer, if known.

        Returns:
            One reading per crop.
        """
        ...


@dataclass(frozen=True)
class RecognizerOptions:
    """Settings of :class:`PPOCRRecognizer`.

    Attributes:
        prep: Crop preparation.
        max_batch: Crops per model call.
        bucket: Widths are padded up to a multiple of this, so a batch shares a width.
        beam_width: Prefix beam width of the constrained decoder.
        top_k: Alternatives returned.
        decoder: ``beam`` (prefix beam search, exact string probabilities) or ``greedy``
            (best path, as a generic OCR call decodes; kept as the baseline).
    """

    prep: PrepOptions = field(default_factory=PrepOptions)
    max_batch: int = 16
    bucket: int = 32
    beam_width: int = 12
    top_k: int = 5
    decoder: Literal["beam", "greedy"] = "beam"


def charset_from_session(session: Any) -> list[str]:
    """Read PP-OCR's characters from the model metadata, blank first and space last.

    Args:
        session: An onnxruntime session of a PP-OCR recogniser.

    Returns:
        The class labels, index-aligned with the model's output columns.

    Raises:
        ValueError: If the metadata has no charset or its size disagrees with the output.
    """
    meta = session.get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise ValueError("recogniser model has no 'character' metadata")
    chars = ["<blank>", *meta["character"].split("\n"), " "]
    n_out = session.get_outputs()[0].shape[-1]
    if isinstance(n_out, int) and n_out != len(chars):
        raise ValueError(f"charset has {len(chars)} classes, model outputs {n_out}")
    return chars


class PPOCRRecognizer:
    """PP-OCR CTC line recogniser with alphabet-constrained decoding.

    Args:
        session: An onnxruntime ``InferenceSession`` of the PP-OCR rec model.
        charset: Class labels (see :func:`charset_from_session`); read from the session
            when omitted.
        options: Preparation, batching and decoding settings.
    """

    def __init__(
        self,
        session: Any,
        charset: Sequence[str] | None = None,
        options: RecognizerOptions | None = None,
    ) -> None:
        self._session = session
        self._charset = list(charset) if charset is not None else charset_from_session(session)
        self._index = charset_index(self._charset)
        self._input = session.get_inputs()[0].name
        self.options = options or RecognizerOptions()

    def probabilities(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run the model on prepared (height-normalised, grayscale) images.

        Args:
            images: uint8 grayscale images of the model's input height.

        Returns:
            Per image, the (T, C) softmax matrix, trimmed to the image's own width.
        """
        o = self.options
        out: list[np.ndarray | None] = [None] * len(images)
        buckets: dict[int, list[int]] = {}
        for i, img in enumerate(images):
            width = -(-img.shape[1] // o.bucket) * o.bucket
            buckets.setdefault(width, []).append(i)
        for width, members in sorted(buckets.items()):
            for start in range(0, len(members), o.max_batch):
                chunk = members[start : start + o.max_batch]
                batch = np.ones((len(chunk), 3, images[chunk[0]].shape[0], width), np.float32)
                for j, i in enumerate(chunk):
                    img = images[i].astype(np.float32) / 127.5 - 1.0
                    batch[j, :, :, : img.shape[1]] = img
                probs = self._session.run(None, {self._input: batch})[0]
                frames = probs.shape[1]
                for j, i in enumerate(chunk):
                    # Frames covering only padding are dropped: their blanks carry no evidence.
                    used = math.ceil(frames * images[i].shape[1] / width)
                    out[i] = probs[j, : max(used, 1)]
        return [p for p in out if p is not None]

    def recognize(
        self,
        crops: Sequence[np.ndarray],
        *,
        alphabet: Alphabet | None = None,
        length: tuple[int, int] | None = None,
        prepared: Sequence[PreparedCrop | ValueError] | None = None,
    ) -> list[Reading]:
        """Read crops (see :meth:`TextRecognizer.recognize`).

        Args:
            crops: uint8 grayscale or BGR crops.
            alphabet: Allowed characters, or None.
            length: Inclusive expected length range, or None.
            prepared: The crops already prepared with this recogniser's options (or the
                error preparing raised), when the caller prepared them for another use.

        Returns:
            One reading per crop; a model failure marks every crop ``engine_error``.
        """
        readings: list[Reading | None] = [None] * len(crops)
        images: list[np.ndarray] = []
        owners: list[int] = []
        for i, crop in enumerate(crops):
            given = prepared[i] if prepared is not None else None
            try:
                if isinstance(given, ValueError):
                    raise given
                ready = given if given is not None else prepare_crop(crop, self.options.prep)
            except ValueError as exc:
                readings[i] = Reading("engine_error", detail=f"bad crop: {exc}")
                continue
            if ready.image is None:
                readings[i] = Reading("blank", detail="no ink in the answer box")
            else:
                images.append(ready.image)
                owners.append(i)
        try:
            matrices = self.probabilities(images) if images else []
        except Exception as exc:  # any engine failure becomes a status
            failed = Reading("engine_error", detail=f"{type(exc).__name__}: {exc}")
            return [r if r is not None else failed for r in readings]
        for i, probs in zip(owners, matrices, strict=True):
            readings[i] = self.decode(probs, alphabet=alphabet, length=length)
        return [r if r is not None else Reading("engine_error") for r in readings]

    def decode(
        self,
        probs: np.ndarray,
        *,
        alphabet: Alphabet | None = None,
        length: tuple[int, int] | None = None,
    ) -> Reading:
        """Turn one full softmax matrix into a reading.

        Args:
            probs: (T, C) model output for one crop.
            alphabet: Allowed characters, or None.
            length: Inclusive expected length range, or None.

        Returns:
            The reading with alternatives and the restricted CTC matrix.
        """
        if alphabet is None:
            # Keep whatever the unconstrained best path emits, so it can be scored too.
            best = "".join(self._charset[int(k)] for k in _collapse(probs.argmax(axis=1)))
            matrix = restrict(probs, self._charset, _DEFAULT_KEEP + best, self._index)
            search = matrix
        else:
            matrix = restrict(probs, self._charset, alphabet.chars, self._index)
            search = masked(matrix, alphabet)
        o = self.options
        if o.decoder == "greedy":
            text = greedy_decode(search).text
            hyps = [Hypothesis(text, forced_log_prob(search, text), ())]
        else:
            # Search deeper than we return: the format filter below may reject the top ones.
            hyps = beam_search(search, beam_width=o.beam_width, top_k=4 * o.top_k, length=length)
        hyps = [h for h in hyps if OTHER not in h.text and h.text]
        if alphabet is not None:
            hyps = [h for h in hyps if alphabet.allows(h.text)]
        hyps = hyps[: o.top_k]
        if not hyps:
            return Reading("unreadable", ctc=matrix, detail="no reading fits the alphabet")
        top = hyps[0]
        alts = tuple((h.text, math.exp(h.log_prob)) for h in hyps)
        return Reading("ok", top.text, alts[0][1], top.char_probs, alts, matrix)


def _collapse(path: np.ndarray) -> list[int]:
    out: list[int] = []
    prev = 0
    for k in path.tolist():
        if k != 0 and k != prev:
            out.append(k)
        prev = k
    return out


@dataclass
class FakeRecognizer:
    """Scripted recogniser for tests, with fault injection.

    Args:
        script: Readings returned in order, cycling; or a callable from crop index to
            reading.
        fault: ``None``, ``"raise"`` (the engine crashes), ``"garbage"`` (returns text
            outside the alphabet with high confidence, as a broken model would) or
            ``"timeout"`` (the engine exceeds ``timeout_s``).
        timeout_s: Budget per call when ``fault="timeout"``.
    """

    script: Sequence[Reading] | Callable[[int], Reading] = ()
    fault: Literal["raise", "garbage", "timeout"] | None = None
    timeout_s: float = 0.05
    calls: int = 0

    def recognize(
        self,
        crops: Sequence[np.ndarray],
        *,
        alphabet: Alphabet | None = None,
        length: tuple[int, int] | None = None,
    ) -> list[Reading]:
        """Return scripted readings, or inject the configured fault as statuses.

        Args:
            crops: Crops (only their count matters).
            alphabet: Used to flag garbage as ``unreadable``.
            length: Ignored.

        Returns:
            One reading per crop.
        """
        self.calls += 1
        if self.fault == "raise":
            try:
                self._crash()
            except RuntimeError as exc:
                return [Reading("engine_error", detail=f"RuntimeError: {exc}")] * len(crops)
        if self.fault == "timeout":
            started = time.monotonic()
            time.sleep(self.timeout_s * 1.5)
            waited = time.monotonic() - started
            detail = f"timed out after {waited:.2f}s (budget {self.timeout_s}s)"
            return [Reading("engine_error", detail=detail)] * len(crops)
        if self.fault == "garbage":
            text = "\ufffd#"
            if alphabet is not None and any(c not in alphabet.chars for c in text):
                return [Reading("unreadable", detail="output outside the alphabet")] * len(crops)
            return [Reading("ok", text, 0.99, (0.99, 0.99), ((text, 0.99),))] * len(crops)
        out = []
        for i in range(len(crops)):
            if callable(self.script):
                out.append(self.script(i))
            elif self.script:
                out.append(self.script[i % len(self.script)])
            else:
                out.append(Reading("engine_error", detail="fake recogniser has no script"))
        return out

    @staticmethod
    def _crash() -> None:
        raise RuntimeError("injected crash")
