"""Student links in a real browser: the teacher makes one student's link, and the link,
opened in a fresh browser with no session, shows that student's page only; revoked, it
is the 404 page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import (
    Server,
    assert_translated,
    import_playwright,
    watched_context,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect


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
        screenshot(student, "student-link")

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
