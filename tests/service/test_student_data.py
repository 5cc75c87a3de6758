"""A student's export and erasure, and image retention, through the real app on SQLite and
PostgreSQL (docs/privacy.md).

The class is seeded like the results tests (``tests.support.review``), with mastery and
error-book entries synced as the pipeline does; the re-upload test at the bottom runs the
real scan pipeline.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from service.actor import current_actor
from service.config import RetentionSettings, Settings
from service.db import (
    AuditEventRow,
    Base,
    ErasedStudentRow,
    FileDeletionRow,
    PageRow,
    ResponseRow,
    ScanUploadRow,
    StudentLinkRow,
)
from service.mastery.sync import sync_answers
from service.privacy.retention import purge_images
from tests.support.review import Sheet, app_of, other_teacher, seed_class

STUDENT_TABLES = ("pages", "responses", "mastery_events", "mastery_states",
                  "errorbook_entries", "student_links")


@pytest.fixture
async def sheet(client: httpx.AsyncClient) -> Sheet:
    sheet = await seed_class(client)
    app = app_of(client)
    school = app.state.local_actor.school_id
    async with app.state.session_factory() as s:
        await sync_answers(s, sheet.responses.values())
        for name, token in (("王小明", "a"), ("李华", "b")):
            s.add(StudentLinkRow(school_id=school, student_id=sheet.students[name],
                                 token_hash=token * 64))
        await s.commit()
    # An audit event about the student, with what identifies them in its detail.
    for name, pinyin in (("王小明", "wang xiaoming"), ("李华", "li hua")):
        r = await client.patch(f"/api/v1/classes/{sheet.class_id}/students/"
                               f"{sheet.students[name]}", json={"pinyin": pinyin})
        assert r.status_code == 200, r.text
    return sheet


async def _counts(app: FastAPI) -> dict[str, int]:
    async with app.state.session_factory() as s:
        return {t.name: int(await s.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables}


async def _student_counts(app: FastAPI, student_id: int) -> dict[str, int]:
    out = {}
    async with app.state.session_factory() as s:
        for name in STUDENT_TABLES:
            table = Base.metadata.tables[name]
            out[name] = int(await s.scalar(select(func.count()).select_from(table).where(
                table.c.student_id == student_id)) or 0)
    return out


def _files(storage_root: Path) -> set[str]:
    return {p.relative_to(storage_root).as_posix() for p in storage_root.rglob("*")
            if p.is_file() and "tmp" not in p.relative_to(storage_root).parts}


async def _crop_keys(app: FastAPI, student_id: int) -> set[str]:
    async with app.state.session_factory() as s:
        return {k for k in (await s.execute(select(ResponseRow.crop_key).where(
            ResponseRow.student_id == student_id))).scalars() if k}


async def test_export_holds_the_student_and_no_one_else(client: httpx.AsyncClient,
                                                         sheet: Sheet) -> None:
    wang, li = sheet.students["王小明"], sheet.students["李华"]
    r = await client.get(f"/api/v1/students/{wang}/export")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "no-store" in r.headers["cache-control"]
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    doc = json.loads(zf.read("student.json"))
    assert doc["format"] == "markbook-student-export/1"
    assert doc["student"]["name"] == "王小明"
    assert doc["class"]["id"] == sheet.class_id
    assert [p["id"] for p in doc["pages"]] == [sheet.pages["王小明"]]
    assert doc["pages"][0]["status"] == "graded"
    mine = {rid for (name, _), rid in sheet.responses.items() if name == "王小明"}
    assert mine <= {x["id"] for x in doc["responses"]}
    assert all(x["student_id"] == wang for x in doc["responses"])
    assert all(x["grades"] and x["grades"][0]["is_current"] for x in doc["responses"]
               if x["id"] in mine)
    assert doc["mastery"]["states"]
    assert doc["mastery"]["events"]
    assert {s["student_id"] for s in doc["mastery"]["states"]} == {wang}
    assert doc["links"]
    assert "token_hash" not in doc["links"][0]
    assert any(e["action"] == "student.update" for e in doc["audit"])
    # The files: every crop of theirs and their page image, nothing else.
    names = set(zf.namelist())
    crops = {x["crop"] for x in doc["responses"] if x["crop"]}
    assert len(crops) == 3
    assert crops <= names
    assert f"pages/{sheet.pages['王小明']}.png" in names
    assert names == {"student.json"} | crops | {f"pages/{sheet.pages['王小明']}.png"}
    text = zf.read("student.json").decode()
    assert "李华" not in text
    assert "赵敏" not in text
    assert str(sheet.responses[("李华", "m3-word-001")]) not in {str(x["id"]) for x in
                                                              doc["responses"]}
    assert li not in {x["student_id"] for x in doc["responses"]}
    exported = list((await client.get("/api/v1/audit?action=student.export")).json()[
        "items"])
    assert exported
    assert exported[0]["target_id"] == wang


async def test_teacher_export_leaves_the_audit_log_out(client: httpx.AsyncClient,
                                                       sheet: Sheet) -> None:
    app = app_of(client)
    # The class belongs to the local admin; a teacher of the school cannot see it.
    teacher = await other_teacher(client)
    app.dependency_overrides[current_actor] = lambda: teacher
    try:
        r = await client.get(f"/api/v1/students/{sheet.students['王小明']}/export")
        assert r.status_code == 404
        assert r.json()["error"] == "not_found"
    finally:
        app.dependency_overrides.clear()


async def test_erasure_removes_every_row_and_file_of_the_student(client: httpx.AsyncClient,
                                                                 sheet: Sheet) -> None:
    app = app_of(client)
    kept, gone = sheet.students["王小明"], sheet.students["李华"]  # 李华 has wrong answers
    storage_root: Path = app.state.storage.root
    before, kept_before = await _counts(app), await _student_counts(app, kept)
    gone_before = await _student_counts(app, gone)
    assert all(gone_before[t] > 0 for t in STUDENT_TABLES), gone_before
    gone_crops, kept_crops = await _crop_keys(app, gone), await _crop_keys(app, kept)
    files_before = _files(storage_root)
    assert gone_crops <= files_before
    assert kept_crops <= files_before

    # A confirmation is required, and must be the student number.
    for query in ("", "?confirm=001", "?confirm=%E7%8E%8B%E5%B0%8F%E6%98%8E"):
        r = await client.delete(f"/api/v1/students/{gone}{query}")
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "confirmation_mismatch"
    assert await _counts(app) == before

    r = await client.delete(f"/api/v1/students/{gone}?confirm=002")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["students"] == 1
    assert body["counts"]["pages"] == 1
    assert body["files_failed"] == 0
    assert body["scans_kept"] == 1  # the seeded upload holds the other children's pages

    assert await _student_counts(app, gone) == dict.fromkeys(STUDENT_TABLES, 0)
    assert await _student_counts(app, kept) == kept_before
    after = await _counts(app)
    removed = {t: before[t] - after[t] for t in before if before[t] != after[t]}
    assert removed["students"] == 1
    assert removed["responses"] == gone_before["responses"]
    assert removed["mastery_states"] == gone_before["mastery_states"]
    # Added: the tombstone, the audit event; nothing else grew.
    assert {t for t, n in removed.items() if n < 0} == {"erased_students", "audit_events"}
    # Files: theirs gone, the others' and the shared scan kept; nothing left queued.
    files_after = _files(storage_root)
    assert not gone_crops & files_after
    assert kept_crops <= files_after
    assert after["file_deletions"] == 0
    async with app.state.session_factory() as s:
        upload = await s.get(ScanUploadRow, sheet.upload_id)
        assert upload is not None
        assert upload.storage_key in files_after
        stone = await s.get(ErasedStudentRow, gone)
        assert stone is not None
        assert stone.class_id == sheet.class_id
        assert "002" not in (stone.student_no_hash, stone.salt)
        events = list((await s.execute(select(AuditEventRow))).scalars())
    # The audit keeps events but nothing names the student any more.
    dump = json.dumps([[e.action, e.target_type, e.target_id, e.detail] for e in events],
                      ensure_ascii=False)
    assert "li hua" not in dump
    assert "李华" not in dump
    updates = sorted((e.target_id or 0) for e in events if e.action == "student.update")
    assert updates == [0, kept]  # the erased student's event kept, without its target
    erase = [e for e in events if e.action == "student.erase"]
    assert len(erase) == 1
    assert "002" not in json.dumps(erase[0].detail)
    # The others are intact and still served.
    results = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    assert [s["student"]["name"] for s in results["students"]] == ["王小明", "张伟", "赵敏"]
    crop = await client.get(f"/api/v1/responses/{sheet.responses[('王小明', 'm3-add-001')]}"
                            "/crop.png")
    assert crop.status_code == 200
    assert (await client.get(f"/api/v1/students/{gone}/export")).status_code == 404


async def test_erasure_is_for_the_schools_admins(client: httpx.AsyncClient,
                                                 sheet: Sheet) -> None:
    app = app_of(client)
    wang = sheet.students["王小明"]
    for actor, status in ((await other_teacher(client), 403),
                          (await other_teacher(client, admin=True, other_school=True), 404)):
        app.dependency_overrides[current_actor] = lambda actor=actor: actor
        try:
            r = await client.delete(f"/api/v1/students/{wang}?confirm=001")
            assert r.status_code == status, r.text
        finally:
            app.dependency_overrides.clear()
    assert (await _student_counts(app, wang))["pages"] == 1


async def test_a_failed_file_deletion_stays_queued(client: httpx.AsyncClient, sheet: Sheet,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from service.privacy import files

    app = app_of(client)
    wang = sheet.students["王小明"]

    def refuse(data_dir: Path, path: str) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(files, "_unlink", refuse)
    r = await client.delete(f"/api/v1/students/{wang}?confirm=001")
    assert r.status_code == 200, r.text
    assert r.json()["files_failed"] == r.json()["files_queued"] > 0
    # The erasure stands; the files wait for the next run.
    assert (await _student_counts(app, wang))["pages"] == 0
    monkeypatch.undo()
    report = await purge_images(app.state.session_factory, RetentionSettings(),
                                app.state.settings.data_dir)
    assert report.files_failed == 0
    assert report.files_deleted > 0
    async with app.state.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(FileDeletionRow)) == 0


async def _age(app: FastAPI, days: int, *, page_ids: list[int] | None = None,
               upload_id: int | None = None) -> None:
    old = datetime.now(UTC) - timedelta(days=days)
    async with app.state.session_factory() as s:
        q = update(PageRow).values(created_at=old)
        if page_ids is not None:
            q = q.where(PageRow.id.in_(page_ids))
        await s.execute(q)
        if upload_id is not None:
            await s.execute(update(ScanUploadRow).where(ScanUploadRow.id == upload_id)
                            .values(created_at=old))
        await s.commit()


async def test_retention_removes_old_images_only(client: httpx.AsyncClient,
                                                 sheet: Sheet) -> None:
    app = app_of(client)
    storage_root: Path = app.state.storage.root
    wang, li = sheet.students["王小明"], sheet.students["李华"]
    wang_crops, li_crops = await _crop_keys(app, wang), await _crop_keys(app, li)
    retention = RetentionSettings(page_images_days=30, crops_days=30)
    data_dir = app.state.settings.data_dir
    await _age(app, 40, page_ids=[sheet.pages["王小明"]])

    report = await purge_images(app.state.session_factory, retention, data_dir)
    assert (report.crop_pages, report.scans) == (1, 0)
    files = _files(storage_root)
    assert not wang_crops & files
    assert li_crops <= files
    assert await _crop_keys(app, wang) == set()
    # Grades and readings stay; the crop says why it is gone.
    wang_rid = sheet.responses[("王小明", "m3-add-001")]
    r = await client.get(f"/api/v1/responses/{wang_rid}/crop.png")
    assert r.status_code == 404
    assert r.json()["error"] == "image_expired"
    body = (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")).json()
    row = next(s for s in body["students"] if s["student"]["id"] == wang)
    assert row["total"] == 7.0
    assert all(c["crop_url"] is None for c in row["questions"])
    r = await client.get(f"/api/v1/responses/{sheet.responses[('李华', 'm3-word-001')]}"
                         "/crop.png")
    assert r.status_code == 200
    # The shared scan still has new pages: kept, and the page image still renders.
    page = sheet.pages["王小明"]
    assert (await client.get(f"/api/v1/pages/{page}/image.png")).status_code == 200

    await _age(app, 40, upload_id=sheet.upload_id)
    report = await purge_images(app.state.session_factory, retention, data_dir)
    assert report.scans == 1
    async with app.state.session_factory() as s:
        upload = await s.get(ScanUploadRow, sheet.upload_id)
        assert upload is not None
    assert upload.storage_key not in _files(storage_root)
    r = await client.get(f"/api/v1/pages/{page}/image.png")
    assert r.status_code == 404
    assert r.json()["error"] == "image_expired"
    assert (await client.get(f"/api/v1/worksheets/{sheet.worksheet_id}/results")
            ).status_code == 200
    # A second purge finds nothing more to do.
    again = await purge_images(app.state.session_factory, retention, data_dir)
    assert (again.scans, again.crop_pages, again.files_deleted) == (0, 0, 0)
    # The export says the images are no longer kept.
    doc = json.loads(zipfile.ZipFile(io.BytesIO((await client.get(
        f"/api/v1/students/{wang}/export")).content)).read("student.json"))
    assert doc["pages"][0]["image_state"] == "expired"
    assert {x["crop_state"] for x in doc["responses"]} <= {"expired", "none"}


# ---------------------------------------------------------------- the real pipeline


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"executor": "thread", "workers": 1, "poll_seconds": 0.2},
                    limits={"max_upload_mb": 20}, webhooks={"enabled": False})


async def test_a_rescan_after_erasure_brings_nothing_back(client: httpx.AsyncClient) -> None:
    from service.jobs import pagework
    from simulation.classroom import pdf_pages
    from tests.support.scans import class_and_sheet, scanned_stack, wait_job

    pagework.clear_templates()
    app = app_of(client)
    sheet = await class_and_sheet(client, students=2, questions=4)
    stack = await scanned_stack(client, sheet, real=False)
    order = [p.page_index for p in stack.pages]
    r = await client.post("/api/v1/scans", files={"scan": (
        "class.pdf", pdf_pages(stack.pdf, order), "application/pdf")})
    assert r.status_code == 202, r.text
    assert (await wait_job(client, r.json()["job_id"]))["status"] == "done"
    gone = sheet.student_ids[0]
    assert (await _student_counts(app, gone))["responses"] > 0
    r = await client.delete(f"/api/v1/students/{gone}?confirm=001")
    assert r.status_code == 200, r.text
    counts = await _counts(app)

    # The same pages again, in another file: the erased child's are stored without answers.
    r = await client.post("/api/v1/scans", files={"scan": (
        "again.pdf", pdf_pages(stack.pdf, order[::-1]), "application/pdf")})
    assert r.status_code == 202, r.text
    job: dict[str, Any] = await wait_job(client, r.json()["job_id"])
    assert job["status"] in ("done", "partially_done"), job
    assert any(p["status"] == "erased_student" for p in job["problems"]), job["problems"]
    after = await _counts(app)
    assert after["responses"] == counts["responses"]
    assert after["students"] == counts["students"]
    assert (await _student_counts(app, gone)) == dict.fromkeys(STUDENT_TABLES, 0)
    async with app.state.session_factory() as s:
        erased = list((await s.execute(select(PageRow).where(
            PageRow.status == "erased_student"))).scalars())
    theirs = [p for p in stack.pages if p.student_id == gone]
    assert len(erased) == len(theirs)
    assert all(p.student_id is None and p.student_evidence is None for p in erased)
    # Not in the review queue: nothing there is theirs to decide.
    queue = (await client.get("/api/v1/review")).json()
    assert queue["counts"]["unknown_student"] == queue["counts"]["unidentified"] == 0
    pagework.clear_templates()
