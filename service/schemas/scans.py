"""Response body of the scan upload API."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["ScanAccepted"]


class ScanAccepted(BaseModel):
    job_id: int
    upload_id: int
    duplicate: bool
    pages: int
    status_url: str
    # Set when the job these bytes already have failed or left pages unread: POST here.
    retry: str | None = None
