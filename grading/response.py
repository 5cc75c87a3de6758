"""What the scan reader (or a teacher) hands to a grader: one recognised response.

The reader never returns an empty string for a failure: ``status`` says whether the answer
area was blank, unreadable, misaligned or the engine failed. Only ``blank`` may score zero
without a human; every other non-``ok`` status goes to review.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Alternative", "Marks", "Response", "ResponseStatus"]


class ResponseStatus(StrEnum):
    """How reading the answer area went."""

    OK = "ok"
    BLANK = "blank"
    UNREADABLE = "unreadable"
    ENGINE_ERROR = "engine_error"
    MISALIGNED = "misaligned"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Alternative(_Frozen):
    """One candidate reading with the reader's probability for it.

    For a multi-blank text question ``blanks`` holds one reading per blank and ``text`` may
    stay empty; otherwise ``text`` is the reading.
    """

    text: str = Field(default="", max_length=2000)
    blanks: tuple[str, ...] = ()
    probability: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        # Readers naturally produce (text, probability) pairs; accept them as such.
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"text": value[0], "probability": value[1]}
        return value


class Marks(_Frozen):
    """Mark/bubble detection for choice, multi-choice and true/false answer areas.

    Attributes:
        fill: per option label (``A``..``H``, or ``T``/``F``) the fill score in [0, 1].
        marked: the labels the reader decided are marked (it may flag several).
    """

    fill: dict[str, float] = Field(default_factory=dict)
    marked: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _fill_range(self) -> Marks:
        for label, value in self.fill.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fill score of '{label}' is {value}, not in [0, 1]")
        return self


class Response(_Frozen):
    """One recognised (or typed-in) answer to one question.

    Attributes:
        status: how reading went; see the module docstring.
        text: the best reading (single-answer questions and choices written as letters).
        blanks: the best reading per blank, for multi-blank text questions.
        alternatives: other readings, best first, each with a probability.
        confidence: the reader's confidence in the best reading, in [0, 1].
        marks: mark detection for choice-like questions, when the sheet has bubbles/boxes.
        source: ``ocr`` for machine readings, ``teacher`` for typed or confirmed answers.
    """

    status: ResponseStatus = ResponseStatus.OK
    text: str = Field(default="", max_length=2000)
    blanks: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    marks: Marks | None = None
    source: Literal["ocr", "teacher"] = "ocr"

    @classmethod
    def typed(
        cls,
        text: str = "",
        *,
        blanks: tuple[str, ...] = (),
        marked: tuple[str, ...] | None = None,
    ) -> Response:
        """A teacher-typed or teacher-confirmed answer: confidence 1.0, no alternatives.

        Args:
            text: the answer as typed.
            blanks: per-blank answers for multi-blank text questions.
            marked: the chosen labels for choice-like questions, if given as marks.

        Returns:
            A response with status ``blank`` when nothing was given, else ``ok``.
        """
        empty = not text.strip() and not any(b.strip() for b in blanks) and not marked
        return cls(
            status=ResponseStatus.BLANK if empty else ResponseStatus.OK,
            text=text,
            blanks=blanks,
            confidence=1.0,
            marks=Marks(marked=marked) if marked is not None else None,
            source="teacher",
        )

    def readings(self) -> tuple[str, ...]:
        """The best reading as a tuple of blanks (one element for single answers)."""
        return self.blanks if self.blanks else (self.text,)

    def with_reading(self, alternative: Alternative) -> Response:
        """This response as if the reader had chosen ``alternative`` as its best reading
        (an alternative is a reading, so the status becomes ``ok``)."""
        return self.model_copy(
            update={
                "status": ResponseStatus.OK,
                "text": alternative.text,
                "blanks": alternative.blanks,
                "confidence": alternative.probability,
                "alternatives": (),
            }
        )
