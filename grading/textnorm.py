"""Normalisation of written answers: width, case, spaces, punctuation, script, pinyin.

Everything here is a pure function of its input. OpenCC's traditional-to-simplified
converter is built once on first use (it reads its bundled dictionaries) and reused.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

__all__ = [
    "MAX_ANSWER_CHARS",
    "normalize_pinyin",
    "normalize_text",
    "to_halfwidth",
    "to_simplified",
]

MAX_ANSWER_CHARS = 2000

# Characters that survive NFKC but still mean the same to a teacher.
_EQUIVALENTS = str.maketrans({"　": " ", "－": "-", "—": "-", "–": "-", "−": "-"})

# Tone-marked vowels -> (plain vowel, tone number). ü is spelled v internally.
_TONE_MARKS: dict[str, tuple[str, int]] = {}
for _plain, _marked in {
    "a": "āáǎà",
    "e": "ēéěè",
    "i": "īíǐì",
    "o": "ōóǒò",
    "u": "ūúǔù",
    "v": "ǖǘǚǜ",
}.items():
    for _tone, _ch in enumerate(_marked, start=1):
        _TONE_MARKS[_ch] = (_plain, _tone)


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text).translate(_EQUIVALENTS)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc  # imported lazily: it loads dictionaries, which is not import-time work

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (``體積`` -> ``体积``)."""
    if all(ord(c) < 0x2E80 for c in text):
        return text
    return str(_t2s().convert(text))


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def normalize_text(text: str, *, keep_punctuation: bool = False) -> str:
    """The canonical form of a text answer used for comparison and grouping.

    Args:
        text: the raw answer.
        keep_punctuation: keep punctuation marks (spaces are always removed).

    Returns:
        Half-width, lower-case, simplified Chinese, with whitespace (and, unless kept,
        punctuation) removed. Truncated to ``MAX_ANSWER_CHARS`` characters first.
    """
    text = to_simplified(to_halfwidth(text[:MAX_ANSWER_CHARS])).casefold()
    kept = "".join(
        ch for ch in text if not ch.isspace() and (keep_punctuation or not _is_punct(ch))
    )
    # Dropping a space can leave a combining mark next to a letter (NFKC spells the acute
    # accent U+00B4 as space + U+0301); compose again so normalising twice changes nothing.
    return unicodedata.normalize("NFKC", kept)


def normalize_pinyin(text: str) -> tuple[str, tuple[int, ...]]:
    """Canonical pinyin: the letters (ü as ``v``) and the tones in order.

    ``lǜ``, ``lv4``, ``lü4`` and ``lu:4`` all give ``("lv", (4,))``. Tone marks sit inside
    a syllable and tone numbers after it, but in both spellings the tones appear in syllable
    order, so comparing the sequence needs no syllable segmentation. Neutral tones
    (unmarked, or written ``5``/``0``) add no tone.

    Args:
        text: a pinyin answer with tone marks, tone numbers, or none.

    Returns:
        (letters, tones).
    """
    text = unicodedata.normalize("NFC", text[:MAX_ANSWER_CHARS]).casefold()
    text = text.replace("u:", "v").replace("ü", "v")
    letters: list[str] = []
    tones: list[int] = []
    for ch in text:
        if ch in _TONE_MARKS:
            plain, tone = _TONE_MARKS[ch]
            letters.append(plain)
            tones.append(tone)
        elif ch in "1234":
            tones.append(int(ch))
        elif "a" <= ch <= "z":
            letters.append(ch)
        # spaces, apostrophes, hyphens, 5/0 (neutral) carry no meaning here
    spelled = "".join(letters)
    # After j, q, x, y the letter u is ü, so "ju" and "jv" are the same syllable.
    for initial in "jqxy":
        spelled = spelled.replace(initial + "v", initial + "u")
    return spelled, tuple(tones)
