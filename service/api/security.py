"""Authentication: turn a request's ``Authorization`` header into an :class:`Actor`.

Accepted credentials:

* ``Bearer <access token>`` from ``POST /api/v1/auth/token`` (teachers);
* ``Bearer mbk_...`` or HTTP Basic with the device key as the password and any username
  (copiers and scanners, many of which only speak Basic).

Failures are 401 with a ``WWW-Authenticate`` challenge: ``not_authenticated`` without
credentials, ``invalid_token`` for wrong, expired, revoked or superseded ones. Role checks
are 403: ``forbidden_for_device`` (a device outside ingestion) and ``admin_only``.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.api.uow import SessionDep
from service.auth.devicekeys import KEY_MARKER
from service.auth.tokens import TokenError, TokenSigner
from service.errors import Forbidden, Unauthorized
from service.repositories.accounts import (
    device_by_key,
    teacher_by_id,
    teacher_standing,
    touch_device,
)

__all__ = ["CHALLENGE", "authenticate", "client_ip", "require_admin", "require_teacher"]

CHALLENGE = 'Bearer realm="markbook", Basic realm="markbook"'
# Declared for the OpenAPI "Authorize" button; the header is parsed below.
_bearer_doc = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_ip(request: Request) -> str | None:
    """The client's address (behind a proxy, run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else None


def _unauthorized(detail: str, error: str) -> Unauthorized:
    challenge = CHALLENGE if error == "not_authenticated" else \
        f'Bearer realm="markbook", error="{error}", Basic realm="markbook"'
    return Unauthorized(detail, error=error, headers={"WWW-Authenticate": challenge})


def _credentials(header: str) -> str:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("malformed Basic credentials", "invalid_token") from None
        _, sep, password = decoded.partition(":")
        if not sep or not password.startswith(KEY_MARKER):
            raise _unauthorized("Basic authentication takes a device key as the password",
                                "invalid_token")
        return password
    raise _unauthorized("use 'Authorization: Bearer <token or device key>' or Basic "
                        "authentication with a device key", "not_authenticated")


async def _device_actor(session: AsyncSession, key: str) -> Actor:
    device = await device_by_key(session, key)
    owner = await teacher_by_id(session, device.teacher_id) if device else None
    if device is None or owner is None or not owner.is_active:
        raise _unauthorized("unknown or revoked device key", "invalid_token")
    await touch_device(session, device)
    # A device is never an admin, whatever its teacher is: it only feeds scans in.
    return Actor(teacher_id=device.teacher_id, school_id=device.school_id, is_admin=False,
                 kind="device", device_id=device.id)


async def _teacher_actor(session: AsyncSession, signer: TokenSigner, token: str) -> Actor:
    try:
        claims = signer.check(token)
    except TokenError as exc:
        raise _unauthorized(str(exc), "invalid_token") from None
    teacher = await teacher_standing(session, claims.teacher_id)
    if teacher is None or not teacher.is_active or teacher.token_version != claims.token_version:
        raise _unauthorized("the token is no longer valid; sign in again", "invalid_token")
    return Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)


async def authenticate(request: Request, session: SessionDep,
                       _doc: str | None = Depends(_bearer_doc)) -> Actor:
    """Any authenticated caller: a teacher or a device (ingestion routes).

    Raises:
        Unauthorized: no, malformed, wrong, expired, revoked or superseded credentials.
    """
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise _unauthorized("sign in: send 'Authorization: Bearer <token>'", "not_authenticated")
    credential = _credentials(header)
    if credential.startswith(KEY_MARKER):
        actor = await _device_actor(session, credential)
    else:
        actor = await _teacher_actor(session, request.app.state.tokens, credential)
    request.state.actor = actor
    return actor


async def require_teacher(actor: Actor = Depends(authenticate)) -> Actor:  # noqa: B008
    """A signed-in teacher (or admin); devices are refused.

    Raises:
        Forbidden: ``forbidden_for_device``.
    """
    if actor.is_device:
        raise Forbidden("a device key may only upload scans and read its own jobs",
                        error="forbidden_for_device")
    return actor


async def require_admin(actor: Actor = Depends(require_teacher)) -> Actor:  # noqa: B008
    """A school admin.

    Raises:
        Forbidden: ``admin_only``.
    """
    if not actor.is_admin:
        raise Forbidden("only a school admin may do this", error="admin_only")
    return actor
