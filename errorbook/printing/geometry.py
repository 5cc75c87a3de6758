"""Page-space units and sizes shared by every printable document."""

from __future__ import annotations

from reportlab.lib.pagesizes import A4, LETTER

__all__ = ["MM", "PAGE_SIZES"]

MM = 72.0 / 25.4  # points per millimetre

# (width, height) in points, portrait.
PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": (A4[0], A4[1]), "Letter": (LETTER[0], LETTER[1])}
