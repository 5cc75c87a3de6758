"""The review pages over HTTP (the real app, SQLite and PostgreSQL): decisions through the
page forms store what the API stores, forms need their CSRF token, another teacher's
answers, crops, pages and groups are not found, an empty queue says so, and a queue of a
thousand answers renders one item with a handful of queries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from service.db import GradeRow, ResponseRow
from service.web.i18n import load_catalogue
from service.web.render import TEMPLATE_DIR
from service.web.sessions import SESSION_COOKIE
from tests.support.auth import client_for
from tests.support.review import Read, Sheet, app_of, seed_class, seed_page

_ITEM = re.compile(r'data-testid="review-item" data-kind="(\w+)"\s+data-response-id="(\d+)"')


def _browser(app: FastAPI, api: httpx.AsyncClient) -> tuple[httpx.AsyncClient, str]:
    """A browser signed in as ``api``'s teacher (the session cookie holds the same token as
    the bearer header), and its CSRF token."""
    token = api.headers["Authorization"].removeprefix("Bearer ")
    browser = client_for(app)
    browser.cookies.set(SESSION_COOKIE, token)
    return browser, app.state.csrf.token(token)


@pytest.fixture
async def sheet(client: httpx.AsyncClient) -> Sheet:
    return await seed_class(client)


@pytest.fixture
async def owner(app: FastAPI, client: httpx.AsyncClient
                ) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    browser, csrf = _browser(app, client)
    async with browser:
        yield browser, csrf


@pytest.fixture
async def other(app: FastAPI, other_client: httpx.AsyncClient
                ) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    browser, csrf = _browser(app, other_client)
    async with browser:
        yield browser, csrf


async def _current(client: httpx.AsyncClient, response_id: int) -> GradeRow:
    async with app_of(client).state.session_factory() as s:
        return (await s.execute(select(GradeRow).where(GradeRow.response_id == response_id,
                                                       GradeRow.is_current.is_(True)))
                ).scalar_one()


async def _text(client: httpx.AsyncClient, response_id: int) -> str | None:
    async with app_of(client).state.session_factory() as s:
        return (await s.get(ResponseRow, response_id)).text  # type: ignore[union-attr]


def _same(a: GradeRow, b: GradeRow) -> tuple[Any, ...]:
    return (a.verdict, a.score, a.max_score, a.source, a.needs_review, a.normalised,
            a.reason_zh) , (b.verdict, b.score, b.max_score, b.source, b.needs_review,
                            b.normalised, b.reason_zh)


def _doubtful(n: int) -> dict[str, Read]:
    return {"m3-word-001": Read("189", confidence=0.6, alternatives=(("139", 0.35),),
                                crop=True)}


async def _twins(client: httpx.AsyncClient, sheet: Sheet, label: str) -> tuple[int, int]:
    """Two identical doubtful answers: one to decide on the page, one through the API."""
    ids = []
    for side in ("page", "api"):
        await seed_page(client, sheet, "王小明", _doubtful(0), label=f"{label}-{side}")
        ids.append(sheet.responses[(f"{label}-{side}", "m3-word-001")])
    return ids[0], ids[1]


async def test_queue_page_shows_one_answer_with_its_key_and_proposal(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    r = await browser.get(f"/review?worksheet_id={sheet.worksheet_id}")
    assert r.status_code == 200
    assert 'data-testid="review-queue"' in r.text
    assert 'data-testid="review-left" data-count="2"' in r.text
    # First 赵敏's unreadable add: nothing to accept, so Enter opens the reading field.
    kind, rid = _ITEM.search(r.text).groups()  # type: ignore[union-attr]
    assert (kind, int(rid)) == ("response", sheet.responses[("赵敏", "m3-add-001")])
    assert 'data-can-confirm="false"' in r.text
    assert 'data-testid="review-confirm" disabled' in r.text
    assert "赵敏" in r.text
    assert "[[" not in r.text
    # Then 李华's doubtful 189: the crop through the page route, the key, what Enter gives.
    r = await browser.get(f"/review?worksheet_id={sheet.worksheet_id}&at=1")
    rid = sheet.responses[("李华", "m3-word-001")]
    assert f'data-response-id="{rid}"' in r.text
    assert f'src="/review/responses/{rid}/crop.png"' in r.text
    assert "189 本" in r.text  # the key with its unit
    assert re.search(r'data-testid="review-proposed">\s*<span class="verdict verdict-correct">',
                     r.text)
    assert "139" in r.text  # the alternative reading
    assert "学校图书室" in r.text  # the question
    assert 'data-testid="review-upcoming"' not in r.text  # nothing after the last one
    crop = await browser.get(f"/review/responses/{rid}/crop.png")
    assert crop.status_code == 200
    assert crop.headers["content-type"] == "image/png"
    assert crop.content == (await client.get(f"/api/v1/responses/{rid}/crop.png")).content


async def test_decisions_through_the_pages_store_what_the_api_stores(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = owner
    nav = {"worksheet_id": str(sheet.worksheet_id), "at": "0"}
    cases = [({"action": "confirm"}, {"action": "confirm"}),
             ({"action": "set", "verdict": "partially_correct", "max_score": "3"},
              {"action": "set", "verdict": "partially_correct", "score": 1.5}),
             ({"action": "set", "verdict": "incorrect", "max_score": "3"},
              {"action": "set", "verdict": "incorrect", "score": 0}),
             ({"action": "correct", "blank": "139"}, {"action": "correct", "text": "139"})]
    for n, (form, body) in enumerate(cases):
        on_page, on_api = await _twins(client, sheet, f"case{n}")
        r = await browser.post(f"/review/responses/{on_page}",
                               data={"csrf_token": csrf, **nav, **form})
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith(
            f"/review?worksheet_id={sheet.worksheet_id}&done={on_page}&v=")
        api = await client.post(f"/api/v1/review/responses/{on_api}", json=body)
        assert api.status_code == 200, api.text
        page_grade, api_grade = await _current(client, on_page), await _current(client, on_api)
        assert _same(page_grade, api_grade)[0] == _same(page_grade, api_grade)[1], form
        assert page_grade.source == "teacher"
        assert not page_grade.needs_review
        assert await _text(client, on_page) == await _text(client, on_api)
    assert (await _current(client, on_page)).verdict == "incorrect"  # 139 is wrong
    assert await _text(client, on_page) == "139"
    # The redirect shows the next item with what was decided and the undo link.
    r = await browser.get(f"/review?worksheet_id={sheet.worksheet_id}&done={on_page}"
                          f"&v=incorrect")
    assert 'data-testid="review-done"' in r.text
    assert f'href="/review/responses/{on_page}?back=' in r.text


async def test_undo_reopens_a_decided_answer_and_decides_it_again(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = owner
    rid = sheet.responses[("李华", "m3-word-001")]
    r = await browser.post(f"/review/responses/{rid}", data={"csrf_token": csrf,
                                                             "action": "confirm"})
    assert r.status_code == 303
    back = f"/review?worksheet_id={sheet.worksheet_id}"
    r = await browser.get(f"/review/responses/{rid}", params={"back": back})
    assert r.status_code == 200
    assert 'data-testid="review-answer"' in r.text
    r = await browser.post(f"/review/responses/{rid}", data={
        "csrf_token": csrf, "action": "set", "verdict": "incorrect", "max_score": "3",
        "back": back})
    assert r.status_code == 303
    assert r.headers["location"] == back
    grade = await _current(client, rid)
    assert (grade.verdict, grade.score, grade.source) == ("incorrect", 0.0, "teacher")


async def test_problems_are_shown_on_the_page_and_nothing_is_stored(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = owner
    rid = sheet.responses[("赵敏", "m3-add-001")]  # unreadable: nothing to confirm
    before = await _current(client, rid)
    r = await browser.post(f"/review/responses/{rid}", data={
        "csrf_token": csrf, "action": "confirm", "worksheet_id": str(sheet.worksheet_id)})
    assert r.status_code == 422
    assert 'data-testid="review-error"' in r.text
    assert "没有识别到答案" in r.text
    assert f'data-response-id="{rid}"' in r.text  # the same answer, to fix
    r = await browser.post(f"/review/responses/{rid}", data={
        "csrf_token": csrf, "action": "set", "verdict": "bogus", "max_score": "1"})
    assert r.status_code == 422
    assert (await _current(client, rid)).id == before.id


async def test_forms_need_the_csrf_token(client: httpx.AsyncClient, sheet: Sheet,
                                         owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    rid = sheet.responses[("李华", "m3-word-001")]
    before = await _current(client, rid)
    for data in ({"action": "confirm"}, {"action": "confirm", "csrf_token": "forged"}):
        r = await browser.post(f"/review/responses/{rid}", data=data)
        assert r.status_code == 403
    page_id = await seed_page(client, sheet, None, {}, status="unknown_student",
                              label="nameless")
    r = await browser.post(f"/review/pages/{page_id}/assign",
                           data={"student_id": str(sheet.students["张伟"])})
    assert r.status_code == 403
    r = await browser.post(f"/review/worksheets/{sheet.worksheet_id}/questions/m3-word-001/"
                           "groups/grade", data={"normalised": "189", "verdict": "correct",
                                                 "max_score": "3"})
    assert r.status_code == 403
    assert (await _current(client, rid)).id == before.id
    queue = (await client.get("/api/v1/review", params={"kind": "unknown_student"})).json()
    assert queue["total"] == 1


async def test_another_teacher_gets_not_found(
        client: httpx.AsyncClient, sheet: Sheet, other: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = other
    rid = sheet.responses[("李华", "m3-word-001")]
    page_id = sheet.pages["王小明"]
    ws = sheet.worksheet_id
    for url in (f"/review/responses/{rid}", f"/review/responses/{rid}/crop.png",
                f"/review/pages/{page_id}/image.png",
                f"/review/worksheets/{ws}/questions/m3-word-001/groups",
                f"/review?worksheet_id={ws}"):
        r = await browser.get(url)
        assert r.status_code == 404, url
        assert "李华" not in r.text
    posts = {f"/review/responses/{rid}": {"action": "confirm"},
             f"/review/pages/{page_id}/assign": {"student_id": str(sheet.students["张伟"]),
                                                 "replace": "1"},
             f"/review/worksheets/{ws}/questions/m3-word-001/groups/grade": {
                 "normalised": "189", "verdict": "correct", "max_score": "3"}}
    before = await _current(client, rid)
    for url, data in posts.items():
        r = await browser.post(url, data={"csrf_token": csrf, **data})
        assert r.status_code == 404, url
    assert (await _current(client, rid)).id == before.id
    # Their own queue is empty and shows none of the owner's answers.
    r = await browser.get("/review")
    assert 'data-testid="review-empty"' in r.text
    assert "李华" not in r.text


async def test_an_empty_queue_says_so(owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    r = await browser.get("/review")
    assert r.status_code == 200
    assert 'data-testid="review-empty"' in r.text
    assert "全部复核完了" in r.text
    assert 'data-testid="review-item"' not in r.text
    browser.cookies.set("lang", "en")
    r = await browser.get("/review")
    assert "Nothing left to review" in r.text


async def test_assign_a_page_from_the_roster(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = owner
    page_id = await seed_page(client, sheet, None, {"m3-add-001": Read("85")},
                              status="unknown_student", label="nameless")
    url = f"/review?worksheet_id={sheet.worksheet_id}&kind=unknown_student"
    r = await browser.get(url)
    assert f'data-page-id="{page_id}"' in r.text
    assert f'src="/review/pages/{page_id}/image.png"' in r.text
    for no, name in (("001", "王小明"), ("003", "张伟")):
        assert f">{no} {name}</option>" in r.text
    nav = {"worksheet_id": str(sheet.worksheet_id), "kind": "unknown_student"}
    # 李华's page is already scanned: the page asks to replace it.
    r = await browser.post(f"/review/pages/{page_id}/assign", data={
        "csrf_token": csrf, "student_id": str(sheet.students["李华"]), **nav})
    assert r.status_code == 409
    assert 'data-testid="review-assign-replace"' in r.text
    assert f'<option value="{sheet.students["李华"]}" selected' in r.text  # kept chosen
    assert "已经扫描过了" in r.text
    r = await browser.post(f"/review/pages/{page_id}/assign", data={
        "csrf_token": csrf, "student_id": str(sheet.students["张伟"]), **nav})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == (f"/review?worksheet_id={sheet.worksheet_id}"
                                     f"&kind=unknown_student&assigned={page_id}")
    results = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    zhang = next(s for s in results["students"] if s["student"]["name"] == "张伟")
    assert zhang["submitted"]
    r = await browser.get(r.headers["location"])
    assert 'data-testid="review-assigned"' in r.text
    assert 'data-testid="review-empty"' in r.text


async def test_dismiss_a_page_and_undo_it_through_the_page(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str],
        other: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = owner
    again = await seed_page(client, sheet, "李华", {}, status="duplicate", label="again",
                            problem="already scanned")
    foreign = await seed_page(client, sheet, None, {}, status="unidentified", worksheet=False,
                              label="foreign")
    r = await browser.get("/review?kind=duplicate")
    assert f'data-page-id="{again}"' in r.text
    assert 'data-testid="review-dismiss"' in r.text
    assert "<kbd>D</kbd>" in r.text
    assert "移出复核" in r.text  # the button and the key legend
    # Another teacher's browser, a form without its token: nothing changes.
    other_browser, other_csrf = other
    r = await other_browser.post(f"/review/pages/{again}/dismiss",
                                 data={"csrf_token": other_csrf})
    assert r.status_code == 404
    r = await browser.post(f"/review/pages/{again}/dismiss", data={"kind": "duplicate"})
    assert r.status_code == 403
    queue = (await client.get("/api/v1/review")).json()
    assert (queue["counts"]["duplicate"], queue["counts"]["unidentified"]) == (1, 1)

    r = await browser.post(f"/review/pages/{again}/dismiss",
                           data={"csrf_token": csrf, "kind": "duplicate"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/review?kind=duplicate&dismissed={again}"
    r = await browser.get(r.headers["location"])
    assert 'data-testid="review-dismissed"' in r.text
    assert f'action="/review/pages/{again}/reopen"' in r.text
    assert 'data-testid="review-empty"' in r.text  # no duplicate left
    queue = (await client.get("/api/v1/review")).json()
    assert queue["counts"]["duplicate"] == 0
    # Home counts what waits from the same queue.
    home = await browser.get("/")
    assert home.status_code == 200
    # Undo: the page is back where it was.
    r = await browser.post(f"/review/pages/{again}/reopen",
                           data={"csrf_token": csrf, "kind": "duplicate"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/review?kind=duplicate&reopened={again}"
    r = await browser.get(r.headers["location"])
    assert 'data-testid="review-reopened"' in r.text
    assert f'data-page-id="{again}"' in r.text
    # A page that is not in the queue as a page (graded) goes back to the queue saying so.
    r = await browser.post(f"/review/pages/{sheet.pages['王小明']}/dismiss",
                           data={"csrf_token": csrf})
    assert r.status_code == 303
    assert r.headers["location"] == f"/review?gone={sheet.pages['王小明']}"
    r = await browser.get(r.headers["location"])
    assert 'data-testid="review-gone"' in r.text
    # The unidentified page too, with the whole queue's position kept.
    r = await browser.post(f"/review/pages/{foreign}/dismiss",
                           data={"csrf_token": csrf, "at": "3"})
    assert r.headers["location"] == f"/review?at=3&dismissed={foreign}"
    queue = (await client.get("/api/v1/review")).json()
    assert (queue["counts"]["duplicate"], queue["counts"]["unidentified"]) == (1, 0)


async def test_the_job_page_shows_a_dismissed_page(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    from service.db import JobRow, ScanUploadRow

    browser, csrf = owner
    foreign = await seed_page(client, sheet, None, {}, status="unidentified", worksheet=False,
                              label="foreign", problem="no readable page code")
    index = len(sheet.pages) - 1
    async with app_of(client).state.session_factory() as s:
        upload = await s.get(ScanUploadRow, sheet.upload_id)
        assert upload is not None
        job = JobRow(school_id=upload.school_id, kind="scan", status="partially_done",
                     pages_total=4, pages_done=4, problems=[
                         {"page_index": index, "status": "unidentified",
                          "problem": "no readable page code"}])
        s.add(job)
        await s.flush()
        upload.job_id = job.id
        job_id = job.id
        await s.commit()
    r = await browser.get(f"/jobs/{job_id}")
    assert r.status_code == 200, r.text
    assert 'data-testid="problem-review-link"' in r.text
    assert 'data-testid="problem-dismissed"' not in r.text
    r = await browser.post(f"/review/pages/{foreign}/dismiss", data={"csrf_token": csrf})
    assert r.status_code == 303
    r = await browser.get(f"/jobs/{job_id}")
    assert 'data-testid="problem-dismissed"' in r.text
    assert "已由老师移出复核" in r.text
    assert 'data-testid="problem-review-link"' not in r.text


async def test_the_worksheet_list_counts_answers_whatever_the_filter(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    await seed_page(client, sheet, "李华", {}, status="duplicate", label="again")
    option = re.compile(rf'<option value="{sheet.worksheet_id}"( selected)?>口算与应用题 · '
                        r'三年级\(2\)班 \((\d+)\)</option>')
    for url in ("/review", f"/review?worksheet_id={sheet.worksheet_id}",
                "/review?kind=duplicate",
                f"/review?kind=duplicate&worksheet_id={sheet.worksheet_id}",
                "/review?kind=response&at=1"):
        r = await browser.get(url)
        assert r.status_code == 200, url
        found = option.search(r.text)
        assert found, url
        assert found.group(2) == "2", url
    r = await browser.get(f"/review?kind=duplicate&worksheet_id={sheet.worksheet_id}")
    assert 'data-testid="review-left" data-count="1"' in r.text
    r = await browser.get(f"/review?worksheet_id={sheet.worksheet_id}")
    assert 'data-testid="review-left" data-count="3"' in r.text


async def test_page_image_through_the_page_route(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    page_id = sheet.pages["王小明"]
    r = await browser.get(f"/review/pages/{page_id}/image.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content == (await client.get(f"/api/v1/pages/{page_id}/image.png")).content


async def test_grade_an_answer_group_through_the_page(
        client: httpx.AsyncClient, sheet: Sheet, owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, csrf = owner
    for n in range(3):
        await seed_page(client, sheet, "张伟", {"m3-word-001": Read(
            "139", confidence=0.6, alternatives=(("189", 0.3),), crop=True)}, label=f"g{n}")
    base = f"/review/worksheets/{sheet.worksheet_id}/questions/m3-word-001/groups"
    r = await browser.get(base)
    assert r.status_code == 200
    assert 'data-normalised="139" data-count="3"' in r.text
    assert "/crop.png" in r.text
    r = await browser.post(f"{base}/grade", data={"csrf_token": csrf, "normalised": "139",
                                                  "verdict": "incorrect", "max_score": "3"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{base}?graded=3&v=incorrect"
    groups = (await client.get(f"/api/v1{base.removeprefix('/review')}")).json()
    group = next(g for g in groups["groups"] if g["normalised"] == "139")
    assert group["verdict"] == "incorrect"
    assert {m["source"] for m in group["members"]} == {"teacher"}
    r = await browser.get(r.headers["location"])
    assert 'data-testid="review-group-done"' in r.text


async def test_a_queue_of_a_thousand_renders_one_item_with_few_queries(
        app: FastAPI, client: httpx.AsyncClient, sheet: Sheet,
        owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    reads = {"m3-add-001": Read("85", confidence=0.6, alternatives=(("86", 0.35),)),
             "m3-word-001": Read("189", confidence=0.6, alternatives=(("139", 0.35),))}
    for n in range(500):
        await seed_page(client, sheet, "王小明", reads, label=f"bulk{n}")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = await browser.get(f"/review?worksheet_id={sheet.worksheet_id}&at=700")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200
    assert 'data-testid="review-left" data-count="1002"' in r.text
    assert r.text.count('data-testid="review-item"') == 1
    assert r.text.count("<li><a href=\"/review?") == 8  # the next eight, not a thousand
    print(f"queue page at item 701 of 1002: {len(statements)} statements")  # noqa: T201
    # The session, the worksheet filter, every count (one statement), the items, their
    # blanks and students, the worksheets listed, the current answer's question.
    assert len(statements) <= 8, statements


def test_every_review_message_is_in_both_languages() -> None:
    catalogue = load_catalogue()
    zh, en = (set(catalogue.languages[lang]) for lang in ("zh-CN", "en"))
    review = {k for k in zh | en if k.startswith("review.")}
    assert {k for k in zh if k.startswith("review.")} == {k for k in en if k.startswith("review.")}
    used = set()
    for template in (TEMPLATE_DIR / "review").glob("*.html"):
        used |= {k for k in re.findall(r'_\(\s*"([a-z_.\-]+)"', template.read_text("utf-8"))
                 if not k.endswith(".")}
    # Keys built from data: kinds, verdicts, page explanations, review reasons, errors.
    kinds = ("response", "unknown_student", "unidentified", "duplicate")
    used |= {f"review.kind.{k}" for k in kinds}
    used |= {f"review.page.{k}.{part}" for k in kinds[1:] for part in ("title", "what", "todo")}
    used |= {f"review.verdict.{v}" for v in ("correct", "partially_correct", "incorrect")}
    used |= {f"review.reason.{r}" for r in ("uncertain_reading", "unreadable",
                                            "teacher_reading_undecided")}
    used |= {f"review.error.{e}" for e in (
        "nothing_to_confirm", "missing_text", "wrong_blank_count", "invalid_verdict",
        "score_out_of_range", "bad_key", "no_student", "not_on_roster", "already_assigned",
        "page_taken", "not_assignable", "no_worksheet", "no_such_group", "not_dismissable")}
    assert used - review == set()
    # Every placeholder is filled the same way in both languages.
    for key in review:
        zh_text, en_text = (catalogue.languages[lang][key] for lang in ("zh-CN", "en"))
        assert set(re.findall(r"\{(\w+)\}", zh_text)) == set(re.findall(r"\{(\w+)\}", en_text)), key


async def test_the_queue_in_english(client: httpx.AsyncClient, sheet: Sheet,
                                    owner: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = owner
    browser.cookies.set("lang", "en")
    for url in (f"/review?worksheet_id={sheet.worksheet_id}&at=1",
                f"/review/worksheets/{sheet.worksheet_id}/questions/m3-word-001/groups"):
        r = await browser.get(url)
        assert r.status_code == 200
        assert "[[" not in r.text
    assert "Accept" in (await browser.get(f"/review?worksheet_id={sheet.worksheet_id}&at=1")).text
