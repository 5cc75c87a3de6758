"""Accounts: sign-in (OAuth2 password flow), the caller's profile, creating teachers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from service.actor import Actor
from service.api.deps import AdminDep, SessionDep, SettingsDep, TeacherDep, client_ip
from service.auth.passwords import (
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    verify_password,
)
from service.auth.usernames import USERNAME_RULE, is_valid_username, normalise_username
from service.config import parse_rate
from service.errors import Forbidden, InvalidInput, MarkbookError, Unauthorized
from service.ratelimit import limiter
from service.repositories.accounts import create_teacher, teacher_by_id, teacher_by_username
from service.repositories.audit import record

__all__ = ["MeOut", "TeacherCreate", "TeacherOut", "TokenOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class TeacherOut(BaseModel):
    id: int
    username: str
    display_name: str
    is_admin: bool
    is_active: bool
    school_id: int
    created_at: datetime


class MeOut(TeacherOut):
    kind: str = "teacher"


class TeacherCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=2, max_length=64, examples=["wang.li"])
    display_name: str = Field(min_length=1, max_length=100, examples=["王老师"])
    password: str = Field(min_length=1, max_length=1024)
    is_admin: bool = False


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
    ip = client_ip(request)
    username = normalise_username(form.username)
    count, window = parse_rate(settings.auth.login_rate)
    failures = limiter(request, "login", count, window)
    key = (username, ip)
    try:
        failures.check(key, "failed sign-ins")
    except MarkbookError as exc:
        await record(session, None, "auth.login_rate_limited", None, None, ip,
                     {"username": username[:64]})
        return _refuse(exc)
    teacher = await teacher_by_username(session, username)
    ok, rehash = await verify_password(teacher.password_hash if teacher else None, form.password)
    if teacher is None or not ok:
        failures.hit(key)
        await record(session, None, "auth.login_failed", "teacher", teacher.id if teacher else None,
                     ip, {"username": username[:64], "reason": "bad_credentials"},
                     school_id=teacher.school_id if teacher else None)
        return _refuse(Unauthorized("wrong username or password", error="invalid_credentials",
                                    headers={"WWW-Authenticate": 'Bearer realm="markbook"'}))
    actor = Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)
    if not teacher.is_active:
        await record(session, actor, "auth.login_failed", "teacher", teacher.id, ip,
                     {"username": username[:64], "reason": "inactive"})
        return _refuse(Forbidden("this account is disabled; ask a school admin",
                                 error="account_disabled"))
    failures.reset(key)
    if rehash:  # stored with weaker parameters than today's: upgrade while we have the password
        teacher.password_hash = await hash_password(form.password)
    await record(session, actor, "auth.login", "teacher", teacher.id, ip)
    token = request.app.state.tokens.mint(teacher.id, teacher.token_version)
    return JSONResponse(
        TokenOut(access_token=token, expires_in=settings.auth.token_minutes * 60).model_dump(),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/me", response_model=MeOut)
async def me(actor: TeacherDep, session: SessionDep) -> MeOut:
    """The signed-in teacher."""
    teacher = await teacher_by_id(session, actor.teacher_id)
    assert teacher is not None  # authentication just loaded it
    return MeOut(id=teacher.id, username=teacher.username, display_name=teacher.display_name,
                 is_admin=teacher.is_admin, is_active=teacher.is_active,
                 school_id=teacher.school_id, created_at=teacher.created_at)


@router.post("/teachers", status_code=status.HTTP_201_CREATED, response_model=TeacherOut)
async def add_teacher(body: TeacherCreate, request: Request, actor: AdminDep,
                      session: SessionDep, settings: SettingsDep) -> TeacherOut:
    """Create a teacher account in the admin's school (admins only)."""
    username = normalise_username(body.username)
    if not is_valid_username(username):
        raise InvalidInput(USERNAME_RULE, error="bad_username")
    try:
        check_password_policy(body.password, settings.auth.min_password_length)
    except PasswordPolicyError as exc:
        raise InvalidInput(str(exc), error="weak_password") from None
    row = await create_teacher(session, school_id=actor.school_id, username=username,
                               display_name=body.display_name,
                               password_hash=await hash_password(body.password),
                               is_admin=body.is_admin)
    await record(session, actor, "teacher.create", "teacher", row.id, client_ip(request),
                 {"username": username, "is_admin": body.is_admin})
    return TeacherOut(id=row.id, username=row.username, display_name=row.display_name,
                      is_admin=row.is_admin, is_active=row.is_active, school_id=row.school_id,
                      created_at=row.created_at)
