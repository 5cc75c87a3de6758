"""Account set-up without HTTP: ``markbook admin create`` (the first admin of a school)."""

from __future__ import annotations

from anyio import to_thread

from service.actor import ensure_local_actor
from service.auth.passwords import PasswordPolicyError, check_password_policy, hash_password
from service.auth.usernames import USERNAME_RULE, is_valid_username, normalise_username
from service.config import Settings
from service.db.engine import create_engine, make_session_factory
from service.db.migrate import upgrade
from service.errors import Conflict
from service.repositories.accounts import create_teacher
from service.repositories.audit import record

__all__ = ["AccountError", "create_admin"]

class AccountError(Exception):
    """The account cannot be created; ``exit_code`` is 2 for bad input, 1 for a clash."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def create_admin(settings: Settings, username: str, password: str,
                       display_name: str | None = None) -> int:
    """Create an admin in the default school (migrating and bootstrapping if needed).

    Args:
        settings: the service settings (database URL, password policy).
        username: the login name (stored in lower case).
        password: the plain password (hashed with Argon2id before it is stored).
        display_name: shown in the UI; defaults to the username.

    Returns:
        The new teacher's id.

    Raises:
        AccountError: bad username or password (exit 2), or the username exists (exit 1;
            nothing is changed, so re-running is safe).
    """
    username = normalise_username(username)
    if not is_valid_username(username):
        raise AccountError(USERNAME_RULE, 2)
    try:
        check_password_policy(password, settings.auth.min_password_length)
    except PasswordPolicyError as exc:
        raise AccountError(str(exc), 2) from None
    if settings.db.auto_migrate:
        await to_thread.run_sync(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with make_session_factory(engine)() as session:
            local = await ensure_local_actor(session, settings.school_name)
            try:
                row = await create_teacher(session, school_id=local.school_id, username=username,
                                           display_name=display_name or username,
                                           password_hash=await hash_password(password),
                                           is_admin=True)
            except Conflict:
                raise AccountError(f"the user '{username}' already exists; nothing changed",
                                   1) from None
            await record(session, None, "teacher.create", "teacher", row.id, None,
                         {"username": username, "is_admin": True, "via": "cli"},
                         school_id=local.school_id)
            await session.commit()
            return row.id
    finally:
        await engine.dispose()
