"""What the home page shows, read through the same service functions as the JSON API (so
the same policy scopes it): the teacher's classes, recent jobs, and what waits for review.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.classes import list_classes
from service.job_status import TERMINAL, recent_jobs
from service.review.queue import review_queue_page
from service.schemas.common import ClassSummaryOut
from service.schemas.jobs import JobOut
from service.worksheets import WorksheetReviewCount

__all__ = ["HomeView", "home_view"]

RECENT_JOBS = 8


@dataclass(frozen=True)
class HomeView:
    """The home page's data.

    Attributes:
        classes: the teacher's classes with their student counts.
        jobs: the most recent scan jobs, newest first.
        review: answers waiting for review, per worksheet (worksheets with none left out).
        review_counts: the whole review queue's count per kind (``response``,
            ``unknown_student``, ``unidentified``, ``duplicate``).
        review_total: everything waiting for review.
    """

    classes: list[ClassSummaryOut]
    jobs: list[JobOut]
    review: list[WorksheetReviewCount]
    review_counts: dict[str, int]
    review_total: int

    @property
    def jobs_running(self) -> bool:
        """Whether a listed job is still queued or running (the page then reloads itself
        every few seconds, so progress moves without any script)."""
        return any(job.status not in TERMINAL for job in self.jobs)


async def home_view(session: AsyncSession, actor: Actor) -> HomeView:
    """The home page of ``actor``."""
    # The review page's view of the queue: every count (per kind, per worksheet) comes
    # from one statement.
    page = await review_queue_page(session, actor, worksheet_id=None, kind=None, limit=1,
                                   offset=0)
    return HomeView(classes=await list_classes(session, actor),
                    jobs=(await recent_jobs(session, actor))[:RECENT_JOBS],
                    review=page.worksheets,
                    review_counts=page.queue.counts, review_total=page.queue.total)
