"""Response body of the job status API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["JobOut"]


class JobOut(BaseModel):
    id: int
    status: str
    pages_total: int
    pages_done: int
    progress: float
    problems: list[dict[str, Any]]
    error: str | None
    upload_id: int
    filename: str
    worksheet_id: int | None
    created_at: datetime
    finished_at: datetime | None
