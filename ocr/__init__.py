"""markbook ocr package."""
