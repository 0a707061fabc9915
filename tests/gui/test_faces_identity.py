"""The faces panel shows each face's identity figure, orders and filters by it, and
Keep the likeness lowers a doubtful face's strength until it passes (issue 18). The
figures follow the shown photo (issue 26): checked on the order of the photo changes
and of the measurement, with the real window and a real photo, never on a time."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from engine import face_identity
from engine.face_identity import identity_reason
from engine.results import Likeness
from gui.faces_panel import CHECKING_LIKENESS
from gui.photo_changes import ChangeKind
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
    entry = _restore(qtbot, window)  # and its figures, which follow
    assert entry.result.likeness is Likeness.MEASURED
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


def test_the_photo_is_shown_before_its_likeness(qtbot, window, photo, monkeypatch):  # noqa: F811
    kinds: list[ChangeKind] = []
    shown: list[tuple[bool, list[str]]] = []  # at RESULT: a picture, and the panel's lines
    measuring: list[list[ChangeKind]] = []  # the changes told when each measurement began
    lock = threading.Lock()
    measure_faces = face_identity.measure_faces

    def recording(*args, **kwargs):
        with lock:
            measuring.append(list(kinds))
        return measure_faces(*args, **kwargs)

    monkeypatch.setattr(face_identity, "measure_faces", recording)

    def follow(entry, change) -> None:
        with lock:
            kinds.append(change.kind)
        if change.kind is ChangeKind.RESULT:
            lines = [card.identity_label.text() for card in window.view.faces.cards]
            shown.append((entry.after_image is not None, lines))

    window.photoChanged.connect(follow)
    _open(qtbot, window, photo)
    entry = _restore(qtbot, window)
    panel = window.view.faces
    qtbot.waitUntil(lambda: ChangeKind.LIKENESS in kinds, timeout=TIMEOUT_MS)

    # the picture and the faces came first, each saying its figure is on its way ...
    ((pictured, lines),) = shown
    assert pictured and len(lines) == len(entry.result.faces) >= 2
    assert lines == [CHECKING_LIKENESS] * len(lines)
    # ... and the measurement began only after the photo was told as restored
    assert measuring and all(ChangeKind.RESULT in seen for seen in measuring)
    assert kinds.index(ChangeKind.RESULT) < kinds.index(ChangeKind.LIKENESS)

    # then the panel shows every face's figure
    assert entry.result.likeness is Likeness.MEASURED
    for card in panel.cards:
        score = card.face.identity
        assert score is not None and f"{score.cosine:.2f}" in card.identity_label.text()
    assert panel.order_combo.isVisibleTo(panel)  # ordering by likeness is offered now
