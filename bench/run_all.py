"""Run every benchmark under bench/ and print a summary table (``make bench``).

Each ``bench/bench_*.py`` also runs alone (``python bench/bench_print.py``). A benchmark's
``main()`` prints its own report and returns a dict of headline figures for the table.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    sys.path.insert(0, str(ROOT))
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    rows: list[tuple[str, str, str]] = []
    failed = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        argv = sys.argv
        sys.argv = [name]
        try:
            figures = importlib.import_module(f"bench.{name}").main() or {}
        except Exception:
            traceback.print_exc()
            failed += 1
            figures = {"status": "FAILED"}
        finally:
            sys.argv = argv
        took = f"{time.perf_counter() - started:.1f} s"
        for key, value in (figures.items() if isinstance(figures, dict) else []):
            rows.append((name, key, str(value)))
        rows.append((name, "wall time", took))
    print("\n## Summary\n")
    print("| benchmark | figure | value |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
