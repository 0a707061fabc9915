"""Issue 24 in the real window: Auto scale before the run, the face loupe, honest models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from engine.scale_choice import choose_scale, face_widths
from tests.conftest import shared_path
from tests.gui.test_main_window import (  # noqa: F401 - fixtures
    TIMEOUT_MS,
    _open,
    _restore,
)
from tests.gui.test_main_window import tiny_weights as tiny_weights  # noqa: F401 - a fixture
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


def _loupe_pixels(loupe) -> np.ndarray:
    from gui.imaging import array_from_qimage

    return array_from_qimage(loupe.picture.pixmap().toImage())


def test_the_loupe_opens_on_the_first_face_and_the_keyboard_drives_it(qtbot, window, small_group):
    from gui.loupe import MIN_SIDE

    entry = _open(qtbot, window, small_group)
    assert not window.loupe_dock.isVisible() or window.view.loupe.face is None
    _restore(qtbot, window)
    loupe = window.view.loupe
    assert window.loupe_dock.isVisible()  # by itself, after the restoration
    assert loupe.index == 0 and loupe.face is entry.result.faces[0]
    pixmap = loupe.picture.pixmap()
    assert pixmap.width() / pixmap.devicePixelRatio() >= MIN_SIDE
    assert pixmap.devicePixelRatio() == loupe.picture.devicePixelRatioF()  # device pixels
    after = _loupe_pixels(loupe)

    window.activateWindow()
    loupe.setFocus()
    qtbot.keyClick(loupe, Qt.Key.Key_Space)
    assert not loupe.showing_after and loupe.which.text().startswith("Before")
    before = _loupe_pixels(loupe)
    assert np.abs(before.astype(int) - after.astype(int)).mean() > 1  # it did flip
    qtbot.keyClick(loupe, Qt.Key.Key_Space)
    assert loupe.showing_after

    n = len(entry.result.faces)
    assert n == 3
    qtbot.keyClick(loupe, Qt.Key.Key_Right)
    assert loupe.index == 1 and window.view.faces.selected == 1
    qtbot.keyClick(loupe, Qt.Key.Key_Left)
    qtbot.keyClick(loupe, Qt.Key.Key_Left)
    assert loupe.index == n - 1 and window.view.faces.selected == n - 1  # wraps round

    qtbot.mouseClick(loupe.side_button, Qt.MouseButton.LeftButton)
    assert loupe.second.isVisible() and loupe.second.pixmap() is not None

    # The strength and the tick beside the picture act on the face, as the card's do.
    index = loupe.index
    loupe.strength.setValue(40)
    qtbot.waitUntil(lambda: entry.result.faces[index].strength == 0.4, timeout=TIMEOUT_MS)
    assert window.view.faces.card(index).strength.value() == 40
    loupe.accept_box.setChecked(False)
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert entry.result.faces[index].accepted is False
    assert not window.view.faces.card(index).accept_box.isChecked()
    assert not loupe.strength.isEnabled()

    # Grain matching: a setting, on by default, shown (and switched) in the loupe.
    assert entry.result.scale > 1 and loupe.grain_box.isChecked()
    qtbot.keyClick(loupe, Qt.Key.Key_Right)
    assert loupe.grain_note.text().startswith(("Grain added", "Grain already matches"))
    loupe.grain_box.setChecked(False)
    qtbot.waitUntil(lambda: entry.result.options.photo.grain_match is False, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert loupe.grain_note.text().startswith("Off") and window.prefs.grain_match is False
    assert window.options.restore_options().photo.grain_match is False


def test_loupe_side_follows_the_face_and_the_screen() -> None:
    from gui.loupe import MIN_SIDE, display_side, face_window

    assert display_side(100, 900, 1.0) == MIN_SIDE  # small faces: at least 256
    assert display_side(600, 900, 1.0) == 600  # larger ones: their own pixels
    assert display_side(600, 900, 2.0) == 300  # on a 2x screen, in device pixels
    assert display_side(2000, 700, 1.0) == 700  # never more than the room
    # The window around a face stays inside the result and is square.
    x0, y0, x1, y1 = face_window([0, 0, 40, 50], 2.0, (300, 400, 3))
    assert (x0, y0) == (0, 0) and x1 - x0 == y1 - y0 == 160


def _tiny_seconds() -> float:
    from engine.model_offer import time_per_face

    return time_per_face("sparnethd_tiny", "cpu")


@pytest.fixture
def built_in_only(qtbot, settings, user_data_dir):
    """The app as installed: only the shipped (built-in) restorer, on the CPU."""
    from tests.gui.test_main_window import _window

    settings.device = "cpu"
    settings.restore_on_open = False
    win = _window(qtbot, settings)
    # The offer's measurement, of a small network here (SPARNetHD takes many seconds).
    win.offer.measure = lambda _preset, _cancel: _tiny_seconds()
    qtbot.waitUntil(lambda: bool(win.offer.rows), timeout=TIMEOUT_MS)
    yield win
    win.close()


def test_choosing_a_model_that_is_not_installed_offers_it_and_never_substitutes(
    qtbot, built_in_only, small_group
):
    from gui.photo_controller import PhotoStatus

    window = built_in_only
    combo = window.options.model_combo
    index = combo.findData("sparnethd")
    assert "not installed" in combo.itemText(index)
    combo.setCurrentIndex(index)  # the user's choice
    bar = window.offer.missing_bar
    assert bar.isVisible() and "SPARNetHD is not installed" in bar.label.text()
    assert "another model" in bar.label.text() and bar.buttons[0].isVisible()  # Download
    assert "MB" in bar.label.text() and "CC BY-NC" in bar.label.text()

    entry = _open(qtbot, window, small_group)
    window.action_set.restore.trigger()
    qtbot.waitUntil(lambda: entry.status is PhotoStatus.ERROR, timeout=TIMEOUT_MS)
    assert entry.result is None  # nothing restored under SPARNetHD's name
    assert "SPARNetHD is not installed" in entry.detail
    window.messages.error_box.close()

    qtbot.mouseClick(bar.buttons[1], Qt.MouseButton.LeftButton)  # Use Auto
    assert combo.currentData() == "auto" and not bar.isVisible()


def test_after_the_first_restoration_the_authors_model_is_offered_with_its_time_here(
    qtbot, built_in_only, small_group
):
    window = built_in_only
    measured: list[str] = []

    def measure(preset: str, _cancel) -> float:  # a real measurement, of a small network
        measured.append(preset)
        return _tiny_seconds()

    window.offer.measure = measure
    window.offer.downloadRequested.disconnect(window.download_model)  # no network here
    assert not window.offer.bar.isVisible()
    _open(qtbot, window, small_group)
    _restore(qtbot, window)
    bar = window.offer.bar
    assert bar.isVisible()  # non-modal: a strip above the photo
    qtbot.waitUntil(lambda: "(measured)" in bar.label.text(), timeout=TIMEOUT_MS)
    text = bar.label.text()
    assert measured == ["sparnethd_attn2d"]
    assert "SPARNetHD" in text and "MB" in text and "CC BY-NC-SA" in text
    assert "Light clean-up, built in" in text  # the built-in model, named for what it does
    assert window.prefs.seconds_per_face("sparnethd_attn2d") is not None  # measured once
    with qtbot.waitSignal(window.offer.downloadRequested) as asked:
        qtbot.mouseClick(bar.buttons[0], Qt.MouseButton.LeftButton)
    assert asked.args == ["sparnethd_attn2d"] and not bar.isVisible()


def test_settings_dialog_sets_appearance_likeness_defaults_grain_and_threads(qtbot, window):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from gui.app import apply_color_scheme

    dialog = window.open_settings()
    assert dialog.isVisible() and dialog.appearance.currentData() == "system"
    assert dialog.model.findData("sparnethd") >= 0  # the toolbar's own choices
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
    dialog.likeness.setChecked(False)
    dialog.grain.setChecked(False)
    dialog.scale.setCurrentIndex(dialog.scale.findData(2))
    dialog.threads.setValue(1)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.accept()  # OK
    try:
        app = QApplication.instance()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 128  # dark now
        options = window.options.restore_options()
        assert options.runtime.identity is False and options.photo.grain_match is False
        assert options.runtime.cpu_workers == 1 and options.photo.scale == 2
        assert window.options.scale_combo.currentData() == 2  # the toolbar follows
        assert not window.view.loupe.grain_box.isChecked()
        assert window.prefs.appearance == "dark"
    finally:
        window.prefs.appearance = "light"
        apply_color_scheme(QApplication.instance(), "light")  # leave the next tests light


def test_the_shortcuts_list_has_retrain_close_and_settings(window):
    table = window.action_set.shortcuts_table()
    for command in ("Retrain", "Close Photo", "Settings"):
        assert command in table


@pytest.mark.skipif(
    __import__("engine.face_identity").face_identity.identity_reason() is not None,
    reason="the identity check (dlib) is not installed",
)
def test_faces_panel_findings_untick_words_and_an_empty_doubtful_list(
    qtbot, built_in_only, small_group
):
    window = built_in_only
    _open(qtbot, window, small_group)
    entry = _restore(qtbot, window)
    panel = window.view.faces
    assert not any(f.identity.flagged for f in entry.result.faces)  # the shipped model

    # Only doubtful faces, and there is none: the list says so instead of staying blank.
    panel.doubtful_only.setChecked(True)
    assert all(card.isHidden() for card in panel.cards)
    assert not panel.filter_note.isHidden()
    assert "passed the likeness check" in panel.filter_note.text()
    panel.doubtful_only.setChecked(False)
    assert panel.filter_note.isHidden()

    # An unticked face: its words agree with its slider (no "1.00 at 0%").
    card = panel.cards[0]
    card.accept_box.setChecked(False)
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert card.identity_label.text().startswith("Not used")
    assert "at 0%" not in card.identity_label.text()
    assert card.strength.value() == 100 and not card.strength.isEnabled()


def test_the_status_bar_forgets_another_photos_message(qtbot, window, small_group, tmp_path):
    _open(qtbot, window, small_group)
    _restore(qtbot, window)
    assert "small-group" in window.status_panel.step_label.text()
    other = tmp_path / "photos" / "other.png"
    Image.open(small_group).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)
    _open(qtbot, window, other)
    text = window.status_panel.step_label.text()
    assert "small-group" not in text and text.startswith("other.png")


def test_a_photo_named_on_the_command_line_is_there_when_the_window_first_shows(
    qtbot, settings, tiny_weights, small_group
):
    """Decoded before the event loop runs: ahead of the worker's torch import and
    detector warm-up, which are queued first."""
    from gui.main_window import MainWindow
    from gui.photo_controller import PhotoStatus

    settings.restore_on_open = False
    window = MainWindow(settings)
    qtbot.addWidget(window)
    assert not window.warmed_up  # the worker has not even started its first job
    window.work.open_at_once([small_group])
    entry = window.current
    assert entry is not None and entry.status is PhotoStatus.LOADED
    assert entry.before_image is not None and window.view.compare.split.has_image()
    assert window.view.stack.currentWidget() is window.view.compare
    window.show()
    qtbot.waitUntil(lambda: window.warmed_up, timeout=TIMEOUT_MS)
    window.close()


def test_quality_is_offered_only_for_jpeg_and_webp(qtbot, settings, tmp_path):
    from gui.export import ExportDialog

    settings.export_format = ""  # same as the original
    png = ExportDialog(None, settings, tmp_path / "family_revived.png", folder=False)
    qtbot.addWidget(png)
    assert not png.form.isRowVisible(png.quality_spin)  # a PNG original: lossless
    png.format_combo.setCurrentIndex(png.format_combo.findData("JPEG"))
    assert png.form.isRowVisible(png.quality_spin) and png.path_edit.text().endswith(".jpg")
    png.format_combo.setCurrentIndex(png.format_combo.findData("TIFF"))
    assert not png.form.isRowVisible(png.quality_spin)
    jpeg = ExportDialog(None, settings, tmp_path / "family_revived.jpg", folder=False)
    qtbot.addWidget(jpeg)
    assert jpeg.form.isRowVisible(jpeg.quality_spin)
    batch = ExportDialog(None, settings, tmp_path, folder=True, count=3)
    qtbot.addWidget(batch)
    assert batch.form.isRowVisible(batch.quality_spin)  # some photos may be JPEGs
    batch.format_combo.setCurrentIndex(batch.format_combo.findData("PNG"))
    assert not batch.form.isRowVisible(batch.quality_spin)


def test_the_inspector_left_open_comes_back_with_a_face_not_empty(
    qtbot, settings, tiny_weights, small_group
):
    from tests.gui.test_main_window import _window

    settings.model, settings.device, settings.restore_on_open = tiny_weights, "cpu", False
    first = _window(qtbot, settings)
    first.show_inspector()
    first.close()  # the inspector was open when the app closed

    again = _window(qtbot, settings)
    assert again.inspector_dock.isHidden()  # not reopened empty
    _open(qtbot, again, small_group)
    _restore(qtbot, again)
    assert again.inspector_dock.isVisible()  # back, on the first restored face
    assert again.view.inspector.face is not None and again.view.inspector.face.index == 0
    again.close()


def test_the_app_closes_while_the_offer_is_still_measuring(qtbot, built_in_only, small_group):
    """A measurement in the middle of a long pass is stopped between two layers when
    the window closes, and its thread ends (no thread left running into the exit)."""
    import threading

    from engine.model_offer import time_per_face

    window = built_in_only
    started = threading.Event()

    def slow(preset: str, cancel) -> float:  # a pass that only ends when cancelled
        started.set()
        while True:
            time_per_face("sparnethd_tiny", "cpu", cancel)

    window.offer.measure = slow
    _open(qtbot, window, small_group)
    _restore(qtbot, window)
    thread = window.offer.measuring
    assert thread is not None and started.wait(60) and thread.is_alive()
    window.close()
    assert not thread.is_alive()  # cancelled and joined by the window's close
    assert "(measured)" not in window.offer.bar.label.text()
