"""What a child reads on an error-book card: the error cause (错因) in plain Chinese.

The grader's cause labels (:data:`grading.causes.CAUSE_LABELS`) are terse and meant for
teachers and reports (``进位遗漏``, ``选了干扰项``, ``原因未知``). A card is read by a
nine-year-old, so it says what happened in words a child uses, never in English, and never
"unknown": an answer left blank says it was left blank, two bubbles filled on a single-choice
question say so, and an answer no diagnosis explains asks the child to find the step.
"""

from __future__ import annotations

import re

from grading.questions import ChoiceQuestion, Question

__all__ = ["CHILD_CAUSES_EN", "CHILD_CAUSES_ZH", "UNANSWERED_ZH", "child_cause",
           "double_marked"]

UNANSWERED_ZH = "未作答"

# Keyed by grading.causes.CauseCode values (stable codes; a new code falls back to the
# grader's own Chinese label).
CHILD_CAUSES_ZH: dict[str, str] = {
    "forgot_carry": "相加满十，忘了向前一位进 1。",
    "forgot_borrow": "不够减时，忘了从前一位退 1 再减。",
    "wrong_operation": "看错了运算符号，算成了别的运算。",
    "times_table_slip": "乘法口诀记错了，再背一背这一句。",
    "digit_transposition": "两个数字的位置写反了。",
    "place_value": "数位没有对齐，或者小数点点错了位置。",
    "remainder_error": "余数算错了，记住：余数要比除数小。",
    "off_by_ten": "得数差了 10，看看十位算对了没有。",
    "off_by_hundred": "得数差了 100，看看百位算对了没有。",
    "fraction_not_simplified": "分数没有约分成最简分数。",
    "unit_not_converted": "单位没有换算，先把单位统一再算。",
    "distractor_chosen": "选了一个看起来像、其实不对的选项。",
    "missed_option": "正确的选项没有选全。",
    "rubric_points_missed": "答案少了要点，对照题目要求再补全。",
    "unknown": "找一找：哪一步和正确的做法不一样？",
}
# The same for an English-speaking school's books.
CHILD_CAUSES_EN: dict[str, str] = {
    "forgot_carry": "The digits made ten or more, and the 1 was not carried.",
    "forgot_borrow": "The top digit was too small, and 1 was not borrowed from the next place.",
    "wrong_operation": "The sign was misread, so a different sum was worked out.",
    "times_table_slip": "A times-table fact slipped: say that line again.",
    "digit_transposition": "Two digits were written the wrong way round.",
    "place_value": "The places were not lined up, or the decimal point moved.",
    "remainder_error": "The remainder is off: it must be smaller than the divisor.",
    "off_by_ten": "The answer is 10 out: check the tens.",
    "off_by_hundred": "The answer is 100 out: check the hundreds.",
    "fraction_not_simplified": "The fraction is not in its simplest form.",
    "unit_not_converted": "The units were not converted: make them the same first.",
    "distractor_chosen": "An option that looks right, but is not, was chosen.",
    "missed_option": "Not every right option was chosen.",
    "rubric_points_missed": "The answer misses a point the question asks for.",
    "unknown": "Find the step that differs from the right way.",
}
# The grader's generic labels that must never reach a child as they are.
_GENERIC = {"原因未知", "unknown", ""}
_LETTERS = re.compile(r"[A-Za-z]")  # full-width letters are folded first


def double_marked(question: Question, answer_text: str) -> tuple[str, ...]:
    """The options marked on a single-choice question when there are two or more, else ().

    Args:
        question: the question.
        answer_text: what the reader stored (``"AC"``, ``"A | C"``, ``"A、C"``).

    Returns:
        The marked labels in order, only when more than one valid label was marked.
    """
    if not isinstance(question, ChoiceQuestion):
        return ()
    valid = {o.label.upper() for o in question.options}
    text = answer_text.translate({c: c - 0xFEE0 for c in range(0xFF21, 0xFF5B)}).upper()
    marked = tuple(dict.fromkeys(c for c in _LETTERS.findall(text) if c in valid))
    return marked if len(marked) > 1 else ()


def child_cause(code: str, fallback_zh: str, *, question: Question, answer_text: str,
                unanswered: bool, language: str = "zh", fallback_en: str = "") -> str:
    """The 错因 line a child reads.

    Args:
        code: the stored cause code (``grading.causes.CauseCode`` value), or ``""``.
        fallback_zh: the Chinese cause text the book was given (a teacher's own words, or
            the grader's label); used when the code has no child wording.
        question: the question (a double mark is only a cause on single choice).
        answer_text: what the student wrote or marked.
        unanswered: the answer was left blank.
        language: ``zh`` (the default) or ``en``, the school's.
        fallback_en: the English cause text, for an English book.

    Returns:
        One short sentence in the book's language (a Chinese book never carries English);
        never "unknown".
    """
    if language == "en":
        return _child_cause_en(code, fallback_en, question=question, answer_text=answer_text,
                               unanswered=unanswered)
    if unanswered:
        return "这道题没有作答。不会做的题，也写下你想到的第一步。"
    marked = double_marked(question, answer_text)
    if marked:
        return f"这是单选题，只能选一个答案，你选了 {'、'.join(marked)} 共 {len(marked)} 个。"
    if code in CHILD_CAUSES_ZH and (code != "unknown" or fallback_zh.strip() in _GENERIC):
        return CHILD_CAUSES_ZH[code]
    if fallback_zh.strip() in _GENERIC:
        return CHILD_CAUSES_ZH["unknown"]
    return fallback_zh.strip()


def _child_cause_en(code: str, fallback_en: str, *, question: Question, answer_text: str,
                    unanswered: bool) -> str:
    if unanswered:
        return "Not answered. If you are stuck, write down the first step you think of."
    marked = double_marked(question, answer_text)
    if marked:
        return (f"Only one option is right here, and {len(marked)} were chosen "
                f"({', '.join(marked)}).")
    if code in CHILD_CAUSES_EN and (code != "unknown" or fallback_en.strip() in _GENERIC):
        return CHILD_CAUSES_EN[code]
    if fallback_en.strip() in _GENERIC:
        return CHILD_CAUSES_EN["unknown"]
    return fallback_en.strip()
