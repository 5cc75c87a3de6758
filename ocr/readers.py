"""Build the default answer reader once per worker process (models are never loaded per page)."""

from __future__ import annotations

from models.loader import SessionSettings, open_session
from models.manifest import DIGIT_CLASSIFIER, PPOCR_REC_SMALL
from ocr.ensemble import EnsembleRecognizer
from ocr.glyphs import GlyphClassifier
from ocr.preprocess import PrepOptions
from ocr.recognize import PPOCRRecognizer, RecognizerOptions

__all__ = ["build_default_recognizer"]


def build_default_recognizer(settings: SessionSettings | None = None) -> EnsembleRecognizer:
    """PP-OCRv6 line recogniser plus the glyph classifier, each on its own onnxruntime session.

    Args:
        settings: onnxruntime thread settings (default: one intra-op thread, as one worker
            process per core wants).
    """
    settings = settings or SessionSettings()
    line = PPOCRRecognizer(open_session(PPOCR_REC_SMALL, settings),
                           options=RecognizerOptions(prep=PrepOptions()))
    return EnsembleRecognizer(line, GlyphClassifier(open_session(DIGIT_CLASSIFIER, settings)))
