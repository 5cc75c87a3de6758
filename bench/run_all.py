"""Run every benchmark under bench/ and write docs/benchmarks.md (``make bench``).

Run from the repository root as a module (run as a file, ``python bench/run_all.py``, it
restarts itself in that form)::

    .venv/bin/python -m bench.run_all                       # every bench, then the page
    .venv/bin/python -m bench.run_all --only bench_print    # a subset (the page says so)
    .venv/bin/python -m bench.run_all --no-write            # print only, leave the page

Each ``bench/bench_*.py`` also runs alone (``python -m bench.bench_print``). A benchmark's
``main()`` prints its own report and returns a dict of headline figures; those figures,
the wall time and a description of the machine go into the generated page, which is the
one place benchmark figures are published (the README and the topic docs link to it).
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import importlib
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BenchRun", "Machine", "bench_names", "describe_machine", "documented_runs", "main",
           "render_page", "run_bench", "summary_of"]

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
DEFAULT_PAGE = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Machine:
    """Where the figures were measured: they only compare with figures from the same box."""

    cpu: str
    cores: int
    ram_gib: float | None
    os: str
    python: str
    load_before: str


@dataclass
class BenchRun:
    """One benchmark's outcome; ``ran`` is false for benches left out with ``--only``."""

    name: str
    summary: str
    ran: bool = False
    status: str = "not run"
    seconds: float = 0.0
    figures: dict[str, str] = field(default_factory=dict)


def bench_names() -> list[str]:
    """Every benchmark module under bench/ (``bench_*.py``), sorted."""
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def summary_of(name: str) -> str:
    """The first sentence of a bench's module docstring, read without importing it."""
    source = (BENCH_DIR / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    # The first sentence: a full stop followed by a capital starts the next one.
    sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", paragraph, maxsplit=1)[0]
    sentence = sentence.removeprefix("Benchmark: ")
    return sentence[:1].upper() + sentence[1:] if sentence else "(no docstring)"


def documented_runs(name: str) -> list[str]:
    """The ``python -m bench.<name>`` command lines a bench's docstring documents."""
    source = (BENCH_DIR / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    # Join backslash-continued lines first, so each command is one line.
    lines = re.sub(r"\\\n\s*", "", doc).splitlines()
    return [line.strip() for line in lines if "-m bench." in line]


def _read_first(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if ":" in line else line.strip()
    except OSError:
        return None
    return None


def describe_machine() -> Machine:
    """CPU model and count, memory, OS, Python and the load when the run began."""
    cpu = _read_first("/proc/cpuinfo", "model name") or platform.processor() or "unknown"
    mem_kb = _read_first("/proc/meminfo", "MemTotal")
    ram = round(int(mem_kb.split()[0]) / 1024**2, 1) if mem_kb else None
    pretty = _read_first("/etc/os-release", "PRETTY_NAME=")
    os_name = platform.platform() if pretty is None else pretty.split("=", 1)[-1].strip('"')
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return Machine(cpu=cpu, cores=os.cpu_count() or 1, ram_gib=ram,
                   os=f"{os_name} ({platform.machine()})",
                   python=platform.python_version(), load_before=load)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def run_bench(name: str) -> BenchRun:
    """Import ``bench.<name>`` and run its ``main()`` with its default options.

    A bench that raises is reported as failed (the traceback is printed) and the run goes
    on with the next one.
    """
    run = BenchRun(name=name, summary=summary_of(name), ran=True, status="ok")
    argv = sys.argv
    # Benches parse sys.argv: give each only its own name, so it runs with its defaults.
    sys.argv = [name]
    started = time.perf_counter()
    try:
        result = importlib.import_module(f"bench.{name}").main()
    except Exception as exc:  # one broken bench must not hide the others' figures
        traceback.print_exc()
        run.status = f"FAILED: {type(exc).__name__}: {exc}".splitlines()[0][:300]
        result = None
    finally:
        sys.argv = argv
        run.seconds = time.perf_counter() - started
    if isinstance(result, dict):
        run.figures = {str(k): str(v) for k, v in result.items()}
        # Benches that cannot run here (no datasets, no reader output) say so in "status".
        status = run.figures.pop("status", None)
        if status is not None:
            run.status = status
    return run


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_page(runs: Sequence[BenchRun], machine: Machine, started: dt.datetime,
                total_s: float, commit: str) -> str:
    """The Markdown of docs/benchmarks.md for one run of the benchmarks."""
    ran = [r for r in runs if r.ran]
    partial = len(ran) < len(runs)
    ram = f"{machine.ram_gib} GiB" if machine.ram_gib is not None else "unknown"
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (bench/run_all.py). Do not edit by hand: "
        "run it again. -->",
        "",
        "Generated by `make bench` (`.venv/bin/python -m bench.run_all`); do not edit by "
        "hand. Figures are from one run on the machine below and compare only with figures "
        "from the same machine; each benchmark prints a fuller report when run alone, and "
        "its module docstring describes its data and baseline.",
        "",
        f"- **Run:** {started:%Y-%m-%d %H:%M} UTC, commit {commit}, "
        f"{total_s:.0f} s in all",
        f"- **Machine:** {machine.cpu}, {machine.cores} CPUs, {ram} RAM; {machine.os}; "
        f"Python {machine.python}; load average before the run {machine.load_before}",
    ]
    if partial:
        lines.append(f"- **Partial run:** only {', '.join(r.name for r in ran)} "
                     f"(`--only`); the other benchmarks were not run and show no figures")
    lines += ["", "| benchmark | what it measures | status | wall time |",
              "| --- | --- | --- | --- |"]
    for r in runs:
        wall = f"{r.seconds:.1f} s" if r.ran else "-"
        lines.append(f"| [{r.name}](#{r.name}) | {_cell(r.summary)} | "
                     f"{_cell(r.status)} | {wall} |")
    for r in runs:
        lines += ["", f"## {r.name}", "", r.summary, "",
                  f"Run alone: `.venv/bin/python -m bench.{r.name}` (as here, with its "
                  f"defaults; `--help` lists its options)."]
        documented = [c for c in documented_runs(r.name)
                      if c != f".venv/bin/python -m bench.{r.name}"]
        if documented:
            lines += ["", "Documented runs (from its docstring):", "", "```", *documented, "```"]
        lines.append("")
        if not r.ran:
            lines.append("Not run in this run.")
            continue
        lines.append(f"Status: {r.status}; wall time {r.seconds:.1f} s.")
        if r.figures:
            lines += ["", "| figure | value |", "| --- | --- |"]
            lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in r.figures.items()]
    return "\n".join(lines) + "\n"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_all",
        description="Run the benchmarks under bench/ and write docs/benchmarks.md.")
    parser.add_argument("--only", default="", metavar="NAMES",
                        help="comma-separated bench names to run (e.g. bench_print,"
                             "bench_mastery_fit); the page lists the others as not run")
    parser.add_argument("--out", type=Path, default=DEFAULT_PAGE,
                        help="where to write the page (default: docs/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true",
                        help="print the figures only; leave the page as it is")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks, print a summary and write the page.

    Returns:
        0 when every bench that ran succeeded, 1 when one failed, 2 for an unknown name.
    """
    args = _parse_args(argv)
    names = bench_names()
    only = [n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(only) - set(names))
    if unknown:
        sys.stderr.write(f"unknown bench: {', '.join(unknown)} (known: {', '.join(names)})\n")
        return 2
    machine = describe_machine()
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    runs: list[BenchRun] = []
    for name in names:
        if only and name not in only:
            runs.append(BenchRun(name=name, summary=summary_of(name)))
            continue
        print(f"\n=== {name} ===", flush=True)
        runs.append(run_bench(name))
    total_s = time.perf_counter() - clock
    print("\n## Summary\n")
    print("| benchmark | figure | value |\n| --- | --- | --- |")
    for r in runs:
        if r.ran:
            for key, value in [*r.figures.items(), ("status", r.status),
                               ("wall time", f"{r.seconds:.1f} s")]:
                print(f"| {r.name} | {_cell(key)} | {_cell(value)} |")
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render_page(runs, machine, started, total_s, _commit()),
                            encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 1 if any(r.status.startswith("FAILED") for r in runs) else 0


if __name__ == "__main__":
    if not __package__:
        # Run as a file (``python bench/run_all.py``): the benches are imported as
        # ``bench.*``, which needs the module form from the repository root, so start that
        # instead of editing sys.path.
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "bench.run_all", *sys.argv[1:]])
    raise SystemExit(main())
