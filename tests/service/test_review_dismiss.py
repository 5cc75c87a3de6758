"""Clearing pages from the review queue through the real app, on SQLite and PostgreSQL:
dismissing an unidentified, duplicate or student-less page takes it (and the answers on it)
out of the queue and its counts, keeps it, marks its job problem, is audited, idempotent
and undone by reopen; another teacher's pages are not found; a graded page cannot be
dismissed. (Devices are refused by the access matrix.)"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from service.db import AuditEventRow, JobRow, PageRow, ScanUploadRow
from tests.support.review import Read, Sheet, app_of, seed_class, seed_page


async def _queue(client: httpx.AsyncClient, **params: int) -> dict[str, Any]:
    r = await client.get("/api/v1/review", params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _page(client: httpx.AsyncClient, page_id: int) -> PageRow:
    async with app_of(client).state.session_factory() as s:
        page = await s.get(PageRow, page_id)
        assert page is not None
        return page


async def _actions(client: httpx.AsyncClient, page_id: int) -> list[tuple[str, object]]:
    async with app_of(client).state.session_factory() as s:
        rows = (await s.execute(select(AuditEventRow).where(
            AuditEventRow.target_type == "page", AuditEventRow.target_id == page_id)
            .order_by(AuditEventRow.id))).scalars()
        return [(e.action, e.detail.get("previous_status", e.detail.get("status")))
                for e in rows]


async def _with_job(client: httpx.AsyncClient, sheet: Sheet, problems: list[dict[str, object]]
                    ) -> int:
    """Give the sheet's upload a finished job listing these page problems."""
    async with app_of(client).state.session_factory() as s:
        upload = await s.get(ScanUploadRow, sheet.upload_id)
        assert upload is not None
        job = JobRow(school_id=upload.school_id, kind="scan", status="partially_done",
                     pages_total=10, pages_done=10, problems=problems)
        s.add(job)
        await s.flush()
        upload.job_id = job.id
        await s.commit()
        return job.id


async def test_dismiss_and_reopen_pages(client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    nameless = await seed_page(client, sheet, None, {"m3-add-001": Read(
        "85", confidence=0.5, alternatives=(("86", 0.4),))}, status="unknown_student",
        label="nameless", problem="no student code")
    foreign = await seed_page(client, sheet, None, {}, status="unidentified", worksheet=False,
                              label="foreign", problem="no readable page code")
    again = await seed_page(client, sheet, "李华", {}, status="duplicate", label="again",
                            problem="already scanned")
    job_id = await _with_job(client, sheet, [
        {"page_index": 4, "status": "unidentified", "problem": "no readable page code"},
        {"page_index": 5, "status": "duplicate", "problem": "already scanned"}])
    before = await _queue(client)
    assert before["counts"] == {"response": 3, "unknown_student": 1, "unidentified": 1,
                                "duplicate": 1}

    for page_id, kind in ((foreign, "unidentified"), (again, "duplicate"),
                          (nameless, "unknown_student")):
        r = await client.post(f"/api/v1/review/pages/{page_id}/dismiss")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "dismissed"
        assert r.json()["previous_status"] == kind
    after = await _queue(client)
    # The pages and the nameless page's doubtful answer are gone from the queue.
    assert after["counts"] == {"response": 2, "unknown_student": 0, "unidentified": 0,
                               "duplicate": 0}
    assert after["total"] == 2
    assert not {i["page_id"] for i in after["items"]} & {nameless, foreign, again}
    filtered = await _queue(client, worksheet_id=sheet.worksheet_id)
    assert filtered["total"] == 2
    # Kept, never deleted: the page, its problem and its student are still there.
    page = await _page(client, again)
    assert (page.status, page.problem, page.student_id) == (
        "dismissed", "already scanned", sheet.students["李华"])
    # The job page's problem list says so (the other problem is untouched).
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert [p.get("dismissed") for p in job["problems"]] == [True, True]
    assert [p["status"] for p in job["problems"]] == ["unidentified", "duplicate"]

    # Idempotent: a second dismissal changes nothing and records nothing.
    r = await client.post(f"/api/v1/review/pages/{again}/dismiss", json={"note": "twice"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["previous_status"]) == ("dismissed", None)
    assert await _actions(client, again) == [("review.dismiss_page", "duplicate")]

    # Reopen puts each page back as it was, with its answers; reopening twice is a no-op.
    for page_id, kind in ((foreign, "unidentified"), (nameless, "unknown_student")):
        r = await client.post(f"/api/v1/review/pages/{page_id}/reopen")
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["previous_status"]) == (kind, "dismissed")
    r = await client.post(f"/api/v1/review/pages/{foreign}/reopen")
    assert (r.json()["status"], r.json()["previous_status"]) == ("unidentified", None)
    assert await _actions(client, foreign) == [("review.dismiss_page", "unidentified"),
                                               ("review.reopen_page", "unidentified")]
    reopened = await _queue(client)
    assert reopened["counts"] == {"response": 3, "unknown_student": 1, "unidentified": 1,
                                  "duplicate": 0}
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert [p.get("dismissed") for p in job["problems"]] == [None, True]


async def test_misaligned_page_without_student_comes_back_misaligned(
        client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    page = await seed_page(client, sheet, None, {}, status="misaligned", label="skew")
    assert (await _queue(client))["counts"]["unknown_student"] == 1
    assert (await client.post(f"/api/v1/review/pages/{page}/dismiss")).status_code == 200
    assert (await _queue(client))["counts"]["unknown_student"] == 0
    r = await client.post(f"/api/v1/review/pages/{page}/reopen")
    assert r.json()["status"] == "misaligned"


async def test_only_queue_pages_can_be_dismissed(client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    r = await client.post(f"/api/v1/review/pages/{sheet.pages['李华']}/dismiss")
    assert r.status_code == 422
    assert r.json()["error"] == "not_dismissable"
    assert (await _page(client, sheet.pages["李华"])).status == "graded"
    assert (await client.post("/api/v1/review/pages/99999/dismiss")).status_code == 404
    assert (await client.post("/api/v1/review/pages/99999/reopen")).status_code == 404
    r = await client.post(f"/api/v1/review/pages/{sheet.pages['李华']}/dismiss",
                          json={"bogus": 1})
    assert r.status_code == 422


async def test_other_teachers_pages_are_not_found(client: httpx.AsyncClient,
                                                  other_client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    foreign = await seed_page(client, sheet, None, {}, status="unidentified", worksheet=False,
                              label="foreign")
    again = await seed_page(client, sheet, "李华", {}, status="duplicate", label="again")
    for page_id in (foreign, again):
        for verb in ("dismiss", "reopen"):
            r = await other_client.post(f"/api/v1/review/pages/{page_id}/{verb}")
            assert r.status_code == 404, r.text
            assert r.json()["error"] == "not_found"
    assert (await _page(client, foreign)).status == "unidentified"
    assert (await _page(client, again)).status == "duplicate"
    assert await _actions(client, foreign) == []
    assert (await _queue(client))["counts"] == {"response": 2, "unknown_student": 0,
                                                "unidentified": 1, "duplicate": 1}


async def test_a_dismissed_pages_answers_leave_the_answer_groups(
        client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    nameless = await seed_page(client, sheet, None, {"m3-add-001": Read("999")},
                               status="unknown_student", label="nameless",
                               problem="no student code")
    url = f"/api/v1/worksheets/{sheet.worksheet_id}/questions/m3-add-001/groups"

    def readings(body: dict[str, object]) -> list[str]:
        groups = body["groups"]
        assert isinstance(groups, list)
        return sorted(g["normalised"] for g in groups)

    r = await client.get(url)
    assert r.status_code == 200, r.text
    assert "999" in readings(r.json())
    assert (await client.post(f"/api/v1/review/pages/{nameless}/dismiss")).status_code == 200
    assert "999" not in readings((await client.get(url)).json())
