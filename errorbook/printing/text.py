"""Measure and draw mixed Chinese/pinyin text with a per-character font fallback.

WenQuanYi Micro Hei maps the third-tone and ü pinyin vowels (ǎ ǐ ǒ ǔ ǚ ǜ) to *empty*
glyphs, so ``zhǎng`` would print as ``zh ng``. Latin-extended characters and combining
marks are therefore set in a Latin fallback font (DejaVu Sans, else Zen Hei), everything
else in the CJK font.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from errorbook.printing.fonts import register_cjk_font

__all__ = ["FALLBACK_FONT_NAME", "draw_text", "register_fallback_font", "text_runs", "text_width"]

FALLBACK_FONT_NAME = "MarkbookLatin"
FALLBACK_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@lru_cache(maxsize=1)
def register_fallback_font() -> str:
    """Register the Latin fallback font; without one, the CJK font serves for everything."""
    for path in FALLBACK_CANDIDATES:
        if Path(path).is_file():
            try:
                pdfmetrics.registerFont(TTFont(FALLBACK_FONT_NAME, path, subfontIndex=0))
            except TTFError:
                continue
            return FALLBACK_FONT_NAME
    return register_cjk_font()


def _needs_fallback(ch: str) -> bool:
    o = ord(ch)
    return 0x0100 <= o <= 0x024F or 0x0300 <= o <= 0x036F or 0x1E00 <= o <= 0x1EFF


def text_runs(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into (font name, substring) runs."""
    cjk, latin = register_cjk_font(), register_fallback_font()
    runs: list[tuple[str, str]] = []
    for ch in text:
        font = latin if _needs_fallback(ch) else cjk
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + ch)
        else:
            runs.append((font, ch))
    return runs


def text_width(text: str, size: float) -> float:
    """Width of ``text`` in points at ``size``, with the fallback applied."""
    return float(sum(stringWidth(s, font, size) for font, s in text_runs(text)))


def draw_text(canvas: Canvas, x: float, y: float, text: str, size: float,
              anchor: Literal["left", "center", "right"] = "left") -> None:
    """Draw ``text`` with its baseline at ``y`` (reportlab coordinates), anchored at ``x``."""
    if anchor != "left":
        width = text_width(text, size)
        x -= width / 2 if anchor == "center" else width
    for font, s in text_runs(text):
        canvas.setFont(font, size)
        canvas.drawString(x, y, s)
        x += stringWidth(s, font, size)
