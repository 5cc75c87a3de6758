"""Start-up's objects kept out of the garbage collector's full passes.

A web process holds a few hundred thousand objects made at start-up (modules, the app and
its routes, SQLAlchemy's mappers and compiled statements) that live as long as it does. A
full collection walks every one of them: on the two-core box that paused the event loop
for about 150 ms, a few times a minute under a class's uploads, and every request in
flight waited for it (it was often the slowest acknowledgement of a wave). :func:`settle`
moves them, once start-up is done, to a generation the collector never walks; what
requests make is collected as before (a full pass then takes about 15 ms).

Only served processes do it (``markbook serve`` and its web processes): a process that
builds many apps (the test suite) would otherwise keep every app's reference cycles for
good.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> int:
    """Collect what start-up left behind, then freeze the rest.

    Returns:
        How many objects are frozen now.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
