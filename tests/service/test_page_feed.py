"""What the runner hands its page workers: a page reference (the worker reads the stored
file) rather than the pixels, the worksheets pickled once, and a page the worker cannot
read failing the job as a damaged file, the pages read before it kept."""

from __future__ import annotations

import dataclasses
import io
import pickle
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import ocr.ingest
from ocr.errors import CorruptFile
from ocr.ingest import IngestLimits, PageImage, PageSource
from service.config import Settings
from service.inprocess import inprocess_client
from service.jobs import pagefeed
from service.jobs.pagefeed import PageRef, Parcel, pack_bundles, read_item
from service.jobs.runner import InProcessRunner
from tests.support.scans import class_and_sheet, scanned_stack

on_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class Recording(ThreadPoolExecutor):
    """A one-thread pool that keeps what each page task was given."""

    def __init__(self) -> None:
        super().__init__(1)
        self.sent: list[tuple[Any, ...]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if fn is read_item:
            self.sent.append(args)
        return super().submit(fn, *args, **kwargs)


def _settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"executor": "thread", "workers": 1, "run_in_app": False})


async def _run(tmp_path: Path, db_url: str, body: bytes, content_type: str,
               pool: ThreadPoolExecutor) -> tuple[dict[str, Any], int]:
    settings = _settings(tmp_path, db_url)
    async with inprocess_client(settings) as api:
        sheet = await class_and_sheet(api, students=2, questions=3)
        stack = await scanned_stack(api, sheet, real=False)
        if content_type == "application/zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("class.pdf", stack.pdf)
            body = buf.getvalue()
        else:
            body = stack.pdf
        r = await api.post("/api/v1/scans", content=body, headers={"content-type": content_type})
        assert r.status_code == 202, r.text
        app = api._transport.app  # type: ignore[attr-defined]
        runner = InProcessRunner(settings, app.state.session_factory, app.state.storage,
                                 executor=pool)
        assert await runner._loop_once_for_tests()
        await runner.stop()
        return (await api.get(f"/api/v1/jobs/{r.json()['job_id']}")).json(), len(stack.pages)


@on_sqlite
async def test_a_pdf_goes_to_the_workers_as_page_references(tmp_path: Path,
                                                            db_url: str) -> None:
    pool = Recording()
    job, pages = await _run(tmp_path, db_url, b"", "application/pdf", pool)
    assert job["status"] == "done", job
    assert job["pages_done"] == pages
    items = [args[0] for args in pool.sent]
    assert all(isinstance(item, PageRef) for item in items), items
    assert {item.index for item in items} == set(range(pages))
    # The worksheets went pickled, once before the sheet was sanctioned (none) and once
    # after: not once per page.
    parcels = {args[2].key: args[2] for args in pool.sent}
    assert len(parcels) <= 2 < pages
    assert any(pickle.loads(p.data) for p in parcels.values())


@on_sqlite
async def test_a_zip_s_pages_are_read_by_the_runner(tmp_path: Path, db_url: str) -> None:
    pool = Recording()
    job, pages = await _run(tmp_path, db_url, b"", "application/zip", pool)
    assert job["status"] == "done", job
    assert job["pages_done"] == pages
    assert all(isinstance(args[0], PageImage) for args in pool.sent)


@on_sqlite
async def test_a_page_a_worker_cannot_read_fails_the_job_as_damaged(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = ocr.ingest._read_pdf_page

    def damaged_second_page(doc: Any, i: int, limits: IngestLimits) -> PageImage:
        if i == 1:  # passed the upload's checks, cannot be decoded (a truncated stream)
            raise CorruptFile(f"page {i + 1} cannot be read (injected)")
        return real(doc, i, limits)

    monkeypatch.setattr(ocr.ingest, "_read_pdf_page", damaged_second_page)
    job, pages = await _run(tmp_path, db_url, b"", "application/pdf", ThreadPoolExecutor(1))
    assert job["status"] == "partially_done", job
    assert job["error"] == "corrupt_file: page 2 cannot be read (injected)"
    # As when the runner read the file itself: the job stops at the damaged page, and the
    # pages the workers had already read before it (page 1, at least) are kept.
    assert 1 <= job["pages_done"] < pages


def test_read_item_reads_the_page_and_unpickles_the_worksheets_once(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "s.tif"
    frames = [Image.new("L", (300, 400), 200 + 20 * i) for i in range(2)]
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:])
    bundles = {7: {"layout": "a sheet"}}
    parcel = pack_bundles(bundles)
    assert parcel == pack_bundles(dict(bundles))  # named by content
    assert parcel.key != pack_bundles({7: {"layout": "another"}}).key
    seen: list[Any] = []

    def work(page: PageImage, got: dict[int, Any], extra: str) -> Any:
        seen.append((page.index, int(page.image[0, 0]), got, extra))
        return _Result({"read": 1.0})

    out = read_item(PageRef(str(path), 1, IngestLimits()), work, parcel, "x")
    read_item(PageRef(str(path), 0, IngestLimits()), work, parcel, "x")
    assert [(i, px, extra) for i, px, _, extra in seen] == [(1, 220, "x"), (0, 200, "x")]
    assert seen[0][2] == bundles
    assert seen[0][2] is seen[1][2]  # unpickled the first time only
    assert set(out.timings_ms) == {"ingest", "read"}
    assert out.timings_ms["ingest"] >= 0
    # A page already read (a ZIP's) passes through, its timings left to the runner.
    source = PageSource(path)
    image = source.page(0)
    source.close()
    assert read_item(image, work, parcel, "x").timings_ms == {"read": 1.0}


def test_the_worker_keeps_a_few_jobs_worksheets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagefeed, "_parcels", type(pagefeed._parcels)())
    parcels = [pack_bundles({i: i}) for i in range(pagefeed._PARCELS_KEPT + 3)]
    for p in parcels:
        pagefeed._unpack(p)
    assert list(pagefeed._parcels) == [p.key for p in parcels[3:]]
    last = len(parcels) - 1
    assert pagefeed._unpack(Parcel(parcels[-1].key, b"not read again")) == {last: last}


@dataclasses.dataclass(frozen=True)
class _Result:
    timings_ms: dict[str, float]
