"""Accounts: sign-in (OAuth2 password flow), the caller's profile, creating teachers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from service import accounts
from service.api.deps import AdminDep, SessionDep, SettingsDep, TeacherDep, client_ip
from service.config import parse_rate
from service.errors import MarkbookError
from service.ratelimit import sign_in_limits
from service.schemas.accounts import MeOut, TeacherCreate, TeacherOut, TokenOut

__all__ = ["MeOut", "TeacherCreate", "TeacherOut", "TokenOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _refuse(exc: MarkbookError) -> JSONResponse:
    # Returned, not raised: the unit of work then commits the audit row of the refusal.
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers or None)


@router.post("/auth/token", response_model=TokenOut,
             responses={401: {"description": "wrong username or password"},
                        403: {"description": "account disabled"},
                        429: {"description": "too many failed attempts"}})
async def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request,
                      session: SessionDep, settings: SettingsDep) -> Any:
    """Sign in with ``username`` and ``password`` (form fields, OAuth2 password flow) and
    get a short-lived bearer token. Repeated failures for one username from one address
    are refused with 429 for a while."""
    count, window = parse_rate(settings.auth.login_rate)
    result = await accounts.sign_in(
        session, sign_in_limits(request, count, window), request.app.state.tokens,
        username=form.username, password=form.password, ip=client_ip(request),
        token_minutes=settings.auth.token_minutes)
    if isinstance(result, MarkbookError):
        return _refuse(result)
    return JSONResponse(result.model_dump(),
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/me", response_model=MeOut)
async def me(actor: TeacherDep, session: SessionDep) -> MeOut:
    """The signed-in teacher."""
    return await accounts.me(session, actor)


@router.post("/teachers", status_code=status.HTTP_201_CREATED, response_model=TeacherOut)
async def add_teacher(body: TeacherCreate, request: Request, actor: AdminDep,
                      session: SessionDep, settings: SettingsDep) -> TeacherOut:
    """Create a teacher account in the admin's school (admins only)."""
    return await accounts.add_teacher(session, actor, body,
                                      min_password_length=settings.auth.min_password_length,
                                      ip=client_ip(request))
