"""Answer places without borders on a foreign blank: brackets and 竖式 work areas."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.fonts import find_cjk_font
from ocr.foreign.register import propose_layout
from simulation.teacher_sheets import teacher_sheet

DPI = 200.0
S = DPI / 72.0
TOL_PT = 2.0 * 72 / 25.4  # 2 mm


def test_brackets_and_work_areas_of_a_teacher_sheet_are_proposed() -> None:
    sheet = teacher_sheet(21, DPI)
    proposed = propose_layout(sheet.image, DPI)
    brackets = [r.box for r in proposed.regions if r.kind == "bracket"]
    work = [r.box for r in proposed.regions if r.kind == "work"]
    drawn = [p for p in sheet.places if p.kind == "bracket"]
    assert drawn, "the sheet should have bracket questions"
    for place in drawn:
        assert any(max(abs(a - b) for a, b in zip(box, place.box, strict=True)) <= TOL_PT
                   for box in brackets), f"bracket of q{place.question_id} not proposed"
    assert len(brackets) == len(drawn)
    areas = [p for p in sheet.places if p.kind == "work"]
    assert len(work) == len(areas)
    for place, box in zip(areas, sorted(work), strict=True):
        assert abs(box[0] - place.box[0]) <= 2 * TOL_PT
        assert abs(box[1] - place.box[1]) <= 2 * TOL_PT
        assert box[3] - box[1] >= 15 / 25.4 * 72  # room for a column sum


def test_brackets_around_print_are_not_answer_places() -> None:
    img = Image.new("L", (int(595 * S), int(300 * S)), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(find_cjk_font()), int(11 * S))
    draw.text((60 * S, 60 * S), "1. 计算（3）题，36 ÷ 4 =（          ）", fill=0, font=font)
    draw.text((60 * S, 120 * S), "2. 下列说法(正确的)是 ( )", fill=0, font=font)
    proposed = propose_layout(np.asarray(img, dtype=np.uint8), DPI)
    brackets = [r for r in proposed.regions if r.kind == "bracket"]
    # Only the empty wide pair on line 1: "(3)", "(正确的)" hold print, "( )" is too narrow.
    assert len(brackets) == 1
    x0, y0, x1, _ = brackets[0].box
    assert 55 < y0 < 75
    assert x1 - x0 > 25
