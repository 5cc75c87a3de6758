"""``markbook serve --processes N`` (service.serving): web processes and the job runner as
children of one supervisor, against a real data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from drills.live import ROOT, free_port


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _serve(tmp_path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MARKBOOK_DATA_DIR": str(tmp_path / "data"),
           "MARKBOOK_JOBS__WORKERS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port",
                                 str(port), "--processes", "2"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _ready(port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("not ready")


def test_web_processes_share_the_port_and_a_dead_one_is_started_again(tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(tmp_path, port, tmp_path / "serve.log")
    try:
        _ready(port)
        children = _children(proc.pid)
        assert len(children) >= 3  # two web processes and the runner
        for _ in range(20):  # new connections, spread over the processes, all answered
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
                assert c.get("/healthz/live").status_code == 200
        os.kill(children[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_children(proc.pid)) < len(children):
            time.sleep(0.5)
        assert len(_children(proc.pid)) == len(children)
        _ready(port)
        # A second server on the same port is refused, not run beside it.
        other = subprocess.run([sys.executable, "-m", "service.cli", "serve", "--port",
                                str(port), "--processes", "2"], cwd=ROOT,
                               env={**os.environ, "MARKBOOK_DATA_DIR": str(tmp_path / "b")},
                               capture_output=True, text=True, timeout=120)
        assert other.returncode == 1
        assert "already answers" in other.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert _children(proc.pid) == []
