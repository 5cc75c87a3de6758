"""Build printable worksheet PDFs from stored worksheets (runs off the event loop)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from errorbook.contract import PageCode, WorksheetLayout, format_page_code
from errorbook.printing.worksheet import PrintedCopy, render_worksheet_pdf

__all__ = ["CopyRequest", "render_copies"]


@dataclass(frozen=True)
class CopyRequest:
    student_id: int | None = None
    student_name: str | None = None
    student_no: str | None = None


def _render(layout_data: dict[str, Any], worksheet_id: int, class_name: str,
            copies: Sequence[CopyRequest]) -> bytes:
    layout = WorksheetLayout.from_dict(layout_data)
    printed = [
        PrintedCopy(
            page_codes=tuple(format_page_code(PageCode(worksheet_id, p.number, c.student_id))
                             for p in layout.pages),
            student_name=c.student_name, student_no=c.student_no, class_name=class_name,
        )
        for c in copies
    ]
    return render_worksheet_pdf(layout, printed)


async def render_copies(layout_data: dict[str, Any], worksheet_id: int, class_name: str,
                        copies: Sequence[CopyRequest]) -> bytes:
    """Render the copies in a worker thread so the event loop stays free."""
    return await to_thread.run_sync(_render, layout_data, worksheet_id, class_name, list(copies))
