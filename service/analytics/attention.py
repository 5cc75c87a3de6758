"""Students who need attention, and why: one reason per rule that fires, each with the
figure that fired it and a link to the answers behind it.

The rules (``docs/analytics.md``), over the class's worksheets in time order:

- ``missing_work``: handed nothing in for at least 40 % of the last five worksheets (at
  least one); the figure is how many.
- ``low_scores``: the mean score rate over the worksheets handed in is under 60 %.
- ``falling``: the latest worksheet's score rate is at least 15 points under the mean of
  the earlier ones; the figure is the drop.
- ``weak_points``: a knowledge point answered at least three times with a score rate under
  50 %;
  the figure is how many such points.
- ``open_errors``: fifteen or more error-book entries not yet resolved (a class averages
  far fewer; more means the error book has stopped being worked through).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.analytics.figures import EntryLike, r4
from service.analytics.links import answers_url
from service.db import StudentRow
from service.repositories.analytics import KpCell
from service.schemas.analytics import AttentionOut, ReasonOut
from service.schemas.results import StudentRef

__all__ = [
    "FALLING_DROP",
    "LOW_RATE",
    "OPEN_ERRORS",
    "RECENT",
    "WEAK_RATE",
    "SheetScore",
    "attention",
]

RECENT = 5
MISSING_SHARE = 0.4
LOW_RATE = 0.6
FALLING_DROP = 0.15
WEAK_RATE = 0.5
WEAK_MIN_ANSWERS = 3
OPEN_ERRORS = 15


@dataclass(frozen=True)
class SheetScore:
    """One student's standing on one worksheet.

    Attributes:
        worksheet_id: the worksheet.
        title: its title.
        submitted: whether the student handed in any page.
        rate: decided points / decided full marks (None: nothing decided or not handed in).
    """

    worksheet_id: int
    title: str
    submitted: bool
    rate: float | None


def _reasons(s: StudentRow, sheets: Sequence[SheetScore], cells: Sequence[KpCell],
             open_entries: int, kp_names: Mapping[str, str]) -> list[ReasonOut]:
    out: list[ReasonOut] = []
    recent = sheets[-RECENT:]
    missed = [x for x in recent if not x.submitted]
    if recent and len(missed) >= max(1, math.ceil(MISSING_SHARE * len(recent))):
        out.append(ReasonOut(code="missing_work", value=len(missed),
                             detail="、".join(x.title for x in missed),
                             answers=answers_url(student_id=s.id)))
    rated = [x for x in sheets if x.rate is not None]
    if rated:
        mean = sum(x.rate or 0.0 for x in rated) / len(rated)
        if mean < LOW_RATE:
            out.append(ReasonOut(code="low_scores", value=r4(mean), detail="",
                                 answers=answers_url(student_id=s.id, verdict="wrong")))
    if len(rated) >= 2:
        last = rated[-1]
        earlier = sum(x.rate or 0.0 for x in rated[:-1]) / (len(rated) - 1)
        if (last.rate or 0.0) <= earlier - FALLING_DROP:
            out.append(ReasonOut(code="falling", value=r4(earlier - (last.rate or 0.0)),
                                 detail=last.title,
                                 answers=answers_url(worksheet_id=last.worksheet_id,
                                                     student_id=s.id)))
    weak = sorted((r4(c.total / c.n), c.kp_code) for c in cells
                  if c.n >= WEAK_MIN_ANSWERS and c.total / c.n < WEAK_RATE)
    if weak:
        out.append(ReasonOut(code="weak_points", value=len(weak),
                             detail="、".join(kp_names.get(c, c) for _, c in weak),
                             answers=answers_url(student_id=s.id, kp=weak[0][1])))
    if open_entries >= OPEN_ERRORS:
        out.append(ReasonOut(code="open_errors", value=open_entries, detail="",
                             answers=answers_url(student_id=s.id, entries="open")))
    return out


def attention(students: Sequence[StudentRow], sheets: Mapping[int, Sequence[SheetScore]],
              cells: Sequence[KpCell], entries: Sequence[EntryLike],
              kp_names: Mapping[str, str]) -> list[AttentionOut]:
    """The students any rule fires for, most reasons first, then by student number.

    Args:
        students: the class roster.
        sheets: student id -> their standing on each worksheet, oldest first.
        cells: the class's answers added up per student and knowledge point.
        entries: the class's error-book entries.
        kp_names: knowledge point code -> name (for the reasons' detail).
    """
    ev: dict[int, list[KpCell]] = defaultdict(list)
    for c in cells:
        ev[c.student_id].append(c)
    unresolved: dict[int, int] = defaultdict(int)
    for entry in entries:
        if entry.state != "resolved":
            unresolved[entry.student_id] += 1
    out = []
    for s in students:
        reasons = _reasons(s, sheets.get(s.id, []), ev.get(s.id, []), unresolved[s.id],
                           kp_names)
        if reasons:
            out.append(AttentionOut(student=StudentRef(id=s.id, student_no=s.student_no,
                                                       name=s.name), reasons=reasons))
    order = {s.id: n for n, s in enumerate(students)}
    return sorted(out, key=lambda a: (-len(a.reasons), order[a.student.id]))
