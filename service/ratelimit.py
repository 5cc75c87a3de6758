"""Small in-memory rate limits: failed logins, uploads, anything a route wants to cap.

A sliding-window log per key (the times of recent hits). State lives in the process: with
several web processes each enforces the limit on its own share of requests, which still
stops brute force and runaway copiers. The failed-sign-in limits move to Redis when
``limits.redis_url`` is set (``service.ratelimit_shared``), shared by every process.

Attach a limit to a route with :func:`limit_per_actor`::

    @router.post("/scans", dependencies=[Depends(limit_per_actor("uploads", upload_rate))])
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from service.actor import Actor
from service.api.security import authenticate
from service.config import Settings
from service.errors import TooManyRequests
from service.ratelimit_shared import SharedSignInLimits

__all__ = ["ADDRESS_FACTOR", "USERNAME_FACTOR", "RateLimiter", "SignInLimits",
           "limit_per_actor", "limiter", "sign_in_limits", "upload_rate"]


class RateLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds.

    Args:
        limit: hits allowed per window.
        window: the window in seconds.
        clock: a monotonic clock (tests pass a fake one).
        max_keys: keys remembered at most; the stalest are forgotten first, so a flood of
            distinct keys cannot exhaust memory.
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[Hashable, deque[float]] = {}

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def retry_after(self, key: Hashable) -> float | None:
        """Seconds until ``key`` may hit again, or ``None`` if it may now."""
        now = self._clock()
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return None
        return max(hits[0] + self.window - now, 0.0)

    def hit(self, key: Hashable) -> None:
        """Count one hit for ``key`` (whether or not it is over the limit)."""
        now = self._clock()
        hits = self._recent(key, now)
        if not hits:
            if len(self._hits) >= self._max_keys:
                # Dicts keep insertion order: the first keys are the longest untouched.
                for stale in list(self._hits)[: max(1, self._max_keys // 10)]:
                    del self._hits[stale]
            self._hits[key] = hits
        hits.append(now)

    def check(self, key: Hashable, what: str = "requests") -> None:
        """Refuse when ``key`` is at its limit.

        Raises:
            TooManyRequests: ``rate_limited`` with ``Retry-After`` in whole seconds.
        """
        wait = self.retry_after(key)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(f"too many {what}; try again in {seconds} s",
                                  headers={"Retry-After": str(seconds)})

    def take(self, key: Hashable, what: str = "requests") -> None:
        """:meth:`check`, then :meth:`hit`: the usual "count this request" step."""
        self.check(key, what)
        self.hit(key)

    def reset(self, key: Hashable) -> None:
        """Forget ``key``'s hits (e.g. failed logins after a successful one)."""
        self._hits.pop(key, None)

    def release(self, key: Hashable) -> None:
        """Take back ``key``'s latest hit (an attempt counted up front that turned out not
        to count, such as a successful sign-in)."""
        hits = self._hits.get(key)
        if hits:
            hits.pop()
            if not hits:
                del self._hits[key]


# How many failed sign-ins one username may take from all addresses together, and one
# address across all usernames, as multiples of ``auth.login_rate`` (which is per username
# and address): a forged or rotating address cannot reset the first, a sprayer trying many
# usernames from one address meets the second.
USERNAME_FACTOR = 3
ADDRESS_FACTOR = 5


@dataclass(frozen=True)
class SignInLimits:
    """The failed-sign-in limits: per username and address, per username, per address.

    :meth:`reserve` counts an attempt against all three before its password is hashed, so
    parallel attempts cannot all pass the check before any is counted; a successful one is
    then forgiven with :meth:`succeeded`.
    """

    pair: RateLimiter
    username: RateLimiter
    address: RateLimiter

    async def reserve(self, username: str, ip: str | None) -> None:
        """Refuse if any limit is reached, else count this attempt against each.

        Raises:
            TooManyRequests: ``rate_limited`` with ``Retry-After``.
        """
        # No await from the checks to the hits: on the event loop this is atomic.
        checks = ((self.pair, (username, ip)), (self.username, username),
                  (self.address, ip))
        for limits, key in checks:
            limits.check(key, "failed sign-ins")
        for limits, key in checks:
            limits.hit(key)

    async def succeeded(self, username: str, ip: str | None) -> None:
        """The attempt signed in: forget the username's failures, and take back this
        attempt from the address (a school behind one address signs many teachers in)."""
        self.pair.reset((username, ip))
        self.username.reset(username)
        self.address.release(ip)


def sign_in_limits(request: Request, count: int, window: float
                   ) -> SignInLimits | SharedSignInLimits:
    """The app's sign-in limits for ``auth.login_rate`` = ``count`` per ``window``: in
    Redis when ``limits.redis_url`` is set (shared by every web process), else in this
    process."""
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        return SharedSignInLimits(redis, count, window, username_factor=USERNAME_FACTOR,
                                  address_factor=ADDRESS_FACTOR)
    return SignInLimits(limiter(request, "login", count, window),
                        limiter(request, "login-username", count * USERNAME_FACTOR, window),
                        limiter(request, "login-address", count * ADDRESS_FACTOR, window))


def limiter(request: Request, bucket: str, limit: int, window: float) -> RateLimiter:
    """The app's limiter for ``bucket``, created on first use (re-created if the configured
    rate changed). Each app has its own, so tests never share counts.

    Args:
        request: any request of the app.
        bucket: a name such as ``"login"`` or ``"uploads"``.
        limit: hits per window.
        window: seconds.

    Returns:
        The limiter.
    """
    limiters: dict[str, RateLimiter] = request.app.state.__dict__.setdefault("limiters", {})
    current = limiters.get(bucket)
    if current is None or (current.limit, current.window) != (limit, window):
        current = limiters[bucket] = RateLimiter(limit, window)
    return current


def upload_rate(settings: Settings) -> tuple[int, float]:
    """``limits.uploads_per_minute`` as ``(count, seconds)``."""
    return settings.limits.uploads_per_minute, 60.0


def limit_per_actor(bucket: str, rate: Callable[[Settings], tuple[int, float]],
                    what: str = "requests") -> Callable[..., Awaitable[None]]:
    """A route dependency that counts each request against the caller (a teacher or a
    device: a device has its own budget, separate from its teacher's).

    Args:
        bucket: the limiter's name.
        rate: reads ``(count, window_seconds)`` from the settings.
        what: the noun in the 429 message ("uploads").

    Returns:
        A dependency for ``dependencies=[Depends(...)]``.
    """

    async def dependency(request: Request,
                         actor: Actor = Depends(authenticate)) -> None:  # noqa: B008
        settings: Settings = request.app.state.settings
        count, window = rate(settings)
        key: Any = ("device", actor.device_id) if actor.is_device else ("teacher",
                                                                         actor.teacher_id)
        limiter(request, bucket, count, window).take(key, what)

    return dependency
