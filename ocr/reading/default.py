"""Build the default answer reader once per worker process (models are never loaded per page)."""

from __future__ import annotations

from pathlib import Path

from models.loader import SessionSettings, open_session, open_unverified_session, verify_model
from models.manifest import (
    ANSWER_CONFIDENCE,
    ANSWER_LINE_READER,
    DIGIT_CLASSIFIER,
    PPOCR_REC_SMALL,
)
from ocr.reading.confidence import ConfidenceModel
from ocr.reading.ensemble import EnsembleRecognizer
from ocr.reading.glyphs import GlyphClassifier
from ocr.reading.hand_reader import HandLineReader
from ocr.reading.preprocess import PrepOptions
from ocr.reading.recognize import PPOCRRecognizer, RecognizerOptions

__all__ = ["build_default_recognizer"]


def build_default_recognizer(settings: SessionSettings | None = None, *,
                             calibrated: bool = True,
                             weights_dir: Path | None = None) -> EnsembleRecognizer:
    """PP-OCRv6 line recogniser, the glyph classifier and the handwriting line reader.

    Each model has its own onnxruntime session.

    Args:
        settings: onnxruntime thread settings (default: one intra-op thread, as one worker
            process per core wants).
        calibrated: Give readings of the formats it was fitted on the calibrated confidence
            (``ocr.reading.confidence``, ``models/answer_confidence.json``); False keeps the
            posterior share (what the confidence model itself is fitted on).
        weights_dir: A folder holding other weights under the shipped file names (previous
            or candidate readers, for benchmarks); None runs the manifest's, sha256-checked.
    """
    settings = settings or SessionSettings()
    line = PPOCRRecognizer(open_session(PPOCR_REC_SMALL, settings),
                           options=RecognizerOptions(prep=PrepOptions()))
    if weights_dir is None:
        glyphs = open_session(DIGIT_CLASSIFIER, settings)
        hand = open_session(ANSWER_LINE_READER, settings)
    else:
        glyphs = open_unverified_session(weights_dir / DIGIT_CLASSIFIER.relative_path, settings)
        hand = open_unverified_session(weights_dir / ANSWER_LINE_READER.relative_path, settings)
    confidence = None
    if calibrated:  # refitting the confidence must not need the file it is replacing
        confidence = ConfidenceModel.load(
            verify_model(ANSWER_CONFIDENCE) if weights_dir is None
            else weights_dir / ANSWER_CONFIDENCE.relative_path)
    return EnsembleRecognizer(line, GlyphClassifier(glyphs), hand=HandLineReader(hand),
                              confidence=confidence)
