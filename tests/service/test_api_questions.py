"""Question bank import and search through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

import httpx

KPS = [{"code": "math", "name_zh": "数学"}, {"code": "math.add", "name_zh": "加法"},
       {"code": "math.add.carry", "name_zh": "进位加法"}]


def _doc(*questions: dict[str, Any]) -> dict[str, Any]:
    return {"format": "markbook-questions/1", "knowledge_points": KPS, "questions": list(questions)}


def _numeric(qid: str = "q1", value: str = "85") -> dict[str, Any]:
    return {"id": qid, "kind": "numeric", "subject": "math", "grade": 3, "stem": "37 + 48 = ?",
            "knowledge_points": ["math.add.carry"], "key": {"value": value}}


async def _count(client: httpx.AsyncClient) -> int:
    return len((await client.get("/api/v1/questions", params={"limit": 500})).json())


async def test_sample_bank_imports_and_searches_by_kp(client: httpx.AsyncClient,
                                                      sample_bank: dict[str, Any]) -> None:
    r = await client.post("/api/v1/questions:import", json=sample_bank)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == len(sample_bank["questions"])
    # Importing again changes nothing.
    again = (await client.post("/api/v1/questions:import", json=sample_bank)).json()
    assert again["unchanged"] == len(sample_bank["questions"])
    assert again["created"] == 0
    carry = (await client.get("/api/v1/questions", params={"kp": "math.add.carry"})).json()
    expected = {q["id"] for q in sample_bank["questions"]
                if "math.add.carry" in q["knowledge_points"]}
    assert {q["id"] for q in carry} == expected
    assert expected
    # A parent code includes every sub-point.
    add = (await client.get("/api/v1/questions", params={"kp": "math.add", "limit": 500})).json()
    assert {q["id"] for q in add} == {q["id"] for q in sample_bank["questions"]
                                      if any(k.startswith("math.add.") or k == "math.add"
                                             for k in q["knowledge_points"])}
    assert all("math.add.carry" in q["knowledge_points"] for q in carry)


async def test_changed_key_bumps_revision(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/questions:import", json=_doc(_numeric()))).status_code == 200
    r = await client.post("/api/v1/questions:import", json=_doc(_numeric(value="86")))
    assert r.json()["updated"] == 1
    q = (await client.get("/api/v1/questions")).json()[0]
    assert q["key_revision"] == 2
    assert q["question"]["key"]["value"] == "86"
    changed = _numeric(value="86") | {"explanation": "个位满十进一"}
    await client.post("/api/v1/questions:import", json=_doc(changed))
    q = (await client.get("/api/v1/questions")).json()[0]
    assert q["key_revision"] == 2, "an explanation edit is not a key change"


async def test_bank_changes_are_audited(client: httpx.AsyncClient) -> None:
    from tests.support.auth import audit_rows

    app = client._transport.app  # type: ignore[attr-defined]
    await client.post("/api/v1/questions:import", json=_doc(_numeric()))
    await client.post("/api/v1/questions:import", json=_doc(_numeric()))  # unchanged: no entry
    await client.post("/api/v1/questions:import", json=_doc(_numeric(value="86")))
    events = await audit_rows(app, "questions.import")
    assert len(events) == 2
    assert events[0].detail["created"] == [_numeric()["id"]]
    assert events[1].detail["key_changed"] == [_numeric()["id"]]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/questions:import", content=b'{"questions": [',
                          headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == "malformed_json"


async def test_unknown_kind_names_question_and_known_kinds(client: httpx.AsyncClient) -> None:
    bad = _numeric("q2") | {"kind": "essay"}
    r = await client.post("/api/v1/questions:import", json=_doc(_numeric(), bad))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid_question_bank"
    assert body["errors"][0]["where"] == "questions[1] (id 'q2')"
    assert body["errors"][0]["field"] == "kind"
    assert "short_answer" in body["errors"][0]["message"]
    assert await _count(client) == 0, "nothing is half-imported"


async def test_question_without_key_is_rejected(client: httpx.AsyncClient) -> None:
    q = _numeric()
    del q["key"]
    r = await client.post("/api/v1/questions:import", json=_doc(q))
    assert r.status_code == 422
    assert r.json()["errors"] == [{"where": "questions[0] (id 'q1')", "field": "key",
                                   "message": "the question has no answer key"}]


async def test_field_errors_are_precise(client: httpx.AsyncClient) -> None:
    choice = {"id": "c1", "kind": "choice", "subject": "math", "grade": 3, "stem": "选一选",
              "knowledge_points": ["math.add.carry"],
              "options": [{"label": "A", "text": "1"}, {"label": "B", "text": "2"}],
              "key": {"answer": "E"}}
    numeric = _numeric("n1")
    numeric["key"] = {}
    arith = {"id": "a1", "kind": "arithmetic", "subject": "math", "grade": 3,
             "stem": "小明有几个苹果？", "knowledge_points": ["math.add.carry"]}
    r = await client.post("/api/v1/questions:import", json=_doc(choice, numeric, arith))
    assert r.status_code == 422
    got = {(e["where"], e["field"]) for e in r.json()["errors"]}
    assert got == {("questions[0] (id 'c1')", "key.answer"), ("questions[1] (id 'n1')", "key.value"),
                   ("questions[2] (id 'a1')", "stem")}


async def test_unknown_knowledge_point_and_duplicate_ids(client: httpx.AsyncClient) -> None:
    q = _numeric() | {"knowledge_points": ["math.geometry.area"]}
    r = await client.post("/api/v1/questions:import", json=_doc(q))
    assert r.status_code == 422
    assert "math.geometry.area" in r.json()["detail"]
    r = await client.post("/api/v1/questions:import", json=_doc(_numeric(), copy.deepcopy(_numeric())))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "id"
    assert await _count(client) == 0


async def test_search_rejects_unknown_kind(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/questions", params={"kind": "essay"})
    assert r.status_code == 422
    assert r.json()["error"] == "unknown_kind"


async def test_export_round_trips(client: httpx.AsyncClient, sample_bank: dict[str, Any]) -> None:
    await client.post("/api/v1/questions:import", json=sample_bank)
    r = await client.get("/api/v1/questions:export")
    assert r.status_code == 200
    exported = r.json()
    assert exported["format"] == "markbook-questions/1"
    by_id = {q["id"]: q for q in exported["questions"]}
    assert set(by_id) == {q["id"] for q in sample_bank["questions"]}
    # Importing the export changes nothing.
    again = (await client.post("/api/v1/questions:import", json=exported)).json()
    assert again["unchanged"] == len(sample_bank["questions"])
    part = (await client.get("/api/v1/questions:export", params={"kp": "math.frac"})).json()
    codes = {kp["code"] for kp in part["knowledge_points"]}
    assert part["questions"]
    assert {"math", "math.frac"} <= codes
    assert all(any(c.startswith("math.frac") for c in q["knowledge_points"])
               for q in part["questions"])
