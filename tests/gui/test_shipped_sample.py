"""A new user's first click: Help > Try a sample restores with the shipped restorer."""

from __future__ import annotations

import numpy as np

from engine.weights import default_weights
from gui.main_window import MainWindow
from gui.photo_controller import PhotoStatus

TIMEOUT_MS = 180_000


def test_try_a_sample_restores_with_the_shipped_restorer(qtbot, settings, user_data_dir):
    shipped = default_weights("restorer")
    assert shipped is not None
    settings.device = "cpu"
    window = MainWindow(settings)  # an empty user folder: only what ships
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.models.has_weights is not None, timeout=TIMEOUT_MS)
    assert window.models.has_weights and not window.banner.isVisible()
    assert window.action_set.sample.isEnabled()
    window.action_set.sample.trigger()
    qtbot.waitUntil(
        lambda: window.current is not None and window.current.status is PhotoStatus.RESTORED,
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: not window.jobs.is_busy(), timeout=TIMEOUT_MS)
    result = window.current.result
    assert result is not None and len(result.faces) == 1
    face = result.faces[0]
    assert face.weights == shipped.name
    # the network changed the face (a residual net with a zero correction would not)
    change = np.abs(face.crop_after.astype(float) - face.crop_before.astype(float)).mean()
    assert change > 0.3
    # the sample opens in the face loupe, on its face
    assert window.loupe_dock.isVisible() and window.view.loupe.face is face
    window.close()
