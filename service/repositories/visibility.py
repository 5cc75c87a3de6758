"""Which worksheets and uploads results and review may touch, as id subqueries.

The rules themselves live in :mod:`service.policy` (a teacher sees their own worksheets
and uploads, an admin the whole school's); this module adds one tightening for results:
ingestion-only device keys see no results at all, even for their teacher's worksheets.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from service.actor import Actor
from service.db import ScanUploadRow, WorksheetRow
from service.policy import visible

__all__ = ["visible_uploads", "visible_worksheets"]


def visible_worksheets(actor: Actor) -> Select[int]:
    """The ids of the worksheets ``actor`` may see results of.

    Args:
        actor: the caller.

    Returns:
        ``SELECT worksheets.id`` under the policy's worksheet rule; nothing for a device.
    """
    q = select(WorksheetRow.id)
    return q.where(false()) if actor.is_device else q.where(visible(WorksheetRow, actor))


def visible_uploads(actor: Actor) -> Select[int]:
    """The ids of the scan uploads ``actor`` may review.

    Args:
        actor: the caller.

    Returns:
        ``SELECT scan_uploads.id`` under the policy's upload rule; nothing for a device.
    """
    q = select(ScanUploadRow.id)
    return q.where(false()) if actor.is_device else q.where(visible(ScanUploadRow, actor))
