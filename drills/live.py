"""What the drills share: a real markbook process started on a fresh data folder, its page
workers found through /proc, and the database counted afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

__all__ = ["PASSWORD", "ROOT", "Server", "count_grades", "drill_env", "free_port",
           "page_workers", "sign_in"]

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
                 command: list[str] | None = None, processes: int = 1) -> None:
        self.env, self.port, self.log = env, port, log
        self.command = command
        self.processes = processes
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = self.command or ["serve", "--port", str(self.port),
                                "--processes", str(self.processes)]
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


def drill_env(data: Path, db_url: str, broker_url: str | None, queue: str,
              settings: dict[str, str]) -> dict[str, str]:
    """The environment of a drill's markbook processes, on a fresh data folder whose
    database is migrated and holds the drill's admin account.

    Args:
        data: the data folder.
        db_url: the database's URL (a file in ``data`` for SQLite, or PostgreSQL).
        broker_url: run jobs on Celery over this broker, or None (in-process).
        queue: the Celery queue's name (one per drill run, so runs never share work).
        settings: the drill's own ``MARKBOOK_*`` settings.
    """
    env = {**os.environ, "MARKBOOK_DATA_DIR": str(data), "MARKBOOK_DB__URL": db_url,
           "MARKBOOK_SECRET_KEY": "drill-" + "k" * 40, "MARKBOOK_JOBS__WORKERS": "2",
           **settings}
    subprocess.run([sys.executable, "-m", "service.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "service.cli", "admin", "create", "--username",
                    "drill", "--password-stdin"], cwd=ROOT, env=env, check=True,
                   input=PASSWORD.encode(), capture_output=True)
    if broker_url:
        env.update({"MARKBOOK_JOBS__BACKEND": "celery", "MARKBOOK_JOBS__BROKER_URL": broker_url,
                    "MARKBOOK_JOBS__QUEUE": queue, "MARKBOOK_JOBS__RUN_IN_APP": "false"})
    return env


def sign_in(base: str) -> dict[str, str]:
    """The drill admin's authorisation header on the server at ``base``."""
    token = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": "drill", "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}
