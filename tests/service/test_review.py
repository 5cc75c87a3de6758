"""Teacher review through the real app, on SQLite and PostgreSQL: the queue, decisions
that re-flow into totals, page assignment, answer groups and scoping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from service.actor import current_actor
from service.db import AuditEventRow, GradeRow, PageRow, ResponseRow
from tests.support.review import (
    Read,
    Sheet,
    app_of,
    other_class_student,
    other_teacher,
    seed_class,
    seed_page,
)


@pytest.fixture
async def sheet(client: httpx.AsyncClient) -> Sheet:
    return await seed_class(client)


async def _student(client: httpx.AsyncClient, sheet: Sheet, name: str) -> dict[str, Any]:
    body = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    return next(s for s in body["students"] if s["student"]["name"] == name)


def _cell(row: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(c for c in row["questions"] if c["question_id"] == qid)


async def _grades(client: httpx.AsyncClient, response_id: int) -> list[GradeRow]:
    async with app_of(client).state.session_factory() as s:
        return list((await s.execute(select(GradeRow).where(GradeRow.response_id == response_id)
                                     .order_by(GradeRow.id))).scalars())


async def _audit(client: httpx.AsyncClient) -> list[AuditEventRow]:
    async with app_of(client).state.session_factory() as s:
        return list((await s.execute(select(AuditEventRow).order_by(AuditEventRow.id))).scalars())


async def test_review_queue_lists_answers_and_pages(client: httpx.AsyncClient,
                                                    sheet: Sheet) -> None:
    await seed_page(client, sheet, None, {"m3-add-001": Read("85")}, status="unknown_student",
                    label="nameless", problem="a copy without a student code")
    await seed_page(client, sheet, None, {}, status="unidentified", worksheet=False,
                    label="foreign", problem="no readable page code")
    await seed_page(client, sheet, "李华", {}, status="duplicate", label="again",
                    problem="already scanned")
    r = await client.get("/api/v1/review", params={"worksheet_id": sheet.worksheet_id})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"] == {"response": 2, "unknown_student": 1, "unidentified": 1,
                              "duplicate": 1}
    assert body["total"] == 5
    assert body["next_offset"] is None
    kinds = [i["kind"] for i in body["items"]]
    assert kinds == ["response", "response", "unknown_student", "unidentified", "duplicate"]
    first, second = body["items"][:2]
    # Ordered by question position: 赵敏's unreadable add (1) before 李华's numeric (4).
    assert (first["position"], first["student"]["name"]) == (1, "赵敏")
    assert first["review_reason"] == "unreadable"
    assert first["crop_url"] is None
    assert second["question_id"] == "m3-word-001"
    assert second["student"]["name"] == "李华"
    assert second["reading"]["text"] == "189"
    assert second["reading"]["alternatives"] == [{"text": "139", "confidence": 0.35}]
    assert second["crop_url"] == f"/api/v1/responses/{second['response_id']}/crop.png"
    assert "139" in second["reason_zh"]
    assert second["actions"]["decide"] == f"/api/v1/review/responses/{second['response_id']}"
    nameless = body["items"][2]
    assert nameless["page_id"] == sheet.pages["nameless"]
    assert nameless["student"] is None
    assert nameless["actions"]["assign"].endswith(f"/pages/{nameless['page_id']}/assign")
    assert body["items"][4]["student"]["name"] == "李华"

    # Pagination is stable and crosses kinds.
    page1 = (await client.get("/api/v1/review", params={"worksheet_id": sheet.worksheet_id,
                                                        "limit": 3})).json()
    page2 = (await client.get("/api/v1/review", params={"worksheet_id": sheet.worksheet_id,
                                                        "limit": 3, "offset": 3})).json()
    assert page1["next_offset"] == 3
    assert page2["next_offset"] is None
    ids = [(i["kind"], i["page_id"], i["response_id"]) for i in page1["items"] + page2["items"]]
    assert ids == [(i["kind"], i["page_id"], i["response_id"]) for i in body["items"]]
    only = (await client.get("/api/v1/review", params={"worksheet_id": sheet.worksheet_id,
                                                       "kind": "unknown_student"})).json()
    assert [i["kind"] for i in only["items"]] == ["unknown_student"]
    assert only["total"] == 1
    assert (await client.get("/api/v1/review", params={"kind": "bogus"})).status_code == 422
    assert (await client.get("/api/v1/review", params={"worksheet_id": 999})).status_code == 404


async def test_page_image_renders_from_the_upload(client: httpx.AsyncClient,
                                                  sheet: Sheet) -> None:
    import io

    import numpy as np
    from PIL import Image

    r = await client.get(f"/api/v1/pages/{sheet.pages['王小明']}/image.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    arr = np.asarray(Image.open(io.BytesIO(r.content)))
    assert arr.shape == (300, 200)
    assert int(arr.mean()) == 180
    # The stored file has one page; a page index beyond it has no image.
    r = await client.get(f"/api/v1/pages/{sheet.pages['李华']}/image.png")
    assert r.status_code == 404
    assert r.json()["error"] == "no_image"
    assert (await client.get("/api/v1/pages/99999/image.png")).status_code == 404


async def test_confirm_reflows_totals_and_keeps_old_grade(client: httpx.AsyncClient,
                                                          sheet: Sheet) -> None:
    rid = sheet.responses[("李华", "m3-word-001")]
    before = await _student(client, sheet, "李华")
    assert before["total"] == 1.0
    assert before["pending_review"] == 1
    r = await client.post(f"/api/v1/review/responses/{rid}", json={"action": "confirm"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["verdict"] == "correct"
    assert done["score"] == 3.0
    assert not done["needs_review"]
    after = await _student(client, sheet, "李华")
    assert after["total"] == 4.0
    assert after["pending_review"] == 0
    assert after["complete"]
    assert _cell(after, "m3-word-001")["source"] == "teacher"
    grades = await _grades(client, rid)
    assert [g.is_current for g in grades] == [False, True]
    assert grades[0].needs_review
    assert grades[0].source == "auto"
    local = app_of(client).state.local_actor
    assert grades[1].source == "teacher"
    assert grades[1].graded_by == local.teacher_id
    assert done["previous_grade_id"] == grades[0].id
    assert done["grade_id"] == grades[1].id
    events = await _audit(client)
    assert events[-1].action == "review.confirm"
    assert events[-1].target_id == rid
    assert events[-1].detail["old_grade"]["verdict"] == "needs_review"
    # Nothing to confirm on an unreadable answer: correct or set instead.
    unreadable = sheet.responses[("赵敏", "m3-add-001")]
    r = await client.post(f"/api/v1/review/responses/{unreadable}", json={"action": "confirm"})
    assert r.status_code == 422
    assert r.json()["error"] == "nothing_to_confirm"


async def test_correct_regrades_the_teachers_reading(client: httpx.AsyncClient,
                                                     sheet: Sheet) -> None:
    rid = sheet.responses[("赵敏", "m3-add-001")]
    r = await client.post(f"/api/v1/review/responses/{rid}",
                          json={"action": "correct", "text": "75"})
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "incorrect"
    assert r.json()["score"] == 0.0
    zhao = await _student(client, sheet, "赵敏")
    cell = _cell(zhao, "m3-add-001")
    assert cell["answer"] == "75"
    assert cell["cause"]["code"] == "forgot_carry"
    assert zhao["pending_review"] == 0
    assert zhao["total"] == 1.0
    r = await client.post(f"/api/v1/review/responses/{rid}",
                          json={"action": "correct", "text": "85"})
    assert r.json()["verdict"] == "correct"
    assert (await _student(client, sheet, "赵敏"))["total"] == 2.0
    grades = await _grades(client, rid)
    assert [g.is_current for g in grades] == [False, False, True]
    async with app_of(client).state.session_factory() as s:
        resp = await s.get(ResponseRow, rid)
        assert resp is not None
        assert resp.text == "85"
        assert resp.status == "corrected"
    # A multi-blank answer takes one reading per blank; a blank's own id works too.
    wang_div = sheet.responses[("王小明", "m3-div-003")]
    r = await client.post(f"/api/v1/review/responses/{wang_div}",
                          json={"action": "correct", "blanks": ["3", "1"]})
    assert r.status_code == 200
    assert r.json()["verdict"] == "incorrect"
    assert r.json()["answer"] == "3 | 1"
    r = await client.post(f"/api/v1/review/responses/{wang_div}",
                          json={"action": "correct", "blanks": ["3"]})
    assert r.status_code == 422
    assert r.json()["error"] == "wrong_blank_count"
    r = await client.post(f"/api/v1/review/responses/{rid}", json={"action": "correct"})
    assert r.status_code == 422
    assert r.json()["error"] == "missing_text"


async def test_set_verdict_and_score_range(client: httpx.AsyncClient, sheet: Sheet) -> None:
    rid = sheet.responses[("李华", "m3-add-001")]
    url = f"/api/v1/review/responses/{rid}"
    for bad in ({"action": "set", "verdict": "correct", "score": 1.5},
                {"action": "set", "verdict": "correct", "score": -1}):
        r = await client.post(url, json=bad)
        assert r.status_code == 422
        assert r.json()["error"] == "score_out_of_range"
    r = await client.post(url, json={"action": "set", "verdict": "needs_review", "score": 0})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_verdict"
    r = await client.post(url, json={"action": "set", "verdict": "correct"})
    assert r.status_code == 422
    assert r.json()["error"] == "missing_score"
    r = await client.post(url, json={"action": "shrug"})
    assert r.status_code == 422
    assert len(await _grades(client, rid)) == 1  # nothing written by rejected requests
    r = await client.post(url, json={"action": "set", "verdict": "partially_correct",
                                     "score": 0.5, "note": "过程对了"})
    assert r.status_code == 200, r.text
    li = await _student(client, sheet, "李华")
    cell = _cell(li, "m3-add-001")
    assert cell["verdict"] == "partially_correct"
    assert cell["score"] == 0.5
    assert cell["cause"]["code"] == "forgot_carry"  # a wrong-ish verdict keeps the cause
    assert li["total"] == 1.5
    assert (await _audit(client))[-1].detail["note"] == "过程对了"
    r = await client.post("/api/v1/review/responses/987654", json={"action": "confirm"})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


async def test_assign_page_student(client: httpx.AsyncClient, sheet: Sheet) -> None:
    page = await seed_page(client, sheet, None, {"m3-add-001": Read("85"),
                                                 "m3-word-001": Read("189")},
                           status="unknown_student", label="nameless")
    url = f"/api/v1/review/pages/{page}/assign"
    stranger = await other_class_student(client)
    r = await client.post(url, json={"student_id": stranger})
    assert r.status_code == 422
    assert r.json()["error"] == "not_on_roster"
    # 王小明's page 1 is already scanned: 409 unless replacing.
    r = await client.post(url, json={"student_id": sheet.students["王小明"]})
    assert r.status_code == 409
    assert r.json()["error"] == "page_taken"
    r = await client.post(url, json={"student_id": sheet.students["张伟"]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "graded"
    assert out["student_source"] == "teacher"
    assert out["student"]["name"] == "张伟"
    results = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    assert results["missing"] == []
    assert results["summary"]["submitted"] == 4
    zhang = next(s for s in results["students"] if s["student"]["name"] == "张伟")
    assert zhang["total"] == 4.0
    assert zhang["not_scanned"] == 2
    async with app_of(client).state.session_factory() as s:
        students = set((await s.execute(select(ResponseRow.student_id)
                                        .where(ResponseRow.page_id == page))).scalars())
    assert students == {sheet.students["张伟"]}
    # Now it names 张伟: moving it to 赵敏 needs replace (and then replaces 赵敏's page).
    r = await client.post(url, json={"student_id": sheet.students["赵敏"]})
    assert r.status_code == 409
    assert r.json()["error"] == "already_assigned"
    r = await client.post(url, json={"student_id": sheet.students["赵敏"], "replace": True})
    assert r.status_code == 200
    assert r.json()["replaced_page_id"] == sheet.pages["赵敏"]
    async with app_of(client).state.session_factory() as s:
        old = await s.get(PageRow, sheet.pages["赵敏"])
        assert old is not None
        assert old.status == "duplicate"
    results = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    assert [m["name"] for m in results["missing"]] == ["张伟"]
    zhao = next(s for s in results["students"] if s["student"]["name"] == "赵敏")
    assert zhao["total"] == 4.0
    assert _cell(zhao, "m3-add-001")["answer"] == "85"
    assert (await _audit(client))[-1].action == "review.assign_page"
    r = await client.post(f"/api/v1/review/pages/{sheet.pages['王小明']}/assign",
                          json={"student_id": sheet.students["王小明"]})
    assert r.status_code == 200  # assigning the student it already names changes nothing
    assert (await client.post("/api/v1/review/pages/99999/assign",
                              json={"student_id": 1})).status_code == 404


async def test_answer_groups_and_group_grading(client: httpx.AsyncClient, sheet: Sheet) -> None:
    await seed_page(client, sheet, None, {"m3-add-001": Read("75")}, status="unknown_student",
                    label="nameless")
    url = f"/api/v1/worksheets/{sheet.worksheet_id}/questions/m3-add-001/groups"
    r = await client.get(url)
    assert r.status_code == 200, r.text
    body = r.json()
    groups = {g["normalised"]: g for g in body["groups"]}
    assert set(groups) == {"75", "85", ""}
    assert body["groups"][0]["normalised"] == "75"
    assert groups["75"]["count"] == 2
    assert groups["75"]["verdict"] == "incorrect"
    assert groups["85"]["verdict"] == "correct"
    assert groups[""]["needs_review"] == 1
    assert body["common_wrong"] == [{"answer": "75", "count": 2}]
    assert {m["student"]["name"] if m["student"] else None
            for m in groups["75"]["members"]} == {"李华", None}

    grade = f"{url}/grade"
    r = await client.post(grade, json={"normalised": "75", "verdict": "partially_correct",
                                       "score": 2})
    assert r.status_code == 422
    assert r.json()["error"] == "score_out_of_range"
    r = await client.post(grade, json={"normalised": "76", "verdict": "correct", "score": 1})
    assert r.status_code == 404
    assert r.json()["error"] == "no_such_group"
    r = await client.post(grade, json={"normalised": "75", "verdict": "needs_review",
                                       "score": 0})
    assert r.status_code == 422
    r = await client.post(grade, json={"normalised": "75", "verdict": "partially_correct",
                                       "score": 0.5})
    assert r.status_code == 200, r.text
    assert r.json()["graded"] == 2
    li = await _student(client, sheet, "李华")
    assert _cell(li, "m3-add-001")["score"] == 0.5
    assert li["total"] == 1.5
    for rid in r.json()["response_ids"]:
        grades = await _grades(client, rid)
        assert [g.is_current for g in grades] == [False, True]
        assert grades[1].source == "teacher"
    assert (await _audit(client))[-1].action == "review.group"
    again = {g["normalised"]: g for g in (await client.get(url)).json()["groups"]}
    assert again["75"]["verdict"] == "partially_correct"
    assert (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/questions/nope/groups"
                             )).status_code == 404


async def test_review_is_scoped(client: httpx.AsyncClient, sheet: Sheet) -> None:
    await seed_page(client, sheet, None, {}, status="unidentified", worksheet=False,
                    label="foreign")
    other = await other_teacher(client)
    app = app_of(client)
    app.dependency_overrides[current_actor] = lambda: other
    rid = sheet.responses[("李华", "m3-word-001")]
    try:
        r = await client.post(f"/api/v1/review/responses/{rid}", json={"action": "confirm"})
        assert r.status_code == 404
        r = await client.post(f"/api/v1/review/pages/{sheet.pages['王小明']}/assign",
                              json={"student_id": sheet.students["王小明"]})
        assert r.status_code == 404
        assert (await client.get(f"/api/v1/pages/{sheet.pages['foreign']}/image.png")
                ).status_code == 404
        assert (await client.get("/api/v1/review", params={"worksheet_id": sheet.worksheet_id})
                ).status_code == 404
        queue = (await client.get("/api/v1/review")).json()
        assert queue["total"] == 0
        assert queue["items"] == []
        r = await client.post(f"/api/v1/worksheets/{sheet.worksheet_id}/questions/m3-add-001/"
                              "groups/grade", json={"normalised": "75", "verdict": "correct",
                                                    "score": 1})
        assert r.status_code == 404
    finally:
        app.dependency_overrides.clear()
    assert len(await _grades(client, rid)) == 1
    # The owner still sees everything, the unidentified page of their upload included.
    queue = (await client.get("/api/v1/review")).json()
    assert queue["counts"]["unidentified"] == 1
    assert queue["counts"]["response"] == 2
