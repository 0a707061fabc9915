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


def _find_shared_data() -> Path:
    """../shared/data beside the checkout; REVIVE_SHARED_DATA overrides it."""
    candidates = [REPO.parent / "shared" / "data"]
    if os.environ.get("REVIVE_SHARED_DATA"):
        candidates.insert(0, Path(os.environ["REVIVE_SHARED_DATA"]))
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED_DATA = _find_shared_data()


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


@pytest.fixture
def without_shipped_restorer(tmp_path, monkeypatch) -> Path:
    """The shipped resources minus every face restorer (see tests.tiny_models)."""
    from engine.paths import resources_without_restorers

    target = resources_without_restorers(tmp_path / "resources-without-restorer")
    monkeypatch.setenv("REVIVE_RESOURCES", str(target))
    return target


@pytest.fixture
def server():
    """A model server on 127.0.0.1 for download tests (tests/model_server.py)."""
    from tests.model_server import model_server

    with model_server() as s:
        yield s


@pytest.fixture
def catalogue(tmp_path, monkeypatch, user_data_dir) -> Path:
    """An empty model catalogue file in force (REVIVE_CATALOGUE), no shipped resources."""
    path = tmp_path / "models.json"
    monkeypatch.setenv("REVIVE_CATALOGUE", str(path))
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-resources"))
    return path
