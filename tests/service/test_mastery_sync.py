"""Grades feed mastery and error-book entries in the same unit of work; overrides replay.

Pages are seeded with real graders (see review_helpers) and then run through the very
function the scan pipeline calls after storing a page (``sync_answers``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, event, select

from errorbook.learner.bkt import BktParams, Observation, initial_state, replay, update
from service.db import (
    ErrorAttemptRow,
    ErrorEntryRow,
    GradeRow,
    ItemDifficultyRow,
    KnowledgePointRow,
    MasteryEventRow,
    MasteryStateRow,
    PageRow,
    QuestionRow,
    ResponseRow,
    ScanUploadRow,
)
from service.mastery.answers import NewAnswer, answer_facts, new_answer_facts
from service.mastery.sync import sync_answers
from tests.support.review import Read, Sheet, app_of, make_sheet, seed_class, seed_page

WRONG = {"incorrect", "blank", "partially_correct"}
T0 = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)


async def _sync(client: httpx.AsyncClient, response_ids: list[int], *, new: bool = False
                ) -> None:
    app = app_of(client)
    async with app.state.session_factory() as s:
        await sync_answers(s, response_ids, new=new)
        await s.commit()


async def _upload_at(client: httpx.AsyncClient, at: datetime) -> int:
    """A scan upload that arrived at ``at`` (the time its answers count from)."""
    app = app_of(client)
    actor = app.state.local_actor
    digest = hashlib.sha256(at.isoformat().encode()).hexdigest()
    async with app.state.session_factory() as s:
        row = ScanUploadRow(school_id=actor.school_id, teacher_id=actor.teacher_id,
                         filename="x.png", content_type="image/png", size_bytes=1,
                         sha256=digest, storage_key=f"uploads/{digest}.png", page_count=1,
                         created_at=at)
        s.add(row)
        await s.commit()
        return row.id


async def _page_at(client: httpx.AsyncClient, sheet: Sheet, student: str, at: datetime,
                   reads: dict[str, Read], label: str, *, new: bool = False) -> list[int]:
    sheet.upload_id = await _upload_at(client, at)
    await seed_page(client, sheet, student, reads, page_index=0, label=label)
    ids = [sheet.responses[(label, q)] for q in reads]
    await _sync(client, ids, new=new)
    return ids


async def _current_grades(client: httpx.AsyncClient, ids: list[int]) -> dict[int, GradeRow]:
    async with app_of(client).state.session_factory() as s:
        rows = (await s.execute(select(GradeRow).where(
            GradeRow.response_id.in_(ids), GradeRow.is_current.is_(True)))).scalars()
        return {g.response_id: g for g in rows}


async def test_wrong_answers_open_entries_and_answers_move_mastery(
        client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    ids = list(sheet.responses.values())
    await _sync(client, ids)
    grades = await _current_grades(client, ids)
    async with app_of(client).state.session_factory() as s:
        entries = (await s.execute(select(ErrorEntryRow))).scalars().all()
        events = (await s.execute(select(MasteryEventRow))).scalars().all()
        qids = {q.id: q.external_id for q in (await s.execute(select(QuestionRow))).scalars()}
    wrong = {(label, qid) for (label, qid), rid in sheet.responses.items()
             if grades[rid].verdict in WRONG}
    names = {v: k for k, v in sheet.students.items()}
    assert {(names[e.student_id], qids[e.question_id]) for e in entries} == wrong
    assert ("李华", "m3-add-001") in wrong  # 75 for 37+48: forgot the carry
    carry = next(e for e in entries if qids[e.question_id] == "m3-add-001")
    assert carry.cause == "forgot_carry"
    assert carry.state == "open"
    # Undecided answers teach nothing until a teacher decides; decided ones are events.
    decided = {rid for rid, g in grades.items() if g.verdict != "needs_review"}
    assert {e.response_id for e in events} == decided
    assert any(g.verdict == "needs_review" for g in grades.values())
    r = await client.get(f"/api/v1/students/{sheet.students['王小明']}/mastery")
    assert r.status_code == 200, r.text
    kps = {k["code"]: k for k in r.json()["knowledge_points"]}
    assert kps["math.add.carry"]["attempts"] >= 1
    assert kps["math.add.carry"]["p_mastery"] > BktParams().prior  # right answers raise it
    lo, hi = kps["math.add.carry"]["band"]
    assert lo <= kps["math.add.carry"]["p_mastery"] <= hi
    # Parents are rolled up from the points below them.
    assert "math.add" in kps
    assert kps["math.add"]["rolled_up"]
    assert "math.add.carry" in kps["math.add"]["children"]
    r = await client.get(f"/api/v1/students/{sheet.students['李华']}/mastery")
    li = {k["code"]: k for k in r.json()["knowledge_points"]}
    assert li["math.add.carry"]["p_mastery"] < kps["math.add.carry"]["p_mastery"]


async def test_sync_is_idempotent(client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    ids = list(sheet.responses.values())
    await _sync(client, ids)
    async with app_of(client).state.session_factory() as s:
        before = [(r.student_id, r.knowledge_point_id, r.p_mastery, r.attempts)
                  for r in (await s.execute(select(MasteryStateRow)
                                            .order_by(MasteryStateRow.student_id,
                                                      MasteryStateRow.knowledge_point_id)))
                  .scalars()]
    await _sync(client, ids)
    async with app_of(client).state.session_factory() as s:
        after = [(r.student_id, r.knowledge_point_id, r.p_mastery, r.attempts)
                 for r in (await s.execute(select(MasteryStateRow)
                                           .order_by(MasteryStateRow.student_id,
                                                     MasteryStateRow.knowledge_point_id)))
                 .scalars()]
        n_entries = len((await s.execute(select(ErrorEntryRow))).scalars().all())
    assert before == after
    assert before
    assert n_entries >= 2


async def _state_and_replay(client: httpx.AsyncClient, student_id: int, code: str
                            ) -> tuple[MasteryStateRow, float, int]:
    async with app_of(client).state.session_factory() as s:
        kp = (await s.execute(select(KnowledgePointRow).where(
            KnowledgePointRow.code == code))).scalar_one()
        state = await s.get(MasteryStateRow, (student_id, kp.id))
        events = (await s.execute(select(MasteryEventRow).where(
            MasteryEventRow.student_id == student_id,
            MasteryEventRow.knowledge_point_id == kp.id)
            .order_by(MasteryEventRow.at, MasteryEventRow.id))).scalars().all()
    fresh = replay([Observation(correct=e.credit, difficulty=e.difficulty,
                                at=e.at.replace(tzinfo=UTC)) for e in events], BktParams())
    assert state is not None
    return state, fresh.p_mastery, len(events)


async def test_teacher_override_replays_exactly_and_closes_the_entry(
        client: httpx.AsyncClient) -> None:
    sheet = make = await make_sheet(client)
    li = sheet.students["李华"]
    await _page_at(client, make, "李华", T0, {"m3-add-001": Read("75")}, "day0")
    await _page_at(client, make, "李华", T0 + timedelta(days=2),
                   {"m3-add-001": Read("85")}, "day2")
    before, _, n = await _state_and_replay(client, li, "math.add.carry")
    assert n == 2
    # The teacher decides the first answer was right after all (a misread key, say).
    rid = sheet.responses[("day0", "m3-add-001")]
    r = await client.post(f"/api/v1/review/responses/{rid}",
                          json={"action": "set", "verdict": "correct", "score": 1})
    assert r.status_code == 200, r.text
    after, fresh, n = await _state_and_replay(client, li, "math.add.carry")
    assert n == 2
    assert after.p_mastery == pytest.approx(fresh, abs=1e-12)
    assert after.p_mastery > before.p_mastery
    async with app_of(client).state.session_factory() as s:
        entries = (await s.execute(select(ErrorEntryRow).where(
            ErrorEntryRow.student_id == li))).scalars().all()
    assert entries == []  # nothing was wrong any more
    # And back: marking it wrong again reopens the entry, with the later right answer
    # counted as an attempt.
    r = await client.post(f"/api/v1/review/responses/{rid}",
                          json={"action": "set", "verdict": "incorrect", "score": 0})
    assert r.status_code == 200, r.text
    again, fresh, _ = await _state_and_replay(client, li, "math.add.carry")
    assert again.p_mastery == pytest.approx(before.p_mastery, abs=1e-12)
    assert again.p_mastery == pytest.approx(fresh, abs=1e-12)


async def test_entry_resolves_after_two_spaced_right_answers(client: httpx.AsyncClient) -> None:
    sheet = await make_sheet(client)
    li = sheet.students["李华"]
    await _page_at(client, sheet, "李华", T0, {"m3-add-001": Read("75")}, "wrong")

    async def entry() -> ErrorEntryRow:
        async with app_of(client).state.session_factory() as s:
            return (await s.execute(select(ErrorEntryRow).where(
                ErrorEntryRow.student_id == li))).scalar_one()

    first = await entry()
    assert first.state == "open"
    assert first.due_at.replace(tzinfo=UTC) == T0 + timedelta(days=1)
    await _page_at(client, sheet, "李华", T0 + timedelta(days=1),
                   {"m3-add-001": Read("85")}, "d1")
    e = await entry()
    assert (e.state, e.successes) == ("practising", 1)
    # The same day again is not a separate occasion.
    await _page_at(client, sheet, "李华", T0 + timedelta(days=1, hours=2),
                   {"m3-add-001": Read("85")}, "d1b")
    assert (await entry()).successes == 1
    # A week later (the next ISO week, for the weekly score rates).
    await _page_at(client, sheet, "李华", T0 + timedelta(days=8),
                   {"m3-add-001": Read("85")}, "d8")
    e = await entry()
    assert (e.state, e.successes) == ("resolved", 2)
    assert e.resolved_at is not None
    r = await client.get(f"/api/v1/students/{li}/progress")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["entries_resolved"] == 1
    assert body["resolution_rate"] == 1.0
    rates = {k["code"]: k for k in body["score_rates"]}
    assert rates["math.add.carry"]["change"] is not None
    assert rates["math.add.carry"]["change"] > 0  # 2 of 3 right in week 1, all in week 2
    r = await client.get(f"/api/v1/classes/{sheet.class_id}/progress")
    assert r.status_code == 200
    assert r.json()["resolution_rate"] == 1.0
    # A wrong answer later sends it back to practising from the start.
    await _page_at(client, sheet, "李华", T0 + timedelta(days=10),
                   {"m3-add-001": Read("75")}, "d10")
    e = await entry()
    assert (e.state, e.successes, e.times_wrong) == ("practising", 0, 2)


@pytest.mark.parametrize("new", [False, True], ids=["general", "new_answers"])
async def test_late_scan_of_an_older_page_replays_in_answer_order(
        client: httpx.AsyncClient, new: bool) -> None:
    sheet = await make_sheet(client)
    li = sheet.students["李华"]
    await _page_at(client, sheet, "李华", T0 + timedelta(days=3), {"m3-add-001": Read("85")}, "b",
                   new=new)
    await _page_at(client, sheet, "李华", T0, {"m3-add-001": Read("75")}, "a",  # arrives late
                   new=new)
    state, fresh, n = await _state_and_replay(client, li, "math.add.carry")
    assert n == 2
    assert state.p_mastery == pytest.approx(fresh, abs=1e-12)
    # Folding in arrival order instead (right, then wrong) would give another state.
    async with app_of(client).state.session_factory() as s:
        events = (await s.execute(select(MasteryEventRow).where(
            MasteryEventRow.student_id == li).order_by(MasteryEventRow.id))).scalars().all()
    p = BktParams()
    state_arrival = initial_state(p)
    for e in events:
        state_arrival = update(state_arrival, Observation(e.credit, e.difficulty), p)
    assert [e.credit for e in events] == [1.0, 0.0]
    assert state.p_mastery != pytest.approx(state_arrival.p_mastery, abs=1e-3)


async def test_class_mastery_matrix(client: httpx.AsyncClient) -> None:
    sheet = await seed_class(client)
    await _sync(client, list(sheet.responses.values()))
    r = await client.get(f"/api/v1/classes/{sheet.class_id}/mastery")
    assert r.status_code == 200, r.text
    body = r.json()
    assert "math.add.carry" in body["knowledge_points"]
    wang = str(sheet.students["王小明"])
    assert body["matrix"][wang]["math.add.carry"]["attempts"] >= 1
    assert str(sheet.students["张伟"]) not in body["matrix"]  # handed nothing in
    assert 0 < body["class_mean"]["math.add.carry"] < 1


async def test_a_syncs_new_rows_go_in_one_statement_per_table(
        client: httpx.AsyncClient) -> None:
    """Events and error-book entries of many answers are inserted together, on SQLite too
    (where the ORM sends one statement per row unless the table has an insert sentinel)."""
    sheet = await seed_class(client)
    ids = list(sheet.responses.values())
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()[:3]))

    engine = app_of(client).state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await _sync(client, ids)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    async with app_of(client).state.session_factory() as s:
        n_events = len((await s.execute(select(MasteryEventRow))).scalars().all())
        n_entries = len((await s.execute(select(ErrorEntryRow))).scalars().all())
    assert n_events >= 3
    assert n_entries >= 2
    assert statements.count("INSERT INTO mastery_events") == 1
    assert statements.count("INSERT INTO errorbook_entries") == 1


async def _derived(client: httpx.AsyncClient) -> dict[str, object]:
    """Everything sync derives from the answers, keyed by what it belongs to (not by ids
    that a second run would number differently)."""
    async with app_of(client).state.session_factory() as s:
        events = (await s.execute(select(MasteryEventRow))).scalars().all()
        by_id = {e.id: (e.response_id, e.knowledge_point_id) for e in events}
        states = (await s.execute(select(MasteryStateRow))).scalars().all()
        items = (await s.execute(select(ItemDifficultyRow))).scalars().all()
        entries = (await s.execute(select(ErrorEntryRow))).scalars().all()
        attempts = (await s.execute(select(ErrorAttemptRow))).scalars().all()
        entry_of = {e.id: (e.student_id, e.question_id) for e in entries}
    return {
        "events": sorted((e.response_id, e.knowledge_point_id, e.student_id, e.credit,
                          e.difficulty, e.at) for e in events),
        "states": sorted((r.student_id, r.knowledge_point_id, r.p_mastery, r.attempts,
                          r.correct, r.last_seen, tuple(r.history),
                          by_id.get(r.last_event_id or -1)) for r in states),
        "items": sorted((r.question_id, r.rating, r.n) for r in items),
        "entries": sorted((e.student_id, e.question_id, e.response_id, e.state, e.times_wrong,
                           e.successes, e.step, e.due_at, e.resolved_at) for e in entries),
        "attempts": sorted((entry_of[a.entry_id], a.response_id, a.at, a.correct)
                           for a in attempts),
    }


async def test_new_answers_fold_exactly_as_the_general_sync_does(
        client: httpx.AsyncClient) -> None:
    """The page store's table-statement fold (``new=True``) leaves the same events, states,
    item ratings and error-book entries as the general sync, over three rounds of pages:
    first answers (new states and items), later ones (updates) and an older scan arriving
    late (a replay)."""
    sheet = await make_sheet(client)
    rounds = [
        (T0 + timedelta(days=1), "r1", {"王小明": {"m3-add-001": Read("75"),
                                                 "m3-div-003": Read(blanks=("3", "2"))},
                                       "李华": {"m3-add-001": Read("85"),
                                              "m3-add-006": Read(marked=("A",))}}),
        (T0 + timedelta(days=4), "r2", {"王小明": {"m3-add-001": Read("85"),
                                                 "m3-word-001": Read("139")},
                                       "李华": {"m3-add-001": Read("75"),
                                              "m3-add-006": Read(status="blank")}}),
        (T0, "r0", {"王小明": {"m3-add-001": Read("70")}}),  # the oldest, scanned last
    ]
    batches: list[list[int]] = []
    for at, label, pages in rounds:
        for i, (student, reads) in enumerate(pages.items()):
            batches.append(await _page_at(client, sheet, student, at + timedelta(minutes=i),
                                          reads, f"{label}-{student}", new=True))
    fast = await _derived(client)
    for kind in ("events", "states", "items", "entries"):
        assert fast[kind], kind
    async with app_of(client).state.session_factory() as s:
        for table in (ErrorAttemptRow, ErrorEntryRow, MasteryEventRow, MasteryStateRow,
                      ItemDifficultyRow):
            await s.execute(delete(table))
        await s.commit()
    for ids in batches:
        await _sync(client, ids)
    assert await _derived(client) == fast


async def test_a_stored_pages_facts_are_those_read_back(client: httpx.AsyncClient) -> None:
    """The page store builds its answers' facts from what it wrote (``new_answer_facts``);
    they are the facts ``answer_facts`` reads back from the database, for a live page with
    right, wrong, unread and blank answers and for a page that does not count."""
    sheet = await seed_class(client)
    await seed_page(client, sheet, "张伟", {"m3-add-001": Read("85")}, status="duplicate",
                    label="dup")
    app = app_of(client)
    async with app.state.session_factory() as s:
        upload = await s.get(ScanUploadRow, sheet.upload_id)
        assert upload is not None
        for label, page_id in sheet.pages.items():
            page = await s.get(PageRow, page_id)
            assert page is not None
            assert page.worksheet_id is not None
            ids = sorted(rid for (lab, _), rid in sheet.responses.items() if lab == label)
            grades = await _current_grades(client, ids)
            answers = []
            for rid in ids:
                response = await s.get(ResponseRow, rid)
                assert response is not None
                g = grades.get(rid)
                answers.append(NewAnswer(rid, response.question_id, None if g is None else {
                    "verdict": g.verdict, "score": g.score, "max_score": g.max_score,
                    "cause": g.cause}))
            built = await new_answer_facts(
                s, answers, school_id=upload.school_id, worksheet_id=page.worksheet_id,
                student_id=page.student_id, page_status=page.status, at=upload.created_at)
            read = await answer_facts(s, ids)
            assert built == read, label
            assert read
    assert any(f.student_id is None for f in built)  # the duplicate page, seeded last
