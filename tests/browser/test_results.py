"""Results and the student page in a real browser, on graded data.

A class, roster and worksheet are made through the running server's API with a bearer
token; the scanned pages and their answers are stored in the server's own database as
``tests.support.review.seed_page`` stores them (real graders, the pipeline's grade rows),
and mastery and the error-book entries are brought in line with them by the pipeline's own
``sync_answers``. Then the teacher opens the results (colour-coded table, accuracy, who has
not handed in), downloads the CSV, opens a student's page and downloads their error book.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest
from PIL import Image

from service.actor import Actor
from service.db import ScanUploadRow
from service.db.engine import create_engine, make_session_factory
from service.mastery.sync import sync_answers
from service.storage import LocalStorage
from tests.browser.conftest import Server, assert_translated, import_playwright
from tests.support.review import QIDS, ROOT, Read, Sheet, seed_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

_run = itertools.count(1)


class _ServerApp(httpx.AsyncHTTPTransport):
    """A transport to the running server that also carries what ``seed_page`` needs from
    an app (``app.state``: the server's database, its file storage and the teacher)."""

    def __init__(self, state: SimpleNamespace) -> None:
        super().__init__()
        self.app = SimpleNamespace(state=state)


@dataclass(frozen=True)
class Graded:
    """A graded class on the server: 王 perfect, 李 two wrong and one doubtful, 赵 one
    unreadable and one blank, 张 handed nothing in."""

    sheet: Sheet
    class_name: str
    title: str
    names: dict[str, str]  # short name -> the unique name on the server


def _png(tag: str) -> bytes:
    rng = np.random.default_rng(int(hashlib.sha256(tag.encode()).hexdigest()[:8], 16))
    img = np.full((300, 200), 235, dtype=np.uint8)
    img[rng.integers(0, 300, 40), rng.integers(0, 200, 40)] = 0
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


async def _seed(server: Server) -> Graded:
    n = next(_run)
    tag = f"{os.getpid()}-{n}"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        r = await c.post("/api/v1/auth/token", data={"username": server.username,
                                                     "password": server.password})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = (await c.get("/api/v1/me", headers=headers)).json()
    url = f"sqlite+aiosqlite:///{(server.data_dir / 'markbook.db').resolve()}"
    engine = create_engine(url)
    state = SimpleNamespace(session_factory=make_session_factory(engine),
                            storage=LocalStorage(server.data_dir / "files"),
                            local_actor=Actor(teacher_id=me["id"], school_id=me["school_id"],
                                              is_admin=me["is_admin"]))
    try:
        async with httpx.AsyncClient(transport=_ServerApp(state), base_url=server.url,
                                     headers=headers, timeout=30) as api:
            bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
            bank["questions"] = [q for q in bank["questions"] if q["id"] in QIDS]
            assert (await api.post("/api/v1/questions:import", json=bank)).status_code == 200
            class_name, title = f"三年级({n})班·{tag}", f"口算练习 {tag}"
            r = await api.post("/api/v1/classes", json={"name": class_name, "grade": 3})
            assert r.status_code == 201, r.text
            cid = r.json()["id"]
            names = {short: f"{short}{n}" for short in ("王小明", "李华", "赵敏", "张伟")}
            r = await api.post(f"/api/v1/classes/{cid}/students", json=[
                {"student_no": f"{n:02d}{i:02d}", "name": names[short]}
                for i, short in enumerate(("王小明", "李华", "张伟", "赵敏"), start=1)])
            assert r.status_code == 201, r.text
            students = {s["name"]: s["id"] for s in r.json()["students"]}
            r = await api.post("/api/v1/worksheets", json={"title": title, "class_id": cid,
                                                           "question_ids": QIDS})
            assert r.status_code == 201, r.text
            sheet = Sheet(cid, r.json()["id"], students)
            data = _png(tag)
            digest = hashlib.sha256(data).hexdigest()
            key = f"uploads/results-test/{digest}.png"
            state.storage.put_bytes(key, data)
            async with state.session_factory() as s:
                row = ScanUploadRow(school_id=me["school_id"], teacher_id=me["id"],
                                    filename="stack.png", content_type="image/png",
                                    size_bytes=len(data), sha256=digest, storage_key=key,
                                    page_count=1)
                s.add(row)
                await s.commit()
                sheet.upload_id = row.id
            await seed_page(api, sheet, names["王小明"], {
                "m3-add-001": Read("85", crop=True), "m3-div-003": Read(blanks=("3", "2")),
                "m3-add-006": Read(marked=("B",)), "m3-word-001": Read("189")}, page_index=0)
            await seed_page(api, sheet, names["李华"], {
                "m3-add-001": Read("75"), "m3-div-003": Read(blanks=("3", "2")),
                "m3-add-006": Read(marked=("A",)),
                "m3-word-001": Read("189", confidence=0.6, alternatives=(("139", 0.35),))},
                page_index=1)
            await seed_page(api, sheet, names["赵敏"], {
                "m3-add-001": Read(status="unreadable", confidence=0.0),
                "m3-div-003": Read(blanks=("3", "2")), "m3-add-006": Read(status="blank")},
                page_index=2)
        async with state.session_factory() as s:
            await sync_answers(s, sheet.responses.values())
            await s.commit()
    finally:
        await engine.dispose()
    return Graded(sheet, class_name, title, names)


def seed_graded_class(server: Server) -> Graded:
    """:func:`_seed` on its own event loop, in a thread (Playwright's sync API owns this
    thread's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _seed(server)).result()


@pytest.fixture
def graded(server: Server) -> Graded:
    return seed_graded_class(server)


def _download(page: Page, testid: str, within: Any = None) -> Path:
    where = within if within is not None else page
    with page.expect_download(timeout=60_000) as info:
        where.get_by_test_id(testid).first.click()
    path = info.value.path()
    assert path is not None
    return Path(path)


def test_results_table_accuracy_hand_ins_and_csv(teacher: Page, graded: Graded,
                                                 screenshot: Callable[[Page, str], Any]) -> None:
    sheet = graded.sheet
    teacher.get_by_test_id("nav").get_by_role("link", name="成绩", exact=True).click()
    row = teacher.locator(f'[data-testid="results-worksheet"][data-worksheet-id="{sheet.worksheet_id}"]')
    expect(row.get_by_test_id("results-handed-in")).to_have_text("3/4 份")
    expect(row.get_by_test_id("results-mean")).to_have_text("7/7")
    assert_translated(teacher)
    row.get_by_test_id("results-open").click()
    expect(teacher).to_have_url(re.compile(rf"/worksheets/{sheet.worksheet_id}/results$"))
    table = teacher.get_by_test_id("results-table")
    expect(table).to_be_visible()
    li = table.locator(f'[data-testid="results-row"][data-student-id="{sheet.students[graded.names["李华"]]}"]')
    expect(li.locator("td.cell")).to_have_count(4)
    kinds = [li.locator("td.cell").nth(i).get_attribute("data-kind") for i in range(4)]
    assert kinds == ["wrong", "right", "wrong", "review"]
    expect(li.locator("td.cell").first).to_have_text("✗")
    # Colour-coded: a wrong cell and a right cell are painted differently.
    wrong_bg = li.locator("td.cell-wrong").first.evaluate("e => getComputedStyle(e).backgroundColor")
    right_bg = li.locator("td.cell-right").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert wrong_bg != right_bg
    expect(teacher.get_by_test_id("results-legend")).to_contain_text("待复核")
    missing = teacher.get_by_test_id("missing-student")
    expect(missing).to_have_count(1)
    expect(missing).to_contain_text(graded.names["张伟"])
    accuracy = teacher.get_by_test_id("accuracy-row")
    expect(accuracy).to_have_count(4)
    expect(accuracy.first.locator("svg.chart-bar")).to_be_visible()
    expect(accuracy.first).to_have_attribute("data-accuracy", "50%")
    expect(accuracy.first.get_by_test_id("common-wrong")).to_contain_text("75")
    assert_translated(teacher)
    screenshot(teacher, "results")

    csv = _download(teacher, "download-csv").read_bytes()
    assert csv.startswith("\ufeff".encode())
    text = csv.decode("utf-8-sig")
    assert graded.names["王小明"] in text
    assert "待复核" in text


def test_student_page_and_error_book_pdf(teacher: Page, graded: Graded,
                                         screenshot: Callable[[Page, str], Any]) -> None:
    sheet = graded.sheet
    li = sheet.students[graded.names["李华"]]
    teacher.goto(f"/worksheets/{sheet.worksheet_id}/results")
    teacher.get_by_test_id("results-table").get_by_role(
        "link", name=graded.names["李华"], exact=True).click()
    expect(teacher.get_by_test_id("student")).to_be_visible()
    expect(teacher).to_have_url(re.compile(rf"/students/{li}$"))
    expect(teacher.get_by_test_id("student-name")).to_contain_text(graded.names["李华"])
    expect(teacher.get_by_test_id("student-scores").locator("svg.chart-line")).to_be_visible()
    expect(teacher.get_by_test_id("student-mastery").locator("svg.chart-hbar")).to_be_visible()
    expect(teacher.get_by_test_id("count-open")).to_have_text("2")
    expect(teacher.get_by_test_id("entries-open").get_by_test_id("entry")).to_have_count(2)
    assert_translated(teacher)
    screenshot(teacher, "student")

    pdf = _download(teacher, "student-errorbook-pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
