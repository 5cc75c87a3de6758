"""A blank's title block: the 姓名 / 学号 lines are proposed as where the child writes their
name and number, the 班级 / 日期 lines not at all, and an answer underline beside or below
them stays an answer (``service.templates.headers``, on the real PP-OCR recogniser, through
``read_blank`` as an upload reads a blank)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.fonts import find_cjk_font
from ocr.ingest import IngestLimits
from service.templates.blanks import read_blank
from service.templates.headers import header_fields, kind_of_label, label_lines

DPI = 200
S = DPI / 72
A4 = (595.28, 841.89)


def _blank(header: list[tuple[str, str]]) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """An A4 page at 200 dpi: a title, the header fields given (label, ``line`` or
    ``box``) in one row, a first question whose answer goes on an underline in the same
    top part, and two more questions lower down. Returns the page and where each field's
    and question's place is (its left end and its foot, points)."""
    img = Image.new("L", (round(A4[0] * S), round(A4[1] * S)), 255)
    draw = ImageDraw.Draw(img)
    font_path = str(find_cjk_font())

    def text(x: float, y: float, words: str, size: float = 11) -> float:
        font = ImageFont.truetype(font_path, round(size * S))
        draw.text((x * S, y * S), words, fill=0, font=font)
        return x + draw.textlength(words, font=font) / S

    def line(x0: float, x1: float, y: float) -> None:
        draw.line([(x0 * S, y * S), (x1 * S, y * S)], fill=0, width=round(0.8 * S))

    text(200, 36, "三年级数学 课堂练习", 17)
    starts: dict[str, tuple[float, float]] = {}
    x = 50.0
    for label, shape in header:
        x = text(x, 70, f"{label}：") + 2
        starts[label] = (x, 84 if shape == "line" else 88)
        if shape == "line":
            line(x, x + 75, 84)
        else:
            draw.rectangle((x * S, 66 * S, (x + 75) * S, 88 * S), outline=0, width=2)
        x += 95
    text(50, 118, "一、填空。")
    for k in range(14):  # a page of print, as a worksheet has (the blank needs some)
        text(50, 480 + 22 * k, "阅读下面的短文，回答问题。小明每天早上七点起床，先读书再吃早饭。", 13)
    x = text(60, 142, "1. 36 + 47 =") + 4
    line(x, x + 60, 156)
    starts["q1"] = (x, 156)
    x = text(60, 400, "2. 82 - 19 =") + 4
    line(x, x + 60, 414)
    starts["q2"] = (x, 414)
    x = text(60, 440, "3. 6 × 7 =") + 4
    line(x, x + 60, 454)
    starts["q3"] = (x, 454)
    return np.asarray(img).copy(), starts


def _here(proposed: list[dict[str, Any]], where: tuple[float, float]) -> list[dict[str, Any]]:
    return [p for p in proposed
            if abs(p["box"][0] - where[0]) < 4 and abs(p["box"][3] - where[1]) < 4]


def _at(proposed: list[dict[str, Any]], where: tuple[float, float]) -> dict[str, Any]:
    found = _here(proposed, where)
    assert len(found) == 1, (where, proposed)
    return found[0]


def _read(tmp_path: Path, page: np.ndarray) -> list[dict[str, Any]]:
    path = tmp_path / "blank.png"
    Image.fromarray(page).save(path, dpi=(DPI, DPI))
    return read_blank(path, IngestLimits()).proposed


def test_title_block_lines_are_told_apart_by_their_labels(tmp_path: Path) -> None:
    if label_lines() is None:
        pytest.skip("the PP-OCR recogniser is not installed")
    page, at = _blank([("姓名", "line"), ("学号", "line"), ("班级", "line"), ("日期", "line")])
    proposed = _read(tmp_path, page)
    assert _at(proposed, at["姓名"])["kind"] == "name"
    assert _at(proposed, at["学号"])["kind"] == "student_number"
    # 班级 and 日期 are nobody's answer: no region at all.
    assert not _here(proposed, at["班级"])
    assert not _here(proposed, at["日期"])
    # A plain answer line, in the top part too, and the ones lower down stay answers.
    assert _at(proposed, at["q1"])["kind"] == "underline"
    assert _at(proposed, at["q2"])["kind"] == "underline"
    assert _at(proposed, at["q3"])["kind"] == "underline"
    assert [p["number"] for p in proposed] == list(range(1, len(proposed) + 1))


def test_other_labels_and_boxes(tmp_path: Path) -> None:
    if label_lines() is None:
        pytest.skip("the PP-OCR recogniser is not installed")
    page, at = _blank([("名字", "line"), ("考号", "box"), ("学校", "line")])
    proposed = _read(tmp_path, page)
    assert _at(proposed, at["名字"])["kind"] == "name"
    assert _at(proposed, at["考号"])["kind"] == "student_number"
    assert not _here(proposed, at["学校"])
    assert _at(proposed, at["q1"])["kind"] == "underline"


def test_without_a_reader_the_places_stay_as_found() -> None:
    page, at = _blank([("姓名", "line"), ("班级", "line")])
    x = at["姓名"][0]
    proposed = [{"number": 1, "kind": "underline", "box": [x, 61, x + 75, 85], "bubbles": []}]
    assert header_fields(page, S, proposed, None) == proposed


class _Failing:
    def read(self, crops: Any) -> list[str]:
        raise RuntimeError("engine crashed")


def test_a_failing_reader_leaves_the_places_as_found() -> None:
    page, at = _blank([("姓名", "line")])
    x = at["姓名"][0]
    proposed = [{"number": 1, "kind": "underline", "box": [x, 61, x + 75, 85], "bubbles": []}]
    assert header_fields(page, S, proposed, _Failing()) == proposed


@pytest.mark.parametrize(("text", "kind"), [
    ("姓名：", "name"), ("姓 名:", "name"), ("（学号）", "student_number"),
    ("班级：", None), ("日期", None), ("1. 36 + 47 =", False), ("请写出答案", False), ("", False),
])
def test_kind_of_label(text: str, kind: str | bool | None) -> None:
    assert kind_of_label(text) == kind
