"""Teacher accounts: sign in (with a per-username-and-address failure limit), the caller's
profile, and creating teachers (admins). Every outcome of a sign-in is audited.

Routers in :mod:`service.api.auth` call these; queries live in
:mod:`service.repositories.accounts`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.actor import Actor
from service.auth.passwords import (
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    verify_password,
)
from service.auth.tokens import TokenSigner
from service.auth.usernames import USERNAME_RULE, is_valid_username, normalise_username
from service.errors import Forbidden, InvalidInput, MarkbookError, Unauthorized
from service.ratelimit import SignInLimits
from service.ratelimit_shared import SharedSignInLimits
from service.repositories.accounts import create_teacher, teacher_by_id, teacher_by_username
from service.repositories.audit import record
from service.schemas.accounts import MeOut, TeacherCreate, TeacherOut, TokenOut

__all__ = ["add_teacher", "me", "sign_in"]


async def sign_in(session: AsyncSession, failures: SignInLimits | SharedSignInLimits,
                  tokens: TokenSigner, *,
                  username: str, password: str, ip: str | None, token_minutes: int
                  ) -> TokenOut | MarkbookError:
    """Check the credentials and mint a bearer token.

    The attempt is counted against the failure limits before its password is hashed, so
    parallel attempts cannot slip past the limit together; a successful one is forgiven.
    A refusal is returned, not raised, so the caller's unit of work still commits the audit
    row that records it.

    Returns:
        The token, or the error to answer with: ``too_many_requests`` after repeated
        failures, ``invalid_credentials``, or ``account_disabled``.
    """
    username = normalise_username(username)
    try:
        await failures.reserve(username, ip)
    except MarkbookError as exc:
        await record(session, None, "auth.login_rate_limited", None, None, ip,
                     {"username": username[:64]})
        return exc
    teacher = await teacher_by_username(session, username)
    ok, rehash = await verify_password(teacher.password_hash if teacher else None, password)
    if teacher is None or not ok:  # already counted by reserve()
        await record(session, None, "auth.login_failed", "teacher", teacher.id if teacher else None,
                     ip, {"username": username[:64], "reason": "bad_credentials"},
                     school_id=teacher.school_id if teacher else None)
        return Unauthorized("wrong username or password", error="invalid_credentials",
                            headers={"WWW-Authenticate": 'Bearer realm="markbook"'})
    actor = Actor(teacher_id=teacher.id, school_id=teacher.school_id, is_admin=teacher.is_admin)
    if not teacher.is_active:
        await record(session, actor, "auth.login_failed", "teacher", teacher.id, ip,
                     {"username": username[:64], "reason": "inactive"})
        return Forbidden("this account is disabled; ask a school admin",
                         error="account_disabled")
    await failures.succeeded(username, ip)
    if rehash:  # stored with weaker parameters than today's: upgrade while we have the password
        teacher.password_hash = await hash_password(password)
    await record(session, actor, "auth.login", "teacher", teacher.id, ip)
    token = tokens.mint(teacher.id, teacher.token_version)
    return TokenOut(access_token=token, expires_in=token_minutes * 60)


async def me(session: AsyncSession, actor: Actor) -> MeOut:
    """The signed-in teacher's profile."""
    teacher = await teacher_by_id(session, actor.teacher_id)
    assert teacher is not None  # authentication just loaded it
    return MeOut(id=teacher.id, username=teacher.username, display_name=teacher.display_name,
                 is_admin=teacher.is_admin, is_active=teacher.is_active,
                 school_id=teacher.school_id, created_at=teacher.created_at)


async def add_teacher(session: AsyncSession, actor: Actor, body: TeacherCreate, *,
                      min_password_length: int, ip: str | None) -> TeacherOut:
    """Create a teacher account in the admin's school (flush only), audited.

    Raises:
        InvalidInput: ``bad_username`` or ``weak_password``.
        Conflict: ``username_taken``.
    """
    username = normalise_username(body.username)
    if not is_valid_username(username):
        raise InvalidInput(USERNAME_RULE, error="bad_username")
    try:
        check_password_policy(body.password, min_password_length)
    except PasswordPolicyError as exc:
        raise InvalidInput(str(exc), error="weak_password") from None
    row = await create_teacher(session, school_id=actor.school_id, username=username,
                               display_name=body.display_name,
                               password_hash=await hash_password(body.password),
                               is_admin=body.is_admin)
    await record(session, actor, "teacher.create", "teacher", row.id, ip,
                 {"username": username, "is_admin": body.is_admin})
    return TeacherOut(id=row.id, username=row.username, display_name=row.display_name,
                      is_admin=row.is_admin, is_active=row.is_active, school_id=row.school_id,
                      created_at=row.created_at)
