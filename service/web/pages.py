"""The pages: sign in and out, the first-run page, the language switch and home.

Pages are thin like the API's routers: they resolve the browser session
(:mod:`service.web.sessions`), call the same service functions as ``/api/v1`` with the
same :class:`service.actor.Actor`, and render a template (:mod:`service.web.render`).
A page for signed-in teachers redirects a signed-out browser to ``/login?next=...``.
Every POST checks the form's ``csrf_token`` first and answers 403 without a valid one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service import accounts
from service.api.deps import SessionDep, SettingsDep, client_ip
from service.auth.tokens import TokenSigner
from service.config import parse_rate
from service.errors import Forbidden, MarkbookError, TooManyRequests
from service.ratelimit import sign_in_limits
from service.repositories.accounts import signable_admin_exists
from service.web.deps import FormStr, OptionalUser, RequiredUser, csrf_ok, see_other
from service.web.home import home_view
from service.web.i18n import LANG_COOKIE, LANGUAGES
from service.web.render import render
from service.web.sessions import (
    PageUser,
    clear_session,
    end_session,
    new_session_token,
    safe_next,
    set_cookie,
    set_session,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

LANG_COOKIE_SECONDS = 365 * 24 * 3600


def _refused(request: Request, user: PageUser | None) -> HTMLResponse:
    return render(request, "csrf.html", user=user, status_code=403)


@router.get("/")
async def home(request: Request, session: SessionDep, user: RequiredUser) -> Response:
    """Home: my classes, recent jobs, what waits for my review, shortcuts."""
    view = await home_view(session, user.actor)
    return render(request, "home.html", user=user, view=view)


@router.get("/login")
async def login_page(request: Request, session: SessionDep, user: OptionalUser,
                     next: str = "/") -> Response:
    """The sign-in form, or the first-run page while no admin can sign in."""
    if not await signable_admin_exists(session):
        return render(request, "first_run.html", user=None)
    if user is not None:
        return see_other(safe_next(next))
    return render(request, "login.html", user=None, next=safe_next(next), username="",
                  error=None)


def _login_error(result: MarkbookError) -> tuple[str, int, dict[str, str]]:
    if isinstance(result, TooManyRequests):
        return "login.error.rate_limited", 429, dict(result.headers or {})
    if isinstance(result, Forbidden):
        return "login.error.disabled", 403, {}
    return "login.error.credentials", 200, {}


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep,
                user: OptionalUser, username: FormStr = "", password: FormStr = "",
                csrf_token: FormStr = "", next: FormStr = "/") -> Response:
    """Sign in: the API's sign-in (same checks, rate limit and audit), its token kept in the
    session cookie."""
    if not csrf_ok(request, user, csrf_token):
        return _refused(request, user)
    if not await signable_admin_exists(session):
        return render(request, "first_run.html", user=None)
    next = safe_next(next)
    if not username.strip() or not password:
        return render(request, "login.html", user=None, next=next, username=username,
                      error="login.error.missing")
    count, window = parse_rate(settings.auth.login_rate)
    result = await accounts.sign_in(
        session, sign_in_limits(request, count, window), request.app.state.tokens,
        username=username, password=password, ip=client_ip(request),
        token_minutes=settings.auth.token_minutes)
    if isinstance(result, MarkbookError):
        # Returned, not raised: the unit of work commits the audit row of the refusal.
        error, status, headers = _login_error(result)
        return render(request, "login.html", user=None, next=next, username=username,
                      error=error, status_code=status, headers=headers)
    # The page session gets a token of its own, naming a new browser session (renewed while
    # used, revoked at sign-out); the API token the sign-in minted is not handed out.
    signer: TokenSigner = request.app.state.tokens
    claims = signer.check(result.access_token)
    token = new_session_token(signer, claims.teacher_id, claims.token_version)
    response = see_other(next)
    set_session(response, request, token, settings.auth.token_minutes)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, user: OptionalUser,
                 csrf_token: FormStr = "") -> Response:
    """Sign out: the session is revoked (a copy of its cookie opens nothing any more) and
    the cookie deleted."""
    if not csrf_ok(request, user, csrf_token):
        return _refused(request, user)
    if user is not None:
        await end_session(request, session, user)
    response = see_other("/login")
    clear_session(response, request)
    return response


@router.post("/lang")
async def switch_language(request: Request, user: OptionalUser, lang: FormStr = "",
                          next: FormStr = "/", csrf_token: FormStr = "") -> Response:
    """The header's language switch: remember ``lang`` in a cookie, back to the page."""
    if not csrf_ok(request, user, csrf_token):
        return _refused(request, user)
    response = see_other(safe_next(next))
    if lang in LANGUAGES:
        set_cookie(response, request, LANG_COOKIE, lang, max_age=LANG_COOKIE_SECONDS)
    return response
