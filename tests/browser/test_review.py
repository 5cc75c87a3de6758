"""The review queue in a real browser, with the keyboard alone.

A class, roster and worksheet are made through the running server's API with a bearer
token; the scanned pages and their doubtful answers are then stored in the server's own
database exactly as ``tests.support.review.seed_page`` stores them (real graders, the
pipeline's grade rows), since no API creates read answers. Then a teacher clears 100
answers with Enter, 1 / 3 and a few typed corrections, while the test counts the keys and
the time; the stored verdicts are checked through the API.

Set ``MARKBOOK_REVIEW_FIGURES=path.json`` to keep the measured figures (the benchmark page
reads them).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from errorbook.printing.fonts import FontNotFoundError, find_cjk_font
from service.actor import Actor
from service.db import ResponseRow, ScanUploadRow
from service.db.engine import create_engine, make_session_factory
from service.storage import LocalStorage
from tests.browser.conftest import Server, assert_translated, import_playwright
from tests.support.review import QIDS, ROOT, Read, Sheet, seed_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

_run = itertools.count(1)
# Keys of the seeded questions: 37 + 48 = 85 (1 mark), 17 ÷ 5 = 3……2 (two blanks, 1 mark),
# choice B (2 marks), 189 本 (3 marks).
ITEMS = 100
MAX_SECONDS = 180.0


# ---------------------------------------------------------------------- seeding


class _ServerApp(httpx.AsyncHTTPTransport):
    """A transport to the running server that also carries what ``seed_page`` needs from
    an app (``app.state``: the server's database, its file storage and the teacher)."""

    def __init__(self, state: SimpleNamespace) -> None:
        super().__init__()
        self.app = SimpleNamespace(state=state)


@dataclass
class Seeder:
    """Makes classes and worksheets over the API and stores read pages in the server's
    database (one event loop for the whole test)."""

    server: Server
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    client: httpx.AsyncClient | None = None
    headers: dict[str, str] = field(default_factory=dict)
    thread: threading.Thread | None = None

    def run(self, coro: Any) -> Any:
        # Playwright's sync API holds an event loop in this thread: the seeding loop runs
        # in a thread of its own.
        if self.thread is None:
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    async def _open(self) -> None:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as c:
            r = await c.post("/api/v1/auth/token", data={"username": self.server.username,
                                                         "password": self.server.password})
            assert r.status_code == 200, r.text
            self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            me = (await c.get("/api/v1/me", headers=self.headers)).json()
        url = f"sqlite+aiosqlite:///{(self.server.data_dir / 'markbook.db').resolve()}"
        engine = create_engine(url)
        state = SimpleNamespace(session_factory=make_session_factory(engine),
                                storage=LocalStorage(self.server.data_dir / "files"),
                                local_actor=Actor(teacher_id=me["id"], school_id=me["school_id"],
                                                  is_admin=me["is_admin"]),
                                engine=engine)
        self.client = httpx.AsyncClient(transport=_ServerApp(state), base_url=self.server.url,
                                        headers=self.headers, timeout=30)

    def open(self) -> Seeder:
        self.run(self._open())
        return self

    def close(self) -> None:
        if self.client is not None:
            state = self.client._transport.app.state  # type: ignore[attr-defined]
            self.run(self.client.aclose())
            self.run(state.engine.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.loop.close()

    async def _sheet(self, roster: int) -> Sheet:
        c = self.client
        assert c is not None
        n = next(_run)
        tag = f"{os.getpid()}-{n}"
        bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
        bank["questions"] = [q for q in bank["questions"] if q["id"] in QIDS]
        r = await c.post("/api/v1/questions:import", json=bank)
        assert r.status_code == 200, r.text
        r = await c.post("/api/v1/classes", json={"name": f"复核测试{tag}班", "grade": 3})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        students = [{"student_no": f"R{n:02d}{i:03d}", "name": f"学生{n}-{i:02d}"}
                    for i in range(1, roster + 1)]
        r = await c.post(f"/api/v1/classes/{cid}/students", json=students)
        assert r.status_code == 201, r.text
        ids = {s["name"]: s["id"] for s in r.json()["students"]}
        r = await c.post("/api/v1/worksheets", json={"title": f"复核练习{tag}", "class_id": cid,
                                                     "question_ids": QIDS})
        assert r.status_code == 201, r.text
        sheet = Sheet(cid, r.json()["id"], ids)
        sheet.upload_id = await self._upload(tag, students[-1]["name"])
        return sheet

    async def _upload(self, tag: str, name: str) -> int:
        """An upload whose stored file is a real one-page PNG (its page 0 has an image: a
        worksheet with ``name`` written on it)."""
        assert self.client is not None
        state = self.client._transport.app.state  # type: ignore[attr-defined]
        data = _page_png(tag, name)
        digest = hashlib.sha256(data + tag.encode()).hexdigest()
        key = f"uploads/review-test/{digest}.png"
        state.storage.put_bytes(key, data)
        actor: Actor = state.local_actor
        async with state.session_factory() as s:
            row = ScanUploadRow(school_id=actor.school_id, teacher_id=actor.teacher_id,
                                filename="stack.png", content_type="image/png",
                                size_bytes=len(data), sha256=digest, storage_key=key,
                                page_count=1)
            s.add(row)
            await s.commit()
            return int(row.id)

    def sheet(self, roster: int) -> Sheet:
        return self.run(self._sheet(roster))  # type: ignore[no-any-return]

    def page(self, sheet: Sheet, student: str | None, reads: dict[str, Read],
             **kwargs: Any) -> int:
        assert self.client is not None
        page_id: int = self.run(seed_page(self.client, sheet, student, reads, **kwargs))
        self.run(self._ink(page_id))
        return page_id

    async def _ink(self, page_id: int) -> None:
        """Replace the page's flat test crops by the answers written in a box, so the
        queue shows (and the screenshots record) what a teacher would see."""
        assert self.client is not None
        state = self.client._transport.app.state  # type: ignore[attr-defined]
        async with state.session_factory() as s:
            rows = (await s.execute(select(ResponseRow).where(
                ResponseRow.page_id == page_id, ResponseRow.crop_key.is_not(None)))).scalars()
            for row in rows:
                state.storage.put_bytes(row.crop_key, _ink_crop(row.text or "", row.id))

    def get(self, url: str, **params: Any) -> Any:
        with httpx.Client(base_url=self.server.url, headers=self.headers, timeout=30) as c:
            r = c.get(url, params=params)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def seeder(server: Server) -> Any:
    s = Seeder(server).open()
    try:
        yield s
    finally:
        s.close()


def _font(size: int) -> Any:
    try:
        return ImageFont.truetype(str(find_cjk_font()), size)
    except FontNotFoundError:
        return ImageFont.load_default(size=size)


def _page_png(tag: str, name: str) -> bytes:
    """A scanned worksheet page (420 x 600): title, a name written in, answer boxes."""
    img = Image.new("L", (420, 600), 246)
    draw = ImageDraw.Draw(img)
    draw.text((30, 28), f"复核练习{tag}", fill=20, font=_font(22))
    draw.text((30, 70), "姓名：", fill=20, font=_font(18))
    draw.text((92, 62), name, fill=45, font=_font(26))
    for n, stem in enumerate(("37 + 48 =", "17 ÷ 5 = （ ）……（ ）", "47 + 38 的结果是（ ）",
                              "科技书有多少本？")):
        y = 130 + n * 110
        draw.text((30, y), f"{n + 1}. {stem}", fill=20, font=_font(16))
        draw.rectangle((40, y + 32, 250, y + 82), outline=60, width=2)
    out = io.BytesIO()
    img.rotate(0.6, fillcolor=246).save(out, "PNG")
    return out.getvalue()


def _ink_crop(text: str, seed: int) -> bytes:
    """An answer box with ``text`` written in it, slightly askew, as a greyscale PNG."""
    font = _font(66)
    img = Image.new("L", (380, 120), 244)
    draw = ImageDraw.Draw(img)
    draw.rectangle((8, 8, 371, 111), outline=70, width=2)  # the printed box
    draw.text((36 + seed % 60, 20), text, fill=30, font=font)
    img = img.rotate((seed % 7 - 3) * 0.7, fillcolor=244)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


# What the reader saw, per question, and the verdict confirming it gives.
def _reads(wrong_add: bool) -> dict[str, tuple[Read, str]]:
    add = (Read("86", confidence=0.6, alternatives=(("85", 0.35),), crop=True), "incorrect") \
        if wrong_add else (Read("85", confidence=0.6, alternatives=(("86", 0.35),), crop=True),
                           "correct")
    return {
        "m3-add-001": add,
        "m3-div-003": (Read(blanks=("3", "2"), confidence=0.3, crop=True), "correct"),
        "m3-add-006": (Read(marked=("B",), confidence=0.3, crop=True), "correct"),
        "m3-word-001": (Read("189", confidence=0.6, alternatives=(("139", 0.35),), crop=True),
                        "correct"),
    }


@dataclass
class Plan:
    """What the teacher does on one item."""

    keys: list[str]
    text: str = ""

    @property
    def count(self) -> int:
        return len(self.keys) + len(self.text)


# Typed corrections: (question, what is typed, the verdict it earns).
CORRECTIONS = {"m3-add-001": ("84", "incorrect"), "m3-word-001": ("139", "incorrect")}


def _plan(i: int, qid: str) -> tuple[Plan, str | None]:
    """The keys for the i-th item, and the verdict they give (None: the proposed one)."""
    if i % 10 == 9 and qid in CORRECTIONS:
        text, verdict = CORRECTIONS[qid]
        return Plan(["e", "Enter"], text), verdict
    if i % 10 == 3:
        return Plan(["1"]), "correct"
    if i % 10 == 7:
        return Plan(["3"]), "incorrect"
    return Plan(["Enter"]), None


def _verdicts(seeder: Seeder, worksheet_id: int) -> dict[int, tuple[str, str]]:
    """Response id -> (verdict, source) of every graded answer of the worksheet (API)."""
    out = {}
    for qid in QIDS:
        body = seeder.get(f"/api/v1/worksheets/{worksheet_id}/questions/{qid}/groups")
        for group in body["groups"]:
            for m in group["members"]:
                out[m["response_id"]] = (m["verdict"], m["source"])
    return out


def _figures(items: int, seconds: float, keys: int, accept_items: int, accept_keys: int
             ) -> dict[str, float]:
    return {"items": items, "seconds": round(seconds, 2),
            "items_per_minute": round(items / seconds * 60, 1),
            "keys_per_item": round(keys / items, 2),
            "accept_keys_per_item": round(accept_keys / max(accept_items, 1), 2)}


def _images_loaded(page: Page) -> None:
    """Wait until every image of the page has loaded (a failed one fails the test)."""
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    broken = page.evaluate("() => [...document.images].filter(i => !i.naturalWidth)"
                           ".map(i => i.src)")
    assert not broken, f"images that did not load: {broken}"


# ---------------------------------------------------------------------- the queue


def test_clear_100_items_with_the_keyboard(teacher: Page, seeder: Seeder,
                                           screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    sheet = seeder.sheet(roster=ITEMS // 4)
    expected_by_read: dict[int, str] = {}
    for n, name in enumerate(sheet.students):
        reads = _reads(wrong_add=n % 5 == 4)
        seeder.page(sheet, name, {qid: read for qid, (read, _) in reads.items()})
        for qid, (_, verdict) in reads.items():
            expected_by_read[sheet.responses[(name, qid)]] = verdict
    queue = seeder.get("/api/v1/review", worksheet_id=sheet.worksheet_id, limit=1)
    assert queue["total"] == ITEMS
    qid_of = {rid: qid for (_, qid), rid in sheet.responses.items()}

    page.goto(f"/review?worksheet_id={sheet.worksheet_id}")
    item = page.get_by_test_id("review-item")
    left = page.get_by_test_id("review-left")
    expect(left).to_have_attribute("data-count", str(ITEMS))
    expect(item).to_be_focused()
    expect(page.get_by_test_id("review-keys")).to_be_visible()
    assert_translated(page)
    _images_loaded(page)
    screenshot(page, "review-queue")

    pressed: dict[int, str] = {}
    keys = accept_items = accept_keys = typed = 0
    started = time.monotonic()
    for i in range(ITEMS):
        rid = int(item.get_attribute("data-response-id") or 0)
        assert rid not in pressed, f"item {rid} came back after it was decided"
        plan, verdict = _plan(i, qid_of[rid])
        for key in plan.keys:
            if key == "Enter" and plan.text:
                page.keyboard.type(plan.text)
            page.keyboard.press(key)
        keys += plan.count
        typed += bool(plan.text)
        if plan.keys == ["Enter"]:
            accept_items += 1
            accept_keys += plan.count
        pressed[rid] = verdict or expected_by_read[rid]
        if i + 1 < ITEMS:
            expect(left).to_have_attribute("data-count", str(ITEMS - i - 1))
            expect(item).not_to_have_attribute("data-response-id", str(rid))
    expect(page.get_by_test_id("review-empty")).to_be_visible()
    seconds = time.monotonic() - started
    assert_translated(page)

    # The queue is empty and every stored verdict is what was pressed, decided by a teacher.
    assert seeder.get("/api/v1/review", worksheet_id=sheet.worksheet_id)["total"] == 0
    stored = _verdicts(seeder, sheet.worksheet_id)
    assert {rid: stored[rid] for rid in pressed} == {
        rid: (v, "teacher") for rid, v in pressed.items()}
    assert typed >= 3, "too few typed corrections in the mix"
    figures = _figures(ITEMS, seconds, keys, accept_items, accept_keys)
    print(f"review: {ITEMS} items in {figures['seconds']} s, {figures['items_per_minute']} "  # noqa: T201
          f"items/min, {figures['keys_per_item']} keys/item "
          f"({figures['accept_keys_per_item']} for accepted items)")
    out = os.environ.get("MARKBOOK_REVIEW_FIGURES")
    if out:
        Path(out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    assert figures["accept_keys_per_item"] <= 2
    assert seconds < MAX_SECONDS / 2, f"{ITEMS} items took {seconds:.0f} s"


def test_correction_and_undo_with_the_keyboard(teacher: Page, seeder: Seeder) -> None:
    page = teacher
    sheet = seeder.sheet(roster=2)
    first, second = list(sheet.students)
    seeder.page(sheet, first, {"m3-word-001": _reads(False)["m3-word-001"][0]})
    seeder.page(sheet, second, {"m3-add-001": Read(status="unreadable", confidence=0.0),
                                "m3-div-003": Read(blanks=("3", "7"), confidence=0.3,
                                                   crop=True)})
    page.goto(f"/review?worksheet_id={sheet.worksheet_id}")
    item = page.get_by_test_id("review-item")
    # The unreadable add comes first (question 1): nothing to accept, Enter opens the field.
    expect(item).to_have_attribute("data-can-confirm", "false")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("review-reading-input")).to_be_focused()
    page.keyboard.type("85")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("review-left")).to_have_attribute("data-count", "2")
    expect(page.get_by_test_id("review-done")).to_contain_text("对")
    # 17 ÷ 5 read as 3 …… 7: E selects the first blank, Tab the second, type 2, Enter.
    expect(item).to_have_attribute("data-response-id",
                                   str(sheet.responses[(second, "m3-div-003")]))
    page.keyboard.press("e")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("review-left")).to_have_attribute("data-count", "1")
    # The word problem: accept it, then undo (U) and mark it wrong instead (3).
    expect(page.get_by_test_id("review-key")).to_contain_text("189")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("review-empty")).to_be_visible()
    page.keyboard.press("u")
    expect(page.get_by_test_id("review-answer")).to_be_visible()
    expect(page.get_by_test_id("review-item")).to_be_focused()
    page.keyboard.press("3")
    expect(page.get_by_test_id("review-empty")).to_be_visible()
    stored = _verdicts(seeder, sheet.worksheet_id)
    assert stored[sheet.responses[(second, "m3-add-001")]] == ("correct", "teacher")
    assert stored[sheet.responses[(second, "m3-div-003")]] == ("correct", "teacher")
    assert stored[sheet.responses[(first, "m3-word-001")]] == ("incorrect", "teacher")


# ---------------------------------------------------------------------- groups and pages


def test_grade_an_answer_group_at_once(teacher: Page, seeder: Seeder,
                                       screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    sheet = seeder.sheet(roster=6)
    for n, name in enumerate(sheet.students):
        text = "139" if n < 4 else "189"
        seeder.page(sheet, name, {"m3-word-001": Read(text, confidence=0.6,
                                                      alternatives=(("189", 0.3),), crop=True)})
    page.goto(f"/review?worksheet_id={sheet.worksheet_id}")
    page.keyboard.press("g")
    groups = page.get_by_test_id("review-group")
    expect(groups).to_have_count(2)
    expect(groups.first).to_have_attribute("data-normalised", "139")
    expect(groups.first).to_be_focused()
    assert_translated(page)
    _images_loaded(page)
    screenshot(page, "review-groups")
    page.keyboard.press("3")  # the four 139s are wrong
    expect(page.get_by_test_id("review-group-done")).to_contain_text("4")
    page.keyboard.press("j")
    expect(groups.nth(1)).to_be_focused()
    page.keyboard.press("1")  # the two 189s are right
    expect(page.get_by_test_id("review-group-done")).to_contain_text("2")
    stored = _verdicts(seeder, sheet.worksheet_id)
    want = {rid: ("incorrect" if n < 4 else "correct", "teacher")
            for n, rid in enumerate(sheet.responses[(name, "m3-word-001")]
                                    for name in sheet.students)}
    assert stored == want
    assert seeder.get("/api/v1/review", worksheet_id=sheet.worksheet_id)["total"] == 0


def test_assign_a_page_from_the_roster(teacher: Page, seeder: Seeder,
                                       screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    sheet = seeder.sheet(roster=12)
    target = list(sheet.students)[-1]  # the name written on the page
    page_id = seeder.page(sheet, None, {"m3-add-001": Read("85")}, status="unknown_student",
                          label="nameless", page_index=0, problem="没有读到学生二维码")
    page.goto(f"/review?worksheet_id={sheet.worksheet_id}&kind=unknown_student")
    item = page.get_by_test_id("review-item")
    expect(item).to_have_attribute("data-page-id", str(page_id))
    image = page.get_by_test_id("review-page-image")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 420
    expect(page.get_by_test_id("review-assign-filter")).to_be_focused()
    expect(page.get_by_test_id("review-assign-select").locator("option")).to_have_count(12)
    assert_translated(page)
    _images_loaded(page)
    screenshot(page, "review-assign-page")
    page.keyboard.type(target.removeprefix("学生"))  # a few characters narrow it to one
    visible = page.get_by_test_id("review-assign-select").locator("option:not([hidden])")
    expect(visible).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("review-assigned")).to_be_visible()
    expect(page.get_by_test_id("review-empty")).to_be_visible()
    queue = seeder.get("/api/v1/review", worksheet_id=sheet.worksheet_id)
    assert queue["counts"]["unknown_student"] == 0
    results = seeder.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")
    submitted = [s["student"]["name"] for s in results["students"] if s["submitted"]]
    assert submitted == [target]


def test_one_key_confirms_the_likeliest_student(teacher: Page, seeder: Seeder,
                                               screenshot: Callable[[Page, str], Any]) -> None:
    """A page the stack could not place shows what the comb read and the likeliest
    students; the first is preselected, so Enter alone assigns it."""
    page = teacher
    sheet = seeder.sheet(roster=12)
    names = list(sheet.students)
    best, runner_up = sheet.students[names[6]], sheet.students[names[1]]
    evidence = {"number": "20250607", "conflict": False, "scores": [],
                "candidates": [{"student_id": best, "p": 0.91, "why": ""},
                               {"student_id": runner_up, "p": 0.08, "why": ""}]}
    seeder.page(sheet, None, {"m3-add-001": Read("85")}, status="unknown_student",
                label="nameless", page_index=0, problem="不记名的卷子", evidence=evidence)
    page.goto(f"/review?worksheet_id={sheet.worksheet_id}&kind=unknown_student")
    candidates = page.get_by_test_id("review-candidate")
    expect(candidates).to_have_count(2)
    expect(candidates.first).to_have_attribute("data-student-id", str(best))
    expect(page.get_by_test_id("review-candidates")).to_contain_text("20250607")
    expect(page.get_by_test_id("review-candidates")).to_contain_text("91%")
    expect(page.get_by_test_id("review-assign-select")).to_have_value(str(best))
    assert_translated(page)
    screenshot(page, "review-assign-candidates")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("review-assigned")).to_be_visible()
    results = seeder.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")
    submitted = [s["student"]["id"] for s in results["students"] if s["submitted"]]
    assert submitted == [best]


def test_clear_pages_from_the_queue_with_the_keyboard(
        teacher: Page, seeder: Seeder, screenshot: Callable[[Page, str], Any]) -> None:
    """A page of no one on the roster, an unidentified page and a duplicate scan are
    cleared with D (Esc first leaves the roster filter), one clearing is undone with U and
    done again; the queue ends empty and the pages are kept."""
    page = teacher
    sheet = seeder.sheet(roster=4)
    first = next(iter(sheet.students))
    nameless = seeder.page(sheet, None, {}, status="unknown_student", label="nameless",
                           page_index=2, problem="没有读到学生二维码")
    foreign = seeder.page(sheet, None, {}, status="unidentified", worksheet=False,
                          label="foreign", page_index=1, problem="没有读到作业二维码")
    again = seeder.page(sheet, first, {}, status="duplicate", label="again", page_index=0,
                        problem="该页已扫描过，保留先前的结果")
    page.goto(f"/review?worksheet_id={sheet.worksheet_id}")
    item = page.get_by_test_id("review-item")
    keys = 0

    def press(key: str) -> None:
        nonlocal keys
        keys += 1
        page.keyboard.press(key)

    expect(item).to_have_attribute("data-page-id", str(nameless))
    expect(page.get_by_test_id("review-assign-filter")).to_be_focused()
    expect(page.get_by_test_id("review-keys")).to_contain_text("移出复核")
    press("Escape")
    press("d")
    expect(page.get_by_test_id("review-dismissed")).to_be_visible()
    expect(item).to_have_attribute("data-page-id", str(foreign))
    press("u")  # undo: the page is back where it was
    expect(page.get_by_test_id("review-reopened")).to_be_visible()
    expect(item).to_have_attribute("data-page-id", str(nameless))
    press("Escape")
    press("d")
    expect(item).to_have_attribute("data-page-id", str(foreign))
    expect(item).to_have_attribute("data-kind", "unidentified")
    press("d")
    expect(item).to_have_attribute("data-page-id", str(again))
    expect(item).to_have_attribute("data-kind", "duplicate")
    _images_loaded(page)
    assert_translated(page)
    screenshot(page, "review-dismiss-page")
    press("d")
    expect(page.get_by_test_id("review-empty")).to_be_visible()
    expect(page.get_by_test_id("review-dismissed")).to_be_visible()
    assert keys == 7
    queue = seeder.get("/api/v1/review", worksheet_id=sheet.worksheet_id)
    assert queue["total"] == 0
    assert (queue["counts"]["unknown_student"], queue["counts"]["unidentified"],
            queue["counts"]["duplicate"]) == (0, 0, 0)
    for page_id in (nameless, foreign, again):  # kept, only marked
        image = httpx.get(f"{seeder.server.url}/api/v1/pages/{page_id}/image.png",
                          headers=seeder.headers, timeout=30)
        assert image.status_code in (200, 404)  # the page row is there (404: no_image)
        if image.status_code == 404:
            assert image.json()["error"] == "no_image"
