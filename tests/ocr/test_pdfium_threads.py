"""PDFs are opened from many threads of one process at once (uploads' page counts beside
the job runner's rendering): pdfium is not thread-safe, so markbook serialises every call
(ocr.pdfium_lock). Without that, this crashed the process within a second."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a child: a crash must fail this test, not end the test run.
_CHILD = textwrap.dedent("""
    import io, sys, threading, time
    from pathlib import Path
    from reportlab.pdfgen import canvas
    from ocr.ingest import IngestLimits, count_pages, iter_pages

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    for i in range(4):
        pdf.drawString(100, 700, f"page {i}")
        pdf.rect(50, 50, 400, 300)
        pdf.showPage()
    pdf.save()
    path = Path(sys.argv[1])
    path.write_bytes(buf.getvalue())
    limits = IngestLimits(render_dpi=100)
    errors, counted, rendered = [], [], []

    def work(k):
        try:
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                if k % 2:
                    counted.append(count_pages(path, limits))
                else:
                    rendered.append(sum(1 for _ in iter_pages(path, limits)))
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert counted and set(counted) == {4}, set(counted)
    assert rendered and set(rendered) == {4}, set(rendered)
    print("ok", len(counted), len(rendered))
""")


def test_pdfs_read_from_many_threads_at_once(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "four.pdf")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert run.stdout.startswith("ok ")
