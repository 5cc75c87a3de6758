"""Wait for something to happen, bounded by a deadline rather than a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


async def wait_until(check: Callable[[], Awaitable[T] | T], *, timeout_s: float,
                     what: str | Callable[[], str] = "the condition",
                     interval_s: float = 0.02) -> T:
    """Call ``check`` until it returns something truthy, and return that.

    A test waits only as long as the thing takes; ``timeout_s`` is a generous bound that
    turns a hang into a failure, never a claim about speed.

    Args:
        check: A function or coroutine function; polled every ``interval_s`` seconds.
        timeout_s: Give up after this many seconds (measured on the event loop's clock).
        what: What is awaited, for the failure message; a function is called at failure
            time, so it can describe the last state seen.
        interval_s: Pause between polls, so the awaited work gets the event loop.

    Raises:
        AssertionError: ``check`` stayed falsy past the deadline.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() >= deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"not within {timeout_s:g} s: {detail}")
        await asyncio.sleep(interval_s)
