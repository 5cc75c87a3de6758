"""A synthetic stand-in for a child's handwritten Chinese name, and plausible class rosters.

No dataset of children's handwritten Chinese names is available here, so the name box is
filled from a Kai (brush-style) font: every character scaled, rotated, shifted and spaced a
little differently, in a grey between pencil and pen, slightly blurred. It is synthetic and
far tidier than a real child's hand; figures measured on it bound what the name can add
from above, they do not replace a measurement on real scans.

Rosters (:func:`class_names`) are drawn from common surnames and given-name characters,
with shared surnames and pinyin homophones as a real class has them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONT_PATHS", "class_names", "write_name"]

Box = tuple[float, float, float, float]
# Kai looks most like a careful child's hand; Zen Hei is the fallback (a sans face).
FONT_PATHS = (Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
              Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国晓峰宇浩"
         "子轩涵梓欣怡佳琪雨萱博文然一诺思睿晨阳嘉乐天瑞泽俊彤妍心语婷颖鑫昊")
# Pairs that sound alike (same toneless pinyin) so a class holds real homophones.
HOMOPHONES = (("晨", "辰"), ("明", "铭"), ("欣", "馨"), ("怡", "宜"), ("杰", "洁"),
              ("静", "婧"), ("宇", "雨"), ("涵", "寒"), ("轩", "萱"), ("琪", "祺"))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise FileNotFoundError(f"no CJK font found at {', '.join(map(str, FONT_PATHS))}")


def _glyph(ch: str, size: int, angle: float, distort: float, rng: np.random.Generator
           ) -> np.ndarray:
    """One character as a float ink layer (1 = ink), tight to its strokes."""
    font = _font(size)
    canvas = Image.new("L", (2 * size, 2 * size), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 2), ch, fill=255, font=font)
    img = canvas.rotate(angle, resample=Image.Resampling.BILINEAR)
    ink: np.ndarray = np.asarray(img, np.float32) / 255.0
    if distort > 0:
        # A smooth random displacement field bends the font's straight strokes, the way
        # a hand wobbles; ``distort`` is its size as a fraction of the character.
        side = ink.shape[0]
        field = [cv2.GaussianBlur(rng.normal(0, 1, ink.shape).astype(np.float32), (0, 0),
                                  side * 0.07) for _ in range(2)]
        field = [f * (distort * size / max(float(np.abs(f).max()), 1e-6)) for f in field]
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
        ink = cv2.remap(ink, xs + field[0], ys + field[1], cv2.INTER_LINEAR)
    ys, xs = np.nonzero(ink > 0.05)
    if ys.size == 0:
        return np.zeros((size, max(1, size // 3)), np.float32)
    if ch.isascii():
        # A letter keeps its place on the line (x, g and H differ in height and depth).
        _, top, _, bottom = font.getbbox("Hg")
        return ink[size // 2 + top:size // 2 + bottom + 1, xs.min():xs.max() + 1]
    return ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def write_name(page: np.ndarray, px_per_pt: float, box: Box, name: str,
               rng: np.random.Generator, *, distort: float = 0.0) -> None:
    """Write ``name`` into ``box`` of a greyscale page, in place (synthetic handwriting).

    Args:
        page: uint8 greyscale page image.
        px_per_pt: Its resolution (dpi / 72), as ``simulation.pages`` maps page points.
        box: The name box in page points (x0, y0, x1, y1).
        name: What the child writes (Chinese characters or pinyin).
        rng: The only source of randomness.
        distort: Bend each character's strokes by up to this fraction of its size
            (0: the font's own strokes; 0.06 is a visibly wobbly hand).
    """
    x0, y0, x1, y1 = (int(v * px_per_pt) for v in box)
    bw, bh = x1 - x0, y1 - y0
    latin = name.isascii()
    # Characters fill 60-75% of the box height, each scaled again by 0.8-1.1.
    height = bh * rng.uniform(0.6, 0.75)
    glyphs: list[np.ndarray | None] = []
    for ch in name:
        if ch == " ":
            glyphs.append(None)
            continue
        # Letters vary less than characters: they share one line (and x-height).
        vary = rng.uniform(0.95, 1.05) if latin else rng.uniform(0.8, 1.1)
        size = max(8, int(height * vary * (1.25 if latin else 1.0)))
        glyphs.append(_glyph(ch, size, rng.uniform(-6, 6), distort, rng))
    gap = height * (0.35 if latin else 0.12)
    widths = [g.shape[1] if g is not None else gap * 2 for g in glyphs]
    total = sum(widths) + gap * (len(glyphs) - 1)
    scale = min(1.0, bw * 0.92 / max(total, 1.0))  # a long pinyin name is written smaller
    layer: np.ndarray = np.zeros((bh, bw), np.float32)
    x = bw * 0.03 + rng.uniform(0, max(0.0, bw * 0.95 - total * scale)) * 0.5
    for g in glyphs:
        if g is None:
            x += gap * 2 * scale
            continue
        if scale < 1.0:
            g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        gh, gw = g.shape
        # Baseline jitter: the glyph's bottom sits near 85% of the box, moved a little.
        top = int(bh * 0.85 - gh + rng.normal(0, bh * (0.015 if latin else 0.04)))
        top = min(max(top, 0), max(bh - gh, 0))
        left = int(min(max(x, 0), max(bw - gw, 0)))
        region = layer[top:top + gh, left:left + gw]
        np.maximum(region, g[:region.shape[0], :region.shape[1]], out=region)
        x += gw + gap * scale * rng.uniform(0.5, 1.5)
    layer = cv2.GaussianBlur(layer, (0, 0), rng.uniform(0.3, 0.8))
    ink = rng.uniform(40, 110)  # the darkest stroke's grey level
    target = page[y0:y1, x0:x1].astype(np.float32)
    written = target - layer[:target.shape[0], :target.shape[1]] * (target - ink).clip(0, None)
    page[y0:y1, x0:x1] = np.clip(written, 0, 255).astype(np.uint8)


def class_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct, plausible Chinese names, as a class roster.

    About a third of the class shares a surname with someone else (a few surnames are
    drawn often), one name in twenty has a compound surname, and some names are pinyin
    homophones of another child's (晨/辰, 明/铭 ...).

    Args:
        n: Class size (at most a few thousand).
        rng: The only source of randomness.

    Returns:
        The names, distinct, in random order.
    """
    common = SURNAMES[:8]
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        roll = rng.random()
        if roll < 0.05:
            surname = COMPOUND_SURNAMES[int(rng.integers(len(COMPOUND_SURNAMES)))]
        elif roll < 0.45:
            surname = common[int(rng.integers(len(common)))]
        else:
            surname = SURNAMES[int(rng.integers(len(SURNAMES)))]
        k = 1 if rng.random() < 0.35 else 2
        given = "".join(GIVEN[int(i)] for i in rng.integers(len(GIVEN), size=k))
        name = surname + given
        if names and rng.random() < 0.12:
            # A homophone of an earlier child's name: swap one character for its twin.
            other = names[int(rng.integers(len(names)))]
            for a, b in HOMOPHONES:
                if a in other or b in other:
                    name = other.replace(a, b) if a in other else other.replace(b, a)
                    break
        if name not in seen:
            seen.add(name)
            names.append(name)
    order = rng.permutation(len(names))
    return [names[int(i)] for i in order]
