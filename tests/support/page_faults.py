"""Fault injection for the page workers: page functions that kill their own process on one
page (a native segfault, an abort, an exit) or wait there to be killed from outside.

They run inside spawned page workers, so they are plain module-level functions, set up by
their arguments (bound with :func:`functools.partial`), never by state in the test.
"""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["HOW", "fault_then_read", "fault_value"]

HOW = ("segv", "abort", "exit", "wait")


def _fault(how: str, marker: str | None) -> None:
    if how == "segv":
        ctypes.string_at(0)  # a real native fault: reads address 0
    elif how == "abort":
        os.abort()
    elif how == "exit":
        os._exit(3)
    elif how == "wait":
        # Say where we are (the pid), then wait to be killed from outside.
        assert marker is not None
        Path(marker).write_text(str(os.getpid()))
        time.sleep(120)
    else:
        raise ValueError(how)


def fault_value(index: int, bad: int, how: str, marker: str | None = None) -> int:
    """A page function for the bare pool: ``index * 10``, except page ``bad``."""
    if index == bad:
        _fault(how, marker)
    time.sleep(0.05)
    return index * 10


def fault_then_read(page: Any, bundles: Any, *, bad: int, how: str,
                    marker: str | None = None, times: int = 1_000) -> Any:
    """``process_page`` of the runner, except that page ``bad`` faults (at most ``times``
    times: each fault is counted in ``marker + ".n"``)."""
    from service.jobs.pagework import process_page

    if page.index == bad and marker is not None:
        count = Path(marker + ".n")
        n = int(count.read_text()) if count.exists() else 0
        if n < times:
            count.write_text(str(n + 1))
            _fault(how, marker)
    elif page.index == bad:
        _fault(how, marker)
    return process_page(page, bundles)
