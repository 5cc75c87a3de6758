"""A small CTC line reader trained on handwritten numeric answers (the third reader).

PP-OCR learned printed text, and the glyph reader sees one connected component at a time;
both miss the same handwriting in known ways (a slanted ``1`` against ``/``, an open ``4``
against ``9``, digits that touch). This reader was trained for exactly our input: the
cleaned ink of an answer box (``ocr.reading.preprocess.clean_ink``), written by hand, 1-7 characters
of ``0-9 - / .``. Its weights are produced by ``tools/training/train_answer_reader.py``
from the ``train`` split of the development handwriting only.

It outputs a CTC matrix over the same symbols, so the ensemble scores any candidate string
with it by the forward algorithm (``ocr.reading.ctc.forced_log_prob``) just like PP-OCR.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ocr.reading.ctc import Alphabet, CTCMatrix

__all__ = [
    "HAND_SYMBOLS",
    "INPUT_HEIGHT",
    "INPUT_WIDTH",
    "TRAINED_FORMATS",
    "HandLineReader",
    "hand_input",
]

HAND_SYMBOLS = "0123456789-/."
INPUT_HEIGHT = 32
INPUT_WIDTH = 128
# Answer formats (``ocr.reading.ctc.Alphabet`` names) the training data covered.
TRAINED_FORMATS = frozenset({"digits", "numeric", "signed_decimal", "drill_signed"})


def hand_input(ink: np.ndarray) -> np.ndarray:
    """Fit a cleaned ink map into the reader's fixed canvas.

    The ink keeps its aspect ratio: it is scaled to the canvas height (or less, when a long
    answer would overflow the width), centred vertically and placed at the left edge.

    Args:
        ink: float32 ink map from ``clean_ink`` (1 = ink), trimmed to the ink with a margin.

    Returns:
        float32 (INPUT_HEIGHT, INPUT_WIDTH) canvas, ink 1 on 0.
    """
    return _fit(ink)[0]


def _fit(ink: np.ndarray) -> tuple[np.ndarray, int]:
    h, w = ink.shape
    scale = min(INPUT_HEIGHT / max(h, 1), INPUT_WIDTH / max(w, 1))
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    small = cv2.resize(ink.astype(np.float32), (nw, nh), interpolation=interp)
    canvas = np.zeros((INPUT_HEIGHT, INPUT_WIDTH), np.float32)
    top = (INPUT_HEIGHT - nh) // 2
    canvas[top : top + nh, :nw] = np.clip(small, 0.0, 1.0)
    return canvas, nw


class HandLineReader:
    """Run the handwritten-answer line model on onnxruntime.

    Args:
        session: An onnxruntime ``InferenceSession`` of ``answer_line_crnn.onnx``.
        max_batch: Crops per model call.
    """

    def __init__(self, session: Any, max_batch: int = 32) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._max_batch = max_batch

    @staticmethod
    def covers(alphabet: Alphabet | None) -> bool:
        """Whether answers of this alphabet are of the kind the reader was trained on.

        Every character must be one it can write, and the format one it learned: numbers,
        signed numbers, decimals and fractions. A drill's ``3……2`` (quotient and remainder)
        uses only dots and digits, but the reader never saw a row of six dots, so its
        evidence there would only mislead.
        """
        return (alphabet is not None and alphabet.name in TRAINED_FORMATS
                and all(c in HAND_SYMBOLS for c in alphabet.chars))

    def matrices(self, inks: Sequence[np.ndarray]) -> list[CTCMatrix]:
        """CTC log-probabilities over ``blank + HAND_SYMBOLS`` for each ink map.

        Args:
            inks: Cleaned ink maps (``clean_ink`` output; never None).

        Returns:
            One matrix per ink map, in order.
        """
        out: list[CTCMatrix] = []
        for start in range(0, len(inks), self._max_batch):
            fitted = [_fit(ink) for ink in inks[start : start + self._max_batch]]
            batch = np.stack([canvas for canvas, _ in fitted])[:, None]
            log_probs = self._session.run(None, {self._input: batch})[0]
            frames = log_probs.shape[1]
            for lp, (_, used) in zip(log_probs, fitted, strict=True):
                # Frames right of the ink see empty canvas and say "blank" with certainty;
                # dropping them changes no string's probability and halves the decoding
                # work for a short answer. Two frames of margin keep the receptive field.
                keep = min(frames, -(-used * frames // INPUT_WIDTH) + 2)
                out.append(CTCMatrix(np.ascontiguousarray(lp[:keep], np.float32),
                                     HAND_SYMBOLS))
        return out
