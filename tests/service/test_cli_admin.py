"""``markbook admin create``: a bootstrap admin from standard input, then a real sign-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from service.app import create_app
from service.config import Settings
from tests.support.samples import ROOT


def _admin(data: Path, stdin: str, *extra: str,
           username: str = "boss") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "MARKBOOK_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
           "HOME": str(data.parent)}
    return subprocess.run([sys.executable, "-m", "service.cli", "admin", "create",
                           "--username", username, *extra], input=stdin, env=env,
                          capture_output=True, text=True, timeout=180, cwd=data.parent)


async def test_admin_create_then_sign_in(tmp_path: Path) -> None:
    data = tmp_path / "var"
    r = _admin(data, "a long admin password\n", "--password-stdin", "--display-name", "校长")
    assert r.returncode == 0, r.stderr
    assert "created admin 'boss'" in r.stdout
    again = _admin(data, "a long admin password\n", "--password-stdin", username="BOSS")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr

    app = create_app(Settings(data_dir=data, jobs={"run_in_app": False}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        r2 = await c.post("/api/v1/auth/token",
                          data={"username": "boss", "password": "a long admin password"})
        assert r2.status_code == 200, r2.text
        me = await c.get("/api/v1/me", headers={
            "Authorization": f"Bearer {r2.json()['access_token']}"})
        assert me.json()["is_admin"] is True
        assert me.json()["display_name"] == "校长"
        wrong = await c.post("/api/v1/auth/token",
                             data={"username": "boss", "password": "a long admin password\n"})
        assert wrong.status_code == 401  # the newline was not part of the password


def test_admin_create_refuses_bad_input(tmp_path: Path) -> None:
    data = tmp_path / "var"
    for stdin, message in (("", "empty"), ("\n", "empty"), ("short\n", "too short")):
        r = _admin(data, stdin, "--password-stdin")
        assert r.returncode == 2, (stdin, r.stderr)
        assert message in r.stderr, (stdin, r.stderr)
        assert "Traceback" not in r.stderr
    r = _admin(data, "a long admin password\n")
    assert r.returncode == 2
    assert "--password-stdin" in r.stderr
    r = _admin(data, "a long admin password\n", "--password-stdin", username="bad name")
    assert r.returncode == 2
    assert "username" in r.stderr
