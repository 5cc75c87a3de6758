"""Compose real handwriting into printed answer boxes, degraded like a copier scan.

Glyphs come from the shared real-handwriting sets (``mnist-dev.npz``: white ink on black;
``bhmsds-dev.npz``: dark ink on light paper, with ``minus``/``slash``/``dot``). Each glyph is
cropped to its ink, scaled by what the symbol is (a dot is small and sits on the baseline, a
minus is short and sits mid-height; BHMSDS scales every symbol to fill its 28x28 cell, which
would otherwise make a dot as tall as a digit), placed with random gaps, slant and baseline
jitter, blended onto paper at a chosen dpi inside a printed box, then rotated, blurred,
JPEG-compressed and sometimes binarised.

Splits are fixed by index so evaluation data is never tuned on: within each dataset, the
sample at position ``i`` belongs to ``train`` if ``i % 10 < 6``, ``calib`` if ``i % 10`` is 6
or 7, and ``test`` if it is 8 or 9.

Everything is seeded: the same ``numpy.random.Generator`` state gives the same crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

__all__ = [
    "RESTYLED",
    "SPLITS",
    "ComposeOptions",
    "ComposedCrop",
    "DatasetsMissingError",
    "GlyphBank",
    "Split",
    "compose_answer",
    "crop_to_ink",
    "random_numeric_answer",
    "split_indices",
]

Split = Literal["train", "calib", "test"]
SPLITS: tuple[Split, ...] = ("train", "calib", "test")
_SYMBOL_NAMES = {"minus": "-", "slash": "/", "dot": ".", "plus": "+"}
# Digits simulation.styles can redraw in a regional style.
RESTYLED = frozenset("147")


class DatasetsMissingError(FileNotFoundError):
    """The shared handwriting datasets folder or one of its files is absent."""


def split_indices(n: int, split: Split) -> np.ndarray:
    """Indices of one split of a dataset of ``n`` samples (see the module docstring).

    Args:
        n: Number of samples in the dataset.
        split: ``train``, ``calib`` or ``test``.

    Returns:
        Sorted int indices.
    """
    r = np.arange(n) % 10
    mask = {"train": r < 6, "calib": (r == 6) | (r == 7), "test": r >= 8}[split]
    return np.flatnonzero(mask)


def crop_to_ink(alpha: np.ndarray) -> np.ndarray:
    """Trim an ink-alpha glyph (1 = ink) to the box of its ink above 0.15.

    Args:
        alpha: float glyph image.

    Returns:
        The trimmed view (the input itself when it has no ink).
    """
    ys, xs = np.nonzero(alpha > 0.15)
    if len(ys) == 0:
        return alpha
    return alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


@dataclass(frozen=True)
class GlyphBank:
    """Ink-alpha glyphs (float32 in 0..1, 1 = full ink) per symbol, for one split.

    Attributes:
        mnist: Symbol -> list of alpha images from MNIST (digits only).
        bhmsds: Symbol -> list of alpha images from BHMSDS (digits and ``-/.+``).
        split: Which split (or writer group, ``simulation.writers``) these glyphs come from.
        restyle: Chance a ``1``, ``4`` or ``7`` is redrawn in a regional style (a flagged
            ``1``, a closed ``4``, a crossed ``7``: ``simulation.styles``). 0 draws no extra
            random numbers, so seeded pages stay what they were.
    """

    mnist: dict[str, list[np.ndarray]]
    bhmsds: dict[str, list[np.ndarray]]
    split: Split
    restyle: float = 0.0

    @classmethod
    def load(cls, split: Split, directory: Path) -> GlyphBank:
        """Load one split of both datasets.

        Args:
            split: ``train``, ``calib`` or ``test``.
            directory: Folder with the ``.npz`` files (the service's
                ``MARKBOOK_DATASETS_DIR``; tests and benches pass a checkout's
                ``../shared/datasets``).

        Returns:
            The glyph bank.

        Raises:
            DatasetsMissingError: If the folder or a file is missing.
        """
        paths = [directory / "mnist-dev.npz", directory / "bhmsds-dev.npz"]
        for path in paths:
            if not path.is_file():
                raise DatasetsMissingError(
                    f"handwriting dataset {path} not found; point MARKBOOK_DATASETS_DIR (or "
                    "the caller's datasets folder) at the folder of mnist-dev.npz and "
                    "bhmsds-dev.npz"
                )
        with np.load(paths[0]) as data:
            m_images, m_labels = data["images"], data["labels"]
        with np.load(paths[1]) as data:
            b_images, b_labels = data["images"], data["labels"]
        mnist: dict[str, list[np.ndarray]] = {}
        for i in split_indices(len(m_labels), split):
            alpha = m_images[i].astype(np.float32) / 255.0
            mnist.setdefault(str(int(m_labels[i])), []).append(crop_to_ink(alpha))
        bhmsds: dict[str, list[np.ndarray]] = {}
        for i in split_indices(len(b_labels), split):
            label = str(b_labels[i])
            symbol = _SYMBOL_NAMES.get(label, label)
            if not (symbol.isdigit() or symbol in "-/.+"):
                continue
            # Photographed paper: stretch so paper is 0 and the darkest ink is 1.
            img = b_images[i].astype(np.float32)
            lo, hi = float(img.min()), float(np.percentile(img, 90))
            alpha = np.clip((hi - img) / max(hi - lo, 1.0), 0.0, 1.0)
            bhmsds.setdefault(symbol, []).append(crop_to_ink(alpha))
        return cls(mnist=mnist, bhmsds=bhmsds, split=split)

    def glyph(self, symbol: str, rng: np.random.Generator, source: str) -> np.ndarray:
        """Pick one glyph.

        Args:
            symbol: A digit or one of ``-/.+``.
            rng: Random generator.
            source: ``mnist`` or ``bhmsds``; symbols MNIST lacks come from BHMSDS, and
                digits a bank holds only from MNIST (an unseen-writer bank) from MNIST.

        Returns:
            The glyph's ink alpha, cropped to its ink.
        """
        pool = self.mnist.get(symbol) if source == "mnist" else None
        pool = pool or self.bhmsds.get(symbol) or self.mnist[symbol]
        glyph = pool[int(rng.integers(len(pool)))]
        if self.restyle > 0 and symbol in RESTYLED and rng.random() < self.restyle:
            from simulation.styles import restyle

            glyph = restyle(symbol, glyph, rng)
        return glyph


@dataclass(frozen=True)
class ComposeOptions:
    """Ranges the composer samples from (sizes in millimetres at print scale).

    Attributes:
        dpi_range: Scan resolution range.
        box_mm: Printed answer box (width, height).
        char_height_mm: Handwritten digit height range.
        slant_deg: Shear range of the handwriting.
        pencil_prob: Chance the ink is light pencil rather than pen.
        rotation_deg: Maximum absolute page rotation.
        binarise_prob: Chance the copier binarises the scan.
        jpeg_quality: JPEG quality range.
        crop_slack_mm: How far the crop may extend past the box on each side (negative cuts
            into it), modelling alignment error of the cropper.
    """

    dpi_range: tuple[int, int] = (150, 300)
    box_mm: tuple[float, float] = (32.0, 12.0)
    char_height_mm: tuple[float, float] = (4.5, 8.0)
    slant_deg: tuple[float, float] = (-14.0, 14.0)
    pencil_prob: float = 0.3
    rotation_deg: float = 3.0
    binarise_prob: float = 0.3
    jpeg_quality: tuple[int, int] = (35, 90)
    crop_slack_mm: tuple[float, float] = (-0.3, 1.5)


@dataclass(frozen=True)
class ComposedCrop:
    """One composed answer-box crop.

    Attributes:
        image: Grayscale uint8 crop (dark ink on light paper).
        truth: What the student wrote.
        dpi: Scan resolution used.
        pencil: Whether the ink was light pencil.
        binarised: Whether the copier binarised the scan.
    """

    image: np.ndarray
    truth: str
    dpi: int
    pencil: bool
    binarised: bool


def random_numeric_answer(rng: np.random.Generator) -> str:
    """Draw a numeric answer of 1-5 characters, as a worksheet would have.

    Args:
        rng: Random generator.

    Returns:
        An integer (``85``), negative (``-12``), decimal (``3.5``) or fraction (``7/8``).
    """

    def digits(lo: int, hi: int) -> str:
        n = int(rng.integers(lo, hi + 1))
        first = str(int(rng.integers(1, 10))) if n > 1 else str(int(rng.integers(0, 10)))
        return first + "".join(str(int(d)) for d in rng.integers(0, 10, n - 1))

    kind = rng.choice(["int", "neg", "dec", "frac"], p=[0.5, 0.15, 0.2, 0.15])
    if kind == "int":
        return digits(1, 4)
    if kind == "neg":
        return "-" + digits(1, 3)
    if kind == "dec":
        return digits(1, 2) + "." + digits(1, 1)
    return digits(1, 2) + "/" + digits(1, 2)


def _place(
    symbol: str, glyph: np.ndarray, h: float, rng: np.random.Generator
) -> tuple[float, float, float]:
    """Target size and vertical offset (from the top of the digit band) of one glyph."""
    gh, gw = glyph.shape
    if symbol == ".":
        d = h * rng.uniform(0.1, 0.18)
        return max(d, 2.0), max(d, 2.0), h - d
    if symbol == "-":
        w = h * rng.uniform(0.45, 0.75)
        t = max(w * gh / max(gw, 1), h * 0.06)
        return min(t, h * 0.18), w, h * rng.uniform(0.4, 0.55)
    if symbol == "+":
        s = h * rng.uniform(0.6, 0.8)
        return s, s, (h - s) / 2
    th = h * (rng.uniform(1.0, 1.15) if symbol == "/" else rng.uniform(0.9, 1.05))
    return th, th * gw / max(gh, 1), 0.0


def _ink_layer(bank: GlyphBank, text: str, h: float, rng: np.random.Generator) -> np.ndarray:
    source = "mnist" if rng.random() < 0.5 else "bhmsds"
    pieces: list[tuple[np.ndarray, int, int]] = []
    x = 0.0
    for symbol in text:
        glyph = bank.glyph(symbol, rng, source)
        th, tw, top = _place(symbol, glyph, h, rng)
        tw = max(tw, 2.0)
        img = cv2.resize(glyph, (round(tw), round(th)), interpolation=cv2.INTER_CUBIC)
        jitter = rng.normal(0.0, 0.05) * h
        pieces.append((np.clip(img, 0, 1), round(x), round(top + jitter + 0.2 * h)))
        x += tw + h * rng.uniform(0.03, 0.35)
    width = int(x + h)
    layer = np.zeros((int(h * 1.6) + 4, width), np.float32)
    for img, px, py in pieces:
        py = int(np.clip(py, 0, layer.shape[0] - img.shape[0]))
        region = layer[py : py + img.shape[0], px : px + img.shape[1]]
        np.maximum(region, img[: region.shape[0], : region.shape[1]], out=region)
    shear = np.tan(np.radians(rng.uniform(-14.0, 14.0)))
    m = np.array([[1.0, -shear, shear * layer.shape[0] / 2], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(layer, m, (width, layer.shape[0]))


def compose_answer(
    bank: GlyphBank,
    text: str,
    rng: np.random.Generator,
    options: ComposeOptions | None = None,
) -> ComposedCrop:
    """Write ``text`` by hand into a printed answer box and scan it.

    Args:
        bank: Glyph source (its split decides train/calib/test data).
        text: The answer, made of digits and ``-/.+``.
        rng: Random generator; the only source of randomness.
        options: Sampling ranges.

    Returns:
        The degraded crop around the box and its truth.

    Raises:
        KeyError: If ``text`` has a symbol the bank lacks.
    """
    o = options or ComposeOptions()
    dpi = int(rng.integers(o.dpi_range[0], o.dpi_range[1] + 1))
    px = dpi / 25.4
    margin = int(3 * px)
    box_w, box_h = int(o.box_mm[0] * px), int(o.box_mm[1] * px)
    page = np.full((box_h + 2 * margin, box_w + 2 * margin), rng.uniform(0.9, 1.0), np.float32)
    h = rng.uniform(*o.char_height_mm) * px
    ink = _ink_layer(bank, text, h, rng)
    scale = min(1.0, (box_w * 0.9) / ink.shape[1], (box_h * 0.95) / ink.shape[0])
    if scale < 1.0:
        ink = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ih, iw = ink.shape
    x0 = margin + int(rng.uniform(0.02, 0.98) * max(box_w - iw, 1))
    y0 = margin + int(rng.uniform(0.1, 0.9) * max(box_h - ih, 1))
    pencil = bool(rng.random() < o.pencil_prob)
    darkness = rng.uniform(0.3, 0.6) if pencil else rng.uniform(0.75, 1.0)
    region = page[y0 : y0 + ih, x0 : x0 + iw]
    region *= 1.0 - darkness * ink[: region.shape[0], : region.shape[1]]
    line = max(1, round(0.35 * px))  # a 1 pt printed rule
    cv2.rectangle(page, (margin, margin), (margin + box_w, margin + box_h), 0.1, line)
    page = _degrade(page, rng, o)
    binarised = bool(rng.random() < o.binarise_prob)
    if binarised:
        page = np.where(page > rng.uniform(0.55, 0.75), 1.0, 0.0).astype(np.float32)
    img = np.clip(page * 255.0, 0, 255).astype(np.uint8)
    quality = int(rng.integers(o.jpeg_quality[0], o.jpeg_quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
    if decoded is not None:
        img = decoded
    slack = [int(rng.uniform(*o.crop_slack_mm) * px) for _ in range(4)]
    crop = img[
        max(margin - slack[0], 0) : margin + box_h + slack[1],
        max(margin - slack[2], 0) : margin + box_w + slack[3],
    ]
    return ComposedCrop(np.ascontiguousarray(crop), text, dpi, pencil, binarised)


def _degrade(page: np.ndarray, rng: np.random.Generator, o: ComposeOptions) -> np.ndarray:
    h, w = page.shape
    angle = rng.uniform(-o.rotation_deg, o.rotation_deg)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    page = cv2.warpAffine(page, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=1.0)
    sigma = rng.uniform(0.0, 1.0)
    if sigma > 0.3:
        page = cv2.GaussianBlur(page, (0, 0), sigma)
    page = page + rng.normal(0.0, rng.uniform(0.0, 0.04), page.shape).astype(np.float32)
    return np.asarray(page, np.float32)
