"""Browser sessions and CSRF protection for the pages.

* The session cookie (``markbook_session``) holds the same signed access token the API's
  sign-in mints (:class:`service.auth.tokens.TokenSigner`), so it expires, and stops working
  when the teacher's ``token_version`` is bumped, exactly as a bearer token does. It is
  ``HttpOnly``, ``SameSite=Lax``, ``path=/`` and ``Secure`` when the request came over
  https. It opens pages only: ``/api/v1`` reads the ``Authorization`` header and never
  this cookie, so a browser session cannot be used to call the JSON API across sites.
* Every state-changing form carries ``csrf_token``: an HMAC, keyed by a key derived from the
  service's secret key, of the session token (signed in) or of a random per-browser id in the
  ``markbook_csrf`` cookie (signed out: the sign-in and language forms). A POST whose token
  does not match is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from service.actor import Actor
from service.auth.tokens import TokenError, TokenSigner
from service.repositories.accounts import teacher_by_id

__all__ = ["ANON_COOKIE", "SESSION_COOKIE", "CsrfSigner", "PageUser", "SignInRequired",
           "clear_session", "csrf_subject", "login_url", "new_browser_id", "page_user",
           "safe_next", "set_cookie", "set_session"]

SESSION_COOKIE = "markbook_session"
ANON_COOKIE = "markbook_csrf"


@dataclass(frozen=True)
class PageUser:
    """The signed-in teacher of a page request.

    Attributes:
        actor: whom every query is scoped by.
        username: the login name.
        display_name: shown in the header.
        token: the session cookie's token (the CSRF tokens are bound to it).
    """

    actor: Actor
    username: str
    display_name: str
    token: str


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


async def page_user(request: Request, session: AsyncSession) -> PageUser | None:
    """The teacher whose valid session cookie came with the request, else ``None`` (no,
    expired, tampered or superseded token; disabled account)."""
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
    actor = Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)
    return PageUser(actor, teacher.username, teacher.display_name, token)


def csrf_subject(request: Request, user: PageUser | None) -> str | None:
    """What the request's CSRF token must be bound to: the session, or (signed out) the
    browser's ``markbook_csrf`` id; ``None`` when a signed-out browser has none yet."""
    return user.token if user is not None else request.cookies.get(ANON_COOKIE)


def new_browser_id() -> str:
    """A fresh random id for the ``markbook_csrf`` cookie."""
    return secrets.token_urlsafe(32)


def _secure(request: Request) -> bool:
    # Behind a TLS proxy, run uvicorn with --proxy-headers so the scheme is https here.
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
