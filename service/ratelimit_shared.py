"""Sign-in limits shared by every web process, in Redis (``limits.redis_url``).

The in-process limits (``service.ratelimit``) count per process: with several web
processes behind a balancer each sees a share of a brute-force attempt. With Redis
configured, the three failed-sign-in windows (username and address, username, address)
live in Redis sorted sets, and one Lua script checks all three and counts the attempt in
a single atomic step, so parallel attempts on any number of processes cannot pass the
check together.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from service.errors import TooManyRequests

__all__ = ["SharedSignInLimits", "redis_client"]

# KEYS: the windows; ARGV: now (ms), then per key its limit and window (ms), then a unique
# member. Returns 0 when counted, else the milliseconds until the fullest window frees.
_RESERVE = """
local now = tonumber(ARGV[1])
local member = ARGV[#ARGV]
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local free = tonumber(oldest[2]) + window - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


def redis_client(url: str) -> Any:
    """An asyncio Redis client for ``url`` (connections are made on first use)."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


class SharedSignInLimits:
    """The failed-sign-in limits of ``service.ratelimit.SignInLimits``, kept in Redis.

    Args:
        redis: an asyncio Redis client.
        count, window: ``auth.login_rate`` (per username and address).
        username_factor, address_factor: the other two windows as multiples of ``count``.
        prefix: the keys' namespace (one per installation sharing a Redis).
    """

    def __init__(self, redis: Any, count: int, window: float, *, username_factor: int,
                 address_factor: int, prefix: str = "markbook:signin") -> None:
        self.redis = redis
        self.window_ms = int(window * 1000)
        self.limits = (count, count * username_factor, count * address_factor)
        self.prefix = prefix
        self._last: dict[str, str] = {}

    def _keys(self, username: str, ip: str | None) -> list[str]:
        return [f"{self.prefix}:pair:{username}:{ip}", f"{self.prefix}:user:{username}",
                f"{self.prefix}:addr:{ip}"]

    async def reserve(self, username: str, ip: str | None) -> None:
        """Refuse if any window is full, else count this attempt in all three, atomically.

        Raises:
            TooManyRequests: ``rate_limited`` with ``Retry-After``.
        """
        keys = self._keys(username, ip)
        member = uuid.uuid4().hex
        args: list[Any] = [int(time.time() * 1000)]
        for limit in self.limits:
            args += [limit, self.window_ms]
        wait_ms = int(await self.redis.eval(_RESERVE, len(keys), *keys, *args, member))
        if wait_ms > 0:
            seconds = max(1, math.ceil(wait_ms / 1000))
            raise TooManyRequests(f"too many failed sign-ins; try again in {seconds} s",
                                  headers={"Retry-After": str(seconds)})
        self._last[f"{username}\0{ip}"] = member

    async def succeeded(self, username: str, ip: str | None) -> None:
        """Forget the username's failures and take this attempt back from the address."""
        pair, user, addr = self._keys(username, ip)
        member = self._last.pop(f"{username}\0{ip}", None)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(pair, user)
            if member is not None:
                pipe.zrem(addr, member)
            await pipe.execute()
