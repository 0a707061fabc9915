"""Issue 24 in the real window: Auto scale before the run, the face loupe, honest models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.scale_choice import choose_scale, face_widths
from tests.conftest import shared_path
from tests.gui.test_main_window import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _open,
    _restore,
    tiny_weights,
)
from tests.gui.test_main_window import window as window  # noqa: F401 - a fixture

pytestmark = pytest.mark.shared


@pytest.fixture
def small_group(tmp_path) -> Path:
    """The three-person group photo at half size: faces of about 50 px."""
    with Image.open(shared_path("real", "sparnet", "test_hzgg.jpg")) as im:
        small = im.convert("RGB").resize((540, 220), Image.Resampling.LANCZOS)
    path = tmp_path / "photos" / "small-group.png"
    path.parent.mkdir()
    small.save(path)
    return path


def test_auto_scale_is_shown_before_the_run_and_can_be_overridden(qtbot, window, small_group):
    options = window.options
    assert options.scale_combo.currentData() == "auto"  # the app's default
    entry = _open(qtbot, window, small_group)
    qtbot.waitUntil(lambda: bool(entry.found), timeout=TIMEOUT_MS)
    expected = choose_scale(face_widths([f.box for f in entry.found]), (540, 220))
    assert expected.scale > 1
    note = options.scale_note.text().strip()
    assert note == expected.describe()
    assert f"{540 * expected.scale} × {220 * expected.scale}" in note

    options.scale_combo.setCurrentIndex(options.scale_combo.findData(1))  # the user overrides
    assert options.scale_note.text().strip() == "1× → 540 × 220"
    options.scale_combo.setCurrentIndex(options.scale_combo.findData("auto"))
    _restore(qtbot, window)
    assert entry.result.scale == expected.scale
    assert entry.result.image.shape[:2] == (220 * expected.scale, 540 * expected.scale)
    assert np.asarray(entry.result.image).dtype == np.uint8
