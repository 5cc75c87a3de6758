"""Printing with seat-number bubbles through the real app (SQLite and PostgreSQL): the API's
``print.pdf?seat_bubbles=true`` and the worksheet page's print form."""

from __future__ import annotations

from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI

from service.web.sessions import SESSION_COOKIE
from tests.support.auth import client_for, make_account

DPI = 150


@pytest.fixture
async def worksheet(client: httpx.AsyncClient, sample_bank: dict[str, Any],
                    sample_roster: bytes) -> dict[str, Any]:
    assert (await client.post("/api/v1/questions:import", json=sample_bank)).status_code == 200
    cid = (await client.post("/api/v1/classes", json={"name": "三年级(2)班"})).json()["id"]
    r = await client.post(f"/api/v1/classes/{cid}/students:import", content=sample_roster,
                          headers={"content-type": "text/csv"})
    assert r.status_code == 201
    ids = [q["id"] for q in sample_bank["questions"] if q["subject"] == "math"][:4]
    r = await client.post("/api/v1/worksheets", json={"title": "座号练习", "class_id": cid,
                                                      "question_ids": ids})
    assert r.status_code == 201, r.text
    ws = r.json()
    layout = (await client.get(f"/api/v1/worksheets/{ws['id']}/layout")).json()
    return {"id": ws["id"], "pages": ws["page_count"], "layout": layout}


def _rings_printed(pdf: bytes, layout: dict[str, Any]) -> list[int]:
    """Per PDF page: how many of the 20 seat bubbles show a dark outline."""
    doc = pdfium.PdfDocument(pdf)
    s = DPI / 72
    counts = []
    try:
        for i in range(len(doc)):
            bmp = doc[i].render(scale=s, grayscale=True).to_numpy()
            img = bmp[..., 0] if bmp.ndim == 3 else bmp
            page = layout["pages"][i % len(layout["pages"])]
            n = 0
            for _place, _digit, (x0, y0, _x1, y1) in page["seat_bubbles"]:
                cy = round((y0 + y1) / 2 * s)
                left = img[cy - 1:cy + 2, round(x0 * s) - 2:round(x0 * s) + 3]
                n += int(left.min()) < 140
            counts.append(n)
    finally:
        doc.close()
    return counts


async def test_api_prints_seat_bubbles_on_blank_copies_only(client: httpx.AsyncClient,
                                                            worksheet: dict[str, Any]) -> None:
    layout = worksheet["layout"]
    assert len(layout["pages"][0]["seat_bubbles"]) == 20
    url = f"/api/v1/worksheets/{worksheet['id']}/print.pdf"
    r = await client.get(url, params={"copies": 2, "duplex": "false", "seat_bubbles": "true"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert _rings_printed(r.content, layout) == [20] * (2 * worksheet["pages"])
    r = await client.get(url, params={"copies": 1, "duplex": "false"})
    assert _rings_printed(r.content, layout) == [20] * worksheet["pages"]  # on by default
    r = await client.get(url, params={"copies": 1, "duplex": "false", "seat_bubbles": "false"})
    assert max(_rings_printed(r.content, layout)) <= 4  # turned off: page number only
    r = await client.get(url, params={"per_student": "true", "duplex": "false",
                                      "seat_bubbles": "true"})
    assert r.status_code == 200
    assert max(_rings_printed(r.content, layout)) <= 4  # named copies never carry it
    r = await client.get(url, params={"seat_bubbles": "maybe"})
    assert r.status_code == 422


async def test_print_form_offers_the_seat_row_and_prints_it(
        app: FastAPI, worksheet: dict[str, Any]) -> None:
    account = await make_account(app, "seat.admin", admin=True)  # sees the school's sheets
    async with client_for(app) as b:
        b.cookies.set(SESSION_COOKIE, account.token)
        detail = await b.get(f"/worksheets/{worksheet['id']}")
        assert detail.status_code == 200
        assert 'name="seat_bubbles"' in detail.text
        assert "打印座号填涂区（座号 = 学号末两位）" in detail.text
        r = await b.get(f"/worksheets/{worksheet['id']}/print.pdf",
                        params={"per_student": "false", "copies": "1", "duplex": "false",
                                "seat_bubbles": "true"})
        assert r.status_code == 200
        assert _rings_printed(r.content, worksheet["layout"]) == [20] * worksheet["pages"]
