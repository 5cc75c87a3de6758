"""The authorisation matrix: every route of the app, every kind of caller.

For each route in ``app.routes`` the table ``ROUTES`` says how to build a valid request
with the owner's ids and who may call it. The test proves, on SQLite and PostgreSQL:

* anonymous callers get 401 (except public routes);
* another teacher of the same school, and an admin of another school, using the owner's
  ids get 404 (403 on admin-only routes), and never see the owner's data;
* a device key gets 403 except on ingestion routes, where it sees only its own jobs;
* the owner (or a school admin, for admin-only routes) succeeds with the same request, so
  the refusals above are not just broken requests;
* a school admin succeeds everywhere in the school.

The pages (``service.web``) are in ``PAGES``: they take a browser session, never a bearer
token, so every kind of API caller stands where an anonymous browser does (a redirect to the
sign-in page, or 403 for a form posted without a CSRF token). A page that shows or changes a
teacher's data also says, in ``other``, how another teacher's and another school's admin's
browser sessions fare with the owner's ids (the same kinds as the API's rows; ``NOT_FOUND``
pages answer the 404 page); the owner's and the school admin's sessions must then get a
2xx page or a 303 redirect. POST pages are sent with the session's valid CSRF token. Rows
run in order, so a page that deletes something builds its own object with ``ids.next()``
or comes last. What a signed-in teacher sees on the pages is tested in ``tests/web``.

A route without a row fails the test, so new routes must be added here. To add one, put a
``Case`` under its ``(METHOD, path)`` with a ``build`` function returning the request from
``Ids`` (add the owner's new object to ``Ids`` and ``_setup`` if it needs one), and say how
another teacher should fare (``other``): ``NOT_FOUND`` for routes naming an owned object,
``OWN`` for routes acting only on the caller's own things (2xx allowed, no leak),
``SHARED`` for school-wide data, ``ADMIN`` for admin-only routes, ``PUBLIC`` for routes
without authentication. Ingestion routes set ``device`` to the status a device gets.
Where the owner's fixture data cannot make the route succeed, ``owner_error`` names the domain error the owner gets instead: it proves
the owner passed the access check, while everyone else stops at ``not_found``.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from PIL import Image
from sqlalchemy import update

from service.config import Settings
from service.db import JobRow
from service.db.base import utcnow
from service.web.sessions import SESSION_COOKIE
from tests.support.auth import client_for, make_account, unique_png
from tests.support.review import Read, Sheet, seed_page
from tests.support.scans import bank, math_ids

MARKER = "OWNER-机密-7f3a"  # in every name the owner gives; no one else may ever see it
NOT_FOUND, OWN, SHARED, ADMIN, PUBLIC = "not_found", "own", "shared", "admin", "public"
# An admin-only route naming an owned object: teachers get 403, another school's admin 404.
ADMIN_OWNED = "admin_owned"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # No job runner: jobs stay as the test leaves them.
    return Settings(data_dir=tmp_path / "var", db={"url": db_url},  # type: ignore[arg-type]
                    jobs={"run_in_app": False})


@dataclass
class Ids:
    """The owner's objects, and a counter for values that must be unique per request."""

    class_id: int
    worksheet_id: int
    job_id: int
    device_id: int
    question_id: str
    student_id: int
    page_id: int = 0
    response_id: int = 0
    blank_id: int = 0
    template_id: int = 0
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next(self) -> int:
        return next(self.counter)


@dataclass
class Req:
    method: str
    url: str
    json: Any = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    files: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    async def send(self, c: httpx.AsyncClient) -> httpx.Response:
        return await c.request(self.method, self.url, json=self.json, content=self.content,
                               data=self.data, files=self.files, headers=self.headers)


@dataclass
class Case:
    build: Callable[[Ids], Req]
    other: str = NOT_FOUND
    device: int = 403
    owner_error: str | None = None


def _bank_doc(ids: Ids) -> dict[str, Any]:
    q = dict(next(q for q in bank()["questions"] if q["id"] == ids.question_id))
    q["id"] = f"matrix-{ids.next()}"
    return {"format": bank()["format"], "knowledge_points": bank()["knowledge_points"],
            "questions": [q]}


def _students(ids: Ids) -> list[dict[str, str]]:
    return [{"student_no": f"S{ids.next():05d}", "name": f"{MARKER}学生"}]


def _csv(ids: Ids) -> bytes:
    return f"student_no,name\nC{ids.next():05d},{MARKER}同学\n".encode()


@functools.lru_cache(maxsize=1)
def _blank_png() -> bytes:
    """A teacher-made worksheet page, as a template's blank is uploaded."""
    from simulation.teacher_sheets import teacher_sheet

    out = io.BytesIO()
    Image.fromarray(teacher_sheet(5, dpi=100).image).save(out, format="PNG", dpi=(100, 100))
    return out.getvalue()


def _template_regions() -> list[dict[str, Any]]:
    """One written region with its key, on the blank of ``_blank_png``."""
    return [{"kind": "written", "box": [100, 100, 160, 130],
             "key": {"kind": "numeric", "answer": "12", "knowledge_points": ["math.add.carry"]}}]


def _editor_state(blank_id: int) -> str:
    """The template editor's state (service.web.templates_body) for ``_template_regions``."""
    return json.dumps({"pages": [{"blank_id": max(1, blank_id), "regions": [
        {"kind": "written", "box": [100, 100, 160, 130], "answer": "12",
         "kp": "math.add.carry"}]}]})


def _png_upload(url: str) -> Callable[[Ids], Req]:
    return lambda ids: Req("POST", url, content=unique_png(),
                           headers={"content-type": "image/png", "x-filename": "scan.png"})


ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/healthz/live"): Case(lambda ids: Req("GET", "/healthz/live"), PUBLIC),
    ("GET", "/healthz/ready"): Case(lambda ids: Req("GET", "/healthz/ready"), PUBLIC),
    ("POST", "/api/v1/auth/token"): Case(lambda ids: Req(
        "POST", "/api/v1/auth/token", data={"username": "nobody", "password": "x" * 12}), PUBLIC),
    ("GET", "/api/v1/me"): Case(lambda ids: Req("GET", "/api/v1/me"), OWN),
    ("POST", "/api/v1/teachers"): Case(lambda ids: Req("POST", "/api/v1/teachers", json={
        "username": f"new{ids.next()}", "display_name": "新老师",
        "password": "a long enough password"}), ADMIN),
    ("GET", "/api/v1/audit"): Case(lambda ids: Req("GET", "/api/v1/audit"), ADMIN),
    ("GET", "/api/v1/school/webhook"): Case(lambda ids: Req("GET", "/api/v1/school/webhook"),
                                            ADMIN),
    ("PUT", "/api/v1/school/webhook"): Case(lambda ids: Req(
        "PUT", "/api/v1/school/webhook", json={"url": "https://hooks.example.org/markbook"}),
        ADMIN),
    ("DELETE", "/api/v1/school/webhook"): Case(
        lambda ids: Req("DELETE", "/api/v1/school/webhook"), ADMIN),
    ("GET", "/api/v1/school/webhook/deliveries"): Case(
        lambda ids: Req("GET", "/api/v1/school/webhook/deliveries"), ADMIN),
    ("POST", "/api/v1/devices"): Case(lambda ids: Req("POST", "/api/v1/devices",
                                                      json={"name": "copier"}), OWN),
    ("GET", "/api/v1/devices"): Case(lambda ids: Req("GET", "/api/v1/devices"), OWN),
    ("DELETE", "/api/v1/devices/{device_id}"): Case(
        lambda ids: Req("DELETE", f"/api/v1/devices/{ids.device_id}")),
    ("POST", "/api/v1/classes"): Case(lambda ids: Req("POST", "/api/v1/classes",
                                                      json={"name": "二班"}), OWN),
    ("GET", "/api/v1/classes"): Case(lambda ids: Req("GET", "/api/v1/classes"), OWN),
    ("GET", "/api/v1/classes/{class_id}"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}")),
    ("POST", "/api/v1/classes/{class_id}/students"): Case(
        lambda ids: Req("POST", f"/api/v1/classes/{ids.class_id}/students",
                        json=_students(ids))),
    ("PATCH", "/api/v1/classes/{class_id}"): Case(
        lambda ids: Req("PATCH", f"/api/v1/classes/{ids.class_id}",
                        json={"name": f"{MARKER}班"})),
    ("PATCH", "/api/v1/classes/{class_id}/students/{student_id}"): Case(
        lambda ids: Req("PATCH", f"/api/v1/classes/{ids.class_id}/students/{ids.student_id}",
                        json={"name": f"{MARKER}甲"})),
    ("POST", "/api/v1/classes/{class_id}/students:import"): Case(
        lambda ids: Req("POST", f"/api/v1/classes/{ids.class_id}/students:import",
                        content=_csv(ids), headers={"content-type": "text/csv"})),
    # One question bank per school, shared by its teachers.
    ("POST", "/api/v1/questions:import"): Case(
        lambda ids: Req("POST", "/api/v1/questions:import", json=_bank_doc(ids)), SHARED),
    ("GET", "/api/v1/questions:export"): Case(
        lambda ids: Req("GET", "/api/v1/questions:export"), SHARED),
    ("GET", "/api/v1/questions"): Case(lambda ids: Req("GET", "/api/v1/questions"), SHARED),
    ("POST", "/api/v1/worksheets"): Case(lambda ids: Req("POST", "/api/v1/worksheets", json={
        "title": "练习", "class_id": ids.class_id, "question_ids": [ids.question_id]})),
    ("GET", "/api/v1/worksheets"): Case(lambda ids: Req("GET", "/api/v1/worksheets"), OWN),
    ("GET", "/api/v1/worksheets/{worksheet_id}"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}")),
    ("GET", "/api/v1/worksheets/{worksheet_id}/layout"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/layout")),
    ("POST", "/api/v1/worksheets/{worksheet_id}:use-current-keys"): Case(
        lambda ids: Req("POST", f"/api/v1/worksheets/{ids.worksheet_id}:use-current-keys")),
    ("GET", "/api/v1/worksheets/{worksheet_id}/print.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/print.pdf")),
    ("GET", "/api/v1/worksheets/{worksheet_id}/annotated.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/annotated.pdf")),
    ("GET", "/api/v1/worksheets/{worksheet_id}/students/{student_id}/annotated.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/students/"
                               f"{ids.student_id}/annotated.pdf")),
    # Results and review (a graded page of the owner's upload is seeded in _setup).
    ("GET", "/api/v1/worksheets/{worksheet_id}/results"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/results")),
    ("GET", "/api/v1/worksheets/{worksheet_id}/results.csv"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/results.csv")),
    ("GET", "/api/v1/responses/{response_id}/crop.png"): Case(
        lambda ids: Req("GET", f"/api/v1/responses/{ids.response_id}/crop.png")),
    ("GET", "/api/v1/worksheets/{worksheet_id}/questions/{question_id}/groups"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/questions/"
                               f"{ids.question_id}/groups")),
    ("POST", "/api/v1/worksheets/{worksheet_id}/questions/{question_id}/groups/grade"): Case(
        lambda ids: Req("POST", f"/api/v1/worksheets/{ids.worksheet_id}/questions/"
                                f"{ids.question_id}/groups/grade",
                        json={"normalised": "85", "verdict": "correct", "score": 1})),
    ("GET", "/api/v1/review"): Case(lambda ids: Req("GET", "/api/v1/review"), OWN),
    ("POST", "/api/v1/review/responses/{response_id}"): Case(
        lambda ids: Req("POST", f"/api/v1/review/responses/{ids.response_id}",
                        json={"action": "confirm"})),
    ("POST", "/api/v1/review/pages/{page_id}/assign"): Case(
        lambda ids: Req("POST", f"/api/v1/review/pages/{ids.page_id}/assign",
                        json={"student_id": ids.student_id, "replace": True})),
    # The owner's page is graded, not waiting as a page: dismissing it is refused after the
    # access check; reopening a page that is not dismissed changes nothing.
    ("POST", "/api/v1/review/pages/{page_id}/dismiss"): Case(
        lambda ids: Req("POST", f"/api/v1/review/pages/{ids.page_id}/dismiss"),
        owner_error="not_dismissable"),
    ("POST", "/api/v1/review/pages/{page_id}/reopen"): Case(
        lambda ids: Req("POST", f"/api/v1/review/pages/{ids.page_id}/reopen")),
    ("GET", "/api/v1/pages/{page_id}/image.png"): Case(
        lambda ids: Req("GET", f"/api/v1/pages/{ids.page_id}/image.png")),
    # Mastery, progress, recommendations and error books (through the student's class).
    ("GET", "/api/v1/students/{student_id}/mastery"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/mastery")),
    ("GET", "/api/v1/classes/{class_id}/mastery"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}/mastery")),
    ("GET", "/api/v1/students/{student_id}/progress"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/progress")),
    ("GET", "/api/v1/classes/{class_id}/progress"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}/progress")),
    ("GET", "/api/v1/students/{student_id}/recommendations"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/recommendations?n=4")),
    ("GET", "/api/v1/students/{student_id}/errorbook"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/errorbook")),
    # Analytics: as results and mastery, everything names the owner's objects.
    ("GET", "/api/v1/worksheets/{worksheet_id}/analytics"): Case(
        lambda ids: Req("GET", f"/api/v1/worksheets/{ids.worksheet_id}/analytics")),
    ("GET", "/api/v1/classes/{class_id}/analytics"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}/analytics")),
    ("GET", "/api/v1/classes/{class_id}/report.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}/report.pdf")),
    ("GET", "/api/v1/students/{student_id}/analytics"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/analytics")),
    ("GET", "/api/v1/analytics/answers"): Case(
        lambda ids: Req("GET", f"/api/v1/analytics/answers?class_id={ids.class_id}")),
    ("GET", "/api/v1/students/{student_id}/errorbook.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/errorbook.pdf")),
    ("GET", "/api/v1/students/{student_id}/export"): Case(
        lambda ids: Req("GET", f"/api/v1/students/{ids.student_id}/export")),
    # A wrong confirmation: the admin passes the access check and erases nothing.
    ("DELETE", "/api/v1/students/{student_id}"): Case(
        lambda ids: Req("DELETE", f"/api/v1/students/{ids.student_id}?confirm=nope"),
        ADMIN_OWNED, owner_error="confirmation_mismatch"),
    ("GET", "/api/v1/classes/{class_id}/errorbooks.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}/errorbooks.pdf")),
    ("GET", "/api/v1/classes/{class_id}/errorbooks-key.pdf"): Case(
        lambda ids: Req("GET", f"/api/v1/classes/{ids.class_id}/errorbooks-key.pdf"),
        owner_error="no_practice"),
    ("POST", "/api/v1/mastery:fit"): Case(lambda ids: Req("POST", "/api/v1/mastery:fit"), ADMIN),
    # Ingestion: devices may upload (for their teacher) and read their own jobs only.
    ("POST", "/api/v1/templates/blanks"): Case(lambda ids: Req(
        "POST", "/api/v1/templates/blanks", content=_blank_png(),
        headers={"content-type": "image/png"}), OWN),
    ("GET", "/api/v1/templates/blanks/{blank_id}"): Case(
        lambda ids: Req("GET", f"/api/v1/templates/blanks/{ids.blank_id}")),
    ("POST", "/api/v1/templates/blanks/{blank_id}/omr"): Case(lambda ids: Req(
        "POST", f"/api/v1/templates/blanks/{ids.blank_id}/omr",
        content=(Path(__file__).parents[1] / "ocr/data/omr/school_sheet.json").read_bytes(),
        headers={"content-type": "application/json"})),
    ("GET", "/api/v1/templates/blanks/{blank_id}/image.png"): Case(
        lambda ids: Req("GET", f"/api/v1/templates/blanks/{ids.blank_id}/image.png")),
    ("POST", "/api/v1/scans"): Case(
        lambda ids: _png_upload(f"/api/v1/scans?worksheet_id={ids.worksheet_id}")(ids),
        device=202),
    ("POST", "/api/v1/documents/post_document/"): Case(
        _png_upload("/api/v1/documents/post_document/"), OWN, device=202),
    ("GET", "/api/v1/jobs"): Case(lambda ids: Req("GET", "/api/v1/jobs"), OWN, device=200),
    ("GET", "/api/v1/jobs/{job_id}"): Case(
        lambda ids: Req("GET", f"/api/v1/jobs/{ids.job_id}"), device=404),
    ("GET", "/api/v1/jobs/{job_id}/events"): Case(
        lambda ids: Req("GET", f"/api/v1/jobs/{ids.job_id}/events"), device=404),
    # The owner's job is done: the owner and an admin reach the state check (409).
    ("POST", "/api/v1/jobs/{job_id}:retry"): Case(
        lambda ids: Req("POST", f"/api/v1/jobs/{ids.job_id}:retry"), device=404,
        owner_error="job_not_retryable"),
}


@dataclass
class Page:
    """A page route: the request, what any caller without a browser session gets (the
    status, and for a redirect where it leads), and how other signed-in teachers fare
    (``other``; ``None`` for the sign-in pages, which show no one's data)."""

    build: Callable[[Ids], Req]
    status: int
    location: str | None = None
    other: str | None = None


PAGES: dict[tuple[str, str], Page] = {
    ("GET", "/"): Page(lambda ids: Req("GET", "/"), 303, "/login", OWN),
    ("GET", "/login"): Page(lambda ids: Req("GET", "/login?next=/"), 200),
    ("POST", "/login"): Page(lambda ids: Req("POST", "/login", data={
        "username": "teacher1", "password": "x" * 12}), 403),
    ("POST", "/logout"): Page(lambda ids: Req("POST", "/logout"), 403),
    ("POST", "/lang"): Page(lambda ids: Req("POST", "/lang", data={"lang": "en"}), 403),
    # Review: the queue, one answer (reopened), its decision, crops, page images, assigning
    # a page, answer groups.
    ("GET", "/review"): Page(lambda ids: Req("GET", "/review"), 303, "/login?next=/review",
                             OWN),
    ("GET", "/review/responses/{response_id}"): Page(
        lambda ids: Req("GET", f"/review/responses/{ids.response_id}"), 303,
        "/login?next=/review/responses/0", NOT_FOUND),
    ("POST", "/review/responses/{response_id}"): Page(
        lambda ids: Req("POST", f"/review/responses/{ids.response_id}", data={
            "action": "set", "verdict": "incorrect", "max_score": "1"}), 303,
        "/login?next=/review/responses/0", NOT_FOUND),
    ("GET", "/review/responses/{response_id}/crop.png"): Page(
        lambda ids: Req("GET", f"/review/responses/{ids.response_id}/crop.png"), 303,
        "/login?next=/review/responses/0/crop.png", NOT_FOUND),
    ("GET", "/review/pages/{page_id}/image.png"): Page(
        lambda ids: Req("GET", f"/review/pages/{ids.page_id}/image.png"), 303,
        "/login?next=/review/pages/0/image.png", NOT_FOUND),
    ("POST", "/review/pages/{page_id}/assign"): Page(
        lambda ids: Req("POST", f"/review/pages/{ids.page_id}/assign", data={
            "student_id": str(ids.student_id), "replace": "1"}), 303,
        "/login?next=/review/pages/0/assign", NOT_FOUND),
    # Dismissing the owner's graded page (not in the queue as a page) goes back to the queue
    # saying so; reopening a page that is not dismissed changes nothing.
    ("POST", "/review/pages/{page_id}/dismiss"): Page(
        lambda ids: Req("POST", f"/review/pages/{ids.page_id}/dismiss", data={}), 303,
        "/login?next=/review/pages/0/dismiss", NOT_FOUND),
    ("POST", "/review/pages/{page_id}/reopen"): Page(
        lambda ids: Req("POST", f"/review/pages/{ids.page_id}/reopen", data={}), 303,
        "/login?next=/review/pages/0/reopen", NOT_FOUND),
    ("GET", "/review/worksheets/{worksheet_id}/questions/{question_id}/groups"): Page(
        lambda ids: Req("GET", f"/review/worksheets/{ids.worksheet_id}/questions/"
                               f"{ids.question_id or 'q'}/groups"), 303,
        "/login?next=/review/worksheets/0/questions/q/groups", NOT_FOUND),
    ("POST", "/review/worksheets/{worksheet_id}/questions/{question_id}/groups/grade"): Page(
        lambda ids: Req("POST", f"/review/worksheets/{ids.worksheet_id}/questions/"
                                f"{ids.question_id or 'q'}/groups/grade", data={
            "normalised": "85", "verdict": "incorrect", "max_score": "1"}), 303,
        "/login?next=/review/worksheets/0/questions/q/groups/grade", NOT_FOUND),
    # Classes and rosters (service.web.classes).
    ("GET", "/classes"): Page(lambda ids: Req("GET", "/classes"), 303, "/login?next=/classes",
                              OWN),
    ("POST", "/classes"): Page(lambda ids: Req("POST", "/classes", data={"name": "二班"}), 303,
                               "/login?next=/classes", OWN),
    ("GET", "/classes/{class_id}"): Page(
        lambda ids: Req("GET", f"/classes/{ids.class_id}"), 303,
        "/login?next=/classes/0", NOT_FOUND),
    ("POST", "/classes/{class_id}/students"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/students", data={
            "student_no": f"P{ids.next():05d}", "name": f"{MARKER}乙"}), 303,
        "/login?next=/classes/0/students", NOT_FOUND),
    ("POST", "/classes/{class_id}/students/import"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/students/import",
                        files={"file": ("roster.csv", _csv(ids), "text/csv")}), 303,
        "/login?next=/classes/0/students/import", NOT_FOUND),
    ("POST", "/classes/{class_id}/rename"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/rename",
                        data={"name": f"{MARKER}班"}), 303,
        "/login?next=/classes/0/rename", NOT_FOUND),
    ("POST", "/classes/{class_id}/students/{student_id}"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/students/{ids.student_id}",
                        data={"student_no": "001", "name": f"{MARKER}甲"}), 303,
        "/login?next=/classes/0/students/0", NOT_FOUND),
    # Student links (service.web.student_links); the public page of a link answers 404 to
    # any caller with a token that was never issued.
    ("GET", "/classes/{class_id}/links"): Page(
        lambda ids: Req("GET", f"/classes/{ids.class_id}/links"), 303,
        "/login?next=/classes/0/links", NOT_FOUND),
    ("POST", "/classes/{class_id}/links"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/links", data={"mode": "missing"}),
        303, "/login?next=/classes/0/links", NOT_FOUND),
    ("POST", "/classes/{class_id}/links/{student_id}"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/links/{ids.student_id}"), 303,
        "/login?next=/classes/0/links/0", NOT_FOUND),
    ("POST", "/classes/{class_id}/links/{student_id}/revoke"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/links/{ids.student_id}/revoke"), 303,
        "/login?next=/classes/0/links/0/revoke", NOT_FOUND),
    ("POST", "/classes/{class_id}/links/revoke"): Page(
        lambda ids: Req("POST", f"/classes/{ids.class_id}/links/revoke"), 303,
        "/login?next=/classes/0/links/revoke", NOT_FOUND),
    ("GET", "/s/{token}"): Page(lambda ids: Req("GET", "/s/" + "Nn0tAL1nk" * 4), 404),
    ("GET", "/s/{token}/errorbook.pdf"): Page(
        lambda ids: Req("GET", "/s/" + "Nn0tAL1nk" * 4 + "/errorbook.pdf"), 404),
    # Results (H5): the list is the teacher's own; the rest name the owner's worksheet.
    ("GET", "/results"): Page(lambda ids: Req("GET", "/results"), 303,
                              "/login?next=/results", OWN),
    ("GET", "/worksheets/{worksheet_id}/results"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/results"), 303,
        "/login?next=/worksheets/0/results", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/results.csv"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/results.csv"), 303,
        "/login?next=/worksheets/0/results.csv", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/annotated.pdf"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/annotated.pdf"), 303,
        "/login?next=/worksheets/0/annotated.pdf", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/students/{student_id}/annotated.pdf"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/students/{ids.student_id}"
                               "/annotated.pdf"), 303,
        "/login?next=/worksheets/0/students/0/annotated.pdf", NOT_FOUND),
    # The teacher's student page (H5).
    ("GET", "/students/{student_id}"): Page(
        lambda ids: Req("GET", f"/students/{ids.student_id}"), 303, "/login?next=/students/0",
        NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/analytics"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/analytics"), 303,
        "/login?next=/worksheets/0/analytics", NOT_FOUND),
    ("GET", "/classes/{class_id}/analytics"): Page(
        lambda ids: Req("GET", f"/classes/{ids.class_id}/analytics"), 303,
        "/login?next=/classes/0/analytics", NOT_FOUND),
    ("GET", "/classes/{class_id}/report.pdf"): Page(
        lambda ids: Req("GET", f"/classes/{ids.class_id}/report.pdf"), 303,
        "/login?next=/classes/0/report.pdf", NOT_FOUND),
    ("GET", "/students/{student_id}/analytics"): Page(
        lambda ids: Req("GET", f"/students/{ids.student_id}/analytics"), 303,
        "/login?next=/students/0/analytics", NOT_FOUND),
    ("GET", "/analytics/answers"): Page(
        lambda ids: Req("GET", f"/analytics/answers?class_id={ids.class_id}"), 303, None,
        NOT_FOUND),
    ("GET", "/students/{student_id}/errorbook.pdf"): Page(
        lambda ids: Req("GET", f"/students/{ids.student_id}/errorbook.pdf"), 303,
        "/login?next=/students/0/errorbook.pdf", NOT_FOUND),
    ("GET", "/students/{student_id}/export.zip"): Page(
        lambda ids: Req("GET", f"/students/{ids.student_id}/export.zip"), 303,
        "/login?next=/students/0/export.zip", NOT_FOUND),
    # A wrong confirmation: the admin is sent back to the page, nothing is erased.
    ("POST", "/students/{student_id}/erase"): Page(
        lambda ids: Req("POST", f"/students/{ids.student_id}/erase", data={"confirm": "nope"}),
        303, "/login?next=/students/0/erase", ADMIN_OWNED),
    # Error books per class (H5): the build runs in the background of the test's app.
    ("GET", "/errorbooks"): Page(lambda ids: Req("GET", "/errorbooks"), 303,
                                 "/login?next=/errorbooks", OWN),
    ("POST", "/errorbooks/classes/{class_id}/build"): Page(
        lambda ids: Req("POST", f"/errorbooks/classes/{ids.class_id}/build"), 303,
        "/login?next=/errorbooks/classes/0/build", NOT_FOUND),
    ("GET", "/errorbooks/classes/{class_id}/status"): Page(
        lambda ids: Req("GET", f"/errorbooks/classes/{ids.class_id}/status"), 303,
        "/login?next=/errorbooks/classes/0/status", NOT_FOUND),
    ("GET", "/errorbooks/classes/{class_id}/errorbooks.pdf"): Page(
        lambda ids: Req("GET", f"/errorbooks/classes/{ids.class_id}/errorbooks.pdf"), 303,
        "/login?next=/errorbooks/classes/0/errorbooks.pdf", NOT_FOUND),
    ("GET", "/errorbooks/classes/{class_id}/errorbooks-key.pdf"): Page(
        lambda ids: Req("GET", f"/errorbooks/classes/{ids.class_id}/errorbooks-key.pdf"), 303,
        "/login?next=/errorbooks/classes/0/errorbooks-key.pdf", NOT_FOUND),
    # Question bank (service.web.bank): one bank per school, like the API's. A question's
    # preview names a question of the owner's school: a colleague sees it, another school
    # gets 404 (no ``other`` kind says both; tests/web/test_bank.py checks them).
    ("GET", "/bank"): Page(lambda ids: Req("GET", "/bank"), 303, "/login?next=/bank", SHARED),
    ("GET", "/bank/questions/{question_id}/preview.png"): Page(
        lambda ids: Req("GET", f"/bank/questions/{ids.question_id or 'q'}/preview.png"), 303,
        "/login?next=/bank/questions/q/preview.png"),
    ("POST", "/bank/import"): Page(
        lambda ids: Req("POST", "/bank/import", data={}, files={"bank_file": (
            "bank.json", json.dumps(_bank_doc(ids) if ids.question_id else {}).encode(),
            "application/json")}), 303,
        "/login?next=/bank/import", SHARED),
    ("GET", "/bank/export.json"): Page(lambda ids: Req("GET", "/bank/export.json"), 303,
                                       "/login?next=/bank/export.json", SHARED),
    # Worksheets (service.web.builder): the list and the empty builder are the caller's own;
    # creating names the owner's class, the rest the owner's worksheet.
    ("GET", "/worksheets"): Page(lambda ids: Req("GET", "/worksheets"), 303,
                                 "/login?next=/worksheets", OWN),
    ("GET", "/worksheets/new"): Page(lambda ids: Req("GET", "/worksheets/new"), 303,
                                     "/login?next=/worksheets/new", OWN),
    ("POST", "/worksheets/new"): Page(
        lambda ids: Req("POST", "/worksheets/new", data={
            "title": f"{MARKER}卷{ids.next()}", "class_id": str(ids.class_id),
            "q": ids.question_id, "op": "create"}), 303, "/login?next=/worksheets/new",
        NOT_FOUND),
    ("POST", "/worksheets/new-drill"): Page(
        lambda ids: Req("POST", "/worksheets/new-drill", data={
            "title": f"{MARKER}口算{ids.next()}", "class_id": str(ids.class_id)}), 303,
        "/login?next=/worksheets/new-drill", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}"), 303,
        "/login?next=/worksheets/0", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/pages/{number}.png"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/pages/1.png"), 303,
        "/login?next=/worksheets/0/pages/1.png", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/print.pdf"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.worksheet_id}/print.pdf?per_student=true"),
        303, "/login?next=/worksheets/0/print.pdf%3Fper_student%3Dtrue", NOT_FOUND),
    # Templates (service.web.templates_editor): uploading a blank is the caller's own; the
    # editor, its image and saving name the owner's blank; a page as graded the owner's
    # template worksheet.
    ("GET", "/worksheets/templates/new"): Page(
        lambda ids: Req("GET", "/worksheets/templates/new"), 303,
        "/login?next=/worksheets/templates/new", OWN),
    ("POST", "/worksheets/templates/new"): Page(
        lambda ids: Req("POST", "/worksheets/templates/new", data={},
                        files={"file": ("blank.png", _blank_png(), "image/png")}), 303,
        "/login?next=/worksheets/templates/new", OWN),
    ("GET", "/worksheets/templates/{blank_id}"): Page(
        lambda ids: Req("GET", f"/worksheets/templates/{ids.blank_id}"), 303,
        "/login?next=/worksheets/templates/0", NOT_FOUND),
    ("POST", "/worksheets/templates/{blank_id}"): Page(
        lambda ids: Req("POST", f"/worksheets/templates/{ids.blank_id}", data={
            "title": f"自制练习{ids.next()}", "class_id": str(ids.class_id),
            "state": _editor_state(ids.blank_id)}), 303, "/login?next=/worksheets/templates/0",
        NOT_FOUND),
    ("POST", "/worksheets/templates/{blank_id}/pages"): Page(
        lambda ids: Req("POST", f"/worksheets/templates/{ids.blank_id}/pages", data={},
                        files={"file": ("blank.png", _blank_png(), "image/png")}), 303,
        "/login?next=/worksheets/templates/0/pages", NOT_FOUND),
    ("POST", "/worksheets/templates/{blank_id}/omr"): Page(
        lambda ids: Req("POST", f"/worksheets/templates/{ids.blank_id}/omr", data={}, files={
            "file": ("template.json", (Path(__file__).parents[1]
                                       / "ocr/data/omr/school_sheet.json").read_bytes(),
                     "application/json")}), 303,
        "/login?next=/worksheets/templates/0/omr", NOT_FOUND),
    ("GET", "/worksheets/templates/{blank_id}/image.png"): Page(
        lambda ids: Req("GET", f"/worksheets/templates/{ids.blank_id}/image.png"), 303,
        "/login?next=/worksheets/templates/0/image.png", NOT_FOUND),
    ("GET", "/worksheets/{worksheet_id}/template/{number}.png"): Page(
        lambda ids: Req("GET", f"/worksheets/{ids.template_id}/template/1.png"), 303,
        "/login?next=/worksheets/0/template/1.png", NOT_FOUND),
    # Uploads and jobs (service.web.uploads); the job of _setup is done, so /events ends.
    ("GET", "/uploads"): Page(lambda ids: Req("GET", "/uploads"), 303, "/login?next=/uploads",
                              OWN),
    ("POST", "/uploads"): Page(lambda ids: Req(
        "POST", "/uploads", data={"worksheet_id": str(ids.worksheet_id)},
        files={"files": ("scan.png", unique_png(), "image/png")}), 303,
        "/login?next=/uploads", NOT_FOUND),
    ("GET", "/jobs/{job_id}"): Page(lambda ids: Req("GET", f"/jobs/{ids.job_id}"), 303,
                                    "/login?next=/jobs/0", NOT_FOUND),
    ("GET", "/jobs/{job_id}/events"): Page(
        lambda ids: Req("GET", f"/jobs/{ids.job_id}/events"), 303,
        "/login?next=/jobs/0/events", NOT_FOUND),
    ("POST", "/jobs/{job_id}/retry"): Page(
        lambda ids: Req("POST", f"/jobs/{ids.job_id}/retry"), 303,
        "/login?next=/jobs/0/retry", NOT_FOUND),
    # Copiers and scanners, the school's webhook (service.web.devices).
    ("GET", "/devices"): Page(lambda ids: Req("GET", "/devices"), 303, "/login?next=/devices",
                              OWN),
    ("POST", "/devices"): Page(lambda ids: Req("POST", "/devices", data={"name": "复印机"}),
                               303, "/login?next=/devices", OWN),
    ("GET", "/devices/{device_id}/revoke"): Page(
        lambda ids: Req("GET", f"/devices/{ids.device_id}/revoke"), 303,
        "/login?next=/devices/0/revoke", NOT_FOUND),
    ("GET", "/devices/webhook"): Page(lambda ids: Req("GET", "/devices/webhook"), 303,
                                      "/login?next=/devices/webhook", ADMIN),
    ("POST", "/devices/webhook"): Page(lambda ids: Req("POST", "/devices/webhook", data={
        "url": "https://hooks.example.org/markbook"}), 303, "/login?next=/devices/webhook",
        ADMIN),
    ("POST", "/devices/webhook/remove"): Page(
        lambda ids: Req("POST", "/devices/webhook/remove"), 303,
        "/login?next=/devices/webhook/remove", ADMIN),
    ("POST", "/devices/{device_id}/revoke"): Page(
        lambda ids: Req("POST", f"/devices/{ids.device_id}/revoke"), 303,
        "/login?next=/devices/0/revoke", NOT_FOUND),
}

DOC_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Static files of the pages and of the API docs: public, and nobody's data.
STATIC_MOUNTS = {"/static", "/docs/assets"}


def _flat_routes(app: FastAPI) -> list[tuple[Any, str]]:
    """Every route with its full path, through included routers (newer FastAPI versions
    keep included routers nested in ``app.routes``; older ones flatten them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(r, r.path) for r in app.routes]
    return [(rc.original_route, getattr(rc, "path", "") or rc.original_route.path)
            for rc in iter_route_contexts(app.routes)]


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route, path in _flat_routes(app):
        if isinstance(route, APIRoute):
            found |= {(m, path) for m in route.methods}
        else:
            assert path in DOC_ROUTES | STATIC_MOUNTS, f"unexpected route {route} at {path}"
    return found


def test_every_route_has_a_row() -> None:
    from service.app import create_app

    routes = _app_routes(create_app(Settings()))
    missing = sorted(routes - ROUTES.keys() - PAGES.keys())
    stale = sorted((ROUTES.keys() | PAGES.keys()) - routes)
    assert not missing, f"add rows to ROUTES in {__file__} for: {missing}"
    assert not stale, f"ROUTES lists routes the app no longer has: {stale}"


async def _setup(app: FastAPI, owner: httpx.AsyncClient) -> Ids:
    r = await owner.post("/api/v1/questions:import", json=bank())
    assert r.status_code == 200, r.text
    cid = (await owner.post("/api/v1/classes", json={"name": f"{MARKER}班"})).json()["id"]
    r = await owner.post(f"/api/v1/classes/{cid}/students",
                         json=[{"student_no": "001", "name": f"{MARKER}甲"}])
    assert r.status_code == 201, r.text
    student_id = r.json()["students"][0]["id"]
    qid = math_ids(1)[0]
    r = await owner.post("/api/v1/worksheets", json={"title": f"{MARKER}卷", "class_id": cid,
                                                     "question_ids": [qid]})
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    r = await owner.post(f"/api/v1/scans?worksheet_id={wid}",
                         files={"scan": (f"{MARKER}.png", unique_png(), "image/png")})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    async with app.state.session_factory() as s:  # finished, so the event stream ends
        await s.execute(update(JobRow).where(JobRow.id == job_id)
                        .values(status="done", pages_done=1, finished_at=utcnow()))
        await s.commit()
    upload_id = (await owner.get(f"/api/v1/jobs/{job_id}")).json()["upload_id"]
    r = await owner.post("/api/v1/devices", json={"name": f"{MARKER}复印机"})
    assert r.status_code == 201, r.text
    ids = Ids(cid, wid, job_id, r.json()["id"], qid, student_id)
    # A page of the owner's upload, read and graded (doubtful, so it waits in review).
    sheet = Sheet(cid, wid, {"甲": student_id}, upload_id=upload_id)
    ids.page_id = await seed_page(owner, sheet, "甲", {qid: Read(
        "85", confidence=0.6, alternatives=(("86", 0.3),), crop=True)}, page_index=0)
    ids.response_id = sheet.responses[("甲", qid)]
    r = await owner.post("/api/v1/templates/blanks", content=_blank_png(),
                         headers={"content-type": "image/png"})
    assert r.status_code == 201, r.text
    ids.blank_id = r.json()["id"]
    r = await owner.post("/api/v1/worksheets", json={
        "title": "自制练习", "class_id": cid, "kind": "template",
        "template": {"pages": [{"blank_id": ids.blank_id, "regions": _template_regions()}]}})
    assert r.status_code == 201, r.text
    ids.template_id = r.json()["id"]
    return ids


def _error(r: httpx.Response) -> str | None:
    try:
        return str(r.json().get("error"))
    except (ValueError, AttributeError):
        return None


def _fail(who: str, key: tuple[str, str], r: httpx.Response, want: str) -> str:
    return f"{who} {key[0]} {key[1]}: got {r.status_code} {r.text[:300]}, expected {want}"


def _no_leak(who: str, key: tuple[str, str], r: httpx.Response, *markers: str) -> None:
    for marker in (MARKER, *markers):
        assert marker not in r.text, _fail(who, key, r, f"no trace of {marker!r}")


async def test_authorisation_matrix(app: FastAPI, teacher_client: httpx.AsyncClient,
                                    other_client: httpx.AsyncClient,
                                    admin_client: httpx.AsyncClient,
                                    anon_client: httpx.AsyncClient) -> None:
    assert _app_routes(app) == ROUTES.keys() | PAGES.keys()
    client = teacher_client  # the owner: an ordinary teacher
    ids = await _setup(app, client)
    foreign = await make_account(app, "foreign-admin", admin=True, new_school="别的学校")
    r = await client.post("/api/v1/devices", json={"name": "owner's copier"})
    device = {"Authorization": f"Bearer {r.json()['key']}"}
    async with client_for(app, foreign.headers) as foreign_client, \
            client_for(app, device) as device_client:
        for key, case in ROUTES.items():
            anon = await case.build(ids).send(anon_client)
            if case.other == PUBLIC:
                assert _error(anon) != "not_authenticated", _fail("anon", key, anon, "public")
                continue
            assert anon.status_code == 401, _fail("anon", key, anon, "401")
            assert _error(anon) == "not_authenticated"
            assert "Bearer" in anon.headers["www-authenticate"]

            other = await case.build(ids).send(other_client)
            want = {NOT_FOUND: {404}, ADMIN: {403}, ADMIN_OWNED: {403}}.get(
                case.other, set(range(200, 300)))
            assert other.status_code in want, _fail("other teacher", key, other, str(want))
            if case.other == NOT_FOUND:  # stopped by the access check, not by missing data
                assert _error(other) == "not_found", _fail("other", key, other, "")
            _no_leak("other teacher", key, other)

            far = await case.build(ids).send(foreign_client)
            want = {404} if case.other in (NOT_FOUND, ADMIN_OWNED) else set(range(200, 300))
            assert far.status_code in want, _fail("other school's admin", key, far, str(want))
            if case.other in (NOT_FOUND, ADMIN_OWNED):
                assert _error(far) == "not_found", _fail("other school", key, far, "")
            _no_leak("other school's admin", key, far, ids.question_id)

            dev = await case.build(ids).send(device_client)
            assert dev.status_code == case.device, _fail("device", key, dev, str(case.device))
            if case.device == 403:
                assert _error(dev) == "forbidden_for_device", _fail("device", key, dev, "")
            _no_leak("device", key, dev)

        for key, case in ROUTES.items():
            if case.other == PUBLIC:
                continue
            for who, c in (("owner", client), ("school admin", admin_client)):
                r = await case.build(ids).send(c)
                if case.other in (ADMIN, ADMIN_OWNED) and who == "owner":
                    assert r.status_code == 403, _fail("owner (not admin)", key, r, "403")
                elif case.owner_error:
                    assert _error(r) == case.owner_error, _fail(
                        who, key, r, case.owner_error)
                else:
                    assert 200 <= r.status_code < 300, _fail(who, key, r, "2xx")

    # The refusals were real requests: the owner's data is what the owner saw.
    seen = json.dumps((await client.get(f"/api/v1/classes/{ids.class_id}")).json(),
                      ensure_ascii=False)
    assert MARKER in seen


async def test_pages_need_a_browser_session(app: FastAPI, teacher_client: httpx.AsyncClient,
                                            admin_client: httpx.AsyncClient,
                                            device_client: httpx.AsyncClient,
                                            anon_client: httpx.AsyncClient) -> None:
    ids = Ids(0, 0, 0, 0, "", 0)
    for key, page in PAGES.items():
        for who, c in (("anon", anon_client), ("teacher's bearer token", teacher_client),
                       ("admin's bearer token", admin_client), ("device", device_client)):
            r = await page.build(ids).send(c)
            assert r.status_code == page.status, _fail(who, key, r, str(page.status))
            if page.location:
                assert r.headers["location"] == page.location, _fail(who, key, r, page.location)


def _browser(app: FastAPI, c: httpx.AsyncClient) -> tuple[httpx.AsyncClient, str]:
    """A browser signed in as ``c``'s teacher (the session cookie holds the same token as
    the bearer header), and that session's CSRF token."""
    token = c.headers["Authorization"].removeprefix("Bearer ")
    browser = client_for(app)
    browser.cookies.set(SESSION_COOKIE, token)
    return browser, app.state.csrf.token(token)


async def _send_page(page: Page, ids: Ids, c: httpx.AsyncClient, csrf: str) -> httpx.Response:
    req = page.build(ids)
    if req.method == "POST":
        if req.files is not None or req.data is not None:
            req.data = {**(req.data or {}), "csrf_token": csrf}
        else:
            req.data = {"csrf_token": csrf}
    return await req.send(c)


async def test_pages_are_scoped_like_the_api(app: FastAPI, teacher_client: httpx.AsyncClient,
                                             other_client: httpx.AsyncClient,
                                             admin_client: httpx.AsyncClient) -> None:
    ids = await _setup(app, teacher_client)
    foreign = await make_account(app, "foreign-admin", admin=True, new_school="别的学校")
    async with client_for(app, foreign.headers) as foreign_client:
        browsers = {who: _browser(app, c) for who, c in (
            ("owner", teacher_client), ("other teacher", other_client),
            ("other school's admin", foreign_client), ("school admin", admin_client))}
        try:
            scoped = [(key, page) for key, page in PAGES.items() if page.other is not None]
            for key, page in scoped:
                for who in ("other teacher", "other school's admin"):
                    r = await _send_page(page, ids, *browsers[who])
                    want = {NOT_FOUND: {404}, ADMIN: {403}, ADMIN_OWNED: {403}}.get(
                        str(page.other), set(range(200, 300)) | {303})
                    if page.other == ADMIN and who == "other school's admin":
                        want = set(range(200, 300)) | {303}  # an admin, of their own school
                    if page.other == ADMIN_OWNED and who == "other school's admin":
                        want = {404}
                    assert r.status_code in want, _fail(who, key, r, str(want))
                    _no_leak(who, key, r)
            for key, page in scoped:
                for who in ("owner", "school admin"):
                    r = await _send_page(page, ids, *browsers[who])
                    if page.other in (ADMIN, ADMIN_OWNED) and who == "owner":
                        assert r.status_code == 403, _fail("owner (not admin)", key, r, "403")
                    else:
                        assert r.status_code < 300 or r.status_code == 303, _fail(
                            who, key, r, "2xx or 303")
        finally:
            for browser, _ in browsers.values():
                await browser.aclose()
