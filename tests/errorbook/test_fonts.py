"""Font resolution fails with a message that tells an admin what to install."""

from __future__ import annotations

import pytest

from errorbook.printing import fonts


def test_missing_font_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", ("/nonexistent/wqy.ttc",))
    monkeypatch.delenv("MARKBOOK_CJK_FONT", raising=False)
    with pytest.raises(fonts.FontNotFoundError, match="apt-get install fonts-wqy-microhei") as e:
        fonts.register_cjk_font.__wrapped__("/also/missing.ttf")
    assert "/also/missing.ttf (missing)" in str(e.value)


def test_a_non_font_file_is_skipped(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "fake.ttf"
    bogus.write_bytes(b"not a font")
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", ())
    with pytest.raises(fonts.FontNotFoundError, match="fake.ttf"):
        fonts.register_cjk_font.__wrapped__(str(bogus))


def test_explicit_font_is_used() -> None:
    """In a subprocess: registering another font changes reportlab's process-wide state."""
    import subprocess
    import sys

    code = (
        "from reportlab.pdfbase import pdfmetrics\n"
        "from errorbook.printing import fonts\n"
        "name = fonts.register_cjk_font('/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc')\n"
        "print(name, pdfmetrics.getFont(name).face.filename)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    name, path = out.stdout.split()
    assert name == fonts.CJK_FONT_NAME and "zenhei" in path.lower()
