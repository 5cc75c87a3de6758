"""Browser sessions and CSRF protection for the pages.

* The session cookie (``markbook_session``) holds a signed access token like the API's
  (:class:`service.auth.tokens.TokenSigner`), so it expires, and stops working when the
  teacher's ``token_version`` is bumped, exactly as a bearer token does. It also names the
  browser session (a random id) and when it signed in. While pages are used the token is
  renewed once it is past half its life (an idle session ends after ``auth.token_minutes``),
  but never beyond ``auth.session_hours`` after sign-in. Signing out records the session id
  as revoked, so a copy of the cookie opens nothing afterwards. The cookie is ``HttpOnly``,
  ``SameSite=Lax``, ``path=/`` and ``Secure`` when the request came over https. It opens
  pages only: ``/api/v1`` reads the ``Authorization`` header and never this cookie, so a
  browser session cannot be used to call the JSON API across sites.
* Every state-changing form carries ``csrf_token``: an HMAC, keyed by a key derived from the
  service's secret key, of the browser session's id (signed in; so a renewed token keeps
  the open forms valid) or of a random per-browser id in the ``markbook_csrf`` cookie
  (signed out: the sign-in and language forms). A POST whose token does not match is
  refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.actor import Actor
from service.auth.tokens import TokenClaims, TokenError, TokenSigner
from service.config import Settings
from service.repositories.accounts import teacher_by_id
from service.repositories.browser_sessions import is_revoked, revoke

__all__ = ["ANON_COOKIE", "SESSION_COOKIE", "CsrfSigner", "PageUser", "SessionRenewal",
           "SignInRequired", "clear_session", "csrf_subject", "end_session", "login_url",
           "new_browser_id", "new_session_token", "page_user", "safe_next", "set_cookie",
           "set_session"]

SESSION_COOKIE = "markbook_session"
ANON_COOKIE = "markbook_csrf"


@dataclass(frozen=True)
class PageUser:
    """The signed-in teacher of a page request.

    Attributes:
        actor: whom every query is scoped by.
        username: the login name.
        display_name: shown in the header.
        token: the session cookie's token (renewed when it was past half its life).
        claims: what the token says (its session id and sign-in time).
    """

    actor: Actor
    username: str
    display_name: str
    token: str
    claims: TokenClaims | None = None

    @property
    def csrf_subject(self) -> str:
        """What this session's CSRF tokens are bound to: the session id (stable across
        renewals), or the token itself for a token without one."""
        if self.claims is not None and self.claims.session_id:
            return f"session:{self.claims.session_id}"
        return self.token


class SignInRequired(Exception):
    """A page needs a signed-in teacher; the handler redirects to ``/login?next=...``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfSigner:
    """Make and check CSRF tokens bound to a session (or a signed-out browser).

    Args:
        secret_key: the service's secret key; a separate key is derived from it, so a
            CSRF token is never a MAC under the token-signing key itself.
    """

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"markbook csrf v1", hashlib.sha256).digest()

    def token(self, subject: str) -> str:
        """The form token for ``subject`` (a session token or a browser id)."""
        return hmac.new(self._key, subject.encode(), hashlib.sha256).hexdigest()

    def check(self, subject: str | None, token: str | None) -> bool:
        """Whether ``token`` was made for ``subject`` (constant-time)."""
        if not subject or not token:
            return False
        return hmac.compare_digest(self.token(subject), token)


# Where a renewed session token waits, in the request's state, for SessionRenewal to set it.
_RENEWED = "markbook_renewed_session"


def new_session_token(signer: TokenSigner, teacher_id: int, token_version: int) -> str:
    """The token of a new browser session (a fresh random session id)."""
    return signer.mint(teacher_id, token_version, session_id=secrets.token_urlsafe(24))


def _renewed(request: Request, claims: TokenClaims, signer: TokenSigner) -> str | None:
    """A fresh token for the session when its token is past half its life and the session
    may still be renewed, else ``None``."""
    if claims.session_id is None or claims.session_started is None:
        return None
    now = datetime.now(UTC)
    if claims.expires_at - now > signer.lifetime / 2:
        return None
    settings: Settings = request.app.state.settings
    if now >= claims.session_started + timedelta(hours=settings.auth.session_hours):
        return None
    return signer.mint(claims.teacher_id, claims.token_version, now=now,
                       session_id=claims.session_id, session_started=claims.session_started)


async def page_user(request: Request, session: AsyncSession) -> PageUser | None:
    """The teacher whose valid session cookie came with the request, else ``None`` (no,
    expired, tampered, superseded or signed-out token; disabled account). A token past half
    its life is renewed: the response sets the new one (see :class:`SessionRenewal`)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    signer: TokenSigner = request.app.state.tokens
    try:
        claims = signer.check(token)
    except TokenError:
        return None
    teacher = await teacher_by_id(session, claims.teacher_id)
    if teacher is None or not teacher.is_active or teacher.token_version != claims.token_version:
        return None
    if claims.session_id is not None and await is_revoked(session, claims.session_id):
        return None
    renewed = _renewed(request, claims, signer)
    if renewed is not None:
        token = renewed
        setattr(request.state, _RENEWED, renewed)
    actor = Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)
    return PageUser(actor, teacher.username, teacher.display_name, token, claims)


async def end_session(request: Request, session: AsyncSession, user: PageUser) -> None:
    """Sign the browser session out for good (the caller deletes its cookie)."""
    setattr(request.state, _RENEWED, None)
    claims = user.claims
    if claims is None or claims.session_id is None or claims.session_started is None:
        return
    settings: Settings = request.app.state.settings
    until = claims.session_started + timedelta(hours=settings.auth.session_hours)
    await revoke(session, claims.session_id, max(until, claims.expires_at))


def csrf_subject(request: Request, user: PageUser | None) -> str | None:
    """What the request's CSRF token must be bound to: the session, or (signed out) the
    browser's ``markbook_csrf`` id; ``None`` when a signed-out browser has none yet."""
    return user.csrf_subject if user is not None else request.cookies.get(ANON_COOKIE)


def new_browser_id() -> str:
    """A fresh random id for the ``markbook_csrf`` cookie."""
    return secrets.token_urlsafe(32)


def _secure(request: Request) -> bool:
    # auth.cookie_secure, else whether this request came over https (behind a TLS proxy,
    # uvicorn's --proxy-headers makes the scheme https here).
    settings: Settings = request.app.state.settings
    if settings.auth.cookie_secure is not None:
        return settings.auth.cookie_secure
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *,
               max_age: int | None, http_only: bool = True,
               same_site: Literal["lax", "strict"] = "lax") -> None:
    """Set a cookie with the pages' attributes (path /, Secure over https)."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=http_only,
                        samesite=same_site, secure=_secure(request))


def set_session(response: Response, request: Request, token: str, minutes: int) -> None:
    """Start the browser session: the token in an HttpOnly, SameSite=Lax cookie."""
    set_cookie(response, request, SESSION_COOKIE, token, max_age=minutes * 60)


def clear_session(response: Response, request: Request) -> None:
    """End the browser session (the cookie is deleted with the attributes it was set with)."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request))


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site (``/...``), else ``/``: a sign-in never
    sends the browser to another host (``//host``, ``https://host``, ``/\\host``)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x20 or c == "\\" for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_url(next_path: str) -> str:
    """``/login`` with ``next`` (omitted for the home page)."""
    next_path = safe_next(next_path)
    return "/login" if next_path == "/" else f"/login?next={quote(next_path, safe='/')}"


class SessionRenewal:
    """ASGI middleware: the response to a request whose session token was renewed sets the
    new token in the session cookie (whatever the page answered: a page, a redirect, a
    file or an event stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                renewed = scope.get("state", {}).get(_RENEWED)
                if renewed:
                    request = Request(scope)
                    settings: Settings = request.app.state.settings
                    carrier = Response()
                    set_session(carrier, request, renewed, settings.auth.token_minutes)
                    cookies = [(k, v) for k, v in carrier.raw_headers if k == b"set-cookie"]
                    message["headers"] = [*message.get("headers", []), *cookies]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
