"""Graders for choice (单选), multi-choice (多选) and true/false (判断) questions.

The chosen labels come from mark detection when the sheet has bubbles or boxes, else from
the written text (Chinese worksheets often ask for the letter in brackets: ``（ B ）``).
"""

from __future__ import annotations

import re

from grading.base import Grader, Judgement
from grading.causes import CauseCode
from grading.grade import Verdict
from grading.questions import ChoiceQuestion, MultiChoiceQuestion, TrueFalseQuestion
from grading.response import Response
from grading.textnorm import to_halfwidth

__all__ = ["ChoiceGrader", "MultiChoiceGrader", "TrueFalseGrader", "chosen_labels"]

_TRUE_WORDS = ("✓", "✔", "√", "对", "是", "正确", "t", "true", "yes", "y", "○", "o")
_FALSE_WORDS = ("✗", "✘", "×", "x", "错", "否", "错误", "f", "false", "no", "n")


def chosen_labels(response: Response, valid: list[str]) -> tuple[list[str], list[str]]:
    """The labels a response chose, and any characters that are not valid labels.

    Args:
        response: the response; its marks win over its text when present.
        valid: the question's option labels.

    Returns:
        (sorted unique chosen labels, stray characters found in the text).
    """
    if response.marks is not None and (response.marks.marked or not response.text.strip()):
        picked = sorted(set(response.marks.marked))
        return [p for p in picked if p in valid], [p for p in picked if p not in valid]
    text = to_halfwidth(response.text).upper()
    letters = re.findall(r"[A-Z]", text)
    stray = [c for c in letters if c not in valid]
    return sorted({c for c in letters if c in valid}), stray


class ChoiceGrader(Grader[ChoiceQuestion]):
    """Single choice: one right label; a wrong pick names the distractor and its
    misconception; negative marking takes ``negative_marking × score`` off a wrong pick."""

    kind = "choice"

    def _judge(self, response: Response) -> Judgement:
        key = self.question.key
        picked, stray = chosen_labels(response, self.question.option_labels())
        shown = "".join(picked) or "".join(stray)
        if stray or not picked:
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"“{shown}”不是选项",
                f"'{shown}' is not an option",
                review=True,
            )
        if len(picked) > 1:
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"单选题选了多个选项 {shown}",
                f"several options chosen ({shown}) on a single-choice question",
                cause=CauseCode.UNKNOWN,
            )
        choice = picked[0]
        if choice == key.answer:
            return Judgement(
                Verdict.CORRECT,
                self.max_score,
                choice,
                f"选 {choice}，正确",
                f"chose {choice}, correct",
            )
        penalty = -key.negative_marking * self.max_score
        misconception = key.misconceptions.get(choice, "")
        detail = f"{choice}: {misconception}" if misconception else choice
        return Judgement(
            Verdict.INCORRECT,
            penalty,
            choice,
            f"选 {choice}，正确答案是 {key.answer}",
            f"chose {choice}; the answer is {key.answer}",
            cause=CauseCode.DISTRACTOR_CHOSEN,
            cause_detail=detail,
        )


class MultiChoiceGrader(Grader[MultiChoiceQuestion]):
    """Multiple choice with three scoring rules (``key.scoring``):

    - ``all_or_nothing``: full score only for exactly the right set;
    - ``per_option``: every option is judged on its own (chosen iff right), and the score is
      the share of options judged right;
    - ``half_for_subset``: full score for the right set, half for a non-empty subset of it
      with no wrong option, else zero.
    """

    kind = "multi_choice"

    def _judge(self, response: Response) -> Judgement:
        key = self.question.key
        labels = self.question.option_labels()
        picked, stray = chosen_labels(response, labels)
        shown = "".join(picked) + "".join(stray)
        if stray or not picked:
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"“{shown}”不是选项",
                f"'{shown}' is not an option",
                review=True,
            )
        right, chosen = set(key.answers), set(picked)
        answer = "".join(sorted(right))
        if chosen == right:
            return Judgement(
                Verdict.CORRECT,
                self.max_score,
                shown,
                f"选 {shown}，全对",
                f"chose {shown}, all correct",
            )
        wrong, missed = sorted(chosen - right), sorted(right - chosen)
        if key.scoring == "per_option":
            judged_right = sum((label in chosen) == (label in right) for label in labels)
            score = self.max_score * judged_right / len(labels)
        elif key.scoring == "half_for_subset" and not wrong:
            score = self.max_score / 2
        else:
            score = 0.0
        # A wrong pick is the more telling cause; a pure omission is "missed option".
        cause = CauseCode.DISTRACTOR_CHOSEN if wrong else CauseCode.MISSED_OPTION
        extra_zh = f"，多选了 {''.join(wrong)}" if wrong else ""
        extra_en = f"; extra {''.join(wrong)}" if wrong else ""
        miss_zh = f"，漏选了 {''.join(missed)}" if missed else ""
        miss_en = f"; missed {''.join(missed)}" if missed else ""
        return Judgement(
            Verdict.PARTIALLY_CORRECT if score > 0 else Verdict.INCORRECT,
            score,
            shown,
            f"选 {shown}，正确答案是 {answer}{extra_zh}{miss_zh}",
            f"chose {shown}; the answer is {answer}{extra_en}{miss_en}",
            cause=cause,
            cause_detail=self._detail(wrong) if wrong else "".join(missed),
        )

    def _detail(self, wrong: list[str]) -> str:
        notes = self.question.key.misconceptions
        return "; ".join(f"{w}: {notes[w]}" if w in notes else w for w in wrong)


def parse_true_false(text: str) -> bool | None:
    """Read ✓/✗/对/错/T/F/√/×/正确/错误 (and yes/no) as True/False; None if neither."""
    word = to_halfwidth(text).strip().strip("()（）[]【】").strip().casefold()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


class TrueFalseGrader(Grader[TrueFalseQuestion]):
    """True/false: accepts ✓ ✗ 对 错 T F √ × 正确 错误 written, or marks labelled T/F."""

    kind = "true_false"

    def _judge(self, response: Response) -> Judgement:
        if response.marks is not None and response.marks.marked:
            marked = set(response.marks.marked)
            value = True if marked == {"T"} else False if marked == {"F"} else None
            shown = "".join(sorted(marked))
        else:
            value = parse_true_false(response.text)
            shown = to_halfwidth(response.text).strip()
        if value is None:
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"无法判断“{shown}”是对还是错",
                f"'{shown}' is neither true nor false",
                review=True,
            )
        norm = "对" if value else "错"
        expected = "对" if self.question.key.answer else "错"
        if value == self.question.key.answer:
            return Judgement(
                Verdict.CORRECT,
                self.max_score,
                norm,
                f"判断“{norm}”，正确",
                f"answered {value}, correct",
            )
        return Judgement(
            Verdict.INCORRECT,
            0.0,
            norm,
            f"判断“{norm}”，应为“{expected}”",
            f"answered {value}; the answer is {self.question.key.answer}",
            cause=CauseCode.UNKNOWN,
        )
