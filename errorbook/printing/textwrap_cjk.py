"""Line breaking for mixed Chinese/Latin text measured with the embedded font.

Chinese may break between any two characters; Latin words and numbers stay whole; closing
punctuation never starts a line (it hangs at the end of the previous one, 禁则).
"""

from __future__ import annotations

import re

from errorbook.printing.text import text_width

__all__ = ["wrap_text"]

_TOKENS = re.compile(r"[A-Za-z0-9.,/%+\-=×÷<>()_']+|\s+|.", re.S)
_NO_LINE_START = set("，。、；：？！）》」』”’,.;:?!)…%")


def wrap_text(text: str, width: float, font_size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points (explicit newlines kept).

    Args:
        text: the text to wrap.
        width: the line width in points.
        font_size: the font size the text is set in.

    Returns:
        The lines; an empty text gives one empty line.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for tok in _TOKENS.findall(paragraph):
            candidate = line + tok
            fits = text_width(candidate, font_size) <= width
            if fits or not line.strip() or tok[0] in _NO_LINE_START:
                line = candidate
                continue
            lines.append(line.rstrip())
            line = tok.lstrip()
            # A single token wider than the line (a long number) is split by characters.
            while text_width(line, font_size) > width and len(line) > 1:
                cut = len(line)
                while cut > 1 and text_width(line[:cut], font_size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines
