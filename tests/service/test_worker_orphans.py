"""Worker processes never outlive the service: a real spawned pool, made by the runner's own
pool factory in a child process that is then killed with SIGKILL (as ``kill -9`` of the
server would), leaves no worker behind within a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from service.jobs.orphans import exit_with_parent

_SERVICE = textwrap.dedent("""
    import os, sys, threading, time
    from service.config import Settings
    from service.jobs.runner import InProcessRunner

    settings = Settings(data_dir=sys.argv[1], jobs={"executor": "process", "workers": 2})
    pool = InProcessRunner(settings, None, None)._pool()  # type: ignore[arg-type]

    def start():
        for f in [pool.submit(time.sleep, 0.5) for _ in range(4)]:  # both workers start
            f.result(timeout=300)

    if sys.argv[2] == "thread":  # started by a thread that then ends (a warm-up)
        starter = threading.Thread(target=start)
        starter.start()
        starter.join()
        time.sleep(1)  # the kernel signals the workers as that thread goes
        pool.submit(time.sleep, 0).result(timeout=60)  # the pool still works
    else:
        start()
    print(" ".join(map(str, sorted(set(pool._processes)))), flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


@pytest.mark.skipif(sys.platform != "linux", reason="checks /proc; the watch thread elsewhere")
@pytest.mark.parametrize("started_by", ["main", "thread"])
def test_workers_exit_when_the_service_is_killed(tmp_path: Path, started_by: str) -> None:
    """Started by the main thread, or by a thread that ended before the kill (as a pool
    warmed by a helper thread is): the workers live on with the service and go with it."""
    service = subprocess.Popen([sys.executable, "-c", _SERVICE, str(tmp_path / "var"),
                                started_by],
                               stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    try:
        assert service.stdout is not None
        line = service.stdout.readline()
        workers = [int(p) for p in line.split()]
        assert len(workers) == 2, line
        assert all(_alive(pid) for pid in workers)
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        assert left == [], f"workers outlived the killed service: {left}"
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()


def test_the_service_process_itself_is_never_tied_to_its_parent() -> None:
    # Thread mode runs the worker initializer inside the service: nothing may be set up.
    assert exit_with_parent() is False
