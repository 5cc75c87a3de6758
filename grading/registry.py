"""The registry of graders, keyed by question ``kind``."""

from __future__ import annotations

from typing import Any

from grading.arithmetic import ArithmeticGrader
from grading.base import Grader
from grading.choice import ChoiceGrader, MultiChoiceGrader, TrueFalseGrader
from grading.math_expr import MathExprGrader
from grading.numeric import NumericGrader
from grading.questions import QUESTION_KINDS
from grading.short_answer import ShortAnswerGrader
from grading.text import TextGrader

__all__ = ["GRADERS", "UnknownKindError", "get_grader", "grader_for"]

GRADERS: dict[str, type[Grader[Any]]] = {
    cls.kind: cls
    for cls in (
        ChoiceGrader,
        MultiChoiceGrader,
        TrueFalseGrader,
        NumericGrader,
        TextGrader,
        MathExprGrader,
        ArithmeticGrader,
        ShortAnswerGrader,
    )
}

# Every kind the question model knows must have a grader (checked at import, not at grading).
assert set(GRADERS) == set(QUESTION_KINDS), sorted(set(QUESTION_KINDS) ^ set(GRADERS))


class UnknownKindError(KeyError):
    """No grader is registered for this kind; the message lists the known kinds.

    Attributes:
        kind: the kind asked for.
        known: the registered kinds.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.known = tuple(sorted(GRADERS))
        super().__init__(f"no grader for kind '{kind}'; known kinds: {', '.join(self.known)}")

    def __str__(self) -> str:
        return str(self.args[0])


def get_grader(kind: str) -> type[Grader[Any]]:
    """The grader class for ``kind``.

    Raises:
        UnknownKindError: no grader is registered for ``kind``.
    """
    try:
        return GRADERS[kind]
    except KeyError:
        raise UnknownKindError(kind) from None


def grader_for(question: object) -> Grader[Any]:
    """A grader built for ``question`` (any question model with a ``kind``).

    Raises:
        UnknownKindError: the question's kind has no grader.
    """
    kind = getattr(question, "kind", None)
    return get_grader(str(kind))(question)
