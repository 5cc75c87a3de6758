"""The analytics pages in a real browser, on a class with weeks of graded worksheets
(``tests.support.analytics_class``, stored in the running server's own database): the
class page draws its heatmap and trend chart, a heatmap cell opens exactly the answers it
counts, the worksheet page's distribution chart links to its students' answers, the
student portrait shows, and the class report PDF downloads with Chinese text.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import pypdfium2
import pytest

from service.actor import Actor
from service.db.engine import create_engine, make_session_factory
from service.storage import LocalStorage
from tests.browser.conftest import Server, assert_translated, import_playwright
from tests.support.analytics_class import SeededClass, seed_analytics_class

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

_run = itertools.count(1)


class _ServerApp(httpx.AsyncHTTPTransport):
    """A transport to the running server that also carries ``app.state`` (its database,
    file storage and teacher) for the seeding helper."""

    def __init__(self, state: SimpleNamespace) -> None:
        super().__init__()
        self.app = SimpleNamespace(state=state)


async def _seed(server: Server) -> SeededClass:
    n = next(_run)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        r = await c.post("/api/v1/auth/token", data={"username": server.username,
                                                     "password": server.password})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = (await c.get("/api/v1/me", headers=headers)).json()
    engine = create_engine(f"sqlite+aiosqlite:///{(server.data_dir / 'markbook.db').resolve()}")
    state = SimpleNamespace(session_factory=make_session_factory(engine),
                            storage=LocalStorage(server.data_dir / "files"),
                            local_actor=Actor(teacher_id=me["id"], school_id=me["school_id"],
                                              is_admin=me["is_admin"]))
    try:
        async with httpx.AsyncClient(transport=_ServerApp(state), base_url=server.url,
                                     headers=headers, timeout=60) as api:
            return await seed_analytics_class(api, state, students=16, worksheets=8,
                                              name=f"四年级({n})班")
    finally:
        await engine.dispose()


@pytest.fixture
def seeded(server: Server) -> SeededClass:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _seed(server)).result()


def _download(page: Page, testid: str) -> Path:
    with page.expect_download(timeout=60_000) as info:
        page.get_by_test_id(testid).click()
    path = info.value.path()
    assert path is not None
    return Path(path)


def test_class_analytics_charts_links_and_report(teacher: Page, seeded: SeededClass,
                                                 screenshot: Callable[..., Any]) -> None:
    base = "/".join(teacher.url.split("/", 3)[:3])
    teacher.goto(f"{base}/classes/{seeded.class_id}/analytics")
    heat = teacher.get_by_test_id("an-heatmap-table")
    expect(heat).to_be_visible()
    expect(teacher.locator("svg.chart-trend")).to_be_visible()
    # A coloured cell: its background differs from an empty one's and it shows its number.
    cell = heat.locator("td[class^='heat-'] a").first
    expect(cell).to_have_text(re.compile(r"^\d+%$"))
    bg = cell.locator("xpath=..").evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    assert_translated(teacher)
    screenshot(teacher, "analytics-class")

    title = cell.get_attribute("title") or ""
    answers = int(re.search(r"（(\d+) 个答案）", title).group(1))  # type: ignore[union-attr]
    cell.click()
    expect(teacher).to_have_url(re.compile(r"/analytics/answers\?student_id=\d+&kp="))
    expect(teacher.get_by_test_id("an-answer")).to_have_count(answers)
    expect(teacher.get_by_test_id("an-answers-count")).to_have_attribute("data-count",
                                                                         str(answers))
    teacher.go_back()
    pdf = _download(teacher, "an-report-pdf").read_bytes()
    doc = pypdfium2.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "学情报告" in text
    assert "math." not in text


def test_worksheet_analytics_and_portrait(teacher: Page, seeded: SeededClass,
                                          screenshot: Callable[..., Any]) -> None:
    base = "/".join(teacher.url.split("/", 3)[:3])
    teacher.goto(f"{base}/worksheets/{seeded.worksheets[-1]}/analytics")
    chart = teacher.get_by_test_id("an-dist-chart").locator("svg.chart-columns")
    expect(chart).to_be_visible()
    expect(teacher.get_by_test_id("an-question")).to_have_count(8)
    assert_translated(teacher)
    screenshot(teacher, "analytics-worksheet")
    column = chart.locator("a[data-testid='chart-link']").last
    column.click()
    expect(teacher).to_have_url(re.compile(r"/analytics/answers\?worksheet_id=\d+&students="))
    expect(teacher.get_by_test_id("an-answer").first).to_be_visible()
    teacher.get_by_test_id("an-answer").first.get_by_role("link").first.click()
    expect(teacher).to_have_url(re.compile(r"/students/\d+/analytics$"))
    expect(teacher.get_by_test_id("an-points")).to_be_visible()
    expect(teacher.get_by_test_id("an-points").locator("svg.chart-trend")).to_be_visible()
    assert_translated(teacher)
    screenshot(teacher, "analytics-student")
