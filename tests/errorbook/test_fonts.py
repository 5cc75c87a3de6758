"""Font resolution: a configured font is used or refused (never swapped), and a missing one
fails with a message that tells an admin what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from errorbook.printing import fonts

ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def _in_subprocess(code: str) -> str:
    """Registering a font changes reportlab's process-wide state: do it elsewhere."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    return out.stdout


def test_missing_font_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", ("/nonexistent/wqy.ttc",))
    with pytest.raises(fonts.FontNotFoundError, match="apt-get install fonts-wqy-microhei") as e:
        fonts.find_cjk_font("/also/missing.ttf")
    assert "/also/missing.ttf (missing)" in str(e.value)


def test_no_candidate_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", ("/nonexistent/wqy.ttc",))
    with pytest.raises(fonts.FontNotFoundError, match="apt-get install fonts-wqy-microhei") as e:
        fonts.find_cjk_font()
    assert "/nonexistent/wqy.ttc (missing)" in str(e.value)


def test_a_non_font_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = tmp_path / "fake.ttf"
    bogus.write_bytes(b"not a font")
    monkeypatch.setattr(fonts, "FONT_CANDIDATES", ())
    with pytest.raises(fonts.FontNotFoundError, match=r"fake\.ttf"):
        fonts.find_cjk_font(bogus)


def test_a_configured_font_that_is_missing_never_falls_back() -> None:
    """The system fonts exist here, yet a configured path that does not is an error."""
    assert fonts.find_cjk_font() is not None
    with pytest.raises(fonts.FontNotFoundError, match="configured CJK font"):
        fonts.find_cjk_font("/no/such/font.ttc")


def test_explicit_font_is_used() -> None:
    out = _in_subprocess(
        "from reportlab.pdfbase import pdfmetrics\n"
        "from errorbook.printing import fonts\n"
        f"name = fonts.register_cjk_font({ZENHEI!r})\n"
        "print(name, pdfmetrics.getFont(name).face.filename)\n")
    name, path = out.split()
    assert name == fonts.CJK_FONT_NAME
    assert "zenhei" in path.lower()


def test_a_registered_font_is_kept_by_later_plain_calls() -> None:
    """Rendering code calls ``register_cjk_font()``: it must not swap the configured font
    for the first system candidate (microhei comes before zenhei)."""
    out = _in_subprocess(
        "from reportlab.pdfbase import pdfmetrics\n"
        "from errorbook.printing import fonts\n"
        f"fonts.register_cjk_font({ZENHEI!r})\n"
        "name = fonts.register_cjk_font()\n"
        "print(pdfmetrics.getFont(name).face.filename)\n")
    assert "zenhei" in out.lower()
