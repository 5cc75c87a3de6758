"""Where the tests find the real-handwriting datasets of a development checkout.

The libraries never look for them (the service passes its ``MARKBOOK_DATASETS_DIR``
setting); tests use ``$MARKBOOK_DATASETS_DIR`` when set, else the checkout's sibling
``../shared/datasets``, and skip what needs them when neither holds the files.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATASETS_DIR", "have_datasets"]

DATASETS_DIR = Path(os.environ.get("MARKBOOK_DATASETS_DIR")
                    or Path(__file__).resolve().parents[3] / "shared" / "datasets")


def have_datasets() -> bool:
    """Both handwriting sets are present in :data:`DATASETS_DIR`."""
    return all((DATASETS_DIR / name).is_file() for name in ("mnist-dev.npz", "bhmsds-dev.npz"))
