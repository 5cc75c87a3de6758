"""Small helpers for access-control tests: unique scan images, audit rows, DB edits."""

from __future__ import annotations

import io
import itertools
from typing import Any

from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select, update

from service.db import AuditEventRow, TeacherRow

_counter = itertools.count(1)


def unique_png() -> bytes:
    """A small PNG whose bytes differ on every call (uploads are deduplicated by content)."""
    n = next(_counter)
    img = Image.new("L", (64, 64), 255)
    img.putpixel((n % 64, (n // 64) % 64), 0)
    img.putpixel((0, 0), n % 256)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def audit_rows(app: FastAPI, action: str | None = None) -> list[AuditEventRow]:
    """The audit events (optionally one action), oldest first."""
    async with app.state.session_factory() as s:
        q = select(AuditEventRow).order_by(AuditEventRow.id)
        if action:
            q = q.where(AuditEventRow.action == action)
        return list((await s.execute(q)).scalars())


async def set_teacher(app: FastAPI, teacher_id: int, **values: Any) -> None:
    """Change a teacher's columns directly (deactivate, bump token_version)."""
    async with app.state.session_factory() as s:
        await s.execute(update(TeacherRow).where(TeacherRow.id == teacher_id).values(**values))
        await s.commit()
