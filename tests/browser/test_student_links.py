"""Student links in a real browser: the teacher makes one student's link, and the link,
opened in a fresh browser with no session, shows that student's page only; revoked, it
is the 404 page. A class whose scanned work the real server graded shows the student's
entries and mastery through their link."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from simulation.classroom import font_glyph_bank, keys_for, realistic_answer_for, scan_class_set
from tests.browser.conftest import (
    Server,
    assert_translated,
    import_playwright,
    server_api,
    watched_context,
)
from tests.support.scans import ROOT, math_ids

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect

JOB_LIMIT_S = 240  # the first job also starts the worker and loads the models


def test_a_student_link_opens_only_that_students_page(
        teacher: Page, browser: Browser, server: Server,
        screenshot: Callable[[Page, str], Any]) -> None:
    page = teacher
    tag = uuid.uuid4().hex[:4]
    page.goto("/classes")
    page.get_by_test_id("class-name").fill(f"链接测试班 {tag}")
    page.get_by_test_id("create-class-submit").click()
    page.get_by_test_id("import-file").set_input_files(
        {"name": "名单.csv", "mimeType": "text/csv",
         "buffer": f"学号,姓名\n001,王小明{tag}\n002,李华{tag}\n".encode()})
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("student-row")).to_have_count(2)

    page.get_by_test_id("student-links-link").click()
    expect(page.get_by_test_id("student-links")).to_be_visible()
    links_url = page.url
    expect(page.get_by_test_id("reissue-warning")).to_contain_text("重新生成会让旧链接失效")
    assert_translated(page)
    li = page.get_by_test_id("link-row").filter(has_text=f"李华{tag}")
    li.get_by_test_id("issue-one").click()
    expect(page.get_by_test_id("student-link-slips")).to_be_visible()
    slip = page.get_by_test_id("slip")
    expect(slip).to_have_count(1)
    expect(slip).to_contain_text(f"李华{tag}")
    expect(slip.get_by_test_id("slip-qr").locator("svg")).to_be_visible()
    url = slip.get_by_test_id("slip-url").inner_text().strip()
    assert url.startswith(f"{server.url}/s/")

    # A fresh browser: no session, no cookies.
    context, watch = watched_context(browser, server)
    try:
        student = context.new_page()
        student.goto(url)
        expect(student.get_by_test_id("learner")).to_be_visible()
        expect(student.get_by_test_id("learner-name")).to_have_text(f"李华{tag}")
        body = student.locator("body").inner_text()
        assert f"王小明{tag}" not in body
        assert server.username not in body
        expect(student.get_by_test_id("nav")).to_have_count(0)
        expect(student.get_by_test_id("learner-pdf")).to_be_visible()
        assert_translated(student)

        # Revoked by the teacher: the same browser now gets the 404 page.
        page.goto(links_url)
        page.get_by_test_id("link-row").filter(has_text=f"李华{tag}") \
            .get_by_test_id("revoke-one").click()
        expect(page.get_by_test_id("done")).to_be_visible()
        student.goto(url)
        expect(student.get_by_test_id("error-404")).to_be_visible()
        assert f"李华{tag}" not in student.locator("body").inner_text()
    finally:
        context.close()
    assert not watch.blocked
    assert not watch.errors
    assert not watch.untranslated


def _graded_class(server: Server, tag: str) -> int:
    """A class of two whose one-page worksheet was printed, filled in (李华 gets two
    questions wrong, 王小明 one other), scanned, uploaded and graded by the server."""
    bank = json.loads((ROOT / "sample_scans" / "question_bank.json").read_text("utf-8"))
    qids = math_ids(6)
    wrong = {0: {qids[0], qids[1]}, 1: {qids[2]}}  # per copy, in print order
    seen: dict[tuple[str, int], int] = {}
    keys = keys_for([q for q in bank["questions"] if q["id"] in qids])
    base = realistic_answer_for(keys)

    def answer_for(qid: str, blank: int, rng: np.random.Generator) -> str:
        copy = seen[(qid, blank)] = seen.get((qid, blank), -1) + 1
        key = keys.get(f"{qid}#{blank}") or keys.get(qid, "")
        if key.isdigit():
            if qid in wrong.get(copy, set()):  # every digit different: plainly wrong
                return "".join(str((int(c) + 5) % 10) for c in key)
            return key
        return base(qid, blank, rng)

    with server_api(server) as c:
        assert c.post("/api/v1/questions:import", json=bank).status_code == 200
        r = c.post("/api/v1/classes", json={"name": f"三年级(2)班 {tag}", "grade": 3})
        cid = r.json()["id"]
        r = c.post(f"/api/v1/classes/{cid}/students", json=[
            {"student_no": f"L{tag}1", "name": "李华"},
            {"student_no": f"L{tag}2", "name": "王小明"}])
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/worksheets", json={"title": f"口算练习 {tag}", "class_id": cid,
                                               "question_ids": qids})
        assert r.status_code == 201, r.text
        wid = r.json()["id"]
        layout = c.get(f"/api/v1/worksheets/{wid}/layout").json()
        printed = c.get(f"/api/v1/worksheets/{wid}/print.pdf?per_student=true")
        assert printed.status_code == 200
        stack = scan_class_set(printed.content, {wid: layout}, {}, seed=3,
                               bank=font_glyph_bank(), handwriting="font",
                               answer_for=answer_for)
        r = c.post(f"/api/v1/scans?worksheet_id={wid}",
                   files={"scan": ("class.pdf", stack.pdf, "application/pdf")})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        deadline = time.monotonic() + JOB_LIMIT_S
        while True:
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] in ("done", "partially_done", "failed"):
                break
            assert time.monotonic() < deadline, job
            time.sleep(1)
        assert job["status"] in ("done", "partially_done"), job
    return int(cid)


def test_a_students_link_shows_their_graded_work(teacher: Page, browser: Browser,
                                                  server: Server,
                                                  screenshot: Callable[[Page, str], Any]
                                                  ) -> None:
    tag = uuid.uuid4().hex[:4]
    class_id = _graded_class(server, tag)
    page = teacher
    page.goto(f"/classes/{class_id}/links")
    page.get_by_test_id("issue-missing").click()
    slips = page.get_by_test_id("slip")
    expect(slips).to_have_count(2)
    url = slips.filter(has_text="李华").get_by_test_id("slip-url").inner_text().strip()
    context, watch = watched_context(browser, server)
    try:
        student = context.new_page()
        student.goto(url)
        expect(student.get_by_test_id("learner-name")).to_have_text("李华")
        expect(student.get_by_test_id("kp-row").first).to_be_visible()
        expect(student.get_by_test_id("entry").first).to_be_visible()
        assert "王小明" not in student.locator("body").inner_text()
        assert_translated(student)
        screenshot(student, "student-link")
    finally:
        context.close()
    assert not watch.blocked
    assert not watch.errors
    assert not watch.untranslated
