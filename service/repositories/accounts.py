"""Teacher accounts and device keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.auth import devicekeys
from service.db import DeviceKeyRow, SchoolRow, TeacherRow
from service.db.base import utcnow
from service.errors import Conflict, NotFound
from service.policy import scoped

__all__ = ["DeviceRepository", "TeacherStanding", "create_teacher", "default_school_id",
           "device_by_key", "ensure_local_admin", "signable_admin_exists", "teacher_by_id",
           "teacher_by_username", "teacher_standing", "touch_device"]

# last_used_at is for "is this copier still in use?", not forensics (the audit log is):
# writing it at most once a minute keeps busy devices from making every request a write.
_TOUCH_INTERVAL = timedelta(minutes=1)


async def teacher_by_username(session: AsyncSession, username: str) -> TeacherRow | None:
    """The account with this username (exact match), or ``None``."""
    return (await session.execute(
        select(TeacherRow).where(TeacherRow.username == username))).scalar_one_or_none()


async def teacher_by_id(session: AsyncSession, teacher_id: int) -> TeacherRow | None:
    """The account with this id, or ``None``."""
    return await session.get(TeacherRow, teacher_id)


class TeacherStanding(NamedTuple):
    """What checking a bearer token needs of its account."""

    id: int
    school_id: int
    is_admin: bool
    is_active: bool
    token_version: int


_TEACHERS = cast(Table, TeacherRow.__table__)
_STANDING = select(_TEACHERS.c.id, _TEACHERS.c.school_id, _TEACHERS.c.is_admin,
                   _TEACHERS.c.is_active, _TEACHERS.c.token_version
                   ).where(_TEACHERS.c.id == bindparam("teacher"))


async def teacher_standing(session: AsyncSession, teacher_id: int) -> TeacherStanding | None:
    """The account's standing (active, admin, token version), or ``None``: five columns, not
    a mapped row, by a statement built once, as every API request asks."""
    row = (await session.execute(_STANDING, {"teacher": teacher_id})).first()
    return TeacherStanding(*row) if row is not None else None


async def signable_admin_exists(session: AsyncSession) -> bool:
    """Whether any active admin can sign in over HTTP (has a password); the password-less
    ``local`` admin does not count. False on a fresh install (the first-run page)."""
    found = await session.scalar(
        select(TeacherRow.id).where(TeacherRow.is_admin.is_(True), TeacherRow.is_active.is_(True),
                                    TeacherRow.password_hash.is_not(None)).limit(1))
    return found is not None


async def default_school_id(session: AsyncSession) -> int | None:
    """The first school (single-school installs have only the default one)."""
    return await session.scalar(select(func.min(SchoolRow.id)))


async def create_teacher(session: AsyncSession, *, school_id: int, username: str,
                         display_name: str, password_hash: str | None,
                         is_admin: bool = False) -> TeacherRow:
    """Create an account (flush only).

    Args:
        session: the unit of work.
        school_id: the school the teacher belongs to.
        username: unique across the service.
        display_name: shown in the UI and on reports.
        password_hash: from :func:`service.auth.passwords.hash_password`.
        is_admin: whether the account manages the school.

    Returns:
        The new teacher.

    Raises:
        Conflict: ``username_taken`` when the username exists.
    """
    if await teacher_by_username(session, username) is not None:
        raise Conflict(f"the username '{username}' is taken", error="username_taken")
    row = TeacherRow(school_id=school_id, username=username, display_name=display_name,
                  password_hash=password_hash, is_admin=is_admin, is_active=True,
                  token_version=0)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # a concurrent request took it between the check and the insert
        raise Conflict(f"the username '{username}' is taken", error="username_taken") from None
    return row


async def ensure_local_admin(session: AsyncSession, username: str, school_name: str
                             ) -> TeacherRow:
    """The password-less local admin, created (with a school of this name) on first call.

    Args:
        session: the unit of work (flush only).
        username: the local account's username.
        school_name: the default school's name, used only when creating it.
    """
    teacher = await teacher_by_username(session, username)
    if teacher is None:
        school = SchoolRow(name=school_name)
        session.add(school)
        await session.flush()
        teacher = TeacherRow(school_id=school.id, username=username,
                             display_name="本机教师", is_admin=True)
        session.add(teacher)
        await session.flush()
    return teacher


def _aware(at: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they are stored as UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def touch_device(session: AsyncSession, device: DeviceKeyRow) -> None:
    """Record that a device key was used, at most once a minute per device."""
    now = utcnow()
    if device.last_used_at is not None and now - _aware(device.last_used_at) < _TOUCH_INTERVAL:
        return
    await session.execute(update(DeviceKeyRow).where(DeviceKeyRow.id == device.id)
                          .values(last_used_at=now))


class DeviceRepository:
    """Device keys, scoped to the acting teacher (admins: the school)."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def create(self, name: str) -> tuple[DeviceKeyRow, str]:
        """Create a key for a copier or scanner.

        Args:
            name: a label such as "staff-room copier".

        Returns:
            The row and the plain key (shown once; only its hash is stored).
        """
        for _ in range(3):  # a prefix collision (48 random bits) is astronomically rare
            key = devicekeys.new_key()
            prefix = devicekeys.key_prefix(key)
            taken = await self.session.scalar(
                select(DeviceKeyRow.id).where(DeviceKeyRow.key_prefix == prefix))
            if taken is None:
                break
        row = DeviceKeyRow(school_id=self.actor.school_id, teacher_id=self.actor.teacher_id,
                        name=name, key_prefix=prefix, key_hash=devicekeys.hash_key(key))
        self.session.add(row)
        await self.session.flush()
        return row, key

    async def list(self) -> list[DeviceKeyRow]:
        """The actor's devices (admins: the school's), newest first, revoked included."""
        rows = await self.session.execute(
            scoped(select(DeviceKeyRow), DeviceKeyRow, self.actor).order_by(DeviceKeyRow.id.desc()))
        return list(rows.scalars())

    async def get(self, device_id: int) -> DeviceKeyRow:
        """One device.

        Raises:
            NotFound: unknown, or another teacher's.
        """
        row = (await self.session.execute(scoped(
            select(DeviceKeyRow).where(DeviceKeyRow.id == device_id), DeviceKeyRow, self.actor)
        )).scalar_one_or_none()
        if row is None:
            raise NotFound(f"device {device_id} not found")
        return row

    async def revoke(self, device_id: int) -> DeviceKeyRow:
        """Revoke a key (idempotent: a revoked key keeps its first revocation time).

        Raises:
            NotFound: unknown, or another teacher's.
        """
        row = await self.get(device_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await self.session.flush()
        return row


async def device_by_key(session: AsyncSession, key: str) -> DeviceKeyRow | None:
    """The live (not revoked) device whose key this is, or ``None``."""
    if not key.startswith(devicekeys.KEY_MARKER) or len(key) > 128:
        return None
    row = (await session.execute(select(DeviceKeyRow).where(
        DeviceKeyRow.key_prefix == devicekeys.key_prefix(key)))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not devicekeys.keys_match(key, row.key_hash):
        return None
    return row
