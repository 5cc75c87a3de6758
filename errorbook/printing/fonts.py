"""Resolve and register the TrueType CJK font every printable PDF embeds.

reportlab can embed TrueType (glyf) fonts only; Noto CJK ships as CFF/OTF and would be
substituted by the viewer, so we look for WenQuanYi or AR PL TrueType collections.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

__all__ = ["CJK_FONT_NAME", "FONT_CANDIDATES", "FontNotFoundError", "register_cjk_font"]

CJK_FONT_NAME = "MarkbookCJK"

# Checked in order after MARKBOOK_CJK_FONT. Debian/Ubuntu paths first, then Fedora/Alpine.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf",
)


class FontNotFoundError(RuntimeError):
    """No embeddable TrueType CJK font was found; the message says how to install one."""


def _candidates(explicit: str | None) -> list[Path]:
    paths = [explicit or os.environ.get("MARKBOOK_CJK_FONT") or ""]
    return [Path(p) for p in [*paths, *FONT_CANDIDATES] if p]


@lru_cache(maxsize=4)
def register_cjk_font(explicit_path: str | None = None) -> str:
    """Register the CJK font with reportlab once per process and return its name.

    Args:
        explicit_path: a .ttf/.ttc file to use; falls back to ``MARKBOOK_CJK_FONT`` and
            then the common system locations in ``FONT_CANDIDATES``.

    Returns:
        The reportlab font name to use with ``setFont``.

    Raises:
        FontNotFoundError: none of the candidates exists or can be embedded.
    """
    tried: list[str] = []
    for path in _candidates(explicit_path):
        if not path.is_file():
            tried.append(f"{path} (missing)")
            continue
        try:
            font = TTFont(CJK_FONT_NAME, str(path), subfontIndex=0)
        except TTFError as exc:
            tried.append(f"{path} ({exc})")
            continue
        pdfmetrics.registerFont(font)
        return CJK_FONT_NAME
    raise FontNotFoundError(
        "no embeddable TrueType Chinese font found. Install one with "
        "'apt-get install fonts-wqy-microhei' (Debian/Ubuntu) or point MARKBOOK_CJK_FONT "
        "at a .ttf/.ttc file. Tried: " + "; ".join(tried)
    )
