"""Values the database cannot hold are a 4xx, never a 500: ids past 64 bits, NUL bytes."""

from __future__ import annotations

import httpx
import pytest

HUGE = str(2**63)
PATHS = [f"/api/v1/worksheets/{HUGE}", f"/api/v1/classes/{HUGE}", f"/api/v1/jobs/{HUGE}",
         f"/api/v1/questions/{HUGE}", f"/api/v1/worksheets/{HUGE}/results",
         f"/api/v1/review/answers/{HUGE}"]


@pytest.mark.parametrize("path", PATHS)
async def test_an_id_past_64_bits_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code in (404, 422), (path, r.status_code, r.text)
    assert r.json()["error"] in ("not_found", "validation_error")


async def test_a_huge_id_in_a_query_or_a_body_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/review", params={"worksheet_id": HUGE})
    assert r.status_code == 422, r.text
    r = await client.post("/api/v1/worksheets", json={"class_id": int(HUGE) * 4,
                                                      "title": "x", "question_ids": ["a"]})
    assert r.status_code == 422, r.text


async def test_a_nul_byte_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/classes", json={"name": "一班\x00", "grade": 3})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    r = await client.post("/api/v1/auth/token", data={"username": "a\x00b", "password": "x"})
    assert r.status_code in (400, 401, 422), r.text


async def test_a_huge_json_body_is_refused_before_sign_in(app: object) -> None:
    from tests.support.auth import client_for

    async with client_for(app, {}) as anonymous:  # type: ignore[arg-type]
        big = b"[" + b"1," * (5 * 2**20) + b"1]"
        r = await anonymous.post("/api/v1/classes", content=big,
                                 headers={"content-type": "application/json"})
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "body_too_large"
        # A small body still gets the sign-in answer.
        r = await anonymous.post("/api/v1/classes", json={"name": "x"})
        assert r.status_code == 401


async def test_a_page_with_a_huge_id_is_the_not_found_page(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/worksheets/{HUGE}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")


def test_a_roster_with_bare_carriage_returns_reads_or_is_a_clear_error() -> None:
    from service.errors import InvalidInput
    from service.roster import parse_roster_csv

    students, lines = parse_roster_csv("学号,姓名\r001,王小明\r002,李华\r".encode())
    assert [s.student_no for s in students] == ["001", "002"]
    assert lines == [2, 3]
    with pytest.raises(InvalidInput) as caught:
        parse_roster_csv(b'student_no,name\n"001,a\n')
    assert caught.value.error == "bad_csv"
