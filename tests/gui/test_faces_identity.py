"""The faces panel shows each face's identity figure, orders and filters by it, and
Keep the likeness lowers a doubtful face's strength until it passes (issue 18)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.face_identity import identity_reason
from engine.results import Likeness
from tests.gui.test_main_window import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _open,
    _restore,
    photo,
    tiny_weights,
    window,
)

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(identity_reason() is not None, reason=str(identity_reason())),
]


def test_identity_in_the_faces_panel(qtbot, window, photo):  # noqa: F811 - fixtures
    _open(qtbot, window, photo)
    entry = _restore(qtbot, window)
    # the figures follow the shown photo (tests/gui/test_likeness_later.py)
    qtbot.waitUntil(lambda: entry.result.likeness is Likeness.MEASURED, timeout=TIMEOUT_MS)
    panel = window.view.faces
    assert len(panel.cards) == len(entry.result.faces) >= 2
    for card in panel.cards:
        score = card.face.identity
        assert score is not None and f"{score.cosine:.2f}" in card.identity_label.text()
        # random tiny weights scramble faces: every one is doubtful
        assert score.flagged and "May no longer look like the person" in card.identity_label.text()
        assert not card.keep_likeness.isHidden()

    # least alike first: the layout order follows the figures
    panel.order_combo.setCurrentIndex(panel.order_combo.findData("likeness"))
    layout = panel._list_layout
    shown = [layout.itemAt(i).widget() for i in range(layout.count() - 1)]
    values = [card.face.identity.cosine for card in shown]
    assert values == sorted(values)

    # Keep the likeness: the strength drops and the figure passes after the re-paste
    card = panel.cards[0]
    qtbot.mouseClick(card.keep_likeness, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card.strength.value() < 100, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not card.face.identity.flagged, timeout=TIMEOUT_MS)
    assert "Looks like the original" in card.identity_label.text()
    assert card.keep_likeness.isHidden()
    face = next(f for f in window.current.result.faces if f.index == card.index)
    assert face.strength == pytest.approx(card.strength.value() / 100)

    # only the doubtful ones: the face that passes now is hidden
    panel.doubtful_only.setChecked(True)
    assert card.isHidden() and any(not c.isHidden() for c in panel.cards if c is not card)
