"""Test session set-up: offscreen Qt, a private user-data folder, shared-data helpers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never read or write the real per-user folder from tests.
os.environ["REVIVE_DATA_DIR"] = tempfile.mkdtemp(prefix="revive-test-data-")

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(os.environ.get("REVIVE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with a clear reason when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def user_data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty per-user data folder for one test."""
    folder = tmp_path / "user-data"
    monkeypatch.setenv("REVIVE_DATA_DIR", str(folder))
    return folder
