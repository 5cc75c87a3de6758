"""Response bodies of a student's export and erasure."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ErasureOut"]


class ErasureOut(BaseModel):
    """What an erasure removed, in counts (nothing about the student)."""

    class_id: int
    counts: dict[str, int] = Field(description="rows deleted per table")
    audit_anonymised: int = Field(description="audit events stripped of what named the student")
    files_queued: int = Field(description="files queued for deletion")
    files_deleted: int = Field(description="queued files deleted after the commit")
    files_failed: int = Field(description="deletions that failed: retried at the next start "
                              "and every purge")
    scans_kept: int = Field(description="scan files kept because other children's pages are "
                            "in them too (the student's pages in them are unreachable)")
