"""Browser tests: a real ``markbook serve`` on a free loopback port, driven by Debian's
chromium through Playwright (launched by its path: no browser download).

Fixtures:
    server: the running service (one for the browser tests), with a fresh data directory, its own
        secret key and an admin (``server.username`` / ``server.password``).
    browser: headless chromium from ``/usr/bin/chromium`` (``MARKBOOK_CHROMIUM`` to point
        elsewhere). Without it, or without the ``playwright`` package, browser tests skip,
        unless ``MARKBOOK_REQUIRE_SERVICES=1`` (CI), where they fail.
    page: a fresh browser context and page on the server. Every request to another host is
        aborted and recorded, and the test fails at teardown if there was one (pages must
        work offline); so does an uncaught script error, or a message key rendered in
        place of its translation (``[[msgid]]``) in any page the test loaded.
    teacher: ``page`` signed in as the admin (``sign_in(page, server)`` does it by hand).
    server_api: ``with server_api(server) as c:`` the server's JSON API as the admin.
    screenshot: ``screenshot(page, "name")`` saves ``docs/screenshots/name.png`` when
        ``MARKBOOK_SCREENSHOTS=1``, and does nothing otherwise (so a test run does not
        rewrite the committed images).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REQUIRE_SERVICES, service_missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MARKBOOK_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT_DIR = REPO / "docs" / "screenshots"
# One size for every screenshot: a laptop screen.
VIEWPORT = {"width": 1280, "height": 800}
START_TIMEOUT_S = 60.0
# A message key rendered instead of its text (the web layer's marker for a missing one).
UNTRANSLATED = re.compile(r"\[\[[^\]]*\]\]")
# Everything on the page a person reads: the visible text, the title, and the text held in
# attributes (placeholders, labels, tooltips, button captions).
_VISIBLE_TEXT_JS = """() => {
  const parts = [document.title, document.body ? document.body.innerText : ""];
  const attrs = ["placeholder", "aria-label", "title", "alt"];
  for (const el of document.querySelectorAll("[placeholder],[aria-label],[title],[alt]")) {
    for (const a of attrs) { const v = el.getAttribute(a); if (v) parts.push(v); }
  }
  for (const el of document.querySelectorAll(
      "input[type=submit],input[type=button],input[type=reset]")) {
    if (el.value) parts.push(el.value);
  }
  return parts.join("\\n");
}"""
# Installed in every document: reports the page's text when it has loaded, so a page the
# test only passed through is checked too.
_REPORT_ON_LOAD_JS = ('window.addEventListener("load", () => {\n'
                      f"  window.__markbookLoaded(location.href, ({_VISIBLE_TEXT_JS})());\n"
                      "});")


@dataclass(frozen=True)
class Server:
    """A running ``markbook serve`` and the admin created on it."""

    url: str
    host: str
    port: int
    data_dir: Path
    username: str
    password: str


@dataclass
class PageWatch:
    """What the page fixture saw: requests to other hosts, script errors, message keys."""

    origin: str
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)

    def check_text(self, where: str, text: str) -> None:
        keys = UNTRANSLATED.findall(text)
        if keys:
            self.untranslated.append(f"{where}: {sorted(set(keys))}")


def import_playwright() -> ModuleType:
    """``playwright.sync_api`` for a test module; without the package the module is
    skipped, or fails to collect under ``MARKBOOK_REQUIRE_SERVICES=1`` (CI)."""
    try:
        return importlib.import_module("playwright.sync_api")
    except ImportError:
        if REQUIRE_SERVICES:
            pytest.fail("the playwright package is required (MARKBOOK_REQUIRE_SERVICES=1) but "
                        "not installed (make installs it from the dev lock)", pytrace=False)
        pytest.skip("the playwright package is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _service_env(data_dir: Path) -> dict[str, str]:
    """The environment for the service's processes: none of the caller's ``MARKBOOK_*``
    settings (a developer's database URL must not be used), a fresh data directory."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MARKBOOK_") or k == "MARKBOOK_CJK_FONT"}
    env.update({
        "MARKBOOK_DATA_DIR": str(data_dir),
        "MARKBOOK_SECRET_KEY": secrets.token_urlsafe(48),
        "MARKBOOK_JOBS__WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``/healthz/ready`` until it answers 200, the process dies, or the deadline."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"markbook serve exited with {proc.returncode}:\n{_log_tail(log)}")
            try:
                r = http.get(f"{url}/healthz/ready")
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)  # the poll interval, not a wait for something to happen
    pytest.fail(f"markbook serve not ready within {START_TIMEOUT_S:g} s ({last}):\n"
                f"{_log_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _create_admin(env: dict[str, str], username: str, password: str) -> None:
    r = subprocess.run([sys.executable, "-m", "service.cli", "admin", "create",
                        "--username", username, "--password-stdin"],
                       input=password, capture_output=True, text=True, env=env, cwd=REPO,
                       timeout=120, check=False)
    assert r.returncode == 0, f"admin create failed ({r.returncode}): {r.stderr}"


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless chromium (Debian's), driven by Playwright; one for the browser tests."""
    if not CHROMIUM.exists():
        service_missing(f"chromium at {CHROMIUM} (apt-get install chromium)")
    pw = import_playwright().sync_playwright().start()
    try:
        # Root (CI, containers) cannot use chromium's sandbox.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        pw.stop()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``markbook serve`` on a free loopback port, ready, with an admin account."""
    data_dir = tmp_path_factory.mktemp("browser-server")
    env = _service_env(data_dir)
    host, port = "127.0.0.1", _free_port()
    url = f"http://{host}:{port}"
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--host", host,
                                 "--port", str(port), "--log-level", "warning"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    try:
        _wait_ready(url, proc, log)
        username, password = "admin", secrets.token_urlsafe(16)
        _create_admin(env, username, password)
        yield Server(url=url, host=host, port=port, data_dir=data_dir, username=username,
                     password=password)
    finally:
        _stop(proc)


def watched_context(browser: Browser, server: Server) -> tuple[BrowserContext, PageWatch]:
    """A fresh context (no cookies), in Chinese, that lets requests reach the server only
    and reports every page's text when it loads; the caller closes it."""
    watch = PageWatch(origin=f"{server.host}:{server.port}")
    context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")

    def only_the_server(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc == watch.origin:
            route.continue_()
        else:
            watch.blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", only_the_server)
    context.expose_function("__markbookLoaded", watch.check_text)
    context.add_init_script(_REPORT_ON_LOAD_JS)
    context.on("weberror", lambda error: watch.errors.append(str(error.error)))
    return context, watch


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page on the server, with the offline, script-error and translation checks."""
    context, watch = watched_context(browser, server)
    try:
        p = context.new_page()
        yield p
        if not p.is_closed():  # the page as the test left it, after any later changes
            watch.check_text(p.url, p.evaluate(_VISIBLE_TEXT_JS))
    finally:
        context.close()
    assert not watch.blocked, f"requests to hosts other than the server: {watch.blocked}"
    assert not watch.errors, f"uncaught script errors: {watch.errors}"
    assert not watch.untranslated, f"untranslated message keys shown: {watch.untranslated}"


@contextlib.contextmanager
def server_api(server: Server) -> Iterator[httpx.Client]:
    """A client of the server's JSON API signed in as its admin (bearer token): for setting
    up what a test needs besides the pages it drives."""
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/api/v1/auth/token", data={"username": server.username,
                                               "password": server.password})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


def sign_in(page: Page, server: Server) -> None:
    """Sign ``page`` in as the server's admin with the keyboard, landing on home."""
    page.goto("/login")
    page.locator("input[name=username]").fill(server.username)
    page.locator("input[name=password]").fill(server.password)
    page.locator("input[name=password]").press("Enter")
    page.get_by_test_id("home").wait_for()


@pytest.fixture
def teacher(page: Page, server: Server) -> Page:
    """``page``, signed in as the server's admin (a teacher who may do everything)."""
    sign_in(page, server)
    return page


def assert_translated(page: Page) -> None:
    """Fail now if the page shows a message key in place of its translation."""
    keys = UNTRANSLATED.findall(page.evaluate(_VISIBLE_TEXT_JS))
    assert not keys, f"{page.url} shows untranslated message keys: {sorted(set(keys))}"


@pytest.fixture
def screenshot() -> Callable[[Page, str], Any]:
    """``screenshot(page, name, full_page=True)``: docs/screenshots/<name>.png, when
    MARKBOOK_SCREENSHOTS=1 (``full_page=False``: the viewport only)."""
    enabled = os.environ.get("MARKBOOK_SCREENSHOTS") == "1"

    def take(page: Page, name: str, *, full_page: bool = True) -> Path | None:
        if not enabled:
            return None
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
