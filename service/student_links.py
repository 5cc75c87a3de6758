"""Per-student read-only links: a teacher issues, re-issues and revokes them; a student or
a parent opens their own error book and progress with one, without an account.

A link is ``/s/<token>``, the token 128+ bits from :func:`secrets.token_urlsafe`. Only its
SHA-256 is stored, so a link is shown once, when it is issued; showing it again means
issuing a new one, which revokes the old one (one working link per student). A token
resolves to an :class:`OpenedLink`: the student's id and an actor standing for the
student's class teacher, for that one student only; the public pages pass exactly that id
to the same service functions the API uses, so nothing else is reachable through it.
Tokens never reach the logs or the audit trail (a short hash prefix does).

Pages in :mod:`service.web.student_links` call these; queries live in
:mod:`service.repositories.student_links`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import SchoolClassRow, StudentLinkRow, StudentRow
from service.db.base import utcnow
from service.repositories import audit
from service.repositories.classes import ClassRepository
from service.repositories.roster_edits import student_in_class
from service.repositories.student_links import (
    StudentLinkRepository,
    find_active_link,
    touch_link,
)

__all__ = ["TOKEN_BYTES", "IssuedLink", "LinkStatus", "OpenedLink", "class_links",
           "hash_token", "issue_for_class", "issue_for_student", "open_link", "revoke_class",
           "revoke_student", "token_hint"]

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def hash_token(token: str) -> str:
    """The SHA-256 (hex) stored for a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_hint(token: str) -> str:
    """What may be logged about a token: the first 8 hex digits of its hash."""
    return hash_token(token)[:8]


@dataclass(frozen=True)
class IssuedLink:
    """A link just issued: the only moment its token is known.

    Attributes:
        student_id: the student it opens.
        student_no: their student number.
        name: their name.
        token: the secret part of ``/s/<token>``.
    """

    student_id: int
    student_no: str
    name: str
    token: str


@dataclass(frozen=True)
class LinkStatus:
    """A student of a class and their working link, if any (never its token).

    Attributes:
        student_id: the student.
        student_no: their student number.
        name: their name.
        issued_at: when the working link was issued, or ``None`` when there is none.
        last_used_at: when it was last opened.
    """

    student_id: int
    student_no: str
    name: str
    issued_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class OpenedLink:
    """What a working token opens.

    Attributes:
        student_id: the one student it shows.
        name: the student's name.
        class_name: their class.
        actor: the student's class teacher as the reader, used only with ``student_id``.
        hint: the token's hash prefix, for logs.
    """

    student_id: int
    name: str
    class_name: str
    actor: Actor
    hint: str


async def _issue(session: AsyncSession, actor: Actor, repo: StudentLinkRepository,
                 students: Sequence[StudentRow], school_id: int, at: datetime
                 ) -> list[IssuedLink]:
    await repo.revoke([s.id for s in students], at)
    issued = []
    for student in students:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await repo.add(student, school_id, hash_token(token))
        issued.append(IssuedLink(student.id, student.student_no, student.name, token))
    return issued


async def issue_for_student(session: AsyncSession, actor: Actor, class_id: int,
                            student_id: int) -> IssuedLink:
    """A new link for one student; their previous link stops working. Audited as
    ``student_link.issue``.

    Raises:
        NotFound: no such student in that class for the actor.
    """
    cls = await ClassRepository(session, actor).get(class_id)
    student = await student_in_class(session, actor, class_id, student_id)
    [issued] = await _issue(session, actor, StudentLinkRepository(session, actor), [student],
                            cls.school_id, utcnow())
    await audit.record(session, actor, "student_link.issue", "student", student.id)
    return issued


async def issue_for_class(session: AsyncSession, actor: Actor, class_id: int, *,
                          only_missing: bool) -> list[IssuedLink]:
    """New links for the class's students (student-number order): every student (their
    old links stop working), or with ``only_missing`` only those without a working link.
    Audited as ``student_link.issue_class``.

    Raises:
        NotFound: no such class for the actor.
    """
    classes = ClassRepository(session, actor)
    cls = await classes.get(class_id)
    students = await classes.students(class_id)
    repo = StudentLinkRepository(session, actor)
    if only_missing:
        have = await repo.active([s.id for s in students])
        students = [s for s in students if s.id not in have]
    issued = await _issue(session, actor, repo, students, cls.school_id, utcnow())
    await audit.record(session, actor, "student_link.issue_class", "class", cls.id,
                       detail={"links": len(issued), "only_missing": only_missing})
    return issued


async def revoke_student(session: AsyncSession, actor: Actor, class_id: int,
                         student_id: int) -> int:
    """Revoke a student's link at once. Audited as ``student_link.revoke``.

    Returns:
        How many links stopped working (0 when there was none).

    Raises:
        NotFound: no such student in that class for the actor.
    """
    await ClassRepository(session, actor).get(class_id)
    student = await student_in_class(session, actor, class_id, student_id)
    n = await StudentLinkRepository(session, actor).revoke([student.id], utcnow())
    await audit.record(session, actor, "student_link.revoke", "student", student.id,
                       detail={"links": n})
    return n


async def revoke_class(session: AsyncSession, actor: Actor, class_id: int) -> int:
    """Revoke every link of the class's students. Audited as ``student_link.revoke_class``.

    Raises:
        NotFound: no such class for the actor.
    """
    classes = ClassRepository(session, actor)
    cls = await classes.get(class_id)
    students = await classes.students(class_id)
    n = await StudentLinkRepository(session, actor).revoke([s.id for s in students], utcnow())
    await audit.record(session, actor, "student_link.revoke_class", "class", cls.id,
                       detail={"links": n})
    return n


async def class_links(session: AsyncSession, actor: Actor, class_id: int
                      ) -> tuple[SchoolClassRow, list[LinkStatus]]:
    """The class and, per student, whether they have a working link.

    Raises:
        NotFound: no such class for the actor.
    """
    classes = ClassRepository(session, actor)
    cls = await classes.get(class_id)
    students = await classes.students(class_id)
    active: dict[int, StudentLinkRow] = await StudentLinkRepository(session, actor).active(
        [s.id for s in students])
    return cls, [LinkStatus(s.id, s.student_no, s.name,
                            active[s.id].created_at if s.id in active else None,
                            active[s.id].last_used_at if s.id in active else None)
                 for s in students]


def _well_formed(token: str) -> bool:
    return 16 <= len(token) <= 128 and set(token) <= _TOKEN_CHARS


async def open_link(session: AsyncSession, token: str) -> OpenedLink | None:
    """Resolve a token; ``None`` for a malformed, unknown or revoked one (never told
    apart). Records when the link was last used."""
    if not _well_formed(token):
        return None
    found = await find_active_link(session, hash_token(token))
    if found is None:
        return None
    link, student, cls = found
    await touch_link(session, link.id, utcnow())
    actor = Actor(teacher_id=cls.teacher_id, school_id=cls.school_id, is_admin=False)
    return OpenedLink(student.id, student.name, cls.name, actor, token_hint(token))
