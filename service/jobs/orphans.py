"""Worker processes never outlive the service that started them.

A spawned page worker holds its models (about half a gigabyte). When the service dies
without shutting its pool down (``kill -9``, the OOM killer, a crashed container runtime)
the workers are orphaned, and nothing would ever tell them to stop. :func:`exit_with_parent`,
called first thing in each worker, makes them go with their parent:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: the kernel signals the worker the moment
  its parent dies (no polling, nothing to run);
* elsewhere, a daemon thread that checks ``os.getppid()`` every second and exits when the
  parent changed.

Either way the worker also checks once that its parent is still the one that spawned it
(it may have died while the worker was starting). Only a process started by
``multiprocessing`` is affected: in thread mode the initializer runs inside the service
itself, and tying the service to *its* parent would be wrong.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

__all__ = ["POLL_S", "exit_with_parent"]

log = logging.getLogger(__name__)
POLL_S = 1.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _linux_death_signal() -> bool:
    """Ask the kernel for SIGTERM when our parent dies. Returns whether it agreed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0)
    except (OSError, AttributeError):  # no libc symbol (e.g. an unusual libc): poll instead
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent:
            os._exit(0)  # the parent is gone: nothing to flush, nobody to answer


def exit_with_parent() -> bool:
    """Make this worker process exit when the process that spawned it dies.

    Returns:
        Whether anything was set up (False outside a ``multiprocessing`` child).
    """
    parent_process = multiprocessing.parent_process()
    if parent_process is None or parent_process.pid is None:
        return False  # the service's own process (thread mode): leave it alone
    parent = parent_process.pid
    if not (sys.platform.startswith("linux") and _linux_death_signal()):
        threading.Thread(target=_watch, args=(parent,), name="markbook-orphan-watch",
                         daemon=True).start()
    if os.getppid() != parent:  # it died before we could ask to be told
        os._exit(0)
    return True
