"""Device keys for copiers and scanners: ``/api/v1/devices``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from service import devices
from service.api.deps import SessionDep, TeacherDep, client_ip
from service.schemas.devices import DeviceCreate, DeviceCreated, DeviceOut

__all__ = ["DeviceCreate", "DeviceCreated", "DeviceOut", "router"]

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceCreated)
async def create_device(body: DeviceCreate, request: Request, actor: TeacherDep,
                        session: SessionDep) -> DeviceCreated:
    """Create a key for a copier or scanner. The key is in this response only: store it in
    the device now (as a Bearer token, or as the Basic-auth password with any username).
    The device may upload scans and read its own jobs, nothing else."""
    return await devices.create_device(session, actor, body, client_ip(request))


@router.get("", response_model=list[DeviceOut])
async def list_devices(actor: TeacherDep, session: SessionDep) -> list[DeviceOut]:
    """The caller's device keys (an admin: the school's), revoked ones included; never the
    keys themselves."""
    return await devices.list_devices(session, actor)


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
async def revoke_device(device_id: int, request: Request, actor: TeacherDep,
                        session: SessionDep) -> Response:
    """Revoke a device key: it stops working at once. Repeating it is harmless."""
    await devices.revoke_device(session, actor, device_id, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
