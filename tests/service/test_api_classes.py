"""Classes and rosters through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.support.auth import client_for, make_account


async def _new_class(client: httpx.AsyncClient) -> int:
    r = await client.post("/api/v1/classes", json={"name": "三年级(2)班", "grade": 3})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _count(client: httpx.AsyncClient, class_id: int) -> int:
    r = await client.get(f"/api/v1/classes/{class_id}")
    assert r.status_code == 200
    return int(r.json()["student_count"])


async def test_create_and_get_class(client: httpx.AsyncClient) -> None:
    cid = await _new_class(client)
    r = await client.get(f"/api/v1/classes/{cid}")
    assert r.status_code == 200
    assert r.json() == {"id": cid, "name": "三年级(2)班", "grade": 3, "subject": None,
                        "student_count": 0, "students": []}


async def test_unknown_class_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/classes/9999")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert "9999" in r.json()["detail"]


async def test_bad_class_body_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/classes", json={"name": "", "grade": 30})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "validation_error"
    assert {e["loc"] for e in body["errors"]} == {"name", "grade"}


async def test_add_students_json_and_duplicates(client: httpx.AsyncClient) -> None:
    cid = await _new_class(client)
    r = await client.post(f"/api/v1/classes/{cid}/students",
                          json=[{"student_no": "001", "name": "王小明", "pinyin": "wang xiao ming"},
                                {"student_no": "002", "name": "李华"}])
    assert r.status_code == 201
    assert r.json()["created"] == 2
    # Duplicate inside the request: nothing written.
    r = await client.post(f"/api/v1/classes/{cid}/students",
                          json=[{"student_no": "003", "name": "甲"}, {"student_no": "003", "name": "乙"}])
    assert r.status_code == 409
    assert r.json()["error"] == "duplicate_student"
    # Clash with a stored student: nothing written either (003 must not appear).
    r = await client.post(f"/api/v1/classes/{cid}/students",
                          json=[{"student_no": "003", "name": "甲"}, {"student_no": "001", "name": "乙"}])
    assert r.status_code == 409
    assert r.json()["errors"] == [{"index": 1, "student_no": "001",
                                   "message": "student_no 001 is already in this class"}]
    assert await _count(client, cid) == 2


async def test_roster_csv_utf8_bom_and_gbk(client: httpx.AsyncClient, sample_roster: bytes) -> None:
    cid = await _new_class(client)
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=sample_roster,
                          headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 30
    cid2 = await _new_class(client)
    text = "\ufeffstudent_no,name\n1001,张伟\n1002,欧阳晨\n"
    r = await client.post(f"/api/v1/classes/{cid2}/students:import",
                          files={"roster": ("班级.csv", text.encode("utf-8"), "text/csv")})
    assert r.status_code == 201, r.text
    cid3 = await _new_class(client)
    r = await client.post(f"/api/v1/classes/{cid3}/students:import",
                          content="学号,姓名\n2001,刘洋\n2002,陈静\n".encode("gbk"),
                          headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    names = [s["name"] for s in (await client.get(f"/api/v1/classes/{cid3}")).json()["students"]]
    assert names == ["刘洋", "陈静"]


async def test_roster_csv_errors_are_by_line_and_atomic(client: httpx.AsyncClient) -> None:
    cid = await _new_class(client)
    csv_text = "student_no,name\n001,王小明\n002,李华\n001,张三\n,无学号\n"
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=csv_text.encode(),
                          headers={"content-type": "text/csv"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "bad_csv"
    assert [e["line"] for e in body["errors"]] == [4, 5]
    assert "first on line 2" in body["errors"][0]["message"]
    assert await _count(client, cid) == 0


async def test_roster_csv_wrong_encoding_and_header(client: httpx.AsyncClient) -> None:
    cid = await _new_class(client)
    utf16 = "student_no,name\n001,王小明\n".encode("utf-16")
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=utf16,
                          headers={"content-type": "text/csv"})
    assert r.status_code == 415
    assert r.json()["error"] == "bad_encoding"
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=b"no,name\n\xff\xfe\xfa\n",
                          headers={"content-type": "text/csv"})
    assert r.status_code == 415
    assert r.json()["error"] == "bad_encoding"
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=b"id,full\n1,x\n",
                          headers={"content-type": "text/csv"})
    assert r.status_code == 422
    assert "header" in r.json()["detail"]
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=b"",
                          headers={"content-type": "text/csv"})
    assert r.status_code == 400
    assert r.json()["error"] == "empty"
    assert await _count(client, cid) == 0


async def test_roster_clash_with_existing_is_409(client: httpx.AsyncClient) -> None:
    cid = await _new_class(client)
    body = "student_no,name\n001,王小明\n".encode()
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=body,
                          headers={"content-type": "text/csv"})
    assert r.status_code == 201
    body = "student_no,name\n009,新同学\n001,王小明\n".encode()
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=body,
                          headers={"content-type": "text/csv"})
    assert r.status_code == 409
    assert r.json()["errors"][0]["line"] == 3
    assert await _count(client, cid) == 1


async def test_list_classes_with_counts_scoped_to_the_caller(
        app: FastAPI, teacher_client: httpx.AsyncClient, other_client: httpx.AsyncClient,
        admin_client: httpx.AsyncClient) -> None:
    mine = await _new_class(teacher_client)
    r = await teacher_client.post(f"/api/v1/classes/{mine}/students", json=[
        {"student_no": "001", "name": "王小明"}, {"student_no": "002", "name": "李华"}])
    assert r.status_code == 201
    r = await teacher_client.post("/api/v1/classes", json={"name": "四年级(1)班",
                                                           "subject": "math"})
    empty = r.json()["id"]
    theirs = (await other_client.post("/api/v1/classes", json={"name": "同事的班"})).json()["id"]
    r = await teacher_client.get("/api/v1/classes")
    assert r.status_code == 200
    assert r.json() == [
        {"id": mine, "name": "三年级(2)班", "grade": 3, "subject": None, "student_count": 2},
        {"id": empty, "name": "四年级(1)班", "grade": None, "subject": "math",
         "student_count": 0}]
    assert [c["id"] for c in (await other_client.get("/api/v1/classes")).json()] == [theirs]
    # A school admin sees the school's classes; another school's admin sees none of them.
    school = {c["id"] for c in (await admin_client.get("/api/v1/classes")).json()}
    assert {mine, empty, theirs} <= school
    far = await make_account(app, "far-admin", admin=True, new_school="别的学校")
    async with client_for(app, far.headers) as c:
        assert (await c.get("/api/v1/classes")).json() == []
