"""Model manifest and loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.loader import (
    ModelChecksumError,
    ModelNotFoundError,
    SessionSettings,
    open_session,
    verify_model,
)
from models.manifest import MANIFEST, PPOCR_REC_SMALL, ModelSpec, get_spec


def test_every_manifest_model_verifies() -> None:
    for spec in MANIFEST.values():
        assert verify_model(spec).is_file()


def test_checksum_mismatch_is_a_typed_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ModelChecksumError, match="sha256"):
        verify_model(PPOCR_REC_SMALL, fake)


def test_missing_file_and_package() -> None:
    spec = ModelSpec("x", "models", "nope.onnx", "0" * 64, "none")
    with pytest.raises(ModelNotFoundError):
        verify_model(spec)
    spec = ModelSpec("y", "no_such_package_here", "m.onnx", "0" * 64, "none")
    with pytest.raises(ModelNotFoundError, match="not installed"):
        open_session(spec)


def test_unknown_name_lists_known_models() -> None:
    with pytest.raises(KeyError, match="ppocr-rec-small"):
        get_spec("nope")


def test_session_uses_explicit_threads() -> None:
    session = open_session(get_spec("digit-symbol-classifier"), SessionSettings(2, 1))
    assert [i.name for i in session.get_inputs()] == ["image", "geometry"]
