"""Pages of the web app's ``devices`` area: copiers and scanners, and the school's webhook.

* ``GET /devices``: my device keys (an admin: the school's), a form to create one, and
  step-by-step setup for scan-to-HTTP (the URL, HTTP Basic with the key as the password, or
  a Bearer header) and scan-to-folder (``markbook watch``).
* ``POST /devices``: create a key; the answer shows it once, with how to enter it.
* ``GET``/``POST /devices/{device_id}/revoke``: confirm, then revoke (it stops at once).
* ``GET``/``POST /devices/webhook``, ``POST /devices/webhook/remove``: school admins only
  (403 for others): the webhook's URL, a generated secret shown once, recent deliveries.

Every action calls the same service function as ``/api/v1/devices`` and
``/api/v1/school/webhook``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service import devices, school
from service.api.deps import SessionDep
from service.errors import InvalidInput, NotFound
from service.schemas.devices import DeviceCreate, DeviceOut
from service.schemas.school import WebhookIn
from service.web.deps import AdminFormUser, AdminUser, FormStr, FormUser, RequiredUser, see_other
from service.web.render import render
from service.web.sessions import PageUser

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_NAME = 100
DELIVERIES = 20


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _index(request: Request, user: PageUser, session: SessionDep, *,
                 name: str = "", error: str | None = None, status_code: int = 200) -> Response:
    keys = await devices.list_devices(session, user.actor)
    revoked = request.query_params.get("revoked", "")
    return render(request, "devices/index.html", user=user, status_code=status_code,
                  keys=keys, base=_base(request), name=name, error=error,
                  revoked_id=int(revoked) if revoked.isdigit() else None)


@router.get("/devices")
async def devices_page(request: Request, user: RequiredUser, session: SessionDep) -> Response:
    """My device keys, the create form and the setup steps."""
    return await _index(request, user, session)


@router.post("/devices")
async def create_device(request: Request, user: FormUser, session: SessionDep,
                        name: FormStr = "") -> Response:
    """Create a key and show it this once (the page is not cached; reloading would make
    another key, so the page says to copy it now)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        return await _index(request, user, session, name=name, status_code=422,
                            error="devices.create.name_invalid")
    created = await devices.create_device(session, user.actor, DeviceCreate(name=name),
                                          request.client.host if request.client else None)
    return render(request, "devices/created.html", user=user, status_code=201,
                  device=created, base=_base(request))


async def _own_device(session: SessionDep, user: PageUser, device_id: int) -> DeviceOut:
    for d in await devices.list_devices(session, user.actor):
        if d.id == device_id:
            return d
    raise NotFound("no such device key")


@router.get("/devices/{device_id}/revoke")
async def confirm_revoke(device_id: int, request: Request, user: RequiredUser,
                         session: SessionDep) -> Response:
    """Ask before revoking a key."""
    device = await _own_device(session, user, device_id)
    return render(request, "devices/revoke.html", user=user, device=device)


@router.post("/devices/{device_id}/revoke")
async def revoke_device(device_id: int, request: Request, user: FormUser,
                        session: SessionDep) -> Response:
    """Revoke a key: it stops working at once (repeating it is harmless)."""
    await devices.revoke_device(session, user.actor, device_id,
                                request.client.host if request.client else None)
    return see_other(f"/devices?revoked={device_id}")


# ------------------------------------------------------------------ webhook (admins)


async def _webhook(request: Request, user: PageUser, session: SessionDep, *,
                   url: str | None = None, error: str | None = None, detail: str = "",
                   secret: str | None = None, status_code: int = 200) -> Response:
    current = await school.get_webhook(session, user.actor)
    deliveries = await school.recent_deliveries(session, user.actor, DELIVERIES)
    return render(request, "devices/webhook.html", user=user, status_code=status_code,
                  webhook=current, deliveries=deliveries, secret=secret, error=error,
                  detail=detail, url=(current.url or "") if url is None else url,
                  saved=request.query_params.get("saved") == "1",
                  removed=request.query_params.get("removed") == "1")


@router.get("/devices/webhook")
async def webhook_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """The school's webhook and its recent deliveries (admins)."""
    return await _webhook(request, user, session)


@router.post("/devices/webhook")
async def save_webhook(request: Request, user: AdminFormUser, session: SessionDep,
                       url: FormStr = "", secret: FormStr = "") -> Response:
    """Set (and so enable) the webhook; a secret markbook generates is shown this once."""
    try:
        saved = await school.configure_webhook(
            session, user.actor, WebhookIn(url=url, secret=secret.strip() or None))
    except InvalidInput as exc:
        return await _webhook(request, user, session, url=url, status_code=422,
                              error=f"devices.webhook.error.{exc.error}", detail=exc.detail)
    if saved.secret is not None:
        return await _webhook(request, user, session, secret=saved.secret)
    return see_other("/devices/webhook?saved=1")


@router.post("/devices/webhook/remove")
async def remove_webhook(user: AdminFormUser, session: SessionDep) -> Response:
    """Turn the webhook off (its setting is removed; pending deliveries are cancelled)."""
    await school.remove_webhook(session, user.actor)
    return see_other("/devices/webhook?removed=1")
