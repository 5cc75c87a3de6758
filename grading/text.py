"""Grader for fill-in-the-blank text (填空) questions, one or several blanks.

Each blank is compared after normalisation (width, case, spaces, punctuation, traditional
to simplified Chinese) with every accepted answer of its blank; pinyin blanks compare
letters and tones so ``lǜ`` = ``lv4`` = ``lü4``. Unordered keys match blanks to answers
with a maximum matching, so each accepted answer is used at most once.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from grading.base import Grader, Judgement
from grading.causes import CauseCode
from grading.grade import Verdict
from grading.questions import TextBlank, TextQuestion
from grading.response import Response
from grading.textnorm import normalize_pinyin, normalize_text

__all__ = ["COMPARISON_SIGNS", "TextGrader", "blank_matches", "is_comparison"]

_SEPARATORS = re.compile(r"[,，、;；|]+")

# Below this many characters one wrong character changes the word, so no typo tolerance.
TYPO_MIN_CHARS = 4

# The answers of a comparison (在括号里填上“>”“<”或“=”), after normalisation (the
# full-width signs U+FF1C-FF1E become < > =).
COMPARISON_SIGNS = frozenset("<>=≤≥")


def is_comparison(question: TextQuestion) -> bool:
    """Whether every accepted answer of every blank is one comparison sign.

    Such a question is answered with a sign: the worksheet gives its box the ``compare``
    format (read by the sign reader), and a reading that is no sign is a misread.
    """
    accepted = [normalize_text(a) for b in question.key.blanks for a in b.accept]
    return bool(accepted) and not any(b.pinyin for b in question.key.blanks) \
        and all(a in COMPARISON_SIGNS for a in accepted)


def blank_matches(answer: str, blank: TextBlank, *, allow_one_typo: bool = False) -> str | None:
    """How ``answer`` meets ``blank``: ``"exact"``, ``"typo"``, or None when it does not.

    Args:
        answer: the student's answer for this blank.
        blank: the key's blank (accepted answers, pinyin flag, tone rule).
        allow_one_typo: tolerate one wrong, missing or extra character when the accepted
            answer has at least ``TYPO_MIN_CHARS`` characters.

    Returns:
        The kind of match, or None.
    """
    if blank.pinyin:
        letters, tones = normalize_pinyin(answer)
        for accepted in blank.accept:
            k_letters, k_tones = normalize_pinyin(accepted)
            if letters == k_letters and (tones == k_tones or blank.ignore_tones):
                return "exact"
        return None
    norm = normalize_text(answer)
    if not norm:
        return None
    keys = [normalize_text(a) for a in blank.accept]
    if norm in keys:
        return "exact"
    if allow_one_typo:
        for key in keys:
            if len(key) >= TYPO_MIN_CHARS and Levenshtein.distance(norm, key, score_cutoff=1) <= 1:
                return "typo"
    return None


def _canonical(answer: str, blank: TextBlank) -> str:
    """The grouping form of one blank's answer (pinyin spelled ``lv4`` however written)."""
    if blank.pinyin:
        letters, tones = normalize_pinyin(answer)
        return letters + "".join(map(str, tones))
    return normalize_text(answer)


def _max_matching(ok: list[list[bool]]) -> list[int | None]:
    """For each answer index the blank it is matched to (Kuhn's augmenting paths; n <= 20)."""
    n_blanks = len(ok[0]) if ok else 0
    owner: list[int | None] = [None] * n_blanks

    def augment(i: int, seen: set[int]) -> bool:
        for j in range(n_blanks):
            if ok[i][j] and j not in seen:
                seen.add(j)
                current = owner[j]
                if current is None or augment(current, seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(ok)):
        augment(i, set())
    matched: list[int | None] = [None] * len(ok)
    for blank, answer in enumerate(owner):
        if answer is not None:
            matched[answer] = blank
    return matched


class TextGrader(Grader[TextQuestion]):
    """Fill-in-the-blank: per-blank credit (``score / number of blanks``), accepted
    alternatives and synonyms per blank, optional order-insensitivity and typo tolerance."""

    kind = "text"

    def _answers(self, response: Response) -> list[str]:
        n = len(self.question.key.blanks)
        answers = list(response.readings())
        if n > 1 and not response.blanks:
            # One reading for several blanks (a typed line): split where students separate,
            # at punctuation first; spaces only when they give exactly one part per blank,
            # since OCR also puts stray spaces inside words.
            answers = [a for a in _SEPARATORS.split(response.text) if a.strip()]
            if len(answers) != n:
                spaced = response.text.split()
                answers = spaced if len(spaced) == n else answers
        return (answers + [""] * n)[:n]

    def _judge(self, response: Response) -> Judgement:
        key = self.question.key
        answers = self._answers(response)
        if response.source == "ocr" and is_comparison(self.question):
            off = [a for a in answers if normalize_text(a) not in COMPARISON_SIGNS]
            if off:
                return self._not_a_sign(off[0])
        kinds = [
            [blank_matches(a, b, allow_one_typo=key.allow_one_typo) for b in key.blanks]
            for a in answers
        ]
        if key.ordered:
            per_blank = [kinds[i][i] for i in range(len(answers))]
        else:
            pairs = _max_matching([[k is not None for k in row] for row in kinds])
            per_blank = [kinds[i][j] if j is not None else None for i, j in enumerate(pairs)]
        right = sum(m is not None for m in per_blank)
        typos = sum(m == "typo" for m in per_blank)
        n = len(answers)
        parts = [_canonical(a, b) for a, b in zip(answers, key.blanks, strict=True)]
        # Unordered answers group together whatever order they were written in.
        normalized = " | ".join(parts if key.ordered else sorted(parts))
        score = self.max_score * right / n
        typo_zh = f"（容许 {typos} 处一个错字）" if typos else ""
        typo_en = f" ({typos} with one wrong character tolerated)" if typos else ""
        if right == n:
            return Judgement(
                Verdict.CORRECT,
                score,
                normalized,
                f"全部 {n} 空正确{typo_zh}",
                f"all {n} blanks right{typo_en}",
            )
        wrong = [str(i + 1) for i, m in enumerate(per_blank) if m is None]
        verdict = Verdict.PARTIALLY_CORRECT if right else Verdict.INCORRECT
        if n == 1:
            accepted = "、".join(key.blanks[0].accept[:3])
            return Judgement(
                verdict,
                score,
                normalized,
                f"“{normalized}”不是答案（{accepted}）",
                f"'{normalized}' is not an accepted answer ({accepted})",
                cause=CauseCode.UNKNOWN,
            )
        return Judgement(
            verdict,
            score,
            normalized,
            f"{n} 空对 {right} 空，第 {'、'.join(wrong)} 空错{typo_zh}",
            f"{right} of {n} blanks right; wrong: {', '.join(wrong)}{typo_en}",
            cause=CauseCode.UNKNOWN,
        )

    def _not_a_sign(self, read: str) -> Judgement:
        """A comparison read as something that is no sign: a teacher looks.

        A child answers a comparison with a sign; a line reader without a sign reader (a
        worksheet laid out before the ``compare`` format) reads a handwritten ``<`` as
        ``5`` or ``7``, confidently. Such a reading says the reader failed, not the child,
        so it is never graded wrong unasked.
        """
        return Judgement(
            Verdict.INCORRECT,
            0.0,
            normalize_text(read),
            f"比较题应填符号（>、<、=），却读作“{read}”，可能识别有误，请人工确认",
            f"a comparison is answered with a sign (>, <, =) but this was read as '{read}': "
            "probably misread, check it",
            review=True,
        )
