"""The results pages over HTTP (the real app, real databases): the worksheet list with
hand-in counts and averages, the colour- and symbol-coded class table, who has not handed
in, per-question accuracy with the common wrong answers, and the downloads (the API's own
CSV and annotated-paper exports), scoped to the teacher like the API."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from service.actor import Actor
from service.auth.passwords import hash_password
from service.db import PageRow
from service.results_pages import page_results, results_state
from service.web.charts import LinePoint, bar, hbar_chart, level_class, line_chart, percent
from service.web.i18n import LANGUAGES
from tests.support.auth import Account, audit_rows, client_for, make_account
from tests.support.review import QIDS, Read, Sheet, seed_class, seed_page

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')



async def account(app: FastAPI, username: str, *, admin: bool = False) -> Account:
    return await make_account(app, username, admin=admin,
                              password_hash=await hash_password(PASSWORD))


async def signed_in(app: FastAPI, username: str) -> httpx.AsyncClient:
    """A cookie-keeping client signed in through the sign-in form."""
    c = client_for(app)
    form = await c.get("/login")
    token = _CSRF.search(form.text)
    assert token, form.text[:300]
    r = await c.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": token.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    return c


@pytest.fixture
async def owner(app: FastAPI) -> Account:
    await account(app, "head", admin=True)  # so the sign-in form, not first-run, shows
    return await account(app, "wang.li")


@pytest.fixture
async def sheet(app: FastAPI, owner: Account) -> Sheet:
    async with client_for(app, owner.headers) as api:
        return await seed_class(api)


@pytest.fixture
async def browser(app: FastAPI, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    c = await signed_in(app, owner.username)
    try:
        yield c
    finally:
        await c.aclose()


def assert_translated(r: httpx.Response) -> None:
    assert "[[" not in r.text, re.findall(r"\[\[[^\]]*\]\]", r.text)


def row_of(html: str, student_id: int) -> str:
    found = re.search(rf'<tr data-testid="results-row" data-student-id="{student_id}".*?</tr>',
                      html, re.S)
    assert found, html[:2000]
    return found.group(0)


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block."""
    seen: list[str] = []
    engine = app.state.engine.sync_engine

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# ------------------------------------------------------------------ the list


async def test_results_list_shows_hand_ins_and_the_average(browser: httpx.AsyncClient,
                                                           sheet: Sheet) -> None:
    r = await browser.get("/results")
    assert r.status_code == 200
    assert 'data-testid="results-list"' in r.text
    row = re.search(rf'data-testid="results-worksheet" data-worksheet-id="{sheet.worksheet_id}"'
                    r".*?</tr>", r.text, re.S)
    assert row, r.text
    line = row.group(0)
    assert f'href="/worksheets/{sheet.worksheet_id}/results"' in line
    assert "口算与应用题" in line
    assert "三年级(2)班" in line
    # 3 of 4 handed in; only 王小明 is fully decided (7 of 7), so the average is 7/7.
    assert re.search(r'data-testid="results-handed-in">3/4 份<', line), line
    assert re.search(r'data-testid="results-mean">7/7<', line), line
    assert_translated(r)


async def test_an_empty_results_list_says_what_to_do(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/results")
    assert r.status_code == 200
    assert 'data-testid="results-none"' in r.text
    assert "还没有作业" in r.text


# ------------------------------------------------------------------ one worksheet


async def test_class_table_codes_each_answer_with_colour_and_symbol(
        browser: httpx.AsyncClient, sheet: Sheet) -> None:
    r = await browser.get(f"/worksheets/{sheet.worksheet_id}/results")
    assert r.status_code == 200, r.text
    html = r.text
    assert 'data-testid="results"' in html
    # The legend names every kind with its symbol, not by colour alone.
    legend = re.search(r'data-testid="results-legend">(.*?)</ul>', html, re.S)
    assert legend
    for kind, symbol, words in (("right", "✓", "对"), ("half", "½", "部分对"),
                                ("wrong", "✗", "错"), ("blank", "–", "空白"),
                                ("review", "?", "待复核"), ("missing", "·", "这页没扫描")):
        assert f'<span class="cell cell-{kind}" aria-hidden="true">{symbol}</span> {words}' \
            in legend.group(1)

    def kinds(name: str) -> list[str]:
        return re.findall(r'data-kind="(\w+)"', row_of(html, sheet.students[name]))

    assert kinds("王小明") == ["right", "right", "right", "right"]
    assert kinds("李华") == ["wrong", "right", "wrong", "review"]
    assert kinds("赵敏") == ["review", "right", "blank", "missing"]
    wang = row_of(html, sheet.students["王小明"])
    assert '<td class="cell cell-right" title="1. m3-add-001: 85 (1/1)" data-kind="right">✓</td>' \
        in wang
    assert "7/7" in wang
    li = row_of(html, sheet.students["李华"])
    assert "1/7" in li
    assert "1 题待复核" in li
    zhang = row_of(html, sheet.students["张伟"])
    assert 'data-submitted="no"' in zhang
    assert "未交" in zhang
    assert f'href="/students/{sheet.students["王小明"]}"' in wang
    assert_translated(r)


async def test_who_has_not_handed_in_and_per_question_accuracy(browser: httpx.AsyncClient,
                                                               sheet: Sheet) -> None:
    html = (await browser.get(f"/worksheets/{sheet.worksheet_id}/results")).text
    missing = re.search(r'data-testid="results-missing".*?</section>', html, re.S)
    assert missing
    assert "作业提交情况" in missing.group(0)
    assert "已交 3 人，全班 4 人，未交 1 人" in missing.group(0)
    assert re.findall(r'data-testid="missing-student" data-student-id="(\d+)">003 张伟<',
                      missing.group(0)) == [str(sheet.students["张伟"])]
    accuracy = re.search(r'data-testid="results-accuracy".*?</section>', html, re.S)
    assert accuracy
    text = accuracy.group(0)
    assert "作业正确率" in text
    rows = dict(re.findall(r'data-question-id="([\w-]+)" data-accuracy="([^"]+)"', text))
    # add-001: 王小明 right, 李华 wrong (赵敏 waits): 1 of 2. div-003: all three right.
    assert rows == {"m3-add-001": "50%", "m3-div-003": "100%", "m3-add-006": "33%",
                    "m3-word-001": "100%"}
    add = re.search(r'data-question-id="m3-add-001".*?</tr>', text, re.S)
    assert add
    assert '<svg class="chart chart-bar" role="img"' in add.group(0)
    assert "<code>75</code>" in add.group(0)  # the common wrong answer, with its count
    assert "1 人" in add.group(0)
    assert "style=" not in html  # the CSP forbids inline styles


async def test_downloads_are_the_apis_exports(app: FastAPI, browser: httpx.AsyncClient,
                                              sheet: Sheet, owner: Account) -> None:
    html = (await browser.get(f"/worksheets/{sheet.worksheet_id}/results")).text
    assert f'href="/worksheets/{sheet.worksheet_id}/results.csv"' in html
    r = await browser.get(f"/worksheets/{sheet.worksheet_id}/results.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    async with client_for(app, owner.headers) as api:
        same = await api.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results.csv")
    assert r.content == same.content
    assert r.content.startswith("\ufeff".encode())
    assert "王小明" in r.content.decode("utf-8-sig")
    by_q = await browser.get(f"/worksheets/{sheet.worksheet_id}/results.csv?by=question")
    assert by_q.status_code == 200
    assert "常见错误答案" in by_q.content.decode("utf-8-sig")
    wang = sheet.students["王小明"]
    link = f"/worksheets/{sheet.worksheet_id}/students/{wang}/annotated.pdf"
    assert f'href="{link}"' in html
    pdf = await browser.get(link)
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    whole = await browser.get(f"/worksheets/{sheet.worksheet_id}/annotated.pdf")
    assert whole.status_code == 200
    assert whole.content.startswith(b"%PDF")
    import pypdfium2 as pdfium

    assert "得分" in pdfium.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    # An English school's paper says its own words in English.
    app.state.settings.school_language = "en"
    try:
        en = await browser.get(link)
        assert en.status_code == 200, en.text[:300]
        text = pdfium.PdfDocument(en.content)[0].get_textpage().get_text_range()
        assert "Score" in text
        assert "得分" not in text
    finally:
        app.state.settings.school_language = "zh"
    exports = await audit_rows(app, "results.export")
    assert len(exports) == 3  # the page's CSVs are recorded as the API's are
    # Nothing was scanned for 张伟: the service's 404, as a page.
    none = await browser.get(f"/worksheets/{sheet.worksheet_id}/students/"
                             f"{sheet.students['张伟']}/annotated.pdf")
    assert none.status_code == 404
    assert "<html" in none.text


async def test_another_teachers_worksheet_is_not_found(app: FastAPI, sheet: Sheet) -> None:
    await account(app, "zhao.lei")
    other = await signed_in(app, "zhao.lei")
    try:
        for path in (f"/worksheets/{sheet.worksheet_id}/results",
                     f"/worksheets/{sheet.worksheet_id}/results.csv",
                     f"/worksheets/{sheet.worksheet_id}/annotated.pdf",
                     f"/worksheets/{sheet.worksheet_id}/students/"
                     f"{sheet.students['王小明']}/annotated.pdf"):
            r = await other.get(path)
            assert r.status_code == 404, path
            assert "王小明" not in r.text
        listing = await other.get("/results")
        assert "口算与应用题" not in listing.text
    finally:
        await other.aclose()


async def test_signed_out_results_redirect_to_sign_in(app: FastAPI) -> None:
    async with client_for(app) as c:
        r = await c.get("/worksheets/1/results")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


async def test_the_pages_read_in_english_too(browser: httpx.AsyncClient, sheet: Sheet) -> None:
    for lang in LANGUAGES:
        browser.cookies.set("lang", lang)
        for path in ("/results", f"/worksheets/{sheet.worksheet_id}/results"):
            r = await browser.get(path)
            assert r.status_code == 200
            assert f'<html lang="{lang}">' in r.text
            assert_translated(r)
    assert "Who handed in" in r.text
    assert "Accuracy per question" in r.text


async def test_a_few_queries_whatever_the_class_size(app: FastAPI, browser: httpx.AsyncClient,
                                                     sheet: Sheet, owner: Account) -> None:
    """No query per student, question or worksheet: a bigger class and a second worksheet
    cost no more statements."""
    path = f"/worksheets/{sheet.worksheet_id}/results"
    with counting_queries(app) as small_table:
        assert (await browser.get(path)).status_code == 200
    with counting_queries(app) as small_list:
        assert (await browser.get("/results")).status_code == 200
    async with client_for(app, owner.headers) as api:
        r = await api.post(f"/api/v1/classes/{sheet.class_id}/students", json=[
            {"student_no": f"1{n:02d}", "name": f"学生{n}"} for n in range(12)])
        assert r.status_code == 201, r.text
        for s in r.json()["students"]:
            sheet.students[s["name"]] = s["id"]
        for n in range(12):
            await seed_page(api, sheet, f"学生{n}", {q: Read("1") for q in QIDS[:1]})
        r = await api.post("/api/v1/worksheets", json={
            "title": "第二份", "class_id": sheet.class_id, "question_ids": QIDS})
        assert r.status_code == 201, r.text
        second = Sheet(sheet.class_id, r.json()["id"], sheet.students, sheet.upload_id)
        await seed_page(api, second, "王小明", {q: Read("1") for q in QIDS}, page_index=100)
    with counting_queries(app) as big_table:
        r = await browser.get(path)
    assert r.status_code == 200
    assert r.text.count('data-testid="results-row"') == 16
    with counting_queries(app) as big_list:
        r = await browser.get("/results")
    assert r.text.count('data-testid="results-worksheet"') == 2
    assert len(big_table) == len(small_table) <= 12, big_table
    assert len(big_list) == len(small_list) <= 12, big_list


# ------------------------------------------------------------------ the SVG charts


def _svg(markup: str) -> ET.Element:
    """Parse a chart (it must be well-formed XML) and check it carries no inline style."""
    assert "style=" not in markup
    return ET.fromstring(markup)


_NS = "{http://www.w3.org/2000/svg}"


def test_percent_and_colour_bands() -> None:
    assert [percent(r) for r in (None, 0.0, 0.333, 0.995, 1.4, -0.2)] == \
        ["–", "0%", "33%", "100%", "100%", "0%"]
    assert [level_class(r) for r in (None, 0.2, 0.6, 0.85)] == \
        ["chart-none", "chart-bad", "chart-mid", "chart-good"]


def test_bar_draws_the_share_and_escapes_its_label() -> None:
    svg = _svg(bar(0.25, label='<script>alert("x")</script> & 题', width=100))
    assert svg.get("role") == "img"
    title = svg.find(f"{_NS}title")
    assert title is not None
    assert title.text == '<script>alert("x")</script> & 题: 25%'  # text, never markup
    rects = svg.findall(f"{_NS}rect")
    assert [r.get("class") for r in rects] == ["chart-track", "chart-bad"]
    assert rects[1].get("width") == "25"
    assert svg.findall(f"{_NS}text")[-1].text == "25%"
    empty = _svg(bar(None, label="x"))
    assert [r.get("class") for r in empty.findall(f"{_NS}rect")] == ["chart-track"]
    assert "<script>" not in bar(0.5, label="<script>")


def test_hbar_chart_one_named_row_per_item() -> None:
    items = [("进位加法", 0.9), ("有余数的除法", 0.55), ("一个很长很长很长很长很长的知识点名字", None),
             ("<b>", 0.1)]
    svg = _svg(hbar_chart(items, title="掌握", width=400, label_width=140))
    rows = svg.findall(f"{_NS}g")
    assert len(rows) == 4
    labels = [r.find(f"{_NS}text").text for r in rows]  # type: ignore[union-attr]
    assert labels[:2] == ["进位加法", "有余数的除法"]
    assert labels[2] is not None
    assert labels[2].endswith("…")
    assert len(labels[2]) < len(items[2][0])
    assert labels[3] == "<b>"
    full = rows[2].find(f"{_NS}title")
    assert full is not None
    assert full.text == f"{items[2][0]}: –"  # the whole name on hover
    fills = [[r.get("class") for r in row.findall(f"{_NS}rect")] for row in rows]
    assert fills == [["chart-track", "chart-good"], ["chart-track", "chart-mid"],
                     ["chart-track"], ["chart-track", "chart-bad"]]
    track = float(rows[0].findall(f"{_NS}rect")[0].get("width") or 0)
    assert float(rows[0].findall(f"{_NS}rect")[1].get("width") or 0) == pytest.approx(
        0.9 * track, abs=0.1)
    assert _svg(hbar_chart([], title="无")).find(f"{_NS}title") is not None


def test_line_chart_plots_rates_over_time() -> None:
    points = [LinePoint("第一次", 0.5), LinePoint("第二次", 1.0, title="第二次 <作业>"),
              LinePoint("第三次", 0.0)]
    svg = _svg(line_chart(points, title="成绩", width=300, height=200))
    line = svg.find(f"{_NS}polyline")
    assert line is not None
    xy = [tuple(float(v) for v in p.split(",")) for p in (line.get("points") or "").split()]
    assert len(xy) == 3
    assert xy[0][0] < xy[1][0] < xy[2][0]
    assert xy[1][1] < xy[0][1] < xy[2][1]  # 100 % is drawn highest, 0 % lowest
    hover = [g.find(f"{_NS}title").text for g in svg.findall(f"{_NS}g")]  # type: ignore[union-attr]
    assert hover == ["第一次: 50%", "第二次 <作业>: 100%", "第三次: 0%"]
    one = _svg(line_chart([LinePoint("a", 0.7)], title="t"))
    assert one.find(f"{_NS}polyline") is None
    assert len(list(one.iter(f"{_NS}circle"))) == 1
    assert not list(_svg(line_chart([], title="t")).iter(f"{_NS}circle"))
    many = _svg(line_chart([LinePoint(f"w{i}", i / 30) for i in range(30)], title="t"))
    axis = [t for t in many.iter(f"{_NS}text") if t.get("class") == "chart-axis"
            and (t.text or "").startswith("w")]
    assert 3 <= len(axis) <= 11  # labels thinned so they do not overlap
    assert axis[-1].text == "w29"


# ------------------------------------------------------------------ the page's fast path


async def test_the_page_reads_the_same_results_as_the_api(app: FastAPI, sheet: Sheet,
                                                          owner: Account) -> None:
    async with client_for(app, owner.headers) as api:
        await seed_page(api, sheet, "张伟", {"m3-add-001": Read("86")}, status="duplicate")
        expected = (await api.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    async with app.state.session_factory() as s:
        actor = Actor(teacher_id=owner.teacher_id, school_id=owner.school_id, is_admin=False)
        state = await results_state(s, actor, sheet.worksheet_id)
        page = await page_results(s, actor, state)
    assert page.model_dump(mode="json") == expected


async def test_a_kept_view_is_never_shown_after_the_results_changed(
        app: FastAPI, browser: httpx.AsyncClient, sheet: Sheet, owner: Account) -> None:
    path = f"/worksheets/{sheet.worksheet_id}/results"
    li, zhao = sheet.students["李华"], sheet.students["赵敏"]

    async def kinds(student_id: int) -> list[str]:
        html = (await browser.get(path)).text
        return re.findall(r'data-kind="(\w+)"', row_of(html, student_id))

    assert await kinds(li) == ["wrong", "right", "wrong", "review"]
    assert await kinds(li) == ["wrong", "right", "wrong", "review"]  # from the kept view
    async with client_for(app, owner.headers) as api:
        rid = sheet.responses[("李华", "m3-word-001")]
        r = await api.post(f"/api/v1/review/responses/{rid}",
                           json={"action": "set", "verdict": "correct", "score": 3})
        assert r.status_code == 200, r.text
        assert await kinds(li) == ["wrong", "right", "wrong", "right"]
        assert "4/7" in row_of((await browser.get(path)).text, li)
        r = await api.patch(f"/api/v1/classes/{sheet.class_id}/students/{li}",
                            json={"name": "李华华"})
        if r.status_code != 405:  # the roster edit endpoint, where it exists
            assert r.status_code == 200, r.text
            assert ">李华华</a>" in row_of((await browser.get(path)).text, li)
    async with app.state.session_factory() as s:  # 赵敏's page turns out to be a duplicate
        await s.execute(update(PageRow).where(PageRow.id == sheet.pages["赵敏"])
                        .values(status="duplicate"))
        await s.commit()
    html = (await browser.get(path)).text
    assert 'data-submitted="no"' in row_of(html, zhao)
    assert "已交 2 人" in html
