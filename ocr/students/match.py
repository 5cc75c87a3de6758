"""Match a page to a roster student from the handwritten student number and/or name.

Evidence, strongest first: the student number read exactly; the number with one digit
misread when only one roster number is that close; the name by characters and by pinyin
(so 王晓明 read as 王小明 still finds the student). Candidates carry scores; a match below
the acceptance threshold, or with a close runner-up, is never assigned silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import ratio

__all__ = ["RosterEntry", "StudentCandidate", "StudentMatch", "match_student"]


@dataclass(frozen=True)
class RosterEntry:
    student_id: int
    student_no: str
    name: str


@dataclass(frozen=True)
class StudentCandidate:
    student_id: int
    score: float
    reason: str


@dataclass(frozen=True)
class StudentMatch:
    """``matched`` only when the best candidate is sure and clear of the runner-up."""

    status: Literal["matched", "ambiguous", "unmatched"]
    candidates: tuple[StudentCandidate, ...]

    @property
    def student_id(self) -> int | None:
        return self.candidates[0].student_id if self.status == "matched" else None


def _number_score(read: str, read_conf: float, entry: RosterEntry,
                  roster: Sequence[RosterEntry]) -> tuple[float, str]:
    if not read:
        return 0.0, ""
    if read == entry.student_no:
        return read_conf, "学号完全一致"
    if len(read) == len(entry.student_no) and Levenshtein.distance(read, entry.student_no) == 1:
        rivals = sum(1 for e in roster if len(e.student_no) == len(read)
                     and Levenshtein.distance(read, e.student_no) <= 1)
        if rivals == 1:
            return 0.75 * read_conf, "学号有一位不同，且只有此人相近"
    return 0.0, ""


def _name_score(read: str, read_conf: float, entry: RosterEntry) -> tuple[float, str]:
    if not read:
        return 0.0, ""
    if read == entry.name:
        return read_conf, "姓名完全一致"
    # pypinyin loads ~60 MB of phrase tables: only when a name is compared, so the page
    # workers, which import this module for its types, do not carry them for every page.
    from pypinyin import lazy_pinyin

    chars = ratio(read, entry.name) / 100
    sound = ratio(" ".join(lazy_pinyin(read)), " ".join(lazy_pinyin(entry.name))) / 100
    best = max(chars, 0.95 * sound)
    return best * 0.85 * read_conf, f"姓名相似（字 {chars:.2f}，拼音 {sound:.2f}）"


def match_student(roster: Sequence[RosterEntry], *, number: str = "", number_conf: float = 0.0,
                  name: str = "", name_conf: float = 0.0, accept: float = 0.85,
                  clear_margin: float = 0.15, keep: int = 3) -> StudentMatch:
    """Rank roster students for a page.

    Args:
        roster: the class.
        number, number_conf: the handwritten student number as read, and its confidence.
        name, name_conf: the handwritten name as read, and its confidence.
        accept: the lowest score assigned without a teacher.
        clear_margin: the best must beat the runner-up by this much.
        keep: how many candidates to return.

    Returns:
        The ranked candidates and whether the best may be assigned.
    """
    number = "".join(ch for ch in number if ch.isdigit())
    name = "".join(name.split())
    scored = []
    for entry in roster:
        n_score, n_why = _number_score(number, number_conf, entry, roster)
        m_score, m_why = _name_score(name, name_conf, entry)
        score = max(n_score, m_score)
        if n_score > 0.5 and m_score > 0.5:  # two independent readings agree
            score = min(1.0, 1 - (1 - n_score) * (1 - m_score))
        if score > 0:
            why = "；".join(w for w in (n_why, m_why) if w)
            scored.append(StudentCandidate(entry.student_id, round(score, 4), why))
    scored.sort(key=lambda c: -c.score)
    top = tuple(scored[:keep])
    if not top:
        return StudentMatch("unmatched", ())
    runner_up = top[1].score if len(top) > 1 else 0.0
    if top[0].score >= accept and top[0].score - runner_up >= clear_margin:
        return StudentMatch("matched", top)
    return StudentMatch("ambiguous", top)
