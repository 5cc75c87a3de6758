"""Device keys for copiers and scanners: ``/api/v1/devices``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import SessionDep, TeacherDep, client_ip
from service.db import DeviceKeyRow
from service.repositories.accounts import DeviceRepository
from service.repositories.audit import record

__all__ = ["DeviceCreate", "DeviceCreated", "DeviceOut", "router"]

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100, examples=["教师办公室复印机"])


class DeviceOut(BaseModel):
    id: int
    name: str
    key_prefix: str = Field(description="the key's first characters, to tell keys apart")
    teacher_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class DeviceCreated(DeviceOut):
    key: str = Field(description="the device key; shown only in this response")


def _out(row: DeviceKeyRow) -> DeviceOut:
    return DeviceOut(id=row.id, name=row.name, key_prefix=row.key_prefix,
                     teacher_id=row.teacher_id, created_at=row.created_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceCreated)
async def create_device(body: DeviceCreate, request: Request, actor: TeacherDep,
                        session: SessionDep) -> DeviceCreated:
    """Create a key for a copier or scanner. The key is in this response only: store it in
    the device now (as a Bearer token, or as the Basic-auth password with any username).
    The device may upload scans and read its own jobs, nothing else."""
    row, key = await DeviceRepository(session, actor).create(body.name)
    await record(session, actor, "device.create", "device", row.id, client_ip(request),
                 {"name": row.name, "key_prefix": row.key_prefix})
    return DeviceCreated(**_out(row).model_dump(), key=key)


@router.get("", response_model=list[DeviceOut])
async def list_devices(actor: TeacherDep, session: SessionDep) -> list[DeviceOut]:
    """The caller's device keys (an admin: the school's), revoked ones included; never the
    keys themselves."""
    return [_out(r) for r in await DeviceRepository(session, actor).list()]


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
async def revoke_device(device_id: int, request: Request, actor: TeacherDep,
                        session: SessionDep) -> Response:
    """Revoke a device key: it stops working at once. Repeating it is harmless."""
    row = await DeviceRepository(session, actor).revoke(device_id)
    await record(session, actor, "device.revoke", "device", row.id, client_ip(request),
                 {"name": row.name, "key_prefix": row.key_prefix})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
