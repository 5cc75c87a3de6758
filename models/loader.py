"""Locate, verify and open ONNX models.

Callers load a model once (at worker start-up or in the app lifespan) and keep the session;
nothing here runs at import time. Thread settings are explicit because onnxruntime's
default (one thread per core) oversubscribes a machine that already runs one worker
process per core.

Errors (all subclass :class:`ModelError`):

* :class:`ModelNotFoundError` - the package or file is missing.
* :class:`ModelChecksumError` - the file's bytes do not match the manifest's sha256.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from models.manifest import ModelSpec

__all__ = [
    "ModelChecksumError",
    "ModelError",
    "ModelNotFoundError",
    "SessionSettings",
    "locate_model",
    "open_session",
    "open_unverified_session",
    "sha256_file",
    "verify_model",
]


class ModelError(RuntimeError):
    """Base class for model asset problems (a deployment defect, never bad user input)."""


class ModelNotFoundError(ModelError):
    """The model's package or file could not be found."""


class ModelChecksumError(ModelError):
    """The model file exists but its sha256 differs from the manifest's."""


@dataclass(frozen=True)
class SessionSettings:
    """onnxruntime session settings.

    Attributes:
        intra_op_threads: Threads inside one operator; 1 suits one worker process per core.
        inter_op_threads: Threads across operators; only used by parallel execution.
        sequential: Run operators sequentially (predictable latency, no extra threads).
        memory_arena: Keep onnxruntime's CPU arena. It grows to the largest batch shape
            ever seen and never shrinks, so with variable-width crop batches it costs
            hundreds of MB per worker; off by default.
    """

    intra_op_threads: int = 1
    inter_op_threads: int = 1
    sequential: bool = True
    memory_arena: bool = False


def _package_dir(package: str) -> Path:
    # find_spec does not import the package, so locating a model never runs its code.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"package {package!r} holding the model is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    """Hash a file in chunks.

    Args:
        path: The file.

    Returns:
        The hex sha256 digest.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate_model(spec: ModelSpec) -> Path:
    """Find a model's file on disk without verifying it.

    Args:
        spec: The model's manifest entry.

    Returns:
        The absolute path of the file.

    Raises:
        ModelNotFoundError: If the package or the file is missing.
    """
    path = _package_dir(spec.package) / spec.relative_path
    if not path.is_file():
        raise ModelNotFoundError(f"model {spec.name!r}: file {path} is missing")
    return path


def verify_model(spec: ModelSpec, path: Path | None = None) -> Path:
    """Locate a model and check its sha256 against the manifest.

    Args:
        spec: The model's manifest entry.
        path: An explicit file to check instead of the located one.

    Returns:
        The verified path.

    Raises:
        ModelNotFoundError: If the file is missing.
        ModelChecksumError: If the digest differs or the manifest has none.
    """
    path = locate_model(spec) if path is None else path
    if not path.is_file():
        raise ModelNotFoundError(f"model {spec.name!r}: file {path} is missing")
    if not spec.sha256:
        raise ModelChecksumError(f"model {spec.name!r} has no sha256 in the manifest")
    actual = sha256_file(path)
    if actual != spec.sha256:
        raise ModelChecksumError(
            f"model {spec.name!r} at {path}: sha256 {actual} != manifest {spec.sha256}"
        )
    return path


def open_session(
    spec: ModelSpec,
    settings: SessionSettings | None = None,
    *,
    path: Path | None = None,
) -> ort.InferenceSession:
    """Verify a model and open a CPU onnxruntime session for it.

    Args:
        spec: The model's manifest entry.
        settings: Thread and execution settings; defaults to one intra-op thread.
        path: An explicit file instead of the located one (still verified).

    Returns:
        The inference session.

    Raises:
        ModelNotFoundError: If the file is missing.
        ModelChecksumError: If the file's sha256 does not match.
    """
    return _session(verify_model(spec, path), settings)


def open_unverified_session(path: Path, settings: SessionSettings | None = None
                            ) -> ort.InferenceSession:
    """Open a model file that is not the manifest's: previous or candidate weights.

    For benchmarks that compare the shipped readers with other weights in the same run
    (``bench/bench_unseen_writers.py``); the product only ever runs :func:`open_session`.

    Args:
        path: The ONNX file.
        settings: Thread and execution settings.

    Raises:
        ModelNotFoundError: If the file is missing.
    """
    if not path.is_file():
        raise ModelNotFoundError(f"model file {path} is missing")
    return _session(path, settings)


def _session(verified: Path, settings: SessionSettings | None) -> ort.InferenceSession:
    settings = settings or SessionSettings()
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.execution_mode = (
        ort.ExecutionMode.ORT_SEQUENTIAL if settings.sequential else ort.ExecutionMode.ORT_PARALLEL
    )
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = settings.memory_arena
    # Input shapes change from batch to batch; memory patterns only help fixed shapes.
    options.enable_mem_pattern = False
    return ort.InferenceSession(
        str(verified), sess_options=options, providers=["CPUExecutionProvider"]
    )
