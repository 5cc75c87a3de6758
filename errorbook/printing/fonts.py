"""Resolve and register the TrueType CJK font every printable PDF embeds.

reportlab can embed TrueType (glyf) fonts only; Noto CJK ships as CFF/OTF and would be
substituted by the viewer, so we look for WenQuanYi or AR PL TrueType collections.

The font is a process-wide choice. A program that is configured with a font (the service's
``MARKBOOK_CJK_FONT`` setting) registers it once at start-up with
``register_cjk_font(path)``; a configured path that is missing or cannot be embedded is an
error, never a silent fallback to another font. Rendering code then calls
``register_cjk_font()`` with no argument and gets the font already registered, or, in a
program that configured none, the first embeddable font in ``FONT_CANDIDATES``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

__all__ = [
    "CJK_FONT_NAME",
    "FONT_CANDIDATES",
    "FontNotFoundError",
    "find_cjk_font",
    "register_cjk_font",
]

CJK_FONT_NAME = "MarkbookCJK"

# Searched in order when no font is configured. Debian/Ubuntu paths first, then Fedora/Alpine.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf",
)

_INSTALL_HINT = ("Install one with 'apt-get install fonts-wqy-microhei' (Debian/Ubuntu) or "
                 "configure a .ttf/.ttc file (MARKBOOK_CJK_FONT for the service).")

# reportlab's font registry is process-wide: remember which file went in under our name so
# later no-argument calls keep it rather than replacing a configured font with a system one.
_lock = threading.Lock()
_registered: Path | None = None


class FontNotFoundError(RuntimeError):
    """No embeddable TrueType CJK font was found; the message says how to install one."""


def _load(path: Path) -> TTFont | str:
    """The parsed font, or why it cannot be used."""
    if not path.is_file():
        return f"{path} (missing)"
    try:
        return TTFont(CJK_FONT_NAME, str(path), subfontIndex=0)
    except TTFError as exc:
        return f"{path} ({exc})"


def _resolve(configured: str | Path | None) -> tuple[Path, TTFont]:
    if configured is not None and str(configured):
        path = Path(configured)
        loaded = _load(path)
        if isinstance(loaded, str):
            raise FontNotFoundError(
                f"the configured CJK font cannot be used: {loaded}. " + _INSTALL_HINT)
        return path, loaded
    tried: list[str] = []
    for candidate in map(Path, FONT_CANDIDATES):
        loaded = _load(candidate)
        if isinstance(loaded, str):
            tried.append(loaded)
            continue
        return candidate, loaded
    raise FontNotFoundError("no embeddable TrueType Chinese font found. " + _INSTALL_HINT
                            + " Tried: " + "; ".join(tried))


def find_cjk_font(configured: str | Path | None = None) -> Path:
    """The font file to use, checked to be an embeddable TrueType font.

    Args:
        configured: a .ttf/.ttc file chosen by configuration; when given it is the only
            candidate. None: the first embeddable file in ``FONT_CANDIDATES``.

    Returns:
        The font file's path.

    Raises:
        FontNotFoundError: the configured file is missing or not embeddable, or (with none
            configured) no candidate is.
    """
    return _resolve(configured)[0]


def register_cjk_font(font_path: str | Path | None = None) -> str:
    """Register the CJK font with reportlab (once per process) and return its name.

    Args:
        font_path: the configured .ttf/.ttc file; it replaces any font registered before.
            None: keep the font already registered, else register the first embeddable
            file in ``FONT_CANDIDATES``.

    Returns:
        The reportlab font name to use with ``setFont``.

    Raises:
        FontNotFoundError: the configured file is missing or not embeddable, or (with none
            configured) no candidate is.
    """
    global _registered
    with _lock:
        wanted = Path(font_path) if font_path is not None and str(font_path) else None
        if _registered is not None and wanted in (None, _registered):
            return CJK_FONT_NAME
        path, font = _resolve(wanted)
        pdfmetrics.registerFont(font)
        _registered = path
        return CJK_FONT_NAME
