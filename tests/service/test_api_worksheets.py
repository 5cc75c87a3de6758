"""Worksheets through the real app: create, layout export, printing, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest

from errorbook.contract import parse_page_code


@pytest.fixture
async def setup(client: httpx.AsyncClient, sample_bank: dict[str, Any],
                sample_roster: bytes) -> dict[str, Any]:
    assert (await client.post("/api/v1/questions:import", json=sample_bank)).status_code == 200
    cid = (await client.post("/api/v1/classes", json={"name": "三年级(2)班"})).json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=sample_roster,
                          headers={"content-type": "text/csv"})
    assert r.status_code == 201
    ids = [q["id"] for q in sample_bank["questions"] if q["subject"] == "math"][:12]
    return {"class_id": cid, "ids": ids}


async def test_create_print_and_layout(client: httpx.AsyncClient, setup: dict[str, Any]) -> None:
    r = await client.post("/api/v1/worksheets", json={"title": "三年级数学 练习",
                                                      "class_id": setup["class_id"],
                                                      "question_ids": setup["ids"]})
    assert r.status_code == 201, r.text
    ws = r.json()
    assert [i["question_id"] for i in ws["items"]] == setup["ids"]
    layout = (await client.get(f"/api/v1/worksheets/{ws['id']}/layout")).json()
    assert layout["units"] == "pt"
    assert layout["origin"] == "top-left"
    assert len(layout["pages"]) == ws["page_count"]
    regions = [r for p in layout["pages"] for r in p["regions"]]
    assert {r["question_id"] for r in regions} == set(setup["ids"])
    assert "blocks" not in layout["pages"][0]
    blank = await client.get(f"/api/v1/worksheets/{ws['id']}/print.pdf", params={"copies": 3})
    assert blank.status_code == 200
    assert blank.headers["content-type"] == "application/pdf"
    padded = ws["page_count"] + ws["page_count"] % 2
    assert len(pdfium.PdfDocument(blank.content)) == 3 * padded
    per = await client.get(f"/api/v1/worksheets/{ws['id']}/print.pdf",
                           params={"per_student": "true"})
    assert per.status_code == 200
    doc = pdfium.PdfDocument(per.content)
    assert len(doc) == 30 * padded
    first = doc[0].get_textpage().get_text_range()
    students = (await client.get(f"/api/v1/classes/{setup['class_id']}")).json()["students"]
    assert students[0]["name"] in first


async def test_per_student_qr_payloads_name_each_student(client: httpx.AsyncClient,
                                                         setup: dict[str, Any]) -> None:
    import numpy as np
    import zxingcpp

    ws = (await client.post("/api/v1/worksheets", json={"title": "练习", "class_id": setup["class_id"],
                                                        "question_ids": setup["ids"][:3]})).json()
    per = await client.get(f"/api/v1/worksheets/{ws['id']}/print.pdf", params={"per_student": True})
    doc = pdfium.PdfDocument(per.content)
    students = (await client.get(f"/api/v1/classes/{setup['class_id']}")).json()["students"]
    seen = []
    for i in (0, 2, 4):  # first page of three copies (each padded to 2 pages)
        img = np.asarray(doc[i].render(scale=150 / 72, grayscale=True).to_pil())
        codes = [parse_page_code(r.text) for r in zxingcpp.read_barcodes(img)]
        assert len(codes) == 1
        assert codes[0].worksheet_id == ws["id"]
        assert codes[0].page == 1
        seen.append(codes[0].student_id)
    assert seen == [s["id"] for s in students[:3]]


async def test_bad_worksheet_requests(client: httpx.AsyncClient, setup: dict[str, Any]) -> None:
    r = await client.post("/api/v1/worksheets", json={"title": "x", "class_id": setup["class_id"],
                                                      "question_ids": ["nope-1", setup["ids"][0]]})
    assert r.status_code == 422
    assert r.json()["error"] == "unknown_question"
    assert r.json()["errors"] == [{"question_id": "nope-1", "message": "not in the bank"}]
    r = await client.post("/api/v1/worksheets", json={"title": "x", "class_id": 999,
                                                      "question_ids": setup["ids"][:1]})
    assert r.status_code == 404
    r = await client.post("/api/v1/worksheets", json={"title": "x", "class_id": setup["class_id"],
                                                      "question_ids": [setup["ids"][0]] * 2})
    assert r.status_code == 422
    assert r.json()["error"] == "duplicate_question"
    r = await client.post("/api/v1/worksheets", json={"title": "x", "class_id": setup["class_id"],
                                                      "question_ids": []})
    assert r.status_code == 422
    r = await client.get("/api/v1/worksheets/12345/layout")
    assert r.status_code == 404
    ws = (await client.post("/api/v1/worksheets", json={"title": "x", "class_id": setup["class_id"],
                                                        "question_ids": setup["ids"][:1]})).json()
    r = await client.get(f"/api/v1/worksheets/{ws['id']}/print.pdf", params={"copies": 0})
    assert r.status_code == 422
    r = await client.get(f"/api/v1/worksheets/{ws['id']}/print.pdf", params={"copies": 10_000})
    assert r.status_code == 422
    assert r.json()["error"] == "too_many"


async def test_per_student_needs_students(client: httpx.AsyncClient, setup: dict[str, Any]) -> None:
    cid = (await client.post("/api/v1/classes", json={"name": "空班"})).json()["id"]
    ws = (await client.post("/api/v1/worksheets", json={"title": "x", "class_id": cid,
                                                        "question_ids": setup["ids"][:1]})).json()
    r = await client.get(f"/api/v1/worksheets/{ws['id']}/print.pdf", params={"per_student": True})
    assert r.status_code == 422
    assert r.json()["error"] == "empty_class"


async def test_list_worksheets_newest_first_filtered_and_scoped(
        teacher_client: httpx.AsyncClient, other_client: httpx.AsyncClient,
        admin_client: httpx.AsyncClient, sample_bank: dict[str, Any]) -> None:
    r = await teacher_client.post("/api/v1/questions:import", json=sample_bank)
    assert r.status_code == 200
    qids = [q["id"] for q in sample_bank["questions"] if q["subject"] == "math"][:2]
    one = (await teacher_client.post("/api/v1/classes", json={"name": "一班"})).json()["id"]
    two = (await teacher_client.post("/api/v1/classes", json={"name": "二班"})).json()["id"]
    made = {}
    for title, cid in (("第一份", one), ("第二份", two), ("第三份", one)):
        r = await teacher_client.post("/api/v1/worksheets", json={
            "title": title, "class_id": cid, "question_ids": qids})
        assert r.status_code == 201, r.text
        made[title] = r.json()
    r = await teacher_client.get("/api/v1/worksheets")
    assert r.status_code == 200
    listed = r.json()
    assert [w["title"] for w in listed] == ["第三份", "第二份", "第一份"]
    first = made["第一份"]
    assert listed[-1] == {
        "id": first["id"], "title": "第一份", "class_id": one, "kind": "worksheet",
        "class_name": "一班", "page_size": "A4", "page_count": first["page_count"],
        "created_at": listed[-1]["created_at"], "links": first["links"]}
    r = await teacher_client.get("/api/v1/worksheets", params={"class_id": one})
    assert [w["title"] for w in r.json()] == ["第三份", "第一份"]
    r = await teacher_client.get("/api/v1/worksheets", params={"limit": 1})
    assert [w["title"] for w in r.json()] == ["第三份"]
    # Another teacher sees none of them, and the class filter names no class of theirs.
    assert (await other_client.get("/api/v1/worksheets")).json() == []
    r = await other_client.get("/api/v1/worksheets", params={"class_id": one})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    r = await teacher_client.get("/api/v1/worksheets", params={"class_id": 999999})
    assert r.status_code == 404
    school = {w["id"] for w in (await admin_client.get("/api/v1/worksheets")).json()}
    assert {w["id"] for w in made.values()} <= school
