"""The watched folder with what phones and copiers also leave there: a ZIP of scans and a
HEIC photo are uploaded and become jobs; a ZIP with a file that is not a scan, and a ZIP
bomb, go to ``failed/`` with the server's reason naming the problem."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pillow_heif
import pytest
from PIL import Image
from sqlalchemy import select

from service.config import Settings
from service.db import ScanUploadRow
from service.watch.files import _fallback_sniff
from service.watch.folder import FolderWatcher, Outcome, WatchOptions


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"run_in_app": False}, webhooks={"enabled": False},
                    limits={"max_upload_mb": 1})


def _image(fmt: str, grey: int) -> bytes:
    page = np.full((300, 200, 3), grey, np.uint8)
    page[10:50, 10:50] = 0
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.fromarray(page).save(out, format=fmt)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


async def _uploads(client: httpx.AsyncClient) -> list[tuple[str, str, int | None]]:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    async with app.state.session_factory() as s:
        rows = (await s.execute(select(ScanUploadRow.filename, ScanUploadRow.content_type,
                                       ScanUploadRow.page_count)
                                .order_by(ScanUploadRow.filename))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_zip_and_heic_dropped_in_the_folder(tmp_path: Path,
                                                  client: httpx.AsyncClient) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "class.zip").write_bytes(_zip({"p10.png": _image("PNG", 200),
                                           "p9.jpg": _image("JPEG", 180),
                                           "__MACOSX/._p9.jpg": b"\0\5\26\7"}))
    (drop / "IMG_0001.HEIC").write_bytes(_image("HEIF", 220))
    (drop / "mixed.zip").write_bytes(_zip({"p1.png": _image("PNG", 200),
                                           "minutes.txt": b"not a scan"}))
    (drop / "bomb.zip").write_bytes(_zip({"a.png": b"\0" * (2 * 2**20)}))
    report = await FolderWatcher(drop, client, WatchOptions(settle_s=0.02)).run_once()
    assert sorted(report[Outcome.UPLOADED]) == ["IMG_0001.HEIC", "class.zip"]
    assert sorted(report[Outcome.FAILED]) == ["bomb.zip", "mixed.zip"]
    assert await _uploads(client) == [("IMG_0001.HEIC", "image/heic", 1),
                                      ("class.zip", "application/zip", 2)]
    mixed = (drop / "failed" / "mixed.zip.reason.txt").read_text()
    assert "http_status: 415" in mixed
    assert '"mixed.zip/minutes.txt" (file 1)' in mixed
    bomb = (drop / "failed" / "bomb.zip.reason.txt").read_text()
    assert "http_status: 413" in bomb
    assert "error: limit_exceeded" in bomb
    assert "unpacked" in bomb


def test_the_slim_installs_sniffer_knows_zip_and_heic() -> None:
    assert _fallback_sniff(b"PK\x03\x04\x14\x00%PDF-1.7 stored first") == "zip"
    assert _fallback_sniff(b"\x00\x00\x00\x18ftypheic\x00\x00") == "heic"
    assert _fallback_sniff(b"junk%PDF-1.7") == "pdf"
    with pytest.raises(ValueError, match="ZIP"):
        _fallback_sniff(b"hello")
