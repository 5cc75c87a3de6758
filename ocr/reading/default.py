"""Build the default answer reader once per worker process (models are never loaded per page)."""

from __future__ import annotations

from models.loader import SessionSettings, open_session, verify_model
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
                             calibrated: bool = True) -> EnsembleRecognizer:
    """PP-OCRv6 line recogniser, the glyph classifier and the handwriting line reader.

    Each model has its own onnxruntime session.

    Args:
        settings: onnxruntime thread settings (default: one intra-op thread, as one worker
            process per core wants).
        calibrated: Give readings of the formats it was fitted on the calibrated confidence
            (``ocr.reading.confidence``, ``models/answer_confidence.json``); False keeps the
            posterior share (what the confidence model itself is fitted on).
    """
    settings = settings or SessionSettings()
    line = PPOCRRecognizer(open_session(PPOCR_REC_SMALL, settings),
                           options=RecognizerOptions(prep=PrepOptions()))
    return EnsembleRecognizer(
        line,
        GlyphClassifier(open_session(DIGIT_CLASSIFIER, settings)),
        hand=HandLineReader(open_session(ANSWER_LINE_READER, settings)),
        confidence=ConfidenceModel.load(verify_model(ANSWER_CONFIDENCE)) if calibrated else None,
    )
