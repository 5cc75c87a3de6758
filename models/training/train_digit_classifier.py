"""Train the digit/symbol glyph classifier and export it to ONNX.

Reproduces ``models/digit_symbol_cnn.onnx``:

    pip install torch==2.13.0 onnx          # training only; the product needs onnxruntime
    PYTHONPATH=. python models/training/train_digit_classifier.py

Training data is made the way the product sees glyphs: answers are composed from the
``train`` split only (``ocr.synthetic``: MNIST + BHMSDS, indices with ``i % 10 < 6``),
degraded like a copier scan, cleaned by ``ocr.preprocess.clean_ink`` and cut by
``ocr.glyphs.segment_ink``; answers whose segment count differs from their length are
skipped, so every glyph has a trustworthy label. The ``calib`` and ``test`` splits are never
seen here. Everything is seeded; print the sha256 and copy it into ``models/manifest.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from ocr.glyphs import GLYPH_CLASSES, segment_ink
from ocr.preprocess import clean_ink
from ocr.synthetic import GlyphBank, compose_answer, random_numeric_answer

OUT = Path(__file__).resolve().parent.parent / "digit_symbol_cnn.onnx"


def make_dataset(n_answers: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compose, clean and segment answers into labelled glyphs."""
    bank = GlyphBank.load("train")
    rng = np.random.default_rng(seed)
    images, geometry, labels = [], [], []
    for _ in range(n_answers):
        crop = compose_answer(bank, random_numeric_answer(rng), rng)
        ink, _ = clean_ink(crop.image)
        if ink is None:
            continue
        segments = segment_ink(ink)
        if len(segments) != len(crop.truth):
            continue
        for seg, ch in zip(segments, crop.truth, strict=True):
            images.append(seg.image)
            geometry.append(seg.geometry)
            labels.append(GLYPH_CLASSES.index(ch))
    return np.stack(images), np.stack(geometry), np.array(labels, np.int64)


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate on held-back training glyphs, export, print the sha256."""
    import torch
    from torch import nn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=24000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    images, geometry, labels = make_dataset(args.answers, args.seed)
    n_val = len(labels) // 10
    sys.stdout.write(f"{len(labels)} glyphs, class counts {np.bincount(labels).tolist()}\n")

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 48, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
            )
            self.head = nn.Sequential(
                nn.Linear(48 * 3 * 3 + 3, 96),
                nn.ReLU(),
                nn.Dropout(0.2),
                nn.Linear(96, len(GLYPH_CLASSES)),
            )

        def forward(self, image: torch.Tensor, geom: torch.Tensor) -> torch.Tensor:
            return self.head(torch.cat([self.features(image), geom], dim=1))

    net = Net()
    x = torch.from_numpy(images[:, None])
    g = torch.from_numpy(geometry)
    y = torch.from_numpy(labels)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    train_idx = np.arange(n_val, len(labels))
    for epoch in range(args.epochs):
        net.train()
        order = torch.from_numpy(np.random.default_rng(epoch).permutation(train_idx))
        for start in range(0, len(order), 128):
            b = order[start : start + 128]
            xb = x[b]
            # Small shifts: segmentation never centres a glyph exactly the same way.
            shift = np.random.default_rng(epoch * 100000 + start).integers(-2, 3, 2)
            xb = torch.roll(xb, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            opt.zero_grad()
            loss = loss_fn(net(xb, g[b]), y[b])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(x[:n_val], g[:n_val]).argmax(1) == y[:n_val]).float().mean().item()
        sys.stdout.write(f"epoch {epoch}: loss {loss.item():.3f}, held-back glyph acc {acc:.4f}\n")

    class WithSoftmax(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, image: torch.Tensor, geom: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.inner(image, geom), dim=1)

    export = WithSoftmax(net).eval()
    torch.onnx.export(
        export,
        (x[:2], g[:2]),
        str(args.out),
        input_names=["image", "geometry"],
        output_names=["probs"],
        dynamic_axes={"image": {0: "n"}, "geometry": {0: "n"}, "probs": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    sys.stdout.write(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {digest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
