"""Place an upload's anonymous pages on the class's children, all together, once read.

A class stack holds each child's copy of a page at most once. The pages still waiting for
a student at the end of an upload are grouped by worksheet page, and each group is
matched one to one to the children who have no copy of that page yet
(``ocr.students.stack.place_pages``), from the identity evidence each page kept
(``pages.student_evidence``). A page is given its child only when forbidding that cost
the stack a margin; the rest stay in the review queue with their candidates, and a page
whose sources disagree (``conflict``) is never placed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from errorbook.learner.schedule import ScheduleSettings
from ocr.students.stack import margin_for, place_pages
from service.db import PageRow
from service.mastery.sync import sync_answers
from service.repositories.jobs import JobWorkRepository

__all__ = ["place_anonymous_pages", "place_in_roster_order"]

log = logging.getLogger(__name__)
# Log-score of a student missing from a page's evidence (added to the roster after the
# page was read): never placed there.
_UNSCORED = -1e3


async def place_anonymous_pages(session: AsyncSession, upload_id: int,
                                schedule: ScheduleSettings | None = None) -> list[int]:
    """Give the upload's anonymous pages their students where the stack is sure (flush
    only; the caller commits).

    Returns:
        The indices (in the upload) of the pages placed.
    """
    repo = JobWorkRepository(session)
    groups: dict[tuple[int, int], list[PageRow]] = defaultdict(list)
    for page in await repo.anonymous_pages(upload_id):
        evidence = page.student_evidence or {}
        if evidence.get("conflict") or not evidence.get("scores"):
            continue
        if page.worksheet_id is not None and page.page_no is not None:
            groups[(page.worksheet_id, page.page_no)].append(page)
    placed: list[PageRow] = []
    for (worksheet_id, page_no), pages in groups.items():
        free = sorted(await repo.roster_ids(worksheet_id)
                      - await repo.students_with_page(worksheet_id, page_no))
        if not free:
            continue
        column = {sid: j for j, sid in enumerate(free)}
        scores = np.full((len(pages), len(free)), _UNSCORED)
        needed = []
        for i, page in enumerate(pages):
            evidence = page.student_evidence or {}
            for sid, score in evidence["scores"]:
                if int(sid) in column:
                    scores[i, column[int(sid)]] = float(score)
            needed.append(margin_for(evidence.get("sources", ("number",))))
        for page, (j, margin) in zip(pages, place_pages(scores, margin=needed), strict=True):
            if j < 0:
                continue
            await repo.set_page_student(page, free[j])
            page.student_source, page.status, page.problem = "handwriting", "graded", None
            placed.append(page)
            log.debug("anonymous page placed", extra={"page_id": page.id,
                                                       "margin": round(margin, 2)})
    if placed:
        await session.flush()
        await sync_answers(session, await repo.primary_responses([p.id for p in placed]),
                           schedule)
    return [p.page_index for p in placed]


async def place_in_roster_order(session: AsyncSession, upload_id: int, worksheet_id: int,
                                class_id: int, schedule: ScheduleSettings | None = None
                                ) -> tuple[list[int], dict[str, Any] | None]:
    """Give a template stack's copies to the class in roster order (by student number),
    the teacher having said the stack is in that order, one copy per student (flush only).

    A copy is a run of pages whose template page numbers rise (a one-page template: each
    page). Only a stack with exactly one copy per student of the class is placed: with
    one more or one fewer, every copy after the gap would go to the wrong child.

    Returns:
        The indices of the pages placed, and the job problem to report when none could be
        (on the stack's first page).
    """
    repo = JobWorkRepository(session)
    pages = await repo.pages_waiting_for_student(upload_id, worksheet_id)
    if not pages:
        return [], None
    copies: list[list[PageRow]] = []
    for page in pages:
        if not copies or page.page_no is None or copies[-1][-1].page_no is None \
                or page.page_no <= copies[-1][-1].page_no:
            copies.append([])
        copies[-1].append(page)
    roster = [sid for sid, _, _ in await repo.roster(class_id)]
    if len(copies) != len(roster):
        return [], {"page_index": pages[0].page_index, "status": "roster_order",
                    "problem": f"in_roster_order: the stack holds {len(copies)} copies for "
                               f"the class's {len(roster)} students, so copies were not "
                               f"given by order; assign them in review / 按名单顺序：这叠卷子"
                               f"有 {len(copies)} 份，班上有 {len(roster)} 名学生，未按顺序"
                               f"指定学生，请在复核中指定"}
    placed: list[PageRow] = []
    for student_id, copy in zip(roster, copies, strict=True):
        for page in copy:
            await repo.set_page_student(page, student_id)
            page.student_source, page.status, page.problem = "order", "graded", None
            placed.append(page)
    await session.flush()
    await sync_answers(session, await repo.primary_responses([p.id for p in placed]), schedule)
    return [p.page_index for p in placed], None
