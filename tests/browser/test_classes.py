"""Classes and rosters in a real browser: create a class, add a student by hand, import a
roster CSV with a bad line (each problem shown with its line number, nothing imported),
fix it and import again, rename the class, correct a student's name."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import assert_translated, import_playwright

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect


def _csv(page: Page, text: str) -> None:
    page.get_by_test_id("import-file").set_input_files(
        {"name": "名单.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")})
    page.get_by_test_id("import-submit").click()


def test_create_class_import_roster_fix_and_rename(teacher: Page,
                                                   screenshot: Callable[[Page, str], Any]
                                                   ) -> None:
    page = teacher
    name = f"三年级(2)班 {uuid.uuid4().hex[:4]}"
    page.get_by_test_id("nav").get_by_role("link", name="班级").click()
    expect(page.get_by_test_id("classes-list")).to_be_visible()
    assert_translated(page)
    page.get_by_test_id("class-name").fill(name)
    page.get_by_test_id("class-grade").fill("3")
    page.get_by_test_id("create-class-submit").click()
    expect(page.get_by_test_id("class-roster")).to_be_visible()
    expect(page.get_by_test_id("class-name-heading")).to_have_text(name)
    expect(page.get_by_test_id("done")).to_contain_text("班级已创建")

    # One student by hand.
    page.get_by_test_id("add-student-no").fill("001")
    page.get_by_test_id("add-student-name").fill("王小明")
    page.get_by_test_id("add-student-submit").click()
    expect(page.get_by_test_id("done")).to_contain_text("已添加 1 名学生")
    expect(page.get_by_test_id("student-row")).to_have_count(1)

    # A roster with a bad line: every problem listed by line, nothing imported.
    _csv(page, "学号,姓名\n002,李华\n003,\n004,赵敏\n002,张伟\n")
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("没有导入")
    rows = page.get_by_test_id("import-error")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-line", "3")
    expect(rows.nth(0)).to_contain_text("第 3 行")
    expect(rows.nth(0)).to_contain_text("姓名是空的")
    expect(rows.nth(1)).to_have_attribute("data-line", "5")
    expect(rows.nth(1)).to_contain_text("学号 002 重复了")
    expect(page.get_by_test_id("student-row")).to_have_count(1)
    assert_translated(page)

    # Fixed: all three go in.
    _csv(page, "学号,姓名\n002,李化\n003,刘洋\n004,赵敏\n")
    expect(page.get_by_test_id("done")).to_contain_text("已添加 3 名学生")
    expect(page.get_by_test_id("student-row")).to_have_count(4)
    expect(page.get_by_test_id("import-errors")).to_have_count(0)

    # Rename the class; correct 李化 -> 李华.
    page.get_by_test_id("rename-name").fill(f"{name} 改")
    page.get_by_test_id("rename-submit").click()
    expect(page.get_by_test_id("class-name-heading")).to_have_text(f"{name} 改")
    li = page.locator('[data-testid="student-row"][data-student-no="002"]')
    li.get_by_test_id("edit-student").click()
    li.get_by_test_id("edit-student-name").fill("李华")
    li.get_by_test_id("edit-student-submit").click()
    expect(page.get_by_test_id("done")).to_contain_text("学生信息已修改")
    li = page.locator('[data-testid="student-row"][data-student-no="002"]')
    expect(li.get_by_test_id("student-link")).to_have_text("李华")
    assert (li.get_by_test_id("student-link").get_attribute("href") or "").startswith(
        "/students/")
    screenshot(page, "class-roster")

    page.goto("/classes")
    row = page.get_by_test_id("class-row").filter(has_text=f"{name} 改")
    expect(row.get_by_test_id("student-count")).to_have_text("4")
    screenshot(page, "classes-list")
