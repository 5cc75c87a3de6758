"""Teacher-made worksheets: pages markbook did not print, for the foreign-page benchmark.

A teacher's own worksheet typed in a word processor (or a workbook page) has no markers and
no QR code: a title, a 班级/姓名/学号 line, sections of numbered questions whose answers go
on underlines ``____``, in brackets ``（    ）`` or in drawn boxes, choice questions with a
bracket for the letter, and a 竖式 section with room under each sum. :func:`teacher_sheet`
draws one such A4 page from a seed (questions, counts, widths and positions all vary), and
lists where its answers go, in page points, for filling by hand
(:func:`simulation.pages.fill_page`) and as the truth of the layout proposal.

Two seeds give two worksheets in the same style: the hardest "other worksheet" a stack can
hold (same title block, same numbering, different questions).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from errorbook.printing.fonts import FONT_CANDIDATES, find_cjk_font

__all__ = ["A4_PT", "AnswerPlace", "TeacherSheet", "teacher_sheet"]

A4_PT = (595.0, 842.0)
Box = tuple[float, float, float, float]
_SECTIONS = ("一", "二", "三", "四", "五")
_CIRCLED = "①②③④⑤⑥"


@dataclass(frozen=True)
class AnswerPlace:
    """Where one answer is written (shaped like a layout region for ``fill_page``).

    Attributes:
        question_id: the question's label (``"3"``, ``"v2"`` for the second 竖式).
        kind: ``underline``, ``bracket``, ``box`` or ``work`` (a 竖式's open space).
        box: the writing area in points (for an underline, the band above the line).
    """

    question_id: str
    kind: Literal["underline", "bracket", "box", "work"]
    box: Box
    blank: int = 0
    bubbles: tuple[()] = ()
    answer_format: str = "digits"


@dataclass(frozen=True)
class TeacherSheet:
    """One rendered page and its answer places."""

    image: np.ndarray
    dpi: float
    places: tuple[AnswerPlace, ...]
    title: str


@lru_cache(maxsize=32)
def _font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_px)


def _fonts() -> list[str]:
    """The CJK fonts installed here (a teacher's page may use any: 黑体, 楷体...)."""
    found = [p for p in FONT_CANDIDATES if Path(p).is_file()]
    return found or [str(find_cjk_font())]


class _Pen:
    """Draws text and lines in points on a page rendered at ``dpi``."""

    def __init__(self, dpi: float, font: str) -> None:
        self.font = font
        self.s = dpi / 72.0
        w, h = (round(v * self.s) for v in A4_PT)
        self.img = Image.new("L", (w, h), 255)
        self.draw = ImageDraw.Draw(self.img)

    def text(self, x: float, y: float, text: str, size: float = 11.0) -> float:
        """Write ``text`` with its top-left at (x, y) points; return its right end."""
        font = _font(self.font, round(size * self.s))
        self.draw.text((x * self.s, y * self.s), text, fill=0, font=font)
        return x + self.draw.textlength(text, font=font) / self.s

    def width(self, text: str, size: float = 11.0) -> float:
        return self.draw.textlength(text, font=_font(self.font, round(size * self.s))) / self.s

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.8) -> None:
        self.draw.line([(x0 * self.s, y0 * self.s), (x1 * self.s, y1 * self.s)], fill=0,
                       width=max(1, round(width * self.s)))

    def rect(self, box: Box, width: float = 0.8) -> None:
        self.draw.rectangle([v * self.s for v in box], outline=0,
                            width=max(1, round(width * self.s)))


def _sum(rng: np.random.Generator) -> str:
    a, b = int(rng.integers(12, 99)), int(rng.integers(3, 99))
    op = str(rng.choice(["+", "-", "×", "÷"]))
    if op == "-" and b > a:
        a, b = b, a
    if op == "×":
        b = int(rng.integers(2, 10))
    if op == "÷":
        b = int(rng.integers(2, 10))
        a = b * int(rng.integers(2, 12))
    return f"{a} {op} {b} ="


_WORDS = ("小明有", "一本书", "比较大小", "一共有多少", "还剩几个", "平均每人", "长方形的周长",
          "正方形", "千克", "厘米", "米", "元")


def _stem(rng: np.random.Generator) -> str:
    picks = rng.choice(len(_WORDS), size=3, replace=False)
    return "".join(_WORDS[int(i)] for i in picks) + f"{int(rng.integers(2, 60))}，"


def teacher_sheet(seed: int, dpi: float = 200.0, content_seed: int | None = None
                  ) -> TeacherSheet:
    """Draw one teacher-made worksheet page.

    Args:
        seed: which worksheet (everything on the page follows from it).
        dpi: the rendering's resolution.
        content_seed: when given, the questions' numbers and words follow it instead, the
            layout still following ``seed``: next week's sheet made from the same template.

    Returns:
        The page (greyscale uint8, A4 at ``dpi``) and where its answers go.
    """
    rng = np.random.default_rng(seed)
    # Words and numbers draw from their own stream, so a new content seed keeps the layout.
    text = np.random.default_rng([seed if content_seed is None else content_seed, 7])
    fonts = _fonts()
    pen = _Pen(dpi, fonts[int(rng.integers(len(fonts)))])
    # Brackets typed full-width (IME default) or as ASCII.
    open_, close = ("（", "）") if rng.random() < 0.6 else ("(", ")")
    places: list[AnswerPlace] = []
    left, right = 50.0 + rng.uniform(-8, 8), 545.0 + rng.uniform(-8, 8)
    grade = "一二三四五六"[int(rng.integers(6))]
    title = f"{grade}年级数学 第{int(text.integers(1, 20))}周 课堂练习"
    size = float(rng.uniform(15, 19))
    pen.text((A4_PT[0] - pen.width(title, size)) / 2, 38, title, size)
    y = 38 + size + 16
    x = left
    for label in ("班级", "姓名", "学号"):
        x = pen.text(x, y, f"{label}：", 11)
        pen.line(x, y + 14, x + 80, y + 14)
        x += 100
    y += 34
    number = 1
    kinds = ["underline", "bracket", "box", "choice"]
    rng.shuffle(kinds)
    for si, kind in enumerate([*kinds, "work"]):
        if y > 700:
            break
        head = {"underline": "填空。", "bracket": "在括号里填上合适的数。", "box": "直接写得数。",
                "choice": "选择正确答案的序号填在括号里。", "work": "列竖式计算。"}[kind]
        pen.text(left, y, f"{_SECTIONS[si]}、{head}", 12)
        y += 24
        if kind == "work":
            cols = int(rng.integers(2, 4))
            colw = (right - left) / cols
            for c in range(cols):
                cx = left + c * colw
                pen.text(cx, y, f"{_CIRCLED[c]} {_sum(text)}", 11)
                places.append(AnswerPlace(f"v{c + 1}", "work",
                                          (cx + 4, y + 18, cx + colw - 12, min(y + 98, 800))))
            y += 110
            continue
        per_row = 2 if kind in ("underline", "bracket", "box") else 1
        rows = int(rng.integers(2, 4))
        colw = (right - left) / per_row
        for _ in range(rows):
            for c in range(per_row):
                cx = left + c * colw
                qx = pen.text(cx, y, f"{number}. ", 11)
                if kind == "choice":
                    qx = pen.text(qx, y, _stem(text) + "答案是" + open_, 11)
                    inner = float(rng.uniform(28, 44))
                    pen.text(qx + inner, y, close, 11)
                    places.append(AnswerPlace(str(number), "bracket",
                                              (qx + 2, y - 2, qx + inner, y + 15)))
                    opts = "    ".join(f"{ch}. {int(text.integers(10, 999))}" for ch in "ABC")
                    pen.text(cx + 16, y + 20, opts, 11)
                else:
                    qx = pen.text(qx, y, _sum(text) + " ", 11)
                    if kind == "underline":
                        length = float(rng.uniform(45, 80))
                        pen.line(qx, y + 15, qx + length, y + 15)
                        places.append(AnswerPlace(str(number), "underline",
                                                  (qx, y - 8, qx + length, y + 15)))
                    elif kind == "bracket":
                        qx = pen.text(qx, y, open_, 11)
                        inner = float(rng.uniform(30, 50))
                        pen.text(qx + inner, y, close, 11)
                        places.append(AnswerPlace(str(number), "bracket",
                                                  (qx + 2, y - 2, qx + inner, y + 15)))
                    else:
                        box = (qx + 4, y - 6, qx + 4 + float(rng.uniform(48, 64)), y + 20)
                        pen.rect(box)
                        places.append(AnswerPlace(str(number), "box", box))
                number += 1
            y += 44 if kind == "choice" else 34
        y += 8
    img = np.asarray(pen.img, dtype=np.uint8).copy()
    return TeacherSheet(img, dpi, tuple(places), title)
