"""Turn what the scan reader saw into what the graders take (ocr → grading).

The only place the two libraries meet: statuses carry over one to one, so "left blank",
"could not read", "engine failed" and "misaligned" stay distinct all the way to the grade.
"""

from __future__ import annotations

from collections.abc import Sequence

from grading.response import Alternative, Marks, Response, ResponseStatus
from ocr.pipeline import AnswerRead

__all__ = ["response_from_reads"]

_SURE = ("ok", "blank")  # statuses whose confidence means something


def response_from_reads(reads: Sequence[AnswerRead]) -> Response:
    """One grading response from the reading(s) of one question's answer area(s).

    Args:
        reads: the question's regions in blank order (several for multi-blank questions,
            e.g. quotient and remainder).

    Returns:
        The response; a multi-blank question's overall status is the worst of its blanks.
    """
    if not reads:
        raise ValueError("a response needs at least one reading")
    first = reads[0]
    if first.marks is not None:
        marks = Marks(fill={s.label: min(1.0, max(0.0, s.fill)) for s in first.marks.scores},
                      marked=first.marks.marked)
        status = ResponseStatus.BLANK if first.status == "blank" else _status(first.status)
        return Response(status=status, text="".join(first.marks.marked), marks=marks,
                        confidence=first.confidence)
    if len(reads) == 1:
        return Response(status=_status(first.status), text=first.text,
                        # A blank's confidence is the reader's certainty that nothing was
                        # written: the review policy needs it to accept blanks unasked.
                        confidence=first.confidence if first.status in _SURE else 0.0,
                        alternatives=tuple(Alternative(text=t, probability=min(1.0, p))
                                           for t, p in first.alternatives))
    order = ("engine_error", "misaligned", "unreadable", "ok", "blank")
    worst = min((r.status for r in reads), key=order.index)
    if worst == "ok" and any(r.status == "blank" for r in reads):
        worst = "unreadable"  # one blank of several: a human decides
    confidence = 1.0
    for r in reads:
        confidence *= r.confidence if r.status in _SURE else 1.0
    return Response(status=_status(worst), blanks=tuple(r.text for r in reads),
                    confidence=confidence if worst in _SURE else 0.0)


def _status(status: str) -> ResponseStatus:
    return ResponseStatus(status)
