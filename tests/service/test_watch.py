"""The watched folder against the ingestion contract, served by an ``httpx.MockTransport``.

The mock answers like ``POST /api/v1/scans`` (202 / 4xx with ``{"error", "detail"}`` / 5xx /
a refused connection) so each failure mode can be injected; the end-to-end tests in
``test_watch_e2e.py`` run the same watcher against the real app.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.watch.folder import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_TEMPFAIL,
    LEDGER_NAME,
    FolderWatcher,
    Outcome,
    WatchOptions,
    exit_code,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FakeServer:
    """The scans endpoint's contract; ``script`` holds responses (or exceptions) to give
    before falling back to 202 with content-hash deduplication."""

    def __init__(self) -> None:
        self.script: list[int | Exception] = []
        self.requests: list[httpx.Request] = []
        self.jobs: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.path == "/api/v1/scans"
        assert request.method == "POST"
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            if step >= 400:
                codes = {400: "empty_file", 413: "file_too_large", 415: "unsupported_file",
                         422: "corrupt_file", 401: "unauthorized", 503: "not_ready"}
                return httpx.Response(step, json={"error": codes.get(step, "x"),
                                                  "detail": f"scripted {step}"})
        content = request.read()
        assert b'name="file"; filename="' in content
        sha = request.headers["idempotency-key"]
        duplicate = sha in self.jobs
        job = self.jobs.setdefault(sha, len(self.jobs) + 1)
        return httpx.Response(202, json={"job_id": job, "upload_id": job, "duplicate": duplicate,
                                         "pages": 1, "status_url": f"/api/v1/jobs/{job}"})


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
async def client(server: FakeServer) -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(server),
                                 base_url="http://markbook.test") as c:
        yield c  # type: ignore[misc]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_watcher(tmp_path: Path, client: httpx.AsyncClient,
                 clock: Clock) -> Callable[..., FolderWatcher]:
    def make(**opts: float) -> FolderWatcher:
        options = WatchOptions(**{"settle_s": 5.0, "retry_base_s": 10.0, **opts})
        return FolderWatcher(tmp_path, client, options, clock=clock)
    return make


async def settle(watcher: FolderWatcher, clock: Clock) -> dict[Outcome, list[str]]:
    """See the files, let the settle time pass unchanged, take them."""
    await watcher.poll()
    clock.t += 6
    return (await watcher.poll()).files


def ledger(folder: Path) -> dict[str, dict[str, object]]:
    files: dict[str, dict[str, object]] = json.loads((folder / LEDGER_NAME).read_text())["files"]
    return files


async def test_partially_written_file_waits_until_stable(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    w = make_watcher()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF[:10])
    assert (await w.poll())[Outcome.WAITING] == ["scan.pdf"]
    clock.t += 3
    with scan.open("ab") as fh:  # the copier is still writing
        fh.write(PDF[10:20])
    assert (await w.poll())[Outcome.WAITING] == ["scan.pdf"]
    clock.t += 4  # 4 s since the last change: not yet settled
    assert (await w.poll())[Outcome.WAITING] == ["scan.pdf"]
    with scan.open("ab") as fh:
        fh.write(PDF[20:])
    clock.t += 6
    assert (await w.poll())[Outcome.WAITING] == ["scan.pdf"]  # changed again: clock restarts
    assert server.requests == []
    assert scan.exists()
    clock.t += 5
    assert (await w.poll())[Outcome.UPLOADED] == ["scan.pdf"]
    assert (tmp_path / "processed" / "scan.pdf").read_bytes() == PDF


async def test_empty_file_is_never_taken(tmp_path: Path,
                                         make_watcher: Callable[..., FolderWatcher],
                                         clock: Clock, server: FakeServer) -> None:
    (tmp_path / "placeholder.pdf").write_bytes(b"")
    w = make_watcher()
    for _ in range(3):
        await w.poll()
        clock.t += 60
    assert server.requests == []
    assert (tmp_path / "placeholder.pdf").exists()


async def test_accepted_file_is_moved_and_recorded(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    (tmp_path / "class 3-1.pdf").write_bytes(PDF)
    (tmp_path / "page.png").write_bytes(PNG)
    got = await settle(make_watcher(), clock)
    assert sorted(got[Outcome.UPLOADED]) == ["class 3-1.pdf", "page.png"]
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == ["class 3-1.pdf",
                                                                          "page.png"]
    assert not (tmp_path / "class 3-1.pdf").exists()
    sent = server.requests[0]
    assert b'filename="class 3-1.pdf"' in sent.read()
    assert b"Content-Type: application/pdf" in sent.read()
    entry = ledger(tmp_path)[hashlib.sha256(PDF).hexdigest()]
    assert entry["job_id"] == 1
    assert entry["name"] == "class 3-1.pdf"


@pytest.mark.parametrize(("status", "code"), [(400, "empty_file"), (413, "file_too_large"),
                                         (415, "unsupported_file"), (422, "corrupt_file")])
async def test_rejected_file_goes_to_failed_with_reason(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer, status: int, code: str) -> None:
    server.script = [status]
    (tmp_path / "bad.pdf").write_bytes(PDF)
    got = await settle(make_watcher(), clock)
    assert got[Outcome.FAILED] == ["bad.pdf"]
    assert (tmp_path / "failed" / "bad.pdf").read_bytes() == PDF
    reason = (tmp_path / "failed" / "bad.pdf.reason.txt").read_text()
    assert f"error: {code}" in reason
    assert f"scripted {status}" in reason
    assert f"http_status: {status}" in reason
    assert "time: 20" in reason
    assert not (tmp_path / LEDGER_NAME).exists()


@pytest.mark.parametrize("failure", [503, 500, 401, 429,
                                     httpx.ConnectError("connection refused")])
async def test_server_trouble_leaves_file_and_retries_with_backoff(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer, failure: int | Exception) -> None:
    server.script = [failure, failure]
    (tmp_path / "a.pdf").write_bytes(PDF)
    (tmp_path / "b.pdf").write_bytes(PDF + b"b")
    w = make_watcher()
    got = await settle(w, clock)
    # The first failure stops the pass: b.pdf is not even tried against a down server.
    assert got[Outcome.DEFERRED] == ["a.pdf", "b.pdf"]
    assert len(server.requests) == 1
    assert (tmp_path / "a.pdf").exists()
    assert not (tmp_path / "failed").exists()
    clock.t += 9  # the first backoff is 10 s
    assert (await w.poll())[Outcome.DEFERRED] == ["a.pdf", "b.pdf"]
    assert len(server.requests) == 1
    clock.t += 2
    await w.poll()  # fails again: the wait doubles to 20 s
    assert len(server.requests) == 2
    clock.t += 15
    await w.poll()
    assert len(server.requests) == 2
    clock.t += 6
    got = (await w.poll()).files
    assert got[Outcome.UPLOADED] == ["a.pdf", "b.pdf"]
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == ["a.pdf", "b.pdf"]


async def test_copy_dropped_again_is_recognised_by_ledger(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    (tmp_path / "scan.pdf").write_bytes(PDF)
    w = make_watcher()
    await settle(w, clock)
    assert len(server.requests) == 1
    (tmp_path / "scan.pdf").write_bytes(PDF)  # the same scan saved again, same name
    (tmp_path / "scan copy.pdf").write_bytes(PDF)
    got = await settle(w, clock)
    assert sorted(got[Outcome.KNOWN]) == ["scan copy.pdf", "scan.pdf"]
    assert len(server.requests) == 1  # no re-upload
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == [
        "scan copy.pdf", "scan-1.pdf", "scan.pdf"]
    # A new watcher (a restart) reads the ledger from disk.
    (tmp_path / "again.pdf").write_bytes(PDF)
    got = await settle(make_watcher(), clock)
    assert got[Outcome.KNOWN] == ["again.pdf"]
    assert len(server.requests) == 1


async def test_name_clashes_never_overwrite(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    (tmp_path / "processed").mkdir()
    (tmp_path / "processed" / "scan.pdf").write_bytes(b"older scan")
    (tmp_path / "processed" / "scan-1.pdf").write_bytes(b"older scan 2")
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "notes.txt").write_bytes(b"older failure")
    (tmp_path / "scan.pdf").write_bytes(PDF)
    (tmp_path / "notes.txt").write_bytes(b"hello, not a scan")
    await settle(make_watcher(), clock)
    assert (tmp_path / "processed" / "scan.pdf").read_bytes() == b"older scan"
    assert (tmp_path / "processed" / "scan-1.pdf").read_bytes() == b"older scan 2"
    assert (tmp_path / "processed" / "scan-2.pdf").read_bytes() == PDF
    assert (tmp_path / "failed" / "notes.txt").read_bytes() == b"older failure"
    assert (tmp_path / "failed" / "notes-1.txt").read_bytes() == b"hello, not a scan"
    assert (tmp_path / "failed" / "notes-1.txt.reason.txt").exists()


async def test_non_scan_fails_without_upload(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    # (A ZIP, an Office file included, is the server's to judge file by file:
    # tests/service/test_watch_bundles.py.)
    (tmp_path / "report.pdf").write_bytes(b"<html>a web page named .pdf</html>")
    (tmp_path / "letter.docx").write_bytes(b"{\\rtf1 an old letter}")
    got = await settle(make_watcher(), clock)
    assert sorted(got[Outcome.FAILED]) == ["letter.docx", "report.pdf"]
    assert server.requests == []
    reason = (tmp_path / "failed" / "report.pdf.reason.txt").read_text()
    assert "error: unsupported_file" in reason
    assert "checked before upload" in reason


async def test_temp_names_and_subfolders_are_ignored(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    names = [".hidden.pdf", "scan.pdf.part", "SCAN.TMP", "~$scan.pdf"]
    for name in names:
        (tmp_path / name).write_bytes(PDF)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.pdf").write_bytes(PDF)
    got = await settle(make_watcher(), clock)
    assert all(not v for v in got.values())
    assert server.requests == []
    assert all((tmp_path / n).exists() for n in names)


async def test_run_once_and_exit_codes(tmp_path: Path, client: httpx.AsyncClient,
                                       server: FakeServer) -> None:
    opts = WatchOptions(settle_s=0.05)
    (tmp_path / "ok.pdf").write_bytes(PDF)
    report = await FolderWatcher(tmp_path, client, opts).run_once()
    assert report[Outcome.UPLOADED] == ["ok.pdf"]
    assert report[Outcome.WAITING] == []
    assert exit_code(report) == EXIT_OK
    (tmp_path / "bad.txt").write_bytes(b"plain text")
    report = await FolderWatcher(tmp_path, client, opts).run_once()
    assert exit_code(report) == EXIT_REJECTED
    server.script = [503]
    (tmp_path / "later.pdf").write_bytes(PDF + b"2")
    report = await FolderWatcher(tmp_path, client, opts).run_once()
    assert exit_code(report) == EXIT_TEMPFAIL
    assert (tmp_path / "later.pdf").exists()


async def test_corrupt_ledger_is_set_aside(tmp_path: Path,
                                           make_watcher: Callable[..., FolderWatcher],
                                           clock: Clock, server: FakeServer) -> None:
    (tmp_path / LEDGER_NAME).write_text("{not json")
    (tmp_path / "scan.pdf").write_bytes(PDF)
    got = await settle(make_watcher(), clock)
    assert got[Outcome.UPLOADED] == ["scan.pdf"]
    assert (tmp_path / (LEDGER_NAME + ".corrupt")).read_text() == "{not json"
    assert len(ledger(tmp_path)) == 1


async def test_unmovable_file_stays_and_the_pass_goes_on(
        tmp_path: Path, make_watcher: Callable[..., FolderWatcher], clock: Clock,
        server: FakeServer) -> None:
    (tmp_path / "failed").write_text("a file where the failed/ folder should be")
    (tmp_path / "a.txt").write_bytes(b"not a scan")
    (tmp_path / "b.pdf").write_bytes(PDF)
    got = await settle(make_watcher(), clock)
    assert got[Outcome.WAITING] == ["a.txt"]
    assert got[Outcome.UPLOADED] == ["b.pdf"]
    assert (tmp_path / "a.txt").exists()
