"""Analytics through the real app, on SQLite and PostgreSQL: per worksheet, per class, per
student, the answers behind the figures, the class report PDF, and access control.

The class is ``tests.support.review.seed_class`` (real graders, the pipeline's grade rows)
with mastery and error-book entries brought in line by the pipeline's ``sync_answers``:

======  ==========  ==============  ==============  =============
        m3-add-001  m3-div-003      m3-add-006      m3-word-001
        (1 pt)      (1 pt, 2 blanks)  (choice, 2 pt)  (3 pt)
======  ==========  ==============  ==============  =============
王小明  85 ✓        3|2 ✓           B ✓             189 ✓
李华    75 ✗        3|2 ✓           A ✗             189 (review)
赵敏    unreadable  3|2 ✓           blank           page missing
张伟    handed nothing in
======  ==========  ==============  ==============  =============

Knowledge points: add-001 and add-006 进位加法 (math.add.carry), div-003 有余数的除法,
word-001 加减法解决问题 and 退位减法.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pypdfium2
import pytest

from service.mastery.sync import sync_answers
from tests.support.auth import client_for, make_account
from tests.support.review import Sheet, app_of, seed_class


@pytest.fixture
async def sheet(client: httpx.AsyncClient) -> Sheet:
    sheet = await seed_class(client)
    app = app_of(client)
    async with app.state.session_factory() as s:
        await sync_answers(s, sheet.responses.values())
        await s.commit()
    return sheet


def _q(body: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in body["questions"] if q["question_id"] == qid)


async def _get(client: httpx.AsyncClient, url: str) -> Any:
    r = await client.get(url)
    assert r.status_code == 200, r.text
    return r.json()


async def test_worksheet_analytics_figures(client: httpx.AsyncClient, sheet: Sheet) -> None:
    a = await _get(client, f"/api/v1/worksheets/{sheet.worksheet_id}/analytics")
    sub = a["submission"]
    assert (sub["roster"], sub["submitted"], sub["complete"], sub["pending_review"]) == \
        (4, 3, 1, 2)
    assert [m["name"] for m in sub["missing"]] == ["张伟"]
    dist = a["distribution"]
    # Only 王小明's total is final (7/7): one student in the top bin.
    assert dist["scored"] == 1
    assert [b["count"] for b in dist["bins"]] == [0] * 9 + [1]
    assert dist["bins"][9]["students"][0]["name"] == "王小明"
    assert dist["mean_rate"] == 1.0
    # Three ranked students: too few to split into upper and lower groups.
    assert a["groups_size"] == 0
    add = _q(a, "m3-add-001")
    assert (add["decided"], add["correct"], add["facility"], add["score_rate"]) == \
        (2, 1, 0.5, 0.5)
    assert add["pending_review"] == 1
    assert add["discrimination"] is None
    assert add["knowledge_points"] == ["进位加法"]
    assert add["wrong_answers"][0]["answer"] == "75"
    assert add["wrong_answers"][0]["causes"] == [
        {"cause": {"code": "forgot_carry", "zh": "进位遗漏", "en": "forgot to carry"},
         "count": 1}]
    div = _q(a, "m3-div-003")
    assert (div["decided"], div["facility"]) == (3, 1.0)
    choice = _q(a, "m3-add-006")
    assert choice["facility"] == 0.3333
    assert choice["score_rate"] == 0.3333
    options = {c["option"]: c for c in choice["choices"]}
    assert list(options) == ["A", "B", "C", "D", ""]
    assert options["B"]["is_key"]
    assert options["B"]["count"] == 1
    assert options["A"]["count"] == 1
    assert options["A"]["share"] == 0.3333
    assert options["A"]["misconception"] == "个位满十没有向十位进 1"
    assert options["C"]["count"] == 0
    assert options[""]["count"] == 1  # 赵敏 left it blank
    assert _q(a, "m3-word-001")["choices"] is None


async def test_every_worksheet_figure_lists_its_answers(client: httpx.AsyncClient,
                                                       sheet: Sheet) -> None:
    a = await _get(client, f"/api/v1/worksheets/{sheet.worksheet_id}/analytics")
    add = _q(a, "m3-add-001")
    wrong = await _get(client, add["wrong_answers"][0]["answers"])
    assert wrong["count"] == 1
    assert wrong["answers"][0]["student"]["name"] == "李华"
    assert wrong["answers"][0]["answer"] == "75"
    assert wrong["answers"][0]["review"] == \
        f"/review/responses/{sheet.responses[('李华', 'm3-add-001')]}"
    every = await _get(client, add["answers"])
    assert every["count"] == 3  # 王, 李 and 赵 (the unreadable one, waiting for review)
    assert sorted(x["status"] for x in every["answers"]) == ["graded", "graded",
                                                             "needs_review"]
    options = {c["option"]: c for c in _q(a, "m3-add-006")["choices"]}
    for option, c in options.items():
        listed = await _get(client, c["answers"])
        assert listed["count"] == c["count"], option
    blank = await _get(client, options[""]["answers"])
    assert blank["answers"][0]["student"]["name"] == "赵敏"
    div = await _get(client, _q(a, "m3-div-003")["answers"])
    assert {x["answer"] for x in div["answers"]} == {"3 | 2"}  # blanks joined as in results
    top = await _get(client, a["distribution"]["bins"][9]["answers"])
    assert {x["student"]["name"] for x in top["answers"]} == {"王小明"}


async def test_class_analytics_heatmap_trends_resolution_attention(
        client: httpx.AsyncClient, sheet: Sheet) -> None:
    a = await _get(client, f"/api/v1/classes/{sheet.class_id}/analytics")
    codes = [k["code"] for k in a["knowledge_points"]]
    assert codes == ["math.add.carry", "math.div.remainder", "math.sub.borrow",
                     "math.word.add_sub"]
    assert a["knowledge_points"][0]["name_zh"] == "进位加法"
    rows = {r["student"]["name"]: r["cells"] for r in a["heatmap"]}
    assert [(c["rate"], c["n"]) for c in rows["王小明"]] == [(1.0, 2), (1.0, 1), (1.0, 1),
                                                            (1.0, 1)]
    assert [(c["rate"], c["n"]) for c in rows["李华"]] == [(0.0, 2), (1.0, 1), (None, 0),
                                                          (None, 0)]
    assert [c["rate"] for c in rows["张伟"]] == [None] * 4
    assert [(c["rate"], c["n"]) for c in rows["赵敏"][:2]] == [(0.0, 1), (1.0, 1)]
    carry = next(t for t in a["trends"] if t["kp"]["code"] == "math.add.carry")
    # 王 1 + 1, 李 0 + 0, 赵 0 (the blank): 2 of 5, all in one week.
    assert (carry["rate"], carry["n"], carry["change"]) == (0.4, 5, None)
    assert len(carry["weeks"]) == 1
    assert carry["weeks"][0]["n"] == 5
    listed = await _get(client, carry["weeks"][0]["answers"])
    assert listed["count"] == 5
    cell = await _get(client, rows["李华"][0]["answers"])
    assert sorted(x["question_id"] for x in cell["answers"]) == ["m3-add-001", "m3-add-006"]
    # A two-blank answer found through its mastery event keeps both blanks.
    remainder = await _get(client, rows["王小明"][1]["answers"])
    assert [(x["question_id"], x["answer"]) for x in remainder["answers"]] == [
        ("m3-div-003", "3 | 2")]
    open_ = await _get(client, f"/api/v1/analytics/answers?class_id={sheet.class_id}"
                               "&entries=open")
    assert open_["count"] == 3
    resolved = await _get(client, f"/api/v1/analytics/answers?class_id={sheet.class_id}"
                                  "&entries=resolved")
    assert resolved["count"] == 0
    res = a["resolution"]
    # 李华's two wrong answers and 赵敏's blank are in the error books; none redone yet.
    assert (res["entries"], res["resolved"], res["redone_right"], res["rate"]) == (3, 0, 0, 0.0)
    assert (await _get(client, res["answers"]))["count"] == 3
    attention = [(x["student"]["name"], [r["code"] for r in x["reasons"]])
                 for x in a["attention"]]
    # 进位加法 is 0/2 for 李华: too few answers to call it a weak point (3 needed).
    assert attention == [("李华", ["low_scores"]), ("张伟", ["missing_work"]),
                         ("赵敏", ["low_scores"])]
    assert a["attention"][0]["reasons"][0]["value"] == 0.25  # 1 of 4 decided points
    assert [w["submitted"] for w in a["worksheets"]] == [3]


async def test_student_portrait(client: httpx.AsyncClient, sheet: Sheet) -> None:
    wang = await _get(client, f"/api/v1/students/{sheet.students['王小明']}/analytics")
    assert [k["kp"]["code"] for k in wang["strengths"]] == ["math.add.carry"]
    assert wang["weaknesses"] == []
    assert wang["persistent_errors"] == []
    carry = wang["knowledge_points"][0]
    assert carry["p_mastery"] is not None
    assert carry["n"] == 2
    # The week's-end estimate replays the events: the last one is the stored state.
    assert len(carry["mastery_weeks"]) == 1
    assert carry["mastery_weeks"][-1]["p_mastery"] == pytest.approx(carry["p_mastery"],
                                                                     abs=1e-4)
    li = await _get(client, f"/api/v1/students/{sheet.students['李华']}/analytics")
    assert [k["kp"]["name_zh"] for k in li["weaknesses"]] == ["进位加法"]
    assert sorted(e["question_id"] for e in li["persistent_errors"]) == ["m3-add-001",
                                                                        "m3-add-006"]
    assert li["persistent_errors"][0]["knowledge_points"] == ["进位加法"]
    assert li["resolved_errors"] == []
    one = await _get(client, li["persistent_errors"][0]["answers"])
    assert one["count"] == 1
    assert one["answers"][0]["question_id"] == li["persistent_errors"][0]["question_id"]


async def test_class_report_pdf(client: httpx.AsyncClient, sheet: Sheet) -> None:
    r = await client.get(f"/api/v1/classes/{sheet.class_id}/report.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pdf = pypdfium2.PdfDocument(io.BytesIO(r.content))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "三年级(2)班 学情报告" in text
    assert "进位加法" in text
    assert "李华" in text
    assert "需要关注的学生" in text
    # Knowledge points by their names, never their codes.
    assert "math." not in text
    en = await client.get(f"/api/v1/classes/{sheet.class_id}/report.pdf?lang=en")
    assert en.status_code == 200
    pdf = pypdfium2.PdfDocument(io.BytesIO(en.content))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "三年级(2)班: class report" in text
    assert "Students who need attention" in text
    assert "Addition with carrying" in text  # knowledge points by their English names
    bad = await client.get(f"/api/v1/classes/{sheet.class_id}/report.pdf?lang=fr")
    assert bad.status_code == 422


async def test_access_like_results(client: httpx.AsyncClient, sheet: Sheet) -> None:
    app = app_of(client)
    urls = [f"/api/v1/worksheets/{sheet.worksheet_id}/analytics",
            f"/api/v1/classes/{sheet.class_id}/analytics",
            f"/api/v1/classes/{sheet.class_id}/report.pdf",
            f"/api/v1/students/{sheet.students['李华']}/analytics",
            f"/api/v1/analytics/answers?class_id={sheet.class_id}"]
    account = await make_account(app, "analytics-other")
    async with client_for(app, account.headers) as stranger:
        for url in urls:
            r = await stranger.get(url)
            assert r.status_code == 404, (url, r.text)
            assert r.json()["error"] == "not_found"
    for url in ("/api/v1/worksheets/999999/analytics", "/api/v1/classes/999999/analytics",
                "/api/v1/students/999999/analytics",
                f"/api/v1/analytics/answers?class_id={sheet.class_id}&entry_id=999999"):
        r = await client.get(url)
        assert r.status_code == 404
        assert r.json()["error"] == "not_found"


@pytest.mark.parametrize(("query", "error"), [
    ("", "filter_required"), ("question=m3-add-001", "filter_required"),
    ("class_id={c}&verdict=maybe", "invalid_filter"), ("class_id={c}&week=47", "invalid_filter"),
    ("class_id={c}&entries=some", "invalid_filter"), ("students=1,x", "invalid_filter"),
    ("students=1,99999999999", "invalid_filter"), ("entry_id=5", "filter_required"),
])
async def test_drill_down_bad_filters(client: httpx.AsyncClient, sheet: Sheet, query: str,
                                      error: str) -> None:
    r = await client.get(f"/api/v1/analytics/answers?{query.format(c=sheet.class_id)}")
    assert r.status_code == 422, r.text
    assert r.json()["error"] == error
