"""The words printed on a worksheet page a child reads, per school language.

A Chinese school's pages are Chinese only; an English-speaking school's pages say the same
in English. Questions print as the bank holds them (a bank in English prints English
questions); only the page furniture comes from here: the header labels, the page number,
the marking instruction, the padding page, the working area and the seat row. The school's
language is ``MARKBOOK_SCHOOL_LANGUAGE`` (``service.config.Settings.school_language``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LANGUAGES", "PrintLanguage", "PrintWords", "print_words"]

PrintLanguage = Literal["zh", "en"]
LANGUAGES: tuple[PrintLanguage, ...] = ("zh", "en")


@dataclass(frozen=True)
class PrintWords:
    """One language's words for the page furniture.

    Attributes:
        name, number: the header's name box and student-number comb labels.
        page: the footer, with ``{n}`` and ``{total}``.
        blank_page: what a duplex padding page says.
        choice_instruction: how to mark a choice (what the bubble reader takes as one).
        scratch: the label of the working area (竖式).
        seat, seat_hint, tens, units: the seat-number row's labels.
        number_grid: the caption of an answer sheet's student-number grid.
        blank_labels: the quotient/remainder box labels stored in the layout (商, 余) as
            printed in this language.
    """

    name: str
    number: str
    page: str
    blank_page: str
    choice_instruction: str
    scratch: str
    seat: str
    seat_hint: str
    tens: str
    units: str
    blank_labels: tuple[tuple[str, str], ...] = ()
    number_grid: str = "填涂学号"

    def page_number(self, n: int, total: int) -> str:
        """The footer's page number."""
        return self.page.format(n=n, total=total)

    def blank_label(self, stored: str) -> str:
        """A box label stored in the layout (``商``) as printed in this language."""
        return dict(self.blank_labels).get(stored, stored)


_WORDS: dict[str, PrintWords] = {
    "zh": PrintWords(
        name="姓名", number="学号", page="第 {n} / {total} 页", blank_page="（本页空白）",
        # What the bubble reader (ocr.marks) takes as a choice: a filled bubble, and also
        # a tick, a cross or a ring on or round it; a crossed-out bubble therefore still
        # counts, so changing an answer means rubbing the old mark out.
        choice_instruction="选择题、判断题：把选中的圆圈涂满（打勾、打叉、圈出也算选中）；"
                           "改答案要把原来的记号擦干净。",
        scratch="草稿（列竖式）", seat="座号", seat_hint="（学号末两位）", tens="十位",
        units="个位"),
    "en": PrintWords(
        name="Name", number="No.", page="Page {n} of {total}", blank_page="(This page is blank)",
        choice_instruction="Choices and true/false: fill in the circle you choose (a tick, "
                           "cross or ring counts too); to change, rub the old mark out.",
        scratch="Working", seat="Seat", seat_hint="(last 2 digits of No.)",
        tens="tens", units="ones", blank_labels=(("商", "Q"), ("余", "R")),
        number_grid="Fill No."),
}


def print_words(language: str) -> PrintWords:
    """The page furniture's words in ``language`` (``zh`` or ``en``).

    Raises:
        ValueError: another language.
    """
    try:
        return _WORDS[language]
    except KeyError:
        raise ValueError(f"unknown print language {language!r}; use one of "
                         f"{', '.join(LANGUAGES)}") from None
