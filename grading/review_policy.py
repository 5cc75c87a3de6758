"""The one policy that decides ``auto`` versus ``needs_review`` for a graded response.

The question is not "is the reading right?" but "would any plausible reading change the
grade?". The best reading and every alternative the reader found plausible are graded; the
probability mass of readings that agree with the best reading's grade is the confidence of
the decision. The grade is automatic only when that mass reaches ``accept_threshold`` and no
alternative at or above ``alt_floor`` would be graded differently: a correct best reading
with a plausible wrong alternative (or the other way round) goes to a teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grading.base import Grader
from grading.grade import VERDICT_LABELS, Grade, Verdict
from grading.registry import grader_for
from grading.response import Marks, Response, ResponseStatus

__all__ = [
    "CONFUSABLE_PAIRS",
    "LOSABLE_MARKS",
    "PolicySet",
    "ReviewPolicy",
    "decide",
    "grade_response",
    "hinges_on_confusables",
]


@dataclass(frozen=True)
class ReviewPolicy:
    """Settings of the review decision.

    Attributes:
        accept_threshold: the agreeing probability mass needed for an automatic verdict.
            Default 0.5.
        alt_floor: an alternative reading at or above this probability that would change
            the grade sends the answer to review. Default 0.3.
        mark_low, mark_high: a mark whose fill score lies in [mark_low, mark_high] is
            ambiguous (a light tick, an erasure); if flipping it changes the grade, ask.
            Defaults 0.25 and 0.60.
        upgrade_floor: the floor for an alternative that would earn *more* than the best
            reading (the best reading is wrong, an alternative is the key). Most answers
            are right, so a misread right answer is likelier than the reader's
            probability says. Default 0.005; None uses ``alt_floor``.
        confusable_floor: a lower floor for such an alternative when it differs from the
            best reading only in glyphs handwriting confuses (``1``/``7``, ``4``/``9``,
            ``5``/``6``, ``0``/``6``, ``1``/``/``, a dot or a minus more or less:
            :func:`hinges_on_confusables`). A "wrong" verdict that hinges on such a glyph
            needs the key to be implausible by this margin. None uses ``upgrade_floor``.
        reading_floor: a verdict other than correct is automatic only when the best
            reading itself has at least this probability. The verdict may be sure while
            the reading is not (``29`` or ``24``, both wrong), yet the reading is what the
            error book prints as the child's answer and what its cause is inferred from.
            None: the verdict alone decides.
    """

    # Chosen on the calibration pages of the real-handwriting bench only (docs/grading.md):
    # the ensemble reader's posteriors are calibrated (temperature 0.5), so a reading it
    # gives at least even odds is kept unless a grade-changing reading reaches 30%, or a
    # reading that would earn more reaches 0.5%.
    accept_threshold: float = 0.5
    alt_floor: float = 0.3
    mark_low: float = 0.25
    mark_high: float = 0.60
    upgrade_floor: float | None = 0.005
    confusable_floor: float | None = None
    reading_floor: float | None = None

    def __post_init__(self) -> None:
        for name in _POLICY_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.mark_low > self.mark_high:
            raise ValueError("mark_low must not exceed mark_high")


# Glyph pairs children's handwriting makes look alike, and marks that are easily lost or
# imagined (a dot, a minus): a mismatch made only of these is weak evidence of a mistake.
CONFUSABLE_PAIRS = frozenset(frozenset(p) for p in ("17", "49", "56", "06", "1/"))
LOSABLE_MARKS = frozenset(".-")


def hinges_on_confusables(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ, and only by confusable glyphs or lost marks.

    Args:
        a, b: Two readings.

    Returns:
        True when one turns into the other by substituting confusable pairs
        (:data:`CONFUSABLE_PAIRS`) and inserting or deleting dots and minus signs, and the
        two are not equal.
    """
    if a == b:
        return False
    # Edit-distance style reachability: only confusable substitutions and lost marks.
    n, m = len(a), len(b)
    reach = [[False] * (m + 1) for _ in range(n + 1)]
    reach[0][0] = True
    for i in range(n + 1):
        for j in range(m + 1):
            if not reach[i][j]:
                continue
            if i < n and j < m and (a[i] == b[j] or frozenset((a[i], b[j])) in CONFUSABLE_PAIRS):
                reach[i + 1][j + 1] = True
            if i < n and a[i] in LOSABLE_MARKS:
                reach[i + 1][j] = True
            if j < m and b[j] in LOSABLE_MARKS:
                reach[i][j + 1] = True
    return reach[n][m]


_MARK_NAMES = {".": ("小数点", "a decimal point"), "-": ("负号", "a minus sign")}


def _confused(a: str, b: str) -> tuple[str, str]:
    """The confusable glyphs between two readings, in Chinese and English (``1 和 7``)."""
    zh: list[str] = []
    en: list[str] = []
    if len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            if x != y and f"{x} 和 {y}" not in zh:
                zh.append(f"{x} 和 {y}")
                en.append(f"{x} and {y}")
    else:
        for c in sorted(c for c in LOSABLE_MARKS if a.count(c) != b.count(c)):
            zh.append(_MARK_NAMES[c][0])
            en.append(_MARK_NAMES[c][1])
    return "、".join(zh), ", ".join(en)


def _percent(p: float) -> str:
    return "<1%" if 0 < p < 0.005 else f"{p:.0%}"


def _outcome(grade: Grade) -> tuple[Verdict, float | None]:
    return grade.verdict, grade.score


def _earns_more(graded: Grade, best: Grade) -> bool:
    return graded.auto and graded.score is not None and best.score is not None \
        and graded.score > best.score


def _shown(response: Response) -> str:
    if response.marks is not None and response.marks.marked:
        return "".join(response.marks.marked)
    return " | ".join(response.readings()) or "（空白）"


def _unsure_reading(response: Response, best: Grade, policy: ReviewPolicy) -> bool:
    """A verdict other than correct resting on a reading below ``reading_floor``."""
    if policy.reading_floor is None or best.verdict == Verdict.CORRECT:
        return False
    if response.status != ResponseStatus.OK or response.marks is not None:
        return False
    return response.confidence < policy.reading_floor


def _mark_variants(response: Response, policy: ReviewPolicy) -> list[tuple[Response, float]]:
    """Readings with one ambiguous mark flipped, each with that mark's fill score."""
    marks = response.marks
    if marks is None:
        return []
    variants = []
    for label, fill in sorted(marks.fill.items()):
        if policy.mark_low <= fill <= policy.mark_high:
            marked = set(marks.marked) ^ {label}
            flipped = Marks(fill=marks.fill, marked=tuple(sorted(marked)))
            variant = response.model_copy(update={"marks": flipped, "status": ResponseStatus.OK})
            variants.append((variant, fill))
    return variants


def decide(
    grader: Grader[Any],
    response: Response,
    *,
    key_revision: int,
    policy: ReviewPolicy | None = None,
) -> Grade:
    """Grade a response and decide whether the grade can stand without a teacher.

    Args:
        grader: the question's grader.
        response: the reader's response with its alternatives and marks.
        key_revision: the answer-key revision used.
        policy: thresholds; ``ReviewPolicy()`` when omitted.

    Returns:
        The best reading's grade with ``confidence`` set to the agreeing probability mass,
        or a ``needs_review`` grade (no score; the best reading's grade as suggestion) whose
        reasons name the readings that disagree.
    """
    policy = policy or ReviewPolicy()
    best = grader.grade(response, key_revision=key_revision)
    if not best.auto or response.source == "teacher":
        return best
    best_texts = (response.text, response.blanks)
    upgrade_floor = policy.alt_floor if policy.upgrade_floor is None else policy.upgrade_floor
    confusable_floor = upgrade_floor if policy.confusable_floor is None \
        else policy.confusable_floor
    lowest = min(policy.alt_floor, upgrade_floor, confusable_floor)
    mass = response.confidence
    disagree: list[tuple[Response, float, Grade]] = []
    for alt in response.alternatives:
        if (alt.text, alt.blanks) == best_texts:
            # The reader listed its best reading among the alternatives: count it once.
            mass = max(mass, alt.probability)
            continue
        if alt.probability < lowest:
            continue
        variant = response.with_reading(alt)
        graded = grader.grade(variant, key_revision=key_revision)
        if alt.probability < policy.alt_floor:
            if not _earns_more(graded, best):
                continue
            floor = confusable_floor if hinges_on_confusables(response.text, alt.text) \
                else upgrade_floor
            if alt.probability < floor:
                continue
        if graded.auto and _outcome(graded) == _outcome(best):
            mass += alt.probability
        elif graded.auto or graded.suggested_verdict != best.verdict:
            disagree.append((variant, alt.probability, graded))
    for variant, fill in _mark_variants(response, policy):
        graded = grader.grade(variant, key_revision=key_revision)
        if _outcome(graded) != _outcome(best):
            disagree.append((variant, fill, graded))
    mass = min(mass, 1.0)
    unsure_reading = _unsure_reading(response, best, policy)
    if not disagree and mass >= policy.accept_threshold and not unsure_reading:
        return Grade.model_validate({**best.model_dump(), "confidence": mass})
    if disagree:
        variant, p, other = max(disagree, key=lambda d: d[1])
        other_verdict = (other.verdict if other.auto else other.suggested_verdict) or other.verdict
        best_zh, best_en = VERDICT_LABELS[best.verdict]
        other_zh, other_en = VERDICT_LABELS[other_verdict]
        if hinges_on_confusables(response.text, variant.text):
            # The usual case on a child's page: the key differs from the reading only in a
            # glyph handwriting confuses. Say so plainly: "could be 14 or 74".
            pairs_zh, pairs_en = _confused(response.text, variant.text)
            zh = (f"可能是“{_shown(variant)}”也可能是“{_shown(response)}”：手写的{pairs_zh}"
                  f"容易混淆，前者判为{other_zh}，后者判为{best_zh}，请人工确认")
            en = (f"could be '{_shown(variant)}' or '{_shown(response)}': handwritten "
                  f"{pairs_en} look alike; the first is {other_en}, the second {best_en}")
        else:
            zh = (
                f"读作“{_shown(response)}”判为{best_zh}，但也可能读作“{_shown(variant)}”"
                f"（{_percent(p)}），判为{other_zh}，请人工确认"
            )
            en = (
                f"read as '{_shown(response)}' it is {best_en}, but a plausible reading "
                f"'{_shown(variant)}' ({_percent(p)}) would be {other_en}"
            )
    elif mass < policy.accept_threshold:
        zh = f"识别置信度 {mass:.0%} 低于 {policy.accept_threshold:.0%}，请人工确认"
        en = f"reading confidence {mass:.0%} is below {policy.accept_threshold:.0%}"
    else:
        best_zh, best_en = VERDICT_LABELS[best.verdict]
        zh = (f"判为{best_zh}可以确定，但学生写的是否就是“{_shown(response)}”只有 "
              f"{_percent(response.confidence)} 把握，请确认答案")
        en = (f"{best_en} for sure, but only {_percent(response.confidence)} sure the child "
              f"wrote '{_shown(response)}': confirm the answer")
    return Grade.model_validate(
        {
            **best.model_dump(),
            "verdict": Verdict.NEEDS_REVIEW,
            "score": None,
            "suggested_verdict": best.verdict,
            "suggested_score": best.score,
            "reason_zh": f"{zh}（{best.reason_zh}）",
            "reason_en": f"{en} ({best.reason_en})",
            "confidence": mass,
            "auto": False,
        }
    )


def grade_response(
    question: Any,
    response: Response,
    *,
    key_revision: int,
    policy: ReviewPolicy | None = None,
) -> Grade:
    """Grade one response to one question through the registry and the review policy.

    Args:
        question: any question model (its ``kind`` picks the grader).
        response: the reader's or teacher's response.
        key_revision: the answer-key revision used.
        policy: review thresholds; defaults when omitted.

    Returns:
        The decided grade.

    Raises:
        UnknownKindError: no grader for the question's kind.
    """
    return decide(grader_for(question), response, key_revision=key_revision, policy=policy)


# The fields of ReviewPolicy a policy file may set.
_POLICY_FIELDS = ("accept_threshold", "alt_floor", "mark_low", "mark_high", "upgrade_floor",
                  "confusable_floor", "reading_floor")


@dataclass(frozen=True)
class PolicySet:
    """The review policy the product applies, one :class:`ReviewPolicy` per answer format.

    It is a versioned artefact (``models/review_policy.json``, pinned by sha256 in the model
    manifest like the readers' weights), so the figure a benchmark reports is the figure of
    the policy the product runs.

    Attributes:
        version: The file's version; bumped whenever a threshold is re-chosen.
        by_kind: Question kind -> its policy.
        default: The policy of every kind the file does not name (free handwriting that
            was never calibrated: strict).
        fitted_on: Where the thresholds were chosen (calibration writers only).
    """

    version: int
    by_kind: dict[str, ReviewPolicy]
    default: ReviewPolicy
    fitted_on: str = ""

    def for_kind(self, kind: str) -> ReviewPolicy:
        """The policy of one question kind."""
        return self.by_kind.get(kind, self.default)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicySet:
        """Parse a policy file's content.

        The file holds ``version``, ``fitted_on`` and ``formats``: each format has the
        question ``kinds`` it governs (``"*"`` for the default) and :class:`ReviewPolicy`
        fields.

        Raises:
            ValueError: A missing default, a kind in two formats, an unknown field or an
                out-of-range threshold.
        """
        by_kind: dict[str, ReviewPolicy] = {}
        default: ReviewPolicy | None = None
        for name, spec in dict(data["formats"]).items():
            unknown = set(spec) - {"kinds", *_POLICY_FIELDS}
            if unknown:
                raise ValueError(f"format {name!r}: unknown fields {sorted(unknown)}")
            policy = ReviewPolicy(**{k: spec[k] for k in _POLICY_FIELDS if k in spec})
            kinds = spec.get("kinds")
            if kinds == "*":
                default = policy
                continue
            for kind in kinds or ():
                if kind in by_kind:
                    raise ValueError(f"question kind {kind!r} is in two formats")
                by_kind[kind] = policy
        if default is None:
            raise ValueError('a policy file needs a format with "kinds": "*"')
        return cls(int(data["version"]), by_kind, default, str(data.get("fitted_on", "")))
