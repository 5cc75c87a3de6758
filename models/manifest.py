"""The model manifest: every ONNX asset markbook runs, where it lives and what it expects.

A model is identified by name; its file either ships inside an installed Python package
(the PP-OCR models come inside the ``rapidocr`` wheel, so an offline school server needs no
download) or inside this ``models`` package itself (the small models we train). The sha256
pins the exact bytes: a different wheel version with different weights must fail loudly
rather than silently change what the grader reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ANSWER_CONFIDENCE",
    "ANSWER_LINE_READER",
    "DIGIT_CLASSIFIER",
    "MANIFEST",
    "PPOCR_DET_SMALL",
    "PPOCR_REC_SMALL",
    "REVIEW_POLICY",
    "ModelSpec",
    "get_spec",
]


@dataclass(frozen=True)
class ModelSpec:
    """One model asset.

    Attributes:
        name: Stable identifier used by callers (``"ppocr-rec-small"``).
        package: Import name of the package whose directory holds the file
            (``"rapidocr"`` for the wheel-shipped models, ``"models"`` for our own).
        relative_path: Path of the file inside that package directory.
        sha256: Hex digest of the file's bytes.
        licence: SPDX-ish licence of the weights.
        input_spec: Free-form facts the pre-processing relies on (input height, channels,
            normalisation), kept here so they are written down once.
    """

    name: str
    package: str
    relative_path: str
    sha256: str
    licence: str
    input_spec: dict[str, object] = field(default_factory=dict)


PPOCR_REC_SMALL = ModelSpec(
    name="ppocr-rec-small",
    package="rapidocr",
    relative_path="models/PP-OCRv6_rec_small.onnx",
    sha256="6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    licence="Apache-2.0",
    input_spec={
        "height": 48,
        "channels": 3,
        "normalise": "(x/255 - 0.5) / 0.5",
        # The charset is stored in the ONNX metadata; index 0 is the CTC blank and a
        # space is appended after the listed characters.
        "charset_metadata_key": "character",
        "output": "softmax probabilities (N, T, C)",
    },
)

PPOCR_DET_SMALL = ModelSpec(
    name="ppocr-det-small",
    package="rapidocr",
    relative_path="models/PP-OCRv6_det_small.onnx",
    sha256="090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    licence="Apache-2.0",
    input_spec={"channels": 3, "normalise": "(x/255 - 0.5) / 0.5", "stride": 32},
)

# Reproduced by tools/training/train_digit_classifier.py --mnist-idx (version 4: MNIST's
# training-file writers only, regional styles on a quarter of the 1s, 4s and 7s; batch norm,
# affine and stroke augmentation, 36k composed answers, 10 epochs; held-back glyph accuracy
# 0.983).
DIGIT_CLASSIFIER = ModelSpec(
    name="digit-symbol-classifier",
    package="models",
    relative_path="digit_symbol_cnn.onnx",
    sha256="0fee2061c7fa98f1a769eb55bc0f9ebcd46c11ba93de9998e0d08ebc9abc851e",
    licence="Apache-2.0 (weights trained on MNIST CC BY-SA 3.0 and BHMSDS MIT)",
    input_spec={
        "height": 28,
        "width": 28,
        "channels": 1,
        "normalise": "ink=1.0 on 0.0 background, centred by mass in a 20x20 box",
        "classes": "0123456789-/.",
    },
)

# Reproduced by tools/training/train_answer_reader.py --mnist-idx --answers 120000 --epochs 10
# (the medium network; MNIST's training-file writers only, never its test-file writers, who
# calibrate and measure: simulation.writers; regional styles on a quarter of the 1s, 4s and
# 7s; composed, degraded and cleaned answers; affine and stroke augmentation per batch).
ANSWER_LINE_READER = ModelSpec(
    name="answer-line-reader",
    package="models",
    relative_path="answer_line_crnn.onnx",
    sha256="42b51dded6de0d6f546f60f2b3497edff9388b731ad9c1df866a48fbe8d1baee",
    licence="Apache-2.0 (weights trained on MNIST CC BY-SA 3.0 and BHMSDS MIT)",
    input_spec={
        "height": 32,
        "width": 128,
        "channels": 1,
        "normalise": "cleaned ink map, ink=1.0 on 0.0, fitted by ocr.reading.hand_reader.hand_input",
        "output": "CTC log-probabilities (N, 32, 14); column 0 blank, then 0123456789-/.",
    },
)

# Reproduced by tools/training/fit_answer_confidence.py --mnist-idx (drill pages written by
# MNIST's calibration writers, read by the three readers above with the keys verified;
# refit whenever one of them or the ensemble's weights change).
# Not an ONNX model: the coefficients of a logistic model (ocr.reading.confidence), pinned the same way.
ANSWER_CONFIDENCE = ModelSpec(
    name="answer-confidence",
    package="models",
    relative_path="answer_confidence.json",
    sha256="f7b9609f985fce4044f34cf2af38b1d07934f78169f2125f2ec8d1c62ee467c4",
    licence="Apache-2.0 (fitted on MNIST CC BY-SA 3.0 and BHMSDS MIT handwriting)",
    input_spec={"features": "ocr.reading.confidence.FEATURES", "output": "P(reading is right)"},
)

# Chosen by bench/bench_unseen_writers.py --choose on the calibration writers only (MNIST's
# test-file SD-3 writers, simulation.writers); read by grading.review_policy.PolicySet.
# Re-choose whenever a reader, the ensemble or the confidence model changes.
REVIEW_POLICY = ModelSpec(
    name="review-policy",
    package="models",
    relative_path="review_policy.json",
    sha256="555bfe0bc89cf6d13b7994f9d46b4f60348f70e91d363bbbd8f8f68458116370",
    licence="Apache-2.0",
    input_spec={"format": "grading.review_policy.PolicySet.from_json"},
)

MANIFEST: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (PPOCR_REC_SMALL, PPOCR_DET_SMALL, DIGIT_CLASSIFIER, ANSWER_LINE_READER,
                 ANSWER_CONFIDENCE, REVIEW_POLICY)
}


def get_spec(name: str) -> ModelSpec:
    """Look a model up by name.

    Args:
        name: The model's manifest name.

    Returns:
        The model's spec.

    Raises:
        KeyError: If no model of that name is in the manifest; the message lists the known
            names.
    """
    try:
        return MANIFEST[name]
    except KeyError:
        known = ", ".join(sorted(MANIFEST))
        raise KeyError(f"unknown model {name!r}; known models: {known}") from None
