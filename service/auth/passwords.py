"""Teacher passwords, hashed with Argon2id (RFC 9106).

Argon2id is memory-hard, so a stolen ``teachers`` table is expensive to brute-force on
GPUs; argon2-cffi's defaults are RFC 9106's "low memory" profile (64 MiB, 3 passes, 4
lanes), about 50 ms per hash on a server core. Hashing runs in a worker thread so the event
loop keeps serving other requests meanwhile, and at most ``HASH_CONCURRENCY`` hashes run at
once per process (the others wait their turn): a burst of sign-ins costs 64 MiB per hash
in flight, so without a bound 80 parallel sign-ins took a server past 1.2 GB.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["HASH_CONCURRENCY", "MAX_PASSWORD_LENGTH", "PasswordPolicyError",
           "check_password_policy", "hash_password", "verify_password"]

HASH_CONCURRENCY = 2  # 128 MiB of Argon2 memory at most, and one hash per core of a 2-core box
_T = TypeVar("_T")
# One limiter per event loop (an anyio limiter belongs to the loop that made it).
_slots: dict[asyncio.AbstractEventLoop, CapacityLimiter] = {}

MAX_PASSWORD_LENGTH = 1024  # longer inputs only cost hashing time, never add security
_HASHER = PasswordHasher()
# Verified when the username is unknown, so a miss costs as long as a wrong password and
# response times do not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("markbook-timing-equaliser")


async def _hashing(func: Callable[..., _T], *args: object) -> _T:
    """Run ``func(*args)`` in a worker thread once one of the hashing slots is free."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        for stale in [other for other in _slots if other.is_closed()]:
            del _slots[stale]
        slots = _slots[loop] = CapacityLimiter(HASH_CONCURRENCY)
    return await to_thread.run_sync(func, *args, limiter=slots)


class PasswordPolicyError(ValueError):
    """The password is empty, too short or too long; the message says which."""


def check_password_policy(password: str, min_length: int) -> None:
    """Refuse passwords that are obviously weak or abusive.

    Args:
        password: the candidate password.
        min_length: the configured minimum (``auth.min_password_length``).

    Raises:
        PasswordPolicyError: empty, shorter than ``min_length`` or over 1024 characters.
    """
    if not password or not password.strip():
        raise PasswordPolicyError("the password is empty")
    if len(password) < min_length:
        raise PasswordPolicyError(f"the password is too short: use at least {min_length} "
                                  "characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")


async def hash_password(password: str) -> str:
    """Hash a password (Argon2id, random salt) off the event loop.

    Args:
        password: the plain password.

    Returns:
        The PHC-format hash string to store in ``teachers.password_hash``.
    """
    return await _hashing(_HASHER.hash, password)


def _verify(stored: str | None, password: str) -> tuple[bool, bool]:
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored is None:
        return False, False
    return True, _HASHER.check_needs_rehash(stored)


async def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """Check a password against a stored hash, in constant-ish time.

    Args:
        stored: the stored hash; ``None`` (unknown user, or an account without a password
            such as the in-process ``local`` teacher) never matches but still costs a hash.
        password: the password offered.

    Returns:
        ``(ok, needs_rehash)``: whether it matches, and whether the stored hash uses weaker
        parameters than today's and should be replaced.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, False
    return await _hashing(_verify, stored, password)
