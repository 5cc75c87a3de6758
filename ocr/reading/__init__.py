"""The answer readers (PP-OCR line recogniser, glyph classifier, CTC line reader), the
crop cleaning they share, and the calibrated ensemble that combines them into one reading."""
