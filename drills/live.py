"""What the drills share: a real markbook process started on a fresh data folder, its page
workers found through /proc, and the database counted afterwards."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

__all__ = ["PASSWORD", "ROOT", "Server", "count_grades", "free_port", "page_workers"]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "drill password 2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_workers(pid: int) -> list[int]:
    """The page worker processes of the server ``pid``: its direct children started by
    multiprocessing's spawn (not its resource tracker, which reads no page)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            out.append(int(entry.name))
    return out


class Server:
    """``markbook serve`` (or, with ``command``, another markbook process) as a child."""

    def __init__(self, env: dict[str, str], port: int, log: Path,
                 command: list[str] | None = None) -> None:
        self.env, self.port, self.log = env, port, log
        self.command = command
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = self.command or ["serve", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "service.cli", *argv],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if self.command:  # a worker serves no HTTP: it is up once started
            return
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz/ready",
                             timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the server did not become ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


async def count_grades(db_url: str, upload_ids: Sequence[int]) -> tuple[int, int, int]:
    """What the database holds for these uploads: (pages stored, current grades on them,
    answers with more than one current grade anywhere)."""
    from sqlalchemy import bindparam, text

    from service.db.engine import create_engine

    ids = {"u": list(upload_ids)}
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            pages = (await conn.execute(text(
                "SELECT count(*) FROM pages WHERE upload_id IN :u").bindparams(
                bindparam("u", expanding=True)), ids)).scalar()
            current = (await conn.execute(text(
                "SELECT count(*) FROM grades g JOIN responses r ON r.id = g.response_id "
                "JOIN pages p ON p.id = r.page_id WHERE p.upload_id IN :u "
                "AND g.is_current").bindparams(bindparam("u", expanding=True)), ids)).scalar()
            twice = (await conn.execute(text(
                "SELECT count(*) FROM (SELECT r.student_id, r.question_id FROM grades g "
                "JOIN responses r ON r.id = g.response_id WHERE g.is_current "
                "GROUP BY r.student_id, r.question_id HAVING count(*) > 1) AS d"))).scalar()
    finally:
        await engine.dispose()
    return int(pages or 0), int(current or 0), int(twice or 0)
