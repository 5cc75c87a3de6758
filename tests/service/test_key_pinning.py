"""A key changed in the shared bank moves its own teacher's worksheets, never another
teacher's, until that teacher takes the new keys."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from service.repositories.pinned_keys import pinned_items
from tests.support.auth import audit_rows

KPS = [{"code": "math", "name_zh": "数学"}, {"code": "math.add", "name_zh": "加法"}]


def _bank(value: str) -> dict[str, Any]:
    return {"format": "markbook-questions/1", "knowledge_points": KPS, "questions": [
        {"id": "pin-q1", "kind": "numeric", "subject": "math", "grade": 3,
         "stem": "37 + 48 = ?", "knowledge_points": ["math.add"], "key": {"value": value}}]}


async def _worksheet(client: httpx.AsyncClient, name: str) -> int:
    r = await client.post("/api/v1/classes", json={"name": name, "grade": 3})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/worksheets", json={
        "title": "口算", "class_id": r.json()["id"], "question_ids": ["pin-q1"]})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _key(app: FastAPI, worksheet_id: int) -> tuple[int, str]:
    async with app.state.session_factory() as s:
        item = (await pinned_items(s, worksheet_id))[0]
    return item.revision, str(item.document["key"]["value"])


async def test_another_teachers_key_change_waits_for_this_teacher(
        app: FastAPI, teacher_client: httpx.AsyncClient,
        other_client: httpx.AsyncClient) -> None:
    assert (await teacher_client.post("/api/v1/questions:import",
                                      json=_bank("85"))).status_code == 200
    mine = await _worksheet(teacher_client, "三(1)班")
    theirs = await _worksheet(other_client, "三(2)班")
    # teacher1 "fixes" the key in the shared bank.
    r = await teacher_client.post("/api/v1/questions:import", json=_bank("86"))
    assert r.json()["updated"] == 1
    assert await _key(app, mine) == (2, "86")  # the importer's own worksheet moves
    assert await _key(app, theirs) == (1, "85")  # the other teacher's keeps its key
    event = (await audit_rows(app, "questions.import"))[-1]
    assert event.detail["worksheets_moved_to_new_keys"] == [mine]
    # Only its teacher (or an admin) moves it; teacher1 cannot even see it.
    r = await teacher_client.post(f"/api/v1/worksheets/{theirs}:use-current-keys")
    assert r.status_code == 404
    r = await other_client.post(f"/api/v1/worksheets/{theirs}:use-current-keys")
    assert r.status_code == 200, r.text
    assert [i["key_revision"] for i in r.json()["items"]] == [2]
    assert await _key(app, theirs) == (2, "86")
    assert await audit_rows(app, "worksheet.use_current_keys")
