"""The words an annotated paper prints, per school language (the marks themselves are
glyphs: ✓ ✗ and the half tick read the same in both)."""

from __future__ import annotations

from dataclasses import dataclass

from errorbook.printing.language import PrintLanguage

__all__ = ["AnnotatedWords", "annotated_words"]


@dataclass(frozen=True)
class AnnotatedWords:
    """One language's words on an annotated paper.

    Attributes:
        blank: the mark beside an answer left blank.
        pending: the total while a teacher still has answers to decide.
        score: the header's score, with ``{total}``.
        page: the header's page number, with ``{n}`` and ``{total}``.
        unaligned: the note on a page that could not be aligned.
        reviews: the note naming questions awaiting review, with ``{labels}``.
        unplaced: the note naming questions outside the scan, with ``{labels}``.
        joiner, separator: between question labels, and between notes.
        class_title: the class batch's document title.
    """

    blank: str
    pending: str
    score: str
    page: str
    unaligned: str
    reviews: str
    unplaced: str
    joiner: str
    separator: str
    class_title: str


_WORDS = {
    "zh": AnnotatedWords(
        blank="空", pending="待定", score="得分 {total}", page="第 {n}/{total} 页",
        unaligned="本页未能自动对齐，未逐题标注；各题得分见成绩单",
        reviews="灰色 ? 为待复核：第 {labels} 题", unplaced="第 {labels} 题不在扫描范围内，未标注",
        joiner="、", separator="；", class_title="批改 · 全班"),
    "en": AnnotatedWords(
        blank="—", pending="pending", score="Score {total}", page="Page {n} of {total}",
        unaligned="this page could not be aligned, so its questions are not marked; see the "
                  "results for each score",
        reviews="grey ? awaits the teacher: question {labels}",
        unplaced="question {labels} is outside the scan and not marked",
        joiner=", ", separator="; ", class_title="Marked papers · class"),
}


def annotated_words(language: PrintLanguage) -> AnnotatedWords:
    """The words of ``language`` (``zh`` or ``en``).

    Raises:
        KeyError: another language.
    """
    return _WORDS[language]
