"""Whose page, and whether it is ours at all: the identity checks of one scanned page.

Run in the page worker next to the reading (``service.jobs.pagework``), on what it has
already computed (the upright page, its alignment, the blank template):

- :func:`foreign_reason`: an ``MB2`` page code carries the printing install's id and the
  hash of the page's layout as printed; a page of another install, or of another layout
  of the worksheet its code names, must not be graded against the local worksheet;
- :func:`identify_anonymous`: an anonymous copy's handwritten number, name and seat as
  evidence over the roster, for the stack's placement at the end of the upload;
- :func:`named_copy_disagrees`: a named copy whose name box and comb are sure of another
  roster child goes to review instead of being graded for the child its code names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from errorbook.contract import PageCode, PageLayout, WorksheetLayout, page_layout_hash
from ocr.align import Alignment
from ocr.regions import blank_box, measure_ink, register_blank, remove_print, warp_box
from ocr.students.capture import Capture
from ocr.students.evidence import Identity
from ocr.students.identify import IdentityRead, page_capture, read_identity
from ocr.students.match import RosterEntry, StudentCandidate
from ocr.students.number import COMB_INSET_PT

__all__ = [
    "CANDIDATES",
    "DISAGREE_CODE_MAX",
    "DISAGREE_SURE",
    "PRINT_DIFF_MM2",
    "PRINT_TOLERANCE_PX",
    "IdentityInput",
    "StudentRead",
    "differs_from_print",
    "foreign_reason",
    "identify_anonymous",
    "named_copy_disagrees",
]

# Roster candidates kept for the review queue.
CANDIDATES = 3
# The name and number on a named copy point at another child at least this surely: the
# page waits for a teacher (the bar of a conflict between sources,
# ``ocr.students.evidence.SURE``) ...
DISAGREE_SURE = 0.9
# ... and leave the code's own child at most this likely.
DISAGREE_CODE_MAX = 0.05
# A named copy's boxes against their expected print: strokes widened this much (pixels of
# the reader's crops) before comparing, and this much ink left over (mm², per box, either
# way) is a difference. Tighter than answer boxes use (7 px, 0.6 mm²): another child's
# printed digit sits where the expected one is; measured on simulated scans, the own
# print leaves at most 0.15 mm², another child's 0.37-2 mm².
PRINT_TOLERANCE_PX = 3
PRINT_DIFF_MM2 = 0.25


@dataclass(frozen=True)
class StudentRead:
    """A page's handwritten (or printed) identity as read.

    Attributes:
        number: The comb as read, for display ("" when it is empty).
        match: ``pending`` (an anonymous copy's evidence, to place with the rest of the
            stack at the end of the upload), ``unmatched`` (nothing written, or no
            roster) or, on a copy whose code names its student, ``disagrees``: the name
            and number on the page are sure of another roster student, so the page waits
            for a teacher.
        candidates: The likeliest roster students with their posteriors, best first.
        scores: Every roster student's log posterior, as (student id, log score).
        conflict: The sources each point to a different child (or disagree with the
            code): never placed automatically.
        sources: What was read (``number``, ``name``, ``seat``): the margin the stack
            needs depends on it.
    """

    number: str
    match: str  # pending | unmatched | disagrees
    candidates: tuple[StudentCandidate, ...] = ()
    scores: tuple[tuple[int, float], ...] = ()
    conflict: bool = False
    sources: tuple[str, ...] = ()

    def evidence(self) -> dict[str, Any]:
        """The JSON kept on the page row (``pages.student_evidence``)."""
        return {"number": self.number, "conflict": self.conflict,
                "sources": list(self.sources),
                "scores": [[sid, round(score, 4)] for sid, score in self.scores],
                "candidates": [{"student_id": c.student_id, "p": round(c.score, 4),
                                "why": c.reason} for c in self.candidates]}


@dataclass(frozen=True)
class IdentityInput:
    """What the identity readers need of one read page.

    Attributes:
        upright: the page image turned upright.
        alignment: its page-space → pixel alignment.
        blank: the blank page as rendered for the reader, and its resolution.
        blank_px_per_pt: that rendering's pixels per point.
        layout: the worksheet page the code names.
        roster: the class roster.
        recognizer: the reading ensemble.
    """

    upright: np.ndarray
    alignment: Alignment
    blank: np.ndarray
    blank_px_per_pt: float
    layout: PageLayout
    roster: tuple[RosterEntry, ...]
    recognizer: Any

    @cached_property
    def capture(self) -> Capture:
        """How the readers cut this page's boxes, a copier scan or a photo (its paper level
        and whether the boxes are located again): decided once, when first read."""
        return page_capture(self.upright, self.alignment, self.blank, self.blank_px_per_pt,
                            comb_boxes=self.layout.student_no_boxes,
                            name_box=_drawn(self.layout.name_box))


def foreign_reason(code: PageCode, layout: WorksheetLayout | None, local_install: str) -> str:
    """Why a page must not be read against the local worksheet its code names ("" if it
    may).

    Only an ``MB2`` code can say: it carries the printing install's id and the hash of
    the page's layout as printed. An ``MB1`` code (printed before) carries neither, so a
    page another install printed with the same worksheet id cannot be told apart.

    Args:
        code: the page's code.
        layout: the local worksheet's layout, None when not (yet) at hand: the install
            is checked first, so another install's page is refused without a lookup.
        local_install: this install's id ("" when unknown: no install check).

    Returns:
        ``install`` (printed by another install), ``layout`` (printed from another layout
        of the worksheet), or "".
    """
    if code.install is None:
        return ""
    if local_install and code.install != local_install:
        return "install"
    if layout is not None:
        pages = [p for p in layout.pages if p.number == code.page]
        if pages and code.layout != page_layout_hash(pages[0]):
            return "layout"
    return ""


def _drawn(box: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """A layout's box, or None where it has none (a template without a name region keeps
    an empty box there, and an empty box must not be read as a name)."""
    return box if box[2] > box[0] and box[3] > box[1] else None


def _read(inp: IdentityInput, blank: np.ndarray | None = None) -> IdentityRead:
    roster = inp.roster
    return read_identity(inp.upright, inp.alignment,
                         inp.blank if blank is None else blank, inp.blank_px_per_pt,
                         comb_boxes=inp.layout.student_no_boxes,
                         name_box=_drawn(inp.layout.name_box),
                         seat_bubbles=inp.layout.seat_bubbles,
                         numbers=[e.student_no for e in roster],
                         names=[e.name for e in roster], recognizer=inp.recognizer,
                         capture=inp.capture)


def identify_anonymous(inp: IdentityInput) -> StudentRead:
    """Read an anonymous copy's handwritten identity (student number, name, seat bubbles)
    as evidence over the class roster.

    Nothing is decided here: the stack's placement (``service.jobs.placement``) assigns
    the upload's anonymous pages together once every page is read.
    """
    read = _read(inp)
    if not read.written:
        return StudentRead("", "unmatched")
    shown = read.comb.text + (f" · {read.name}" if read.name else "") + \
        (f" · {'座号' if len(read.seat) == 2 else '学号'} {read.seat}" if read.seat else "")
    return _student_read(shown, inp.roster, read.identity)


def differs_from_print(inp: IdentityInput, named_blank: np.ndarray) -> bool:
    """Whether the name box or the comb shows anything but the named copy's own print
    (the cheap test before any reading: a few milliseconds).

    Each box is compared both ways with a tight tolerance: ink the expected print does not
    explain (something written, or another name printed), and expected print the scan
    lacks (another number printed in its place). A page that fails only costs a reading.

    Args:
        inp: the read page.
        named_blank: the page's header as printed for the child the code names (their
            name and number in the boxes), rendered at ``inp.blank_px_per_pt`` from the
            page's top-left corner, deep enough to hold the boxes.
    """
    margin = -COMB_INSET_PT  # inside the drawn outlines, as the readers look
    for box in (inp.layout.name_box, *inp.layout.student_no_boxes):
        crop = warp_box(inp.upright, inp.alignment, box, margin_pt=margin)
        blank = register_blank(crop, blank_box(named_blank, inp.blank_px_per_pt, box,
                                               margin_pt=margin))
        for seen, expected in ((crop, blank), (blank, crop)):
            left = remove_print(seen, expected, tolerance_px=PRINT_TOLERANCE_PX)
            if measure_ink(left).area_mm2 >= PRINT_DIFF_MM2:
                return True
    return False


def named_copy_disagrees(inp: IdentityInput, student_id: int,
                         named_blank: np.ndarray | None) -> StudentRead | None:
    """A named copy whose name box and number comb are sure of another roster child.

    A named copy's name and number are printed in those boxes. When they hold nothing
    else (:func:`differs_from_print`, a few milliseconds) the page is the
    code's child's and nothing is read. Otherwise the boxes are read as they are, printed
    name and number included (a copy printed elsewhere for a class whose ids collide with
    ours names its own child there), then, if that is not decisive, with the expected
    print subtracted (another child's name or number written over or beside it). Either
    one sure of another child sends the page to review instead of grading it for the
    child the code names.

    Args:
        inp: the read page.
        student_id: the student the page's code names.
        named_blank: see :func:`differs_from_print`; None reads the boxes without
            the cheap test.

    Returns:
        The evidence (``match`` ``disagrees``, ``conflict`` set so the stack never places
        it) when they disagree; None when they agree, say nothing, or the code's student
        is not on the roster (the caller reports that already).
    """
    ids = [e.student_id for e in inp.roster]
    if student_id not in ids:
        return None
    if named_blank is not None and not differs_from_print(inp, named_blank):
        return None
    for blank in (inp.blank, named_blank):
        if blank is None:
            continue
        read = _read(inp, blank)
        if not read.written:
            continue
        posts = read.identity.posteriors()
        best = max(range(len(posts)), key=posts.__getitem__)
        mine = posts[ids.index(student_id)]
        if ids[best] != student_id and posts[best] >= DISAGREE_SURE \
                and mine <= DISAGREE_CODE_MAX:
            shown = read.comb.text + (f" · {read.name}" if read.name else "")
            found = _student_read(shown, inp.roster, read.identity)
            return dataclasses.replace(found, match="disagrees", conflict=True)
    return None


def _student_read(text: str, roster: Sequence[RosterEntry], identity: Identity) -> StudentRead:
    posts = identity.posteriors()
    order = sorted(range(len(roster)), key=lambda i: -posts[i])[:CANDIDATES]
    candidates = tuple(StudentCandidate(roster[i].student_id, posts[i],
                                        f"{roster[i].student_no} {roster[i].name}")
                       for i in order)
    scores = tuple((e.student_id, s) for e, s in zip(roster, identity.scores, strict=True))
    return StudentRead(text, "pending", candidates, scores, identity.conflict,
                       identity.sources)
