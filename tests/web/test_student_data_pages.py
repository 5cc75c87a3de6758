"""The student page's data section over HTTP (real app, real databases): every teacher of
the class downloads the export; only a school admin sees the erasure form, which needs the
student number typed again and the form's CSRF token."""

from __future__ import annotations

import io
import json
import re
import zipfile

from fastapi import FastAPI

from tests.support.auth import Account, audit_rows
from tests.web.test_results_pages import account, assert_translated, signed_in
from tests.web.test_students_pages import graded_class

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_teacher_exports_admin_also_erases(app: FastAPI) -> None:
    await account(app, "head", admin=True)
    owner: Account = await account(app, "wang.li")
    sheet = await graded_class(app, owner)
    li = sheet.students["李华"]

    teacher = await signed_in(app, "wang.li")
    admin = await signed_in(app, "head")
    try:
        r = await teacher.get(f"/students/{li}")
        assert r.status_code == 200
        assert 'data-testid="student-export"' in r.text
        assert "导出数据" in r.text
        assert 'data-testid="student-erase-form"' not in r.text
        export = await teacher.get(f"/students/{li}/export.zip")
        assert export.status_code == 200
        doc = json.loads(zipfile.ZipFile(io.BytesIO(export.content)).read("student.json"))
        assert doc["student"]["name"] == "李华"
        assert doc["audit"] is None  # the audit log is the admins'
        # A teacher cannot erase, even with a valid form.
        token = _CSRF.search(r.text)
        assert token
        refused = await teacher.post(f"/students/{li}/erase",
                                     data={"confirm": "002", "csrf_token": token.group(1)})
        assert refused.status_code == 403

        page = await admin.get(f"/students/{li}")
        assert page.status_code == 200
        form = re.search(r'<form[^>]*data-testid="student-erase-form".*?</form>', page.text,
                         re.S)
        assert form
        assert "删除该学生的全部数据" in form.group(0)
        assert "请输入该学生的学号 002 以确认" in form.group(0)
        assert_translated(page)
        token = _CSRF.search(form.group(0))
        assert token
        # Without the CSRF token nothing happens.
        r = await admin.post(f"/students/{li}/erase", data={"confirm": "002"})
        assert r.status_code == 403
        # A wrong number: back to the page, saying so; nothing erased.
        r = await admin.post(f"/students/{li}/erase",
                             data={"confirm": "001", "csrf_token": token.group(1)})
        assert r.status_code == 303
        assert r.headers["location"].startswith(f"/students/{li}?erase=mismatch")
        again = await admin.get(r.headers["location"])
        assert 'data-testid="student-erase-error"' in again.text
        assert "输入的学号不一致" in again.text
        # The right number: erased, and off to the class.
        r = await admin.post(f"/students/{li}/erase",
                             data={"confirm": "002", "csrf_token": token.group(1)})
        assert r.status_code == 303
        assert r.headers["location"] == f"/classes/{sheet.class_id}"
        assert (await admin.get(f"/students/{li}")).status_code == 404
        roster = await admin.get(f"/classes/{sheet.class_id}")
        assert f'href="/students/{li}"' not in roster.text
        assert f'href="/students/{sheet.students["王小明"]}"' in roster.text
        assert len(await audit_rows(app, "student.erase")) == 1
        admin.cookies.set("lang", "en")
        en = await admin.get(f"/students/{sheet.students['王小明']}")
        assert "Delete all of this student&#39;s data" in en.text
        assert "Export data" in en.text
        assert_translated(en)
    finally:
        await teacher.aclose()
        await admin.aclose()
