"""A drill assignment (口算) in a real browser: created from the worksheets page, one
student's drill sheet uploaded from the assignment's page, read by the real drill models
in the server's workers, and graded in the assignment's results."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import Server, assert_translated, import_playwright, server_api
from tests.support.datasets import DATASETS_DIR, have_datasets

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = import_playwright().expect
JOB_LIMIT_MS = 240_000  # the first job of a server also starts its workers and models


def _drill_png() -> bytes:
    from simulation.drill_pages import make_drill_page
    from simulation.handwriting import GlyphBank

    page = make_drill_page(GlyphBank.load("test", DATASETS_DIR), np.random.default_rng(31))
    out = io.BytesIO()
    Image.fromarray(page.image).save(out, format="PNG")
    return out.getvalue()


def test_drill_assignment_from_creation_to_results(
        teacher: Page, server: Server, screenshot: Callable[[Page, str], Any]) -> None:
    if not have_datasets():
        pytest.skip(f"handwriting datasets not found at {DATASETS_DIR}")
    page = teacher
    tag = secrets.token_hex(3)
    with server_api(server) as c:
        cid = c.post("/api/v1/classes", json={"name": f"口算班 {tag}"}).json()["id"]
        r = c.post(f"/api/v1/classes/{cid}/students",
                   json=[{"student_no": f"D{tag}", "name": f"赵小雨{tag}"}])
        assert r.status_code == 201, r.text
        sid = c.get(f"/api/v1/classes/{cid}").json()["students"][0]["id"]
    page.goto("/worksheets")
    page.get_by_test_id("drill-title").fill(f"口算第一天 {tag}")
    page.get_by_test_id("drill-class").select_option(str(cid))
    assert_translated(page)
    screenshot(page, "drill-new")
    page.get_by_test_id("drill-create").click()
    expect(page.get_by_test_id("drill-upload-card")).to_be_visible()
    expect(page.get_by_test_id("print-card")).to_have_count(0)
    assert_translated(page)
    screenshot(page, "drill-assignment")
    wid = int(page.url.split("/worksheets/")[1].split("?")[0])

    page.get_by_test_id("drill-student").select_option(str(sid))
    page.get_by_test_id("drill-files").set_input_files(
        [{"name": f"drill-{tag}.png", "mimeType": "image/png", "buffer": _drill_png()}])
    page.get_by_test_id("drill-upload-submit").click()
    page.wait_for_load_state()
    page.goto(f"/worksheets/{wid}/results")
    expect(page.get_by_text(f"赵小雨{tag}").first).to_be_visible(timeout=JOB_LIMIT_MS)
    with server_api(server) as c:
        for _ in range(int(JOB_LIMIT_MS / 500)):
            body = c.get(f"/api/v1/worksheets/{wid}/results").json()
            row = next(s for s in body["students"] if s["student"]["id"] == sid)
            if row["submitted"]:
                break
            page.wait_for_timeout(500)
        assert row["submitted"], row
        assert len(row["questions"]) >= 20
    page.reload()
    assert_translated(page)
    screenshot(page, "drill-results")
