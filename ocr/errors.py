"""Typed errors of scan reading. Each carries a stable ``code`` the service maps to a 4xx.

    ScanFileError              the file cannot be read as a scan
    ├── EmptyFile              zero bytes
    ├── UnsupportedFile        not PDF/TIFF/JPEG/PNG/HEIC (judged by content, not name)
    ├── CorruptFile            truncated or damaged
    ├── EncryptedFile          password-protected PDF
    └── LimitExceeded          over a size, page or pixel limit (checked before decoding)
"""

from __future__ import annotations

__all__ = [
    "CorruptFile",
    "EmptyFile",
    "EncryptedFile",
    "LimitExceeded",
    "ScanFileError",
    "UnsupportedFile",
]


class ScanFileError(Exception):
    """Base: the file cannot be read as a scan. ``code`` is machine-readable."""

    code = "bad_scan_file"


class EmptyFile(ScanFileError):
    """The file has no bytes."""

    code = "empty_file"


class UnsupportedFile(ScanFileError):
    """The content is not a supported scan format."""

    code = "unsupported_file"


class CorruptFile(ScanFileError):
    """The file is truncated or damaged."""

    code = "corrupt_file"


class EncryptedFile(ScanFileError):
    """A password-protected PDF."""

    code = "encrypted_file"


class LimitExceeded(ScanFileError):
    """The file exceeds a configured limit (bytes, pages or pixels per page)."""

    code = "limit_exceeded"
