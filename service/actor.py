"""Who is making a request. Every repository call is scoped by an :class:`Actor`.

An actor is a teacher (signed in with a bearer token) or a device (a copier or scanner
using a device key). A device acts for the teacher who created it, so its uploads belong to
that teacher, but it may only upload scans and read its own jobs. Requests are
authenticated in :mod:`service.api.security`; row visibility is :mod:`service.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["LOCAL_USERNAME", "Actor", "ensure_local_actor"]  # and current_actor (lazy)

LOCAL_USERNAME = "local"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller.

    Attributes:
        teacher_id: the teacher; for a device, the teacher who created it.
        school_id: the school every query is limited to.
        is_admin: sees and manages the whole school (never true for a device).
        kind: ``"teacher"`` or ``"device"``.
        device_id: the device key's id for a device, else ``None``.
    """

    teacher_id: int
    school_id: int
    is_admin: bool = False
    kind: Literal["teacher", "device"] = "teacher"
    device_id: int | None = None

    @property
    def is_device(self) -> bool:
        """Whether this is a copier/scanner rather than a signed-in teacher."""
        return self.kind == "device"


async def ensure_local_actor(session: AsyncSession, school_name: str) -> Actor:
    """Create (once) the default school and the local admin, and return it as an actor.

    The ``local`` account has no password, so it cannot sign in over HTTP; in-process
    callers (CLI, demo), which already hold the database, act as it with a minted token.

    Args:
        session: a unit of work (the caller commits).
        school_name: the default school's name on first start.

    Returns:
        The local admin as an actor.
    """
    # Imported here: the repositories import this module for :class:`Actor`.
    from service.repositories.accounts import ensure_local_admin

    teacher = await ensure_local_admin(session, LOCAL_USERNAME, school_name)
    return Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)


def __getattr__(name: str) -> Any:
    # ``current_actor`` is the dependency that resolves the caller (tests override it with
    # ``app.dependency_overrides[current_actor]``). It lives with the HTTP code it needs;
    # importing it lazily here keeps this module free of a circular import.
    if name == "current_actor":
        from service.api.security import authenticate

        return authenticate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
