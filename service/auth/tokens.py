"""Short-lived bearer tokens: HS256-signed JWTs keyed by the service's secret key.

A token names the teacher (``sub``) and carries their ``token_version``: bumping the
column (password change, forced sign-out) invalidates every token issued before.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from service.config import Settings

__all__ = ["ISSUER", "TokenClaims", "TokenError", "TokenSigner", "load_secret_key"]

log = logging.getLogger(__name__)

ISSUER = "markbook"
SECRET_FILE = "secret_key"
_ALGORITHM = "HS256"
# Tokens already verified, so a busy client's every request does not pay for the signature
# check and JSON parsing again (about a tenth of an upload's CPU). Expiry is checked on
# every use; revocation is the caller's check against the teacher's row, as before.
_VERIFIED_MAX = 4096


class TokenError(ValueError):
    """The token is malformed, badly signed, expired or not an access token."""


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: whose it is and which ``token_version`` it was issued at.

    Attributes:
        teacher_id: ``teachers.id``.
        token_version: the teacher's ``token_version`` when it was issued.
        expires_at: when it stops being valid.
        issued_at: when it was minted.
        session_id: the browser session it belongs to (``None`` for an API token).
        session_started: when that browser session signed in (``None`` for an API token).
    """

    teacher_id: int
    token_version: int
    expires_at: datetime
    issued_at: datetime | None = None
    session_id: str | None = None
    session_started: datetime | None = None


def load_secret_key(settings: Settings) -> str:
    """The signing key: ``MARKBOOK_SECRET_KEY``, else (development and tests only) one
    generated once and kept in ``<data_dir>/secret_key`` (mode 0600) so a restart keeps
    issued tokens valid.

    Args:
        settings: the service settings.

    Returns:
        The key.

    Raises:
        RuntimeError: production without a configured key (the settings validator refuses
            that already; this guards direct callers).
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if settings.env == "production":
        raise RuntimeError("MARKBOOK_SECRET_KEY must be set when MARKBOOK_ENV=production")
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting together cannot both write a key; the loser reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} is empty or too short; delete it to generate a new key") \
            from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    log.warning("no MARKBOOK_SECRET_KEY set: generated a signing key in %s (development only)",
                path)
    return key


class TokenSigner:
    """Mint and check access tokens.

    Args:
        key: the HMAC key (see :func:`load_secret_key`).
        lifetime: how long a token is valid.
    """

    def __init__(self, key: str, lifetime: timedelta) -> None:
        self._key = key
        self.lifetime = lifetime
        self._verified: OrderedDict[str, TokenClaims] = OrderedDict()

    def mint(self, teacher_id: int, token_version: int, *, now: datetime | None = None,
             session_id: str | None = None, session_started: datetime | None = None) -> str:
        """A signed token for the teacher.

        Args:
            teacher_id: ``teachers.id``.
            token_version: the teacher's current ``token_version``.
            now: issue time (tests make expired tokens with it).
            session_id: for a browser session's token: the session's id (kept when the
                session's token is renewed, so it can be revoked at sign-out).
            session_started: for a browser session's token: when it signed in.

        Returns:
            The compact JWT.
        """
        now = now or datetime.now(UTC)
        claims: dict[str, object] = {
            "iss": ISSUER, "typ": "access", "sub": str(teacher_id), "ver": token_version,
            "iat": int(now.timestamp()), "exp": int((now + self.lifetime).timestamp())}
        if session_id is not None:
            claims["sid"] = session_id
            claims["sat"] = int((session_started or now).timestamp())
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def check(self, token: str) -> TokenClaims:
        """Verify signature, issuer, type and expiry.

        Args:
            token: the bearer token.

        Returns:
            Its claims.

        Raises:
            TokenError: anything wrong with it (the message says what, for logs).
        """
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at <= datetime.now(UTC):
                del self._verified[token]
                raise TokenError("the token has expired")
            self._verified.move_to_end(token)
            return known
        claims = self._verify(token)
        self._verified[token] = claims
        if len(self._verified) > _VERIFIED_MAX:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            # The algorithm list is fixed: a token cannot choose "none" or another algorithm.
            claims = jwt.decode(token, self._key, algorithms=[_ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        sub, ver = claims.get("sub"), claims.get("ver")
        if claims.get("typ") != "access" or not str(sub).isdigit() or not isinstance(ver, int):
            raise TokenError("not an access token")
        sid, sat = claims.get("sid"), claims.get("sat")
        started = datetime.fromtimestamp(sat, UTC) if isinstance(sat, int) else None
        return TokenClaims(int(str(sub)), ver, datetime.fromtimestamp(claims["exp"], UTC),
                           issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                           session_id=sid if isinstance(sid, str) and started else None,
                           session_started=started if isinstance(sid, str) else None)
