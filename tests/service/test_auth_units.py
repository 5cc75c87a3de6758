"""Pieces of access control without the app: rate limiter, rates, secret key, tokens,
passwords, policy."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.actor import Actor
from service.auth.passwords import (
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    verify_password,
)
from service.auth.tokens import TokenError, TokenSigner, load_secret_key
from service.config import Settings, parse_rate
from service.db import TeacherRow
from service.errors import TooManyRequests
from service.policy import visible
from service.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_slides_and_resets() -> None:
    clock = Clock()
    lim = RateLimiter(3, 60, clock=clock)
    for _ in range(3):
        lim.take("k")
    with pytest.raises(TooManyRequests) as info:
        lim.take("k")
    assert info.value.headers["Retry-After"] == "60"
    lim.check("other")  # keys are independent
    clock.now += 30
    assert lim.retry_after("k") == pytest.approx(30)
    clock.now += 30.5  # the oldest hits left the window
    lim.take("k")
    lim.reset("k")
    assert lim.retry_after("k") is None


def test_rate_limiter_forgets_stale_keys_when_full() -> None:
    lim = RateLimiter(1, 60, clock=Clock(), max_keys=10)
    for i in range(25):
        lim.hit(i)
    assert len(lim._hits) <= 10
    assert lim.retry_after(24) is not None  # the newest is remembered


@pytest.mark.parametrize(("text", "rate"), [("10/5min", (10, 300.0)), ("60/min", (60, 60.0)),
                                            ("100/1h", (100, 3600.0)), ("5/30s", (5, 30.0))])
def test_parse_rate(text: str, rate: tuple[int, float]) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "ten/min", "0/min", "10/0min", "10/5y", "10"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(text)
    with pytest.raises(ValidationError):
        Settings(auth={"login_rate": text})  # type: ignore[arg-type]


def test_secret_key_rules(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(secret_key="short")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="MARKBOOK_SECRET_KEY"):
        Settings(env="production")
    given = "k" * 40
    assert load_secret_key(Settings(secret_key=given, data_dir=tmp_path)) == given  # type: ignore[arg-type]
    assert not (tmp_path / "secret_key").exists()


def test_development_key_is_generated_once_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    first = load_secret_key(settings)
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_secret_key(settings) == first
    path.write_text("")
    with pytest.raises(RuntimeError, match="too short"):
        load_secret_key(settings)


def test_tokens_carry_teacher_and_version() -> None:
    signer = TokenSigner("s" * 48, timedelta(minutes=30))
    claims = signer.check(signer.mint(7, 3))
    assert (claims.teacher_id, claims.token_version) == (7, 3)
    token = signer.mint(7, 3)
    head, body, sig = token.split(".")
    with pytest.raises(TokenError):
        signer.check(f"{head}.{body}.{sig[:-2]}AA")
    import jwt

    none_alg = jwt.encode({"sub": "7", "ver": 3, "iss": "markbook", "typ": "access",
                           "iat": 0, "exp": 9999999999}, key="", algorithm="none")
    with pytest.raises(TokenError):
        signer.check(none_alg)


def test_a_kept_token_still_expires_and_a_tampered_one_is_not_kept() -> None:
    from datetime import UTC, datetime

    signer = TokenSigner("s" * 48, timedelta(minutes=30))
    # Valid for about 2 s (claims are in whole seconds): verified once, then kept.
    token = signer.mint(7, 3, now=datetime.now(UTC) - timedelta(minutes=30, seconds=-2))
    assert signer.check(token).teacher_id == 7
    assert signer.check(token).teacher_id == 7  # answered from what was kept
    head, body, sig = token.split(".")
    with pytest.raises(TokenError):  # a kept token's bytes changed: verified afresh
        signer.check(f"{head}.{body}.{sig[:-2]}AA")
    import time

    time.sleep(2.1)
    with pytest.raises(TokenError, match="expired"):
        signer.check(token)
    with pytest.raises(TokenError, match="expired"):  # and stays refused
        signer.check(token)


async def test_passwords() -> None:
    stored = await hash_password("a fine password")
    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, "a fine password") == (True, False)
    assert (await verify_password(stored, "another one"))[0] is False
    assert (await verify_password(None, "a fine password"))[0] is False
    assert (await verify_password(stored, "x" * 5000))[0] is False
    for bad in ("", "   ", "short"):
        with pytest.raises(PasswordPolicyError):
            check_password_policy(bad, 10)


def test_policy_fails_closed_for_models_without_a_rule() -> None:
    with pytest.raises(TypeError, match="no access rule for Teacher"):
        visible(TeacherRow, Actor(teacher_id=1, school_id=1))


async def test_at_most_two_password_hashes_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each Argon2 hash holds 64 MiB: a burst of sign-ins waits for a slot instead of
    # hashing all at once.
    import asyncio
    import threading
    import time

    from service.auth import passwords

    running = peak = 0
    lock = threading.Lock()

    def slow_verify(stored: str | None, password: str) -> tuple[bool, bool]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return False, False

    monkeypatch.setattr(passwords, "_verify", slow_verify)
    results = await asyncio.gather(*(passwords.verify_password(None, f"guess {i}")
                                     for i in range(12)))
    assert results == [(False, False)] * 12
    assert peak == passwords.HASH_CONCURRENCY == 2


def test_rate_limiter_release_takes_back_the_latest_hit() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    limiter.hit("school")
    limiter.hit("school")
    assert limiter.retry_after("school") is not None
    limiter.release("school")
    assert limiter.retry_after("school") is None
    limiter.release("school")
    limiter.release("school")  # nothing left: no error
    assert limiter.retry_after("school") is None
