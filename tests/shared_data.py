"""The project's shared data (shared/data, each folder with its README), which lies beside
the work tree here and beside the clone in CI. A test that needs a file of it runs when the
file is there; when it is not, the test fails in CI and is skipped elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def shared_file(*parts: str) -> Path:
    """The path of a shared data file, or a failure (CI) or skip (elsewhere) naming it."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        message = f"needs {path} (shared/data, see the folder's README)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path
