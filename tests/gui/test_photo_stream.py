"""One stream of photo changes (issue 23): in the real window, with the real controller
and the real restorer (tiny test preset, CPU), every change reaches every part that
follows the photos, in the order the controller told it, each part in the window's
order; and a panel added by one row of ``DOCKS`` is in the View menu and follows too."""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from gui import main_window
from gui.attention_inspector import AttentionInspector
from gui.faces_panel import FacesPanel
from gui.loupe import FaceLoupe
from gui.main_window import DOCKS, DockRow, MainWindow
from gui.model_offer import ModelOffer
from gui.options_bar import OptionsBar
from gui.photo_changes import ChangeKind, PhotoChange, PhotoFollower
from gui.photo_controller import PhotoStatus
from gui.photo_queue import PhotoQueue
from gui.photo_view import PhotoView
from gui.status_panel import StatusPanel
from tests.gui.test_main_window import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _open,
    _restore,
    _window,
    photo,
    tiny_weights,
)

pytestmark = pytest.mark.shared

FOLLOWERS = (
    PhotoView,
    PhotoQueue,
    FacesPanel,
    FaceLoupe,
    AttentionInspector,
    StatusPanel,
    OptionsBar,
    ModelOffer,
    MainWindow,
)


class Heard:
    """Every (part, photo, change) in the order the parts heard them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, PhotoChange]] = []

    def by_part(self) -> dict[str, list[tuple[str | None, PhotoChange]]]:
        parts: dict[str, list[tuple[str | None, PhotoChange]]] = defaultdict(list)
        for part, name, change in self.calls:
            parts[part].append((name, change))
        return parts


@pytest.fixture
def heard(monkeypatch) -> Heard:
    """Each follower's ``on_photo`` records what it hears, then does its work."""
    record = Heard()
    for cls in FOLLOWERS:
        original = cls.on_photo

        def on_photo(self, entry, change, _original=original, _part=cls.__name__):
            record.calls.append((_part, entry and entry.name, change))
            _original(self, entry, change)

        monkeypatch.setattr(cls, "on_photo", on_photo)
    return record


@pytest.fixture
def stream_window(qtbot, settings, tiny_weights, heard):  # noqa: F811 - fixtures
    settings.model = tiny_weights
    settings.device = "cpu"
    settings.restore_on_open = False
    window = _window(qtbot, settings)
    yield window
    window.close()


def test_every_change_reaches_every_part_in_order(qtbot, stream_window, heard, photo, tmp_path):  # noqa: F811
    window = stream_window
    told: list[tuple[str | None, PhotoChange]] = []
    window.photos.subscribe(lambda entry, change: told.append((entry and entry.name, change)))
    parts = [type(f).__name__ for f in window.followers()]
    assert parts == [c.__name__ for c in FOLLOWERS]  # the central view first, the window last

    # Load, find the faces, restore.
    entry = _open(qtbot, window, photo)
    qtbot.waitUntil(lambda: entry.found is not None, timeout=TIMEOUT_MS)
    _restore(qtbot, window)
    assert len(window.view.faces.cards) == len(entry.result.faces) == 3

    # Edit a face: its card's tick, then the re-paste.
    generation = entry.generation
    window.view.faces.card(1).accept_box.setChecked(False)
    assert entry.generation == generation + 1
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)

    # Re-run a face: the panel is busy until it ends, then the face is new.
    window.view.faces.card(2).rerun.click()
    assert entry.rerunning == 2 and not window.view.faces.card(0).accept_box.isEnabled()
    qtbot.waitUntil(
        lambda: entry.rerunning is None and not window.jobs.is_busy(), timeout=TIMEOUT_MS
    )
    assert window.view.faces.card(0).accept_box.isEnabled()

    # Another photo becomes the current one, then the first again.
    second = tmp_path / "photos" / f"second{photo.suffix}"
    shutil.copyfile(photo, second)
    other = _open(qtbot, window, second)
    assert window.windowTitle().startswith(other.name)
    window.photos.select(entry)
    assert window.windowTitle().startswith(entry.name)
    assert window.view.faces.selected == 0 and window.view.loupe.index == 0

    kinds = [change.kind for _, change in told]
    for kind in (
        ChangeKind.ADDED,
        ChangeKind.CURRENT,
        ChangeKind.STATE,
        ChangeKind.LOADED,
        ChangeKind.FOUND,
        ChangeKind.RESULT,
        ChangeKind.FACE_EDITED,
        ChangeKind.PASTED,
        ChangeKind.FACE_RERUN,
    ):
        assert kind in kinds, kind
    on_first = [change.kind for name, change in told if name == photo.name]
    # the likeness figures follow each picture on their own (test_faces_identity.py)
    on_first = [kind for kind in on_first if kind is not ChangeKind.LIKENESS]
    rerun = on_first.index(ChangeKind.FACE_RERUN)
    assert on_first[rerun : rerun + 3] == [
        ChangeKind.FACE_RERUN,  # started
        ChangeKind.PASTED,  # its new picture
        ChangeKind.FACE_RERUN,  # ended
    ]
    assert on_first.index(ChangeKind.LOADED) < on_first.index(ChangeKind.RESULT)
    assert on_first.index(ChangeKind.RESULT) < on_first.index(ChangeKind.FACE_EDITED)

    # Every part heard every change, in the controller's order...
    for part, changes in heard.by_part().items():
        assert changes == told, part
    assert set(heard.by_part()) == set(parts)
    # ... and each change reached the parts in the window's order.
    for i in range(len(told)):
        assert [part for part, _, _ in heard.calls[i * len(parts) : (i + 1) * len(parts)]] == parts


class PhotoNameLabel(QLabel):
    """A throwaway panel: the name of the photo shown, and the kinds it heard."""

    def __init__(self) -> None:
        super().__init__("no photo")
        self.kinds: list[ChangeKind] = []

    def on_photo(self, entry, change: PhotoChange) -> None:
        self.kinds.append(change.kind)
        if change.kind is ChangeKind.CURRENT:
            self.setText("no photo" if entry is None else entry.name)


def test_a_new_panel_is_one_row_of_docks(qtbot, settings, tiny_weights, photo, monkeypatch):  # noqa: F811
    panel = PhotoNameLabel()
    assert isinstance(panel, PhotoFollower) and not isinstance(QWidget(), PhotoFollower)
    row = DockRow("name_dock", "Photo name", Qt.DockWidgetArea.RightDockWidgetArea, lambda w: panel)
    monkeypatch.setattr(main_window, "DOCKS", (*DOCKS, row))
    settings.model = tiny_weights
    settings.device = "cpu"
    settings.restore_on_open = False
    window = _window(qtbot, settings)
    try:
        view_menu = next(
            a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"
        )
        toggle = next(a for a in view_menu.actions() if a.text() == "Photo name")
        assert window.docks["name_dock"].widget() is panel and panel.isVisible()
        toggle.trigger()
        assert not panel.isVisible()
        toggle.trigger()
        assert panel.isVisible()

        entry = _open(qtbot, window, photo)
        assert entry.status is PhotoStatus.LOADED
        assert panel.text() == photo.name
        assert panel.kinds[:2] == [ChangeKind.ADDED, ChangeKind.STATE]
        assert ChangeKind.CURRENT in panel.kinds and ChangeKind.LOADED in panel.kinds
        window.close_current()
        assert panel.text() == "no photo" and panel.kinds[-2:] == [
            ChangeKind.REMOVED,
            ChangeKind.CURRENT,
        ]
    finally:
        window.close()
