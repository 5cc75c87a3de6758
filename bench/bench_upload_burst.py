"""Upload bursts alone: what a wave of uploads costs the web processes, and how long its
acknowledgements take.

Starts a real ``markbook serve`` (``--processes``, no job runner, so no page is read and
nothing else runs) on a fresh data folder, then sends ``--waves`` waves of ``--per-wave``
uploads at once (one-page PDFs, each different), a few seconds apart. Printed, one run:
the web processes' CPU per upload in each wave (from ``/proc``, Linux only), and the
acknowledgement p50/p99/max over all waves. Compare builds in runs made one after the other
on the same machine: a shared box's speed drifts by a fifth or more.

    .venv/bin/python -m bench.bench_upload_burst [--processes 2] [--waves 6] [--per-wave 50]
        [--db-url postgresql+asyncpg://… [--broker-url redis://…]]

With ``--db-url`` the service runs on that (empty) database instead of a fresh SQLite;
with ``--broker-url`` too it sends each job to a Celery broker as it would for its workers
(none is started: the messages wait in the queue, which the run empties at its end).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from drills.lean_http import LeanClient
from drills.live import Server, drill_env, free_port, sign_in

__all__ = ["main"]


def _pdfs(n: int, seed: int) -> list[bytes]:
    """One-page scans, each with a different line of text (so a different hash)."""
    out = []
    blank = Image.new("L", (1240, 1754), 255)
    for i in range(n):
        page = blank.copy()
        ImageDraw.Draw(page).text((100, 100), f"burst {seed} copy {i}", fill=0)
        buf = io.BytesIO()
        page.save(buf, format="PDF", resolution=150)
        out.append(buf.getvalue())
    return out


def _family(pid: int) -> list[int]:
    """The process and its children (the web processes of ``serve --processes``)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return [pid, *kids]


def _cpu_s(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _waves(base: str, headers: dict[str, str], docs: list[bytes], per_wave: int,
                 pids: list[int]) -> tuple[list[float], list[float]]:
    host, _, port = base.removeprefix("http://").partition(":")
    client = LeanClient(host, int(port), headers, max_connections=per_wave + 10,
                        timeout_s=120)
    acks: list[float] = []
    cpu_ms: list[float] = []

    async def upload(pdf: bytes) -> None:
        started = time.perf_counter()
        r = await client.post("/api/v1/scans", content=pdf,
                              headers={"content-type": "application/pdf"})
        if r.status_code != 202:
            raise RuntimeError(f"upload answered {r.status_code}: {r.content[:200]!r}")
        acks.append((time.perf_counter() - started) * 1000)

    try:
        for start in range(0, len(docs), per_wave):
            wave = docs[start:start + per_wave]
            before = _cpu_s(pids)
            await asyncio.gather(*(upload(pdf) for pdf in wave))
            await asyncio.sleep(1.0)  # what the wave left to do (logs, pool returns)
            cpu_ms.append((_cpu_s(pids) - before) * 1000 / len(wave))
            await asyncio.sleep(1.5)
    finally:
        await client.aclose()
    return acks, cpu_ms


def _empty_queue(broker_url: str, queue: str) -> None:
    """Drop the messages no worker will take (the jobs went with the data folder)."""
    from celery import Celery

    with Celery(broker=broker_url, set_as_current=False).connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--waves", type=int, default=6)
    parser.add_argument("--per-wave", type=int, default=50)
    parser.add_argument("--db-url", help="an empty database (default: SQLite in the data "
                        "folder)")
    parser.add_argument("--broker-url", help="send jobs to this Celery broker")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        queue = f"markbook.burst.{os.getpid()}"
        env = drill_env(data, args.db_url or f"sqlite+aiosqlite:///{data / 'markbook.db'}",
                        args.broker_url, queue,
                        {"MARKBOOK_JOBS__RUN_IN_APP": "false",
                         "MARKBOOK_LIMITS__UPLOADS_PER_MINUTE": "100000"})
        server = Server(env, free_port(), data / "server.log", processes=args.processes)
        server.start()
        try:
            assert server.proc is not None
            base = f"http://127.0.0.1:{server.port}"
            docs = _pdfs(args.waves * args.per_wave, os.getpid())
            acks, cpu_ms = asyncio.run(_waves(base, sign_in(base), docs, args.per_wave,
                                              _family(server.proc.pid)))
        finally:
            server.stop()
            if args.broker_url:
                _empty_queue(args.broker_url, queue)
    print(json.dumps({"processes": args.processes, "database": "sqlite" if not args.db_url
                      else args.db_url.partition(":")[0], "broker": bool(args.broker_url),
                      "uploads": len(acks),
                      "cpu_ms_per_upload_by_wave": [round(c, 2) for c in cpu_ms],
                      "ack_p50_ms": _p(acks, 50), "ack_p99_ms": _p(acks, 99),
                      "ack_max_ms": _p(acks, 100)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
