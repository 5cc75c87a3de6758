"""The classes and roster pages over HTTP (the real app, real databases): my classes and a
new class, a roster with adding a student, a roster CSV import whose every bad line is
listed in plain Chinese (and nothing imported), renaming the class and correcting a
student (pages and the API's PATCH routes, one service function); another teacher's class
is not found."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.errors import MarkbookError
from service.roster import parse_roster_csv
from service.web.classes_import import import_problems
from service.web.i18n import LANGUAGES, load_catalogue
from service.web.render import TEMPLATE_DIR
from tests.support.auth import Account, audit_rows, client_for
from tests.web.test_pages import _account, assert_translated, csrf, sign_in


@pytest.fixture
async def owner(app: FastAPI) -> Account:
    await _account(app, "head.teacher", admin=True)  # the sign-in form, not first run
    return await _account(app, "wang.li")


@pytest.fixture
async def browser(app: FastAPI, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        assert (await sign_in(c, owner.username)).status_code == 303
        yield c


async def _create(browser: httpx.AsyncClient, name: str) -> int:
    page = await browser.get("/classes")
    r = await browser.post("/classes", data={"name": name, "grade": "3",
                                             "csrf_token": csrf(page)})
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/classes/(\d+)\?done=created", r.headers["location"])
    assert found, r.headers["location"]
    return int(found.group(1))


def _rows(html: str) -> list[tuple[str, str, str]]:
    """The roster's (student id, 学号, 姓名) rows."""
    return re.findall(r'data-testid="student-row" data-student-id="(\d+)" '
                      r'data-student-no="([^"]*)">.*?data-testid="student-link">([^<]*)</a>',
                      html, re.S)


def _errors(html: str) -> list[tuple[str, str]]:
    """The import problems as (line, text) pairs."""
    return [(line, re.sub(r"<[^>]+>", " ", text).strip()) for line, text in re.findall(
        r'data-testid="import-error" data-line="(\d*)">\s*<td class="num">.*?</td>\s*'
        r"<td>(.*?)</td>", html, re.S)]


async def _import(browser: httpx.AsyncClient, class_id: int, data: bytes,
                  name: str = "名单.csv") -> httpx.Response:
    page = await browser.get(f"/classes/{class_id}")
    return await browser.post(f"/classes/{class_id}/students/import",
                              data={"csrf_token": csrf(page)},
                              files={"file": (name, data, "text/csv")})


# ------------------------------------------------------------------ list and create


async def test_my_classes_and_creating_one(app: FastAPI, browser: httpx.AsyncClient,
                                           owner: Account) -> None:
    page = await browser.get("/classes")
    assert page.status_code == 200
    assert 'data-testid="classes-list"' in page.text
    assert 'data-testid="no-classes"' in page.text
    assert_translated(page)
    # A colleague's class is never listed.
    colleague = await _account(app, "zhao.min")
    async with client_for(app, colleague.headers) as api:
        assert (await api.post("/api/v1/classes", json={"name": "同事的班"})).status_code == 201
    # A class needs a name: the form comes back with the problem and what was typed.
    r = await browser.post("/classes", data={"name": "  ", "grade": "13",
                                             "csrf_token": csrf(page)})
    assert r.status_code == 422
    assert 'data-testid="class-name-error"' in r.text
    assert "请填写名称" in r.text
    assert "年级请填 1 到 12" in r.text
    assert 'value="13"' in r.text
    class_id = await _create(browser, "三年级(2)班")
    roster = await browser.get(f"/classes/{class_id}?done=created")
    assert 'data-testid="class-roster"' in roster.text
    assert "三年级(2)班" in roster.text
    assert "班级已创建" in roster.text
    assert 'data-testid="no-students"' in roster.text
    listed = await browser.get("/classes")
    row = re.search(rf'data-testid="class-row" data-class-id="{class_id}">.*?</tr>',
                    listed.text, re.S)
    assert row
    assert f'href="/classes/{class_id}"' in row.group(0)
    assert 'data-testid="student-count">0<' in row.group(0)
    assert "同事的班" not in listed.text
    # The API sees the same class, owned by the signed-in teacher.
    async with client_for(app, owner.headers) as api:
        assert [c["name"] for c in (await api.get("/api/v1/classes")).json()] == ["三年级(2)班"]


# ------------------------------------------------------------------ roster


async def test_adding_a_student_by_hand(browser: httpx.AsyncClient) -> None:
    class_id = await _create(browser, "二班")
    page = await browser.get(f"/classes/{class_id}")
    r = await browser.post(f"/classes/{class_id}/students", data={
        "student_no": "001", "name": "王小明", "csrf_token": csrf(page)})
    assert r.status_code == 303
    assert r.headers["location"] == f"/classes/{class_id}?done=added&n=1"
    roster = await browser.get(r.headers["location"])
    assert "已添加 1 名学生" in roster.text
    [(sid, no, name)] = _rows(roster.text)
    assert (no, name) == ("001", "王小明")
    assert f'href="/students/{sid}"' in roster.text  # the teacher's student page
    assert "学生名单（1 人）" in roster.text
    # The same number again: refused beside the field, what was typed kept.
    r = await browser.post(f"/classes/{class_id}/students", data={
        "student_no": "001", "name": "李华", "csrf_token": csrf(page)})
    assert r.status_code == 409
    assert 'data-testid="add-student-error"' in r.text
    assert "这个学号在本班已经有人用了" in r.text
    assert 'value="李华"' in r.text
    r = await browser.post(f"/classes/{class_id}/students", data={
        "student_no": "0 1", "name": "", "csrf_token": csrf(page)})
    assert r.status_code == 422
    assert "学号只能用字母、数字" in r.text
    assert len(_rows((await browser.get(f"/classes/{class_id}")).text)) == 1


async def test_a_roster_with_bad_lines_lists_each_and_imports_nothing(
        browser: httpx.AsyncClient) -> None:
    class_id = await _create(browser, "三年级(1)班")
    bad = ("学号,姓名\n"
           "001,王小明\n"
           "002,\n"          # line 3: no name
           "001,李华\n"       # line 4: 001 twice
           ",赵敏\n"          # line 5: no number
           "a b,张伟\n"       # line 6: a bad number
           "006,刘洋\n").encode()
    r = await _import(browser, class_id, bad)
    assert r.status_code == 422
    assert 'data-testid="import-errors"' in r.text
    assert "名单有 4 处问题，没有导入" in r.text
    assert "一个学生都没有导入" in r.text
    errors = _errors(r.text)
    assert [line for line, _ in errors] == ["3", "4", "5", "6"]
    text = dict(errors)
    assert "姓名是空的" in text["3"]
    assert "学号 001 重复了（第 2 行已经有这个学号）" in text["4"]
    assert "001,李华" in text["4"]  # the line itself, to find it in the file
    assert "学号是空的" in text["5"]
    assert "学号“a b”不对" in text["6"]
    assert ">第 3 行<" in r.text
    assert_translated(r)
    assert _rows((await browser.get(f"/classes/{class_id}")).text) == []
    # Fixed (and saved by Excel on Chinese Windows: GBK), it goes in whole.
    good = "学号,姓名\n001,王小明\n002,李华\n003,赵敏\n".encode("gbk")
    r = await _import(browser, class_id, good)
    assert r.status_code == 303
    assert r.headers["location"] == f"/classes/{class_id}?done=imported&n=3"
    roster = await browser.get(r.headers["location"])
    assert "名单导入成功：已添加 3 名学生" in roster.text
    assert [(no, name) for _, no, name in _rows(roster.text)] == [
        ("001", "王小明"), ("002", "李华"), ("003", "赵敏")]
    # The same file again: every number is already in the class, nothing added.
    r = await _import(browser, class_id, good)
    assert r.status_code == 422
    assert [line for line, _ in _errors(r.text)] == ["2", "3", "4"]
    assert "学号 002 在本班已经有了" in r.text
    assert len(_rows((await browser.get(f"/classes/{class_id}")).text)) == 3


@pytest.mark.parametrize(("data", "expected"), [
    ("学号,姓名\n001,王小明\n".encode("utf-16"), "UTF-16"),
    (b"\xff\xfe\xfd\x80\x81 not text", "文件编码无法识别"),
    (b"id,full name\n1,x\n", "包含“学号”和“姓名”两列"),
    ("学号,姓名\n".encode(), "文件只有表头，没有学生"),
    (b"   \n", "文件是空的"),
])
async def test_a_file_that_is_not_a_roster_says_why(browser: httpx.AsyncClient, data: bytes,
                                                    expected: str) -> None:
    class_id = await _create(browser, "四班")
    r = await _import(browser, class_id, data)
    assert r.status_code == 422
    [(line, text)] = _errors(r.text)
    assert line == ""
    assert expected in text
    assert "整个文件" in r.text


def test_every_roster_problem_the_service_reports_has_words() -> None:
    """Each per-line message of service.roster maps to its own message (not the fallback),
    so a change of wording there fails here instead of showing English to a teacher."""
    data = "学号,姓名\n001,王小明\n002,\n001,李华\n,赵敏\nx y,张伟\n".encode()
    with pytest.raises(MarkbookError) as caught:
        parse_roster_csv(data)
    keys = [p.key.rsplit(".", 1)[1] for p in import_problems(caught.value, data)]
    assert keys == ["bad_name", "duplicate_in_file", "no_missing", "bad_no"]


# ------------------------------------------------------------------ rename and edit


async def test_renaming_the_class_and_correcting_a_student(app: FastAPI,
                                                           browser: httpx.AsyncClient,
                                                           owner: Account) -> None:
    class_id = await _create(browser, "三年级二班")
    r = await _import(browser, class_id, "学号,姓名\n001,王小明\n002,李化\n".encode())
    assert r.status_code == 303
    page = await browser.get(f"/classes/{class_id}")
    r = await browser.post(f"/classes/{class_id}/rename",
                           data={"name": "三年级(2)班", "csrf_token": csrf(page)})
    assert r.status_code == 303
    assert r.headers["location"] == f"/classes/{class_id}?done=renamed"
    page = await browser.get(r.headers["location"])
    assert '<h1 data-testid="class-name-heading">三年级(2)班</h1>' in page.text
    r = await browser.post(f"/classes/{class_id}/rename",
                           data={"name": "", "csrf_token": csrf(page)})
    assert r.status_code == 422
    assert 'data-testid="rename-error"' in r.text
    # Correct 李化 -> 李华 and their number.
    li = next(sid for sid, _, name in _rows(page.text) if name == "李化")
    r = await browser.post(f"/classes/{class_id}/students/{li}", data={
        "student_no": "012", "name": "李华", "csrf_token": csrf(page)})
    assert r.status_code == 303
    page = await browser.get(f"/classes/{class_id}")
    assert ("012", "李华") in [(no, name) for _, no, name in _rows(page.text)]
    # Another student's number is refused, and the form stays open with the typing.
    r = await browser.post(f"/classes/{class_id}/students/{li}", data={
        "student_no": "001", "name": "李华华", "csrf_token": csrf(page)})
    assert r.status_code == 409
    assert 'data-testid="edit-student-error"' in r.text
    assert 'value="李华华"' in r.text
    assert re.search(rf'id="student-{li}".*?<details class="edit" open>', r.text, re.S)
    # Both changes are audited without the names.
    events = await audit_rows(app, "student.update")
    assert [e.target_id for e in events] == [int(li)]
    assert events[0].detail == {"fields": ["name", "student_no"]}
    assert len(await audit_rows(app, "class.update")) == 1
    # The API's PATCH routes go through the same functions.
    async with client_for(app, owner.headers) as api:
        r = await api.patch(f"/api/v1/classes/{class_id}", json={"name": "三年级(3)班"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "三年级(3)班"
        r = await api.patch(f"/api/v1/classes/{class_id}/students/{li}",
                            json={"student_no": "001"})
        assert r.status_code == 409
        assert r.json()["error"] == "duplicate_student"
        r = await api.patch(f"/api/v1/classes/{class_id}/students/{li}", json={"name": "李 华"})
        assert r.status_code == 200
        assert r.json() == {"id": int(li), "student_no": "012", "name": "李 华", "pinyin": None}
        r = await api.patch(f"/api/v1/classes/{class_id}/students/{li}", json={})
        assert r.status_code == 400
        r = await api.patch(f"/api/v1/classes/{class_id}", json={"name": None})
        assert r.status_code == 400
        r = await api.patch(f"/api/v1/classes/{class_id}", json={"colour": "red"})
        assert r.status_code == 422


async def test_a_student_of_another_class_cannot_be_edited_through_mine(
        app: FastAPI, browser: httpx.AsyncClient) -> None:
    mine = await _create(browser, "一班")
    other = await _create(browser, "二班")
    assert (await _import(browser, other, "学号,姓名\n001,王小明\n".encode())).status_code == 303
    [(sid, _, _)] = _rows((await browser.get(f"/classes/{other}")).text)
    page = await browser.get(f"/classes/{mine}")
    r = await browser.post(f"/classes/{mine}/students/{sid}", data={
        "student_no": "001", "name": "改名", "csrf_token": csrf(page)})
    assert r.status_code == 404
    assert "改名" not in (await browser.get(f"/classes/{other}")).text


async def test_another_teachers_class_is_not_found(app: FastAPI,
                                                   browser: httpx.AsyncClient) -> None:
    class_id = await _create(browser, "王老师的班")
    assert (await _import(browser, class_id, "学号,姓名\n001,王小明\n".encode())).status_code \
        == 303
    [(sid, _, _)] = _rows((await browser.get(f"/classes/{class_id}")).text)
    for who, school in (("zhao.min", None), ("far.admin", "别的学校")):
        await _account(app, who, admin=school is not None, new_school=school)
        async with client_for(app) as other:
            assert (await sign_in(other, who)).status_code == 303
            token = csrf(await other.get("/classes"))
            answers = [
                await other.get(f"/classes/{class_id}"),
                await other.post(f"/classes/{class_id}/students", data={
                    "student_no": "009", "name": "闯入者", "csrf_token": token}),
                await other.post(f"/classes/{class_id}/students/import",
                                 data={"csrf_token": token},
                                 files={"file": ("x.csv", "学号,姓名\n010,闯入者\n".encode(),
                                                 "text/csv")}),
                await other.post(f"/classes/{class_id}/rename",
                                 data={"name": "闯入者的班", "csrf_token": token}),
                await other.post(f"/classes/{class_id}/students/{sid}", data={
                    "student_no": "001", "name": "闯入者", "csrf_token": token}),
            ]
            for r in answers:
                assert r.status_code == 404, (r.request.url, r.status_code)
                assert "王老师的班" not in r.text
                assert "王小明" not in r.text
    roster = (await browser.get(f"/classes/{class_id}")).text
    assert "闯入者" not in roster
    assert [(no, name) for _, no, name in _rows(roster)] == [("001", "王小明")]


async def test_the_pages_in_both_languages(browser: httpx.AsyncClient) -> None:
    class_id = await _create(browser, "双语班")
    await _import(browser, class_id, "学号,姓名\n001,王小明\n".encode())
    for lang in LANGUAGES:
        browser.cookies.set("lang", lang)
        for url in ("/classes", f"/classes/{class_id}", f"/classes/{class_id}?done=imported&n=1"):
            r = await browser.get(url)
            assert r.status_code == 200
            assert f'<html lang="{lang}">' in r.text
            assert_translated(r)
        r = await _import(browser, class_id, "学号,姓名\n001,重复\n,\n".encode())
        assert_translated(r)
    assert "Roster (1 students)" in (await browser.get(f"/classes/{class_id}")).text


def test_every_message_of_the_area_is_in_both_languages() -> None:
    catalogue = load_catalogue()
    zh, en = (set(catalogue.languages[lang]) for lang in ("zh-CN", "en"))
    used = set()
    for folder in ("classes", "student_links", "learner"):
        for template in (TEMPLATE_DIR / folder).glob("*.html"):
            used |= {k for k in re.findall(r'_\("([a-z_.\-]+)"', template.read_text("utf-8"))
                     if not k.endswith((".", "_"))}
    # Keys built from data: the notices, the fields refused, each import problem.
    used |= {f"classes.done.{d}" for d in ("created", "added", "imported", "renamed",
                                           "edited")}
    used |= {f"classes.invalid.{f}" for f in ("name", "grade", "subject", "student_no",
                                              "pinyin", "taken")}
    used |= {f"classes.import.problem.{k}" for k in (
        "utf16", "encoding", "too_large", "empty", "header", "no_students", "too_many",
        "no_missing", "bad_no", "bad_name", "duplicate_in_file", "already_in_class", "other")}
    used |= {f"student_links.done.{d}" for d in ("revoked", "revoked_all")} | {"student_links.more"}
    used |= {f"learner.{k}.{s}" for k in ("state", "entries") for s in
             ("open", "practising", "resolved")}
    used |= {f"learner.entries.none_{s}" for s in ("open", "practising", "resolved")}
    used |= {f"learner.level.{v}" for v in ("mastered", "developing", "not_mastered")}
    assert len(used) > 100
    assert used - zh == set()
    assert used - en == set()
