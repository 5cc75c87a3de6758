"""Which upload work runs on the event loop and which goes to a thread
(``service.ingestion._keep_soon``, ``LocalStorage.spool``): small single files on the loop,
ZIPs, large files and a PDF while pdfium is busy on a thread."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ocr.pdfium_lock import PDFIUM
from service import ingestion, storage
from service.config import Settings
from service.storage import WRITE_BATCH, LocalStorage
from service.uploads import ReceivedFile


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions sent to a thread."""
    sent: list[str] = []
    assert ingestion.to_thread is storage.to_thread  # anyio's module, shared
    real = ingestion.to_thread.run_sync

    async def run_sync(fn: Any, *args: Any, **kw: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kw)

    monkeypatch.setattr(ingestion.to_thread, "run_sync", run_sync)
    return sent


async def _body(data: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), chunk):
        yield data[i:i + chunk]


async def _spooled(store: LocalStorage, data: bytes, name: str) -> ReceivedFile:
    path, blob = await store.spool(_body(data), 50 * WRITE_BATCH)
    return ReceivedFile(path, blob.size, blob.sha256, name, "")


def blank_pdf() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (600, 800), 255).save(buf, "PDF", resolution=100)
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (400, 300), 255).save(buf, "PNG")
    return buf.getvalue()


async def test_a_small_scan_is_spooled_and_checked_on_the_loop(tmp_path: Path,
                                                               hops: list[str]) -> None:
    store, settings = LocalStorage(tmp_path / "files"), Settings(data_dir=tmp_path / "var")
    for data, name in ((blank_pdf(), "a.pdf"), (_png(), "a.png")):
        received = await _spooled(store, data, name)
        _, pages, key = await ingestion._keep_soon(received, settings, store)
        assert pages == 1
        assert store.path(key).read_bytes() == data
    assert hops == []


async def test_a_zip_a_large_file_and_a_busy_pdfium_go_to_a_thread(tmp_path: Path,
                                                                   hops: list[str]) -> None:
    store, settings = LocalStorage(tmp_path / "files"), Settings(data_dir=tmp_path / "var")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("p1.png", _png())
    received = await _spooled(store, buf.getvalue(), "photos.zip")
    assert (await ingestion._keep_soon(received, settings, store))[0] == "zip"
    assert hops == ["_keep"]  # the ZIP was unpacked on a thread

    hops.clear()
    big = _png() + b"\0" * (ingestion.ON_LOOP_BYTES + 1)  # a PNG with trailing bytes
    received = await _spooled(store, big, "big.png")
    # More than one write batch: the batch and the rest are written on a thread.
    assert hops == ["write", "write"]
    await ingestion._keep_soon(received, settings, store)
    assert hops == ["write", "write", "_keep"]

    hops.clear()
    held, release = threading.Event(), threading.Event()

    def hold_pdfium() -> None:
        with PDFIUM:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_pdfium)
    holder.start()
    held.wait(10)
    try:
        received = await _spooled(store, blank_pdf(), "b.pdf")
        pending = asyncio.create_task(ingestion._keep_soon(received, settings, store))
        await asyncio.sleep(0.2)  # the loop goes on: the check waits for pdfium on a thread
        assert not pending.done()
        release.set()
        assert (await pending)[1] == 1
    finally:
        release.set()
        holder.join()
    assert hops == ["_keep"]
