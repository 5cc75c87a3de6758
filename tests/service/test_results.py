"""Worksheet results through the real app, on SQLite and PostgreSQL.

Pages, answers and grades are inserted directly (see ``review_helpers``) because the tests
need exact readings; the end-to-end test at the bottom runs the real scan pipeline.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from service.actor import current_actor
from service.api.read_cache import ReadCache
from service.config import Settings
from simulation.classroom import pdf_pages
from tests.support.review import (
    Sheet,
    app_of,
    other_teacher,
    png_bytes,
    seed_class,
)


@pytest.fixture
async def sheet(client: httpx.AsyncClient) -> Sheet:
    return await seed_class(client)


def _student(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in body["students"] if s["student"]["name"] == name)


def _cell(row: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(c for c in row["questions"] if c["question_id"] == qid)


async def test_results_shape_totals_and_missing(client: httpx.AsyncClient, sheet: Sheet) -> None:
    r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["max_score"] == 7.0
    # Roster order (student number), every roster student listed.
    assert [s["student"]["name"] for s in body["students"]] == ["王小明", "李华", "张伟", "赵敏"]
    assert [m["name"] for m in body["missing"]] == ["张伟"]

    wang = _student(body, "王小明")
    assert wang["submitted"]
    assert wang["complete"]
    assert (wang["total"], wang["pending_review"], wang["not_scanned"]) == (7.0, 0, 0)
    add = _cell(wang, "m3-add-001")
    assert add["answer"] == "85"
    assert add["verdict"] == "correct"
    assert add["score"] == 1.0
    assert add["crop_url"] == f"/api/v1/responses/{add['response_ids'][0]}/crop.png"
    div = _cell(wang, "m3-div-003")
    # Two blanks, one question: readings kept per blank, graded once.
    assert div["blanks"] == ["3", "2"]
    assert div["answer"] == "3 | 2"
    assert div["score"] == 1.0
    assert len(div["response_ids"]) == 2
    assert len(div["crop_urls"]) == 2

    li = _student(body, "李华")
    wrong = _cell(li, "m3-add-001")
    assert wrong["verdict"] == "incorrect"
    assert wrong["score"] == 0.0
    assert wrong["cause"] == {"code": "forgot_carry", "zh": "进位遗漏", "en": "forgot to carry"}
    choice = _cell(li, "m3-add-006")
    assert choice["cause"]["code"] == "distractor_chosen"
    assert li["total"] == 1.0
    assert li["decided_max"] == 4.0
    assert not li["complete"]

    zhang = _student(body, "张伟")
    assert not zhang["submitted"]
    assert zhang["questions"] == []
    assert zhang["total"] == 0.0

    summary = body["summary"]
    assert (summary["roster"], summary["submitted"], summary["missing"]) == (4, 3, 1)
    assert summary["complete"] == 1
    assert summary["mean"] == 7.0
    assert summary["needs_review"] == 2
    q_add = summary["questions"][0]
    assert q_add["question_id"] == "m3-add-001"
    assert q_add["decided"] == 2
    assert q_add["score_rate"] == 0.5
    assert q_add["correct"] == 1
    assert q_add["needs_review"] == 1
    assert q_add["common_wrong"] == [{"answer": "75", "count": 1}]


async def test_undecided_answers_are_pending_never_zero(client: httpx.AsyncClient,
                                                        sheet: Sheet) -> None:
    body = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    li = _student(body, "李华")
    doubtful = _cell(li, "m3-word-001")
    # 189 read at 60% with 139 at 35%: a human decides; no score, pending in the total.
    assert doubtful["status"] == "needs_review"
    assert doubtful["score"] is None
    assert doubtful["needs_review"]
    assert doubtful["review_reason"] == "uncertain_reading"
    assert li["pending_review"] == 1

    zhao = _student(body, "赵敏")
    unreadable = _cell(zhao, "m3-add-001")
    assert unreadable["status"] == "needs_review"
    assert unreadable["score"] is None
    blank = _cell(zhao, "m3-add-006")
    assert blank["verdict"] == "blank"
    assert blank["score"] == 0.0
    unscanned = _cell(zhao, "m3-word-001")
    assert unscanned["status"] == "not_scanned"
    assert unscanned["score"] is None
    assert (zhao["total"], zhao["pending_review"], zhao["not_scanned"]) == (1.0, 1, 1)
    assert not zhao["complete"]
    # The class mean only counts complete students, so nobody's pending answer drags it.
    assert body["summary"]["mean"] == 7.0


async def test_csv_exports_have_bom_and_chinese(client: httpx.AsyncClient, sheet: Sheet) -> None:
    r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["学号", "姓名", "提交"]
    assert "总分" in header
    assert "待复核" in header
    assert header[3] == "1. m3-add-001（1分）"
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert list(by_name) == ["王小明", "李华", "张伟", "赵敏"]
    assert by_name["王小明"]["总分"] == "7"
    assert by_name["王小明"]["满分"] == "7"
    assert by_name["李华"]["4. m3-word-001（3分）"] == "待复核"
    assert by_name["李华"]["总分"] == "1"
    assert by_name["李华"]["待复核"] == "1"
    assert by_name["张伟"]["提交"] == "未提交"
    assert by_name["张伟"]["总分"] == ""
    assert by_name["赵敏"]["4. m3-word-001（3分）"] == "未扫描"

    r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results.csv",
                         params={"by": "question"})
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["题号"] for row in rows] == ["m3-add-001", "m3-div-003", "m3-add-006",
                                            "m3-word-001"]
    add = rows[0]
    assert add["得分率(%)"] == "50.0"
    assert add["待复核"] == "1"
    assert "75（1人）" in add["常见错误答案"]
    assert rows[1]["得分率(%)"] == "100.0"
    r = await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results.csv",
                         params={"by": "nonsense"})
    assert r.status_code == 422


async def test_crop_endpoint(client: httpx.AsyncClient, sheet: Sheet) -> None:
    rid = sheet.responses[("王小明", "m3-add-001")]
    r = await client.get(f"/api/v1/responses/{rid}/crop.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content == png_bytes(value=10)
    no_crop = sheet.responses[("王小明", "m3-word-001")]
    r = await client.get(f"/api/v1/responses/{no_crop}/crop.png")
    assert r.status_code == 404
    assert r.json()["error"] == "no_crop"
    assert (await client.get("/api/v1/responses/999999/crop.png")).status_code == 404


async def test_unknown_worksheet_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/worksheets/4242/results")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert (await client.get("/api/v1/worksheets/4242/results.csv")).status_code == 404


async def test_results_are_scoped(client: httpx.AsyncClient, sheet: Sheet) -> None:
    """Another (non-admin) teacher of the school, and an admin of another school, see
    nothing of this worksheet: 404 as for ids that do not exist."""
    app = app_of(client)
    wid = sheet.worksheet_id
    rid = sheet.responses[("王小明", "m3-add-001")]
    for other in (await other_teacher(client),
                  await other_teacher(client, admin=True, other_school=True)):
        app.dependency_overrides[current_actor] = lambda other=other: other
        try:
            for url in (f"/api/v1/worksheets/{wid}/results",
                        f"/api/v1/worksheets/{wid}/results.csv",
                        f"/api/v1/responses/{rid}/crop.png",
                        f"/api/v1/worksheets/{wid}/questions/m3-add-001/groups"):
                r = await client.get(url)
                assert r.status_code == 404, url
        finally:
            app.dependency_overrides.clear()
    assert (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).status_code == 200


# ---------------------------------------------------------------- the real pipeline


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"executor": "thread", "workers": 1, "poll_seconds": 0.2},
                    limits={"max_upload_mb": 20})


@pytest.fixture
def fresh_templates() -> Iterator[None]:
    """The page worker caches blank templates by (worksheet id, page) for the life of the
    process; every test database numbers its worksheets from 1, so a template cached by one
    test would be used for another test's different worksheet 1. Start and end empty."""
    from service.jobs import pagework

    pagework.clear_templates()
    yield
    pagework.clear_templates()


async def test_scanned_class_results_end_to_end(client: httpx.AsyncClient,
                                                fresh_templates: None) -> None:
    """Real printed, filled and scanned copies through the real pipeline: results, crops
    and page images come from what the pipeline stored."""
    from tests.support.scans import class_and_sheet, scanned_stack, wait_job

    sheet = await class_and_sheet(client, students=3, questions=6)
    stack = await scanned_stack(client, sheet)
    # Kept answers may lag a running job's pages for a minute, but never its end.
    app_of(client).state.read_cache = ReadCache(lag_s=60.0)
    before = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    assert before["summary"]["submitted"] == 0
    # Leave out the last student's pages: they must show up as missing.
    absent = sheet.student_ids[-1]
    keep = [p.page_index for p in stack.pages if p.student_id != absent]
    assert 0 < len(keep) < len(stack.pages)
    r = await client.post("/api/v1/scans", files={"scan": ("class.pdf", pdf_pages(stack.pdf, keep),
                                                           "application/pdf")})
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "done", job
    body = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    assert body["summary"]["submitted"] == 2
    assert [m["id"] for m in body["missing"]] == [absent]
    body["students"] = [s for s in body["students"] if s["submitted"]]
    for row in body["students"]:
        cells = row["questions"]
        assert len(cells) == 6
        decided = [c for c in cells if c["status"] == "graded"]
        assert row["total"] == pytest.approx(sum(c["score"] for c in decided))
        assert row["pending_review"] == sum(1 for c in cells if c["needs_review"])
    cell = next(c for row in body["students"] for c in row["questions"] if c["crop_url"])
    crop = await client.get(cell["crop_url"])
    assert crop.status_code == 200
    assert Image.open(io.BytesIO(crop.content)).size[0] > 10
    queue = (await client.get("/api/v1/review", params={"worksheet_id": sheet.worksheet_id}
                              )).json()
    pending = sum(r["pending_review"] for r in body["students"])
    assert queue["counts"]["response"] == pending
    # A page image is re-rendered from the uploaded PDF.
    from sqlalchemy import select

    from service.db import PageRow

    async with app_of(client).state.session_factory() as s:
        page_id = (await s.execute(select(PageRow.id).where(PageRow.status == "graded")
                                   .order_by(PageRow.id).limit(1))).scalar_one()
    img = await client.get(f"/api/v1/pages/{page_id}/image.png")
    assert img.status_code == 200
    arr = np.asarray(Image.open(io.BytesIO(img.content)))
    assert arr.ndim == 2
    assert arr.shape[0] > 1000
