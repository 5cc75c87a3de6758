"""Stopping the app's background loops without cutting a database call in half."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["stop_gracefully"]


async def stop_gracefully(task: asyncio.Task[None], grace_seconds: float = 5.0) -> None:
    """Wait for a loop that has been told to stop; cancel it only if it overruns.

    Cancelling a task in the middle of a query leaves its pooled connection to be rolled
    back by the garbage collector after the loop is gone, which prints a traceback at
    shutdown (and, on SQLite, can lose the rollback). The loops check their stop flag
    between passes, so normally they end on their own within one short pass.

    Args:
        task: the loop's task; its stop flag must already be set.
        grace_seconds: how long a pass in flight may take to finish.
    """
    done, _ = await asyncio.wait({task}, timeout=grace_seconds)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
