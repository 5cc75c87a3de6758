"""Font resolution fails with a message that tells an admin what to install."""

from __future__ import annotations

import pytest

from errorbook import fonts


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
    from reportlab.pdfbase import pdfmetrics

    zenhei = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
    try:
        assert fonts.register_cjk_font.__wrapped__(zenhei) == fonts.CJK_FONT_NAME
        assert "zenhei" in pdfmetrics.getFont(fonts.CJK_FONT_NAME).face.filename.lower()
    finally:
        fonts.register_cjk_font.__wrapped__(None)  # the process-wide default again
