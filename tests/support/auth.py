"""Helpers for signed-in and access-control tests: accounts with tokens, clients bound to
an app, unique scan images, audit rows, DB edits."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select, update

from service.db import AuditEventRow, SchoolRow, TeacherRow

__all__ = [
    "Account",
    "audit_rows",
    "client_for",
    "make_account",
    "set_teacher",
    "unique_png",
]

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


@dataclass(frozen=True)
class Account:
    """A teacher made directly in the database, with a bearer token for it."""

    teacher_id: int
    school_id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_account(app: FastAPI, username: str, *, admin: bool = False,
                       school_id: int | None = None, new_school: str | None = None,
                       password_hash: str | None = None, active: bool = True) -> Account:
    """Create a teacher in the started app's database (default: the default school) and
    mint a token for it, as a sign-in would."""
    async with app.state.session_factory() as s:
        if new_school is not None:
            school = SchoolRow(name=new_school)
            s.add(school)
            await s.flush()
            school_id = school.id
        teacher = TeacherRow(school_id=school_id or app.state.local_actor.school_id,
                          username=username, display_name=f"{username} 老师",
                          password_hash=password_hash, is_admin=admin, is_active=active,
                          token_version=0)
        s.add(teacher)
        await s.commit()
    token = app.state.tokens.mint(teacher.id, 0)
    return Account(teacher.id, teacher.school_id, username, token)


def client_for(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client bound to ``app`` sending ``headers`` (e.g. an Authorization) on every call."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                             headers=headers or {})
