"""Upload damaged scans through the API: never a 5xx at upload, never ``internal_error`` in
a job; every failure is a typed file or page problem.

Small valid scans (a multi-page PDF and TIFF, a PNG, a JPEG) are mutated (bytes flipped,
runs zeroed, truncated, pages spliced), uploaded, and their jobs awaited.

    .venv/bin/python -m drills.ingest_fuzz --files 400
    (tests/service/test_ingest_upload_fuzz.py runs a short form in ``make test``)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

__all__ = ["UploadReport", "fuzz_uploads", "mutations", "samples"]

TERMINAL = {"done", "failed", "partially_done"}


@dataclass
class UploadReport:
    """Upload statuses, job outcomes and every defect seen."""

    uploads: Counter[int] = field(default_factory=Counter)
    jobs: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def samples() -> dict[str, tuple[bytes, str]]:
    """Small valid scans by extension, with their content types."""
    rng = np.random.default_rng(0)
    pages = [Image.fromarray(rng.integers(150, 255, (400, 300), dtype=np.uint8))
             for _ in range(3)]
    out: dict[str, tuple[bytes, str]] = {}
    for fmt, ext, kind in (("TIFF", "tiff", "image/tiff"), ("PNG", "png", "image/png"),
                           ("JPEG", "jpg", "image/jpeg"), ("PDF", "pdf", "application/pdf")):
        buf = io.BytesIO()
        if fmt in ("TIFF", "PDF"):
            pages[0].save(buf, fmt, save_all=True, append_images=pages[1:])
        else:
            pages[0].save(buf, fmt)
        out[ext] = (buf.getvalue(), kind)
    return out


def mutations(data: bytes, rng: random.Random, n: int) -> list[bytes]:
    """``n`` damaged copies of ``data``."""
    out = []
    for _ in range(n):
        b = bytearray(data)
        roll = rng.random()
        if roll < 0.45:
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(min(len(b), 600) if rng.random() < 0.6 else len(b))
                b[i] = rng.randrange(256)
        elif roll < 0.7:
            i = rng.randrange(len(b))
            run = rng.randint(1, 200)
            b[i:i + run] = bytes(len(b[i:i + run]))
        elif roll < 0.9:
            b = b[:rng.randint(8, len(b))]
        else:  # a chunk copied elsewhere (a spliced page, a repeated header)
            i, j = rng.randrange(len(b)), rng.randrange(len(b))
            b[j:j] = b[i:i + rng.randint(16, 512)]
        out.append(bytes(b))
    return out


async def fuzz_uploads(client: httpx.AsyncClient, files: int, seed: int,
                       wait_s: float = 120.0) -> UploadReport:
    """Upload ``files`` damaged scans and wait for their jobs."""
    rng = random.Random(seed)
    report = UploadReport()
    kinds = list(samples().items())
    jobs: list[tuple[int, str]] = []
    for k in range(files):
        ext, (data, kind) = kinds[k % len(kinds)]
        body = mutations(data, rng, 1)[0]
        r = await client.post("/api/v1/scans", content=body,
                              headers={"content-type": kind, "x-filename": f"m{k}.{ext}"})
        report.uploads[r.status_code] += 1
        if r.status_code >= 500:
            report.errors.append(f"upload {k} ({ext}) -> {r.status_code} {r.text[:200]}")
        elif r.status_code == 202 and not r.json().get("duplicate"):
            jobs.append((int(r.json()["job_id"]), ext))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    for job_id, ext in jobs:
        while True:
            job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}")).json()
            if job["status"] in TERMINAL or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)
        report.jobs[job["status"]] += 1
        if job["status"] not in TERMINAL:
            report.errors.append(f"job {job_id} ({ext}) still {job['status']}")
        if "internal_error" in str(job.get("error") or ""):
            report.errors.append(f"job {job_id} ({ext}): {job['error']}")
    return report


async def _main(files: int, seed: int) -> int:
    from service.app import create_app
    from service.config import Settings
    from service.inprocess import local_token

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp),
                                  jobs={"executor": "thread", "workers": 1,
                                        "poll_seconds": 0.2},
                                  limits={"uploads_per_minute": 100_000}))
        async with app.router.lifespan_context(app):
            headers = {"Authorization": f"Bearer {await local_token(app)}"}
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://fuzz",
                                         headers=headers, timeout=120) as client:
                report = await fuzz_uploads(client, files, seed, wait_s=60 + files)
    sys.stdout.write(f"uploads {dict(report.uploads)}; jobs {dict(report.jobs)}\n")
    for line in report.errors[:50]:
        sys.stdout.write(f"  defect: {line}\n")
    return 1 if report.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return asyncio.run(_main(args.files, args.seed))


if __name__ == "__main__":
    sys.exit(main())
