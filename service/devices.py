"""Device keys for copiers and scanners: create (the key shown once), list, revoke; every
change is recorded in the audit log.

Routers in :mod:`service.api.devices` call these; queries live in
:class:`service.repositories.accounts.DeviceRepository`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.db import DeviceKeyRow
from service.repositories.accounts import DeviceRepository
from service.repositories.audit import record
from service.schemas.devices import DeviceCreate, DeviceCreated, DeviceOut

__all__ = ["create_device", "list_devices", "revoke_device"]


def _out(row: DeviceKeyRow) -> DeviceOut:
    return DeviceOut(id=row.id, name=row.name, key_prefix=row.key_prefix,
                     teacher_id=row.teacher_id, created_at=row.created_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at)


async def create_device(session: AsyncSession, actor: Actor, body: DeviceCreate,
                        ip: str | None) -> DeviceCreated:
    """A new key for the actor's device (the key itself is in this result only)."""
    row, key = await DeviceRepository(session, actor).create(body.name)
    await record(session, actor, "device.create", "device", row.id, ip,
                 {"name": row.name, "key_prefix": row.key_prefix})
    return DeviceCreated(**_out(row).model_dump(), key=key)


async def list_devices(session: AsyncSession, actor: Actor) -> list[DeviceOut]:
    """The actor's device keys (an admin: the school's), revoked ones included."""
    return [_out(r) for r in await DeviceRepository(session, actor).list()]


async def revoke_device(session: AsyncSession, actor: Actor, device_id: int,
                        ip: str | None) -> None:
    """Revoke a key at once (repeating it is harmless).

    Raises:
        NotFound: no such device for the actor.
    """
    row = await DeviceRepository(session, actor).revoke(device_id)
    await record(session, actor, "device.revoke", "device", row.id, ip,
                 {"name": row.name, "key_prefix": row.key_prefix})
