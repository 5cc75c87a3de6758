"""Worker processes never outlive the service that started them.

A spawned page worker holds its models (about half a gigabyte). When the service dies
without shutting its pool down (``kill -9``, the OOM killer, a crashed container runtime)
the workers are orphaned, and nothing would ever tell them to stop. :func:`exit_with_parent`,
called first thing in each worker, makes them go with their parent:

* on Linux, ``prctl(PR_SET_PDEATHSIG)``: the kernel signals the worker the moment its
  parent dies (no polling, nothing to run). The kernel's "parent" is the *thread* that
  started the worker, and a pool's workers are started by whichever thread first gives
  it work: a warm-up thread that then ends would take the workers with it. So the signal
  is one of the worker's own (``SIGUSR2``), whose handler exits only once the worker has
  been handed to another parent, i.e. the service process itself is gone; ``SIGTERM``
  keeps its usual meaning (the pool terminating a broken pool's workers, an operator);
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

__all__ = ["DEATH_SIGNAL", "POLL_S", "exit_with_parent"]

log = logging.getLogger(__name__)
POLL_S = 1.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


# The signal the kernel sends when the thread that started a worker ends: a signal of its
# own, so that a thread ending (not the process) can be told apart and ignored.
DEATH_SIGNAL = signal.SIGUSR2


def _linux_death_signal(parent: int) -> bool:
    """Ask the kernel for :data:`DEATH_SIGNAL` when our parent dies, and exit on it only
    when the parent process is gone. Returns whether the kernel agreed."""
    def parent_gone(_signum: int, _frame: object) -> None:
        if os.getppid() != parent:  # re-parented: the service process has died
            os._exit(0)  # nothing to flush, nobody to answer
        # Only the thread that started us ended; the kernel signals again when the next
        # thread (and at last the process) that is our parent goes.

    if threading.current_thread() is not threading.main_thread():
        return False  # a handler can only be set from the main thread: poll instead
    previous = signal.signal(DEATH_SIGNAL, parent_gone)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(DEATH_SIGNAL), 0, 0, 0) == 0:
            return True
    except (OSError, AttributeError):  # no libc symbol (e.g. an unusual libc): poll instead
        pass
    signal.signal(DEATH_SIGNAL, previous)
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
    if not (sys.platform.startswith("linux") and _linux_death_signal(parent)):
        threading.Thread(target=_watch, args=(parent,), name="markbook-orphan-watch",
                         daemon=True).start()
    if os.getppid() != parent:  # it died before we could ask to be told
        os._exit(0)
    return True
