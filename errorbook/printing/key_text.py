"""The right answer of any question as a short text (error-book cards and answer keys)."""

from __future__ import annotations

from grading.arithmetic_stem import ArithmeticStemError, parse_arithmetic_stem
from grading.questions import (
    ArithmeticQuestion,
    ChoiceQuestion,
    MathExprQuestion,
    MultiChoiceQuestion,
    NumericQuestion,
    Question,
    ShortAnswerQuestion,
    TextQuestion,
    TrueFalseQuestion,
)

__all__ = ["key_answer_text"]


def key_answer_text(question: Question, language: str = "zh") -> str:
    """The answer a teacher would write in the key.

    Args:
        question: any bank or variant question.
        language: the book's language (``zh`` or ``en``): true/false and list words.

    Returns:
        e.g. ``85``, ``3……2``, ``B. 85``, ``A、C``, ``对（√）``, ``150 厘米``, ``绿 / lǜ``;
        for short answers the sample answer, or the scoring points.
    """
    q = question
    if isinstance(q, ChoiceQuestion):
        text = next((o.text for o in q.options if o.label == q.key.answer), "")
        return f"{q.key.answer}. {text}".strip()
    if isinstance(q, MultiChoiceQuestion):
        return ("、" if language == "zh" else ", ").join(q.key.answers)
    if isinstance(q, TrueFalseQuestion):
        # √ and × (not ✓ ✗): the marks Chinese workbooks use, and in the embedded CJK font.
        if language == "en":
            return "True (√)" if q.key.answer else "False (×)"
        return "对（√）" if q.key.answer else "错（×）"
    if isinstance(q, NumericQuestion):
        return f"{q.key.value} {q.key.unit}" if q.key.unit else q.key.value
    if isinstance(q, TextQuestion):
        return " / ".join(b.accept[0] for b in q.key.blanks)
    if isinstance(q, MathExprQuestion):
        return q.key.answer
    if isinstance(q, ArithmeticQuestion):
        try:
            return parse_arithmetic_stem(q.key.expression or q.stem).answer_text()
        except ArithmeticStemError:  # validated on import; kept safe for old rows
            return ""
    if isinstance(q, ShortAnswerQuestion):
        return q.key.sample_answer or "；".join(p.description for p in q.key.points)
    return ""
