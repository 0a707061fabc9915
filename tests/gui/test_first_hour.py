"""Issue 16, "a photographer's first hour": one test (or more) per point, on the real window.

The window runs the real engine on the CPU with tiny (untrained) weights; photos from
../shared are copied into the test's folder first. Downloads come from a server on
127.0.0.1 (tests/model_server.py); nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, QRect, Qt

from engine.models import create_model
from engine.models.presets import preset_label
from engine.paths import user_weights_dir
from engine.weights import save_weights
from gui import export
from gui.attention_inspector import (
    CONCLUSION,
    FaceSizes,
    combined_attention,
    fit,
    fit_mask,
    map_picture,
)
from gui.export import ExportChoice, ExportDialog
from gui.faces_panel import JumpSlider
from gui.imaging import heat_map, mask_tint, overlay, resize_nearest
from gui.main_window import MainWindow, fitted_geometry
from gui.photo_controller import PhotoStatus
from gui.progress_text import OverallProgress, duration_words
from tests.conftest import shared_path

pytestmark = pytest.mark.shared

PRESET = "sparnethd_tiny"
WEIGHTS = "first-hour-tiny"
TIMEOUT_MS = 120_000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_weights(user_data_dir) -> str:
    torch.manual_seed(0)
    save_weights(
        create_model(PRESET).state_dict(),
        user_weights_dir(),
        WEIGHTS,
        PRESET,
        card={"title": "first-hour test weights", "data": {"faces": 3, "size": 64}},
    )
    return WEIGHTS


@pytest.fixture
def photo(tmp_path) -> Path:
    source = shared_path("real", "sparnet", "test_hzgg.jpg")
    target = tmp_path / "photos" / source.name
    target.parent.mkdir()
    shutil.copyfile(source, target)
    return target


@pytest.fixture
def faceless(tmp_path) -> Path:
    """A photo without any face: a smooth gradient."""
    ys, xs = np.mgrid[0:120, 0:160]
    pixels = np.stack([xs * 1.5, ys * 2.0, (xs + ys) * 0.8], axis=-1).clip(0, 255)
    path = tmp_path / "photos" / "landscape.png"
    path.parent.mkdir(exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def _window(qtbot, settings, size=(1400, 900)) -> MainWindow:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitUntil(lambda: window.models.has_weights is not None, timeout=TIMEOUT_MS)
    return window


@pytest.fixture
def window(qtbot, settings, tiny_weights):
    settings.model, settings.device = tiny_weights, "cpu"
    settings.restore_on_open = False
    settings.export_format = "PNG"
    win = _window(qtbot, settings)
    yield win
    win.close()


def _open(qtbot, window, path):
    window.open_paths([path])
    qtbot.waitUntil(
        lambda: (
            (e := window.photos.find(path)) is not None
            and e.status in (PhotoStatus.LOADED, PhotoStatus.ERROR)
        ),
        timeout=TIMEOUT_MS,
    )
    return window.photos.find(path)


def _restore(qtbot, window):
    entry = window.current
    window.action_set.restore.trigger()
    qtbot.waitUntil(
        lambda: entry.status in (PhotoStatus.RESTORED, PhotoStatus.ERROR), timeout=TIMEOUT_MS
    )
    assert entry.status is PhotoStatus.RESTORED, entry.detail
    qtbot.waitUntil(lambda: not window.jobs.is_busy(), timeout=TIMEOUT_MS)
    return entry


def _error_text(window) -> str:
    box = window.messages.error_box
    return box.text() if box is not None and box.isVisible() else ""


# --- 1. a model in one click ---------------------------------------------------------------


def test_1_download_a_model_from_the_models_dialog(
    qtbot, settings, user_data_dir, tmp_path, monkeypatch, without_shipped_restorer
):
    from tests.model_server import model_server, release_checkpoint, release_entry, write_catalogue

    light, file = "sparnet_light_attn3d", "SPARNetLight_Attn3D-epoch20.pth"
    with model_server() as server:
        server.files[file] = release_checkpoint(light)
        catalogue = write_catalogue(
            tmp_path / "models.json", [release_entry(server, light, file, light)]
        )
        monkeypatch.setenv("REVIVE_CATALOGUE", str(catalogue))
        window = _window(qtbot, settings)
        assert window.banner.isVisible()
        assert [b.text() for b in window.banner.buttons][0] == "Download a model…"
        window.banner.buttons[0].click()
        dialog = window.models.model_manager
        assert dialog.tabs.currentIndex() == 1  # straight to the Download tab
        qtbot.waitUntil(lambda: dialog.catalogue_table.rowCount() == 1, timeout=TIMEOUT_MS)
        assert dialog.catalogue_table.item(0, 0).text() == preset_label(light)
        assert dialog.catalogue_table.item(0, 3).text() == "Not installed"
        assert "CC BY-NC-SA" in dialog.entry_card.toPlainText()
        assert dialog.download_button.isEnabled()
        seen = []
        server.gate = __import__("threading").Event()  # hold the bytes: see the progress bar
        dialog.download_button.click()
        qtbot.waitUntil(dialog.download_progress.isVisible, timeout=TIMEOUT_MS)
        assert dialog.cancel_download_button.isVisible()
        dialog.downloads.busyProgress.connect(lambda job, event: seen.append(event))
        server.gate.set()
        qtbot.waitUntil(lambda: "Installed" in dialog.download_status.text(), timeout=TIMEOUT_MS)
        assert any(e.stage == "download" and e.done == e.total for e in seen)
        # The window knows at once: no banner, Restore possible.
        qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: dialog.catalogue_table.item(0, 3).text() == "Installed")
        assert not dialog.download_button.isEnabled()
        dialog.close()
        window.close()


def test_1_download_offline_says_so_in_one_line(
    qtbot, settings, user_data_dir, tmp_path, monkeypatch
):
    import socket

    from tests.model_server import write_catalogue

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    entry = {
        "name": "sparnet_light_attn3d",
        "title": "t",
        "description": "d",
        "preset": "sparnet_light_attn3d",
        "format": "face-sparnet-release",
        "files": [{"name": "x.pth", "url": f"http://127.0.0.1:{port}/x.pth"}],
        "licence": "CC BY-NC-SA 4.0",
        "source": "https://example.invalid/",
    }
    monkeypatch.setenv("REVIVE_CATALOGUE", str(write_catalogue(tmp_path / "m.json", [entry])))
    window = _window(qtbot, settings)
    window.models.open_downloads()
    dialog = window.models.model_manager
    qtbot.waitUntil(lambda: dialog.catalogue_table.rowCount() == 1, timeout=TIMEOUT_MS)
    dialog.download("sparnet_light_attn3d")
    qtbot.waitUntil(lambda: bool(_error_text(window)), timeout=TIMEOUT_MS)
    text = _error_text(window)
    assert "offline" in text and "\n" not in text and "Traceback" not in text
    assert "offline" in dialog.download_status.text()
    dialog.close()
    window.close()


# --- 4. the attention inspector --------------------------------------------------------------


def test_4_inspector_plain_words_legend_fixed_scale_input_face(qtbot, window, photo):
    _open(qtbot, window, photo)
    entry = _restore(qtbot, window)
    window.resize(1366, 728)
    window.show_inspector()
    qtbot.waitUntil(window.inspector_dock.isVisible)
    inspector = window.view.inspector
    window.view.faces.select(0)
    face = entry.result.faces[0]
    assert "Where the network looked" in inspector.title.text()
    assert inspector.conclusion.isVisible() and inspector.conclusion.text().endswith(CONCLUSION)
    assert inspector.conclusion.text().startswith("<b>Face 1:")  # its own sentence first
    assert "eyes, nose, mouth" in CONCLUSION
    assert inspector.legend is not None and inspector.legend.isVisible()
    assert not inspector.stretch_box.isChecked()  # one fixed scale by default
    # The combined map comes first, over the face as it went in.
    first = inspector._content_layout.itemAt(0).widget()
    assert inspector.summary_tile is not None and first.isAncestorOf(inspector.summary_tile)
    want = map_picture(
        combined_attention(face.attention), FaceSizes(face.crop_before), True, False, 64
    )
    assert np.array_equal(inspector.summary_tile.draw(64), want)
    assert np.array_equal(
        want,
        overlay(
            fit(face.crop_before, 64),
            resize_nearest(heat_map(combined_attention(face.attention)), (64, 64)),
        ),
    )
    # Masks (the shipped face-parts network) are tinted over the input face.
    assert face.masks and inspector.mask_tiles
    name = sorted(face.masks)[0]
    tile = next(t for t in inspector.mask_tiles if t.caption == name)
    from gui.attention_inspector import MASK_TINTS

    expected = mask_tint(
        fit(face.crop_before, 44), fit_mask(face.masks[name], 44), MASK_TINTS[name]
    )
    assert np.array_equal(tile.draw(44), expected)
    # Fixed scale: a unit's map keeps its own values; stretching is an option.
    inspector.overlay_box.setChecked(False)
    amap = face.attention[0]
    fixed = inspector.map_tiles[0].draw(32)
    assert np.array_equal(fixed, resize_nearest(heat_map(amap.values), (32, 32)))
    inspector.stretch_box.setChecked(True)
    assert window.settings.stretch_attention
    # The photo keeps most of the height at 1366 x 768.
    qtbot.wait(50)
    assert window.view.stack.height() >= 0.45 * window.centralWidget().height() + 0
    assert window.view.stack.height() > 300


# --- 5. without a restoration model ------------------------------------------------------------


def test_5_without_a_model_the_app_is_consistent(
    qtbot, settings, user_data_dir, photo, without_shipped_restorer
):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    # At once, before the engine has even loaded: the banner and greyed commands.
    assert window.banner.isVisible()
    assert not window.action_set.sample.isEnabled()
    assert not window.view.welcome.sample_button.isEnabled()
    assert window.view.welcome.sample_note.isVisible()
    qtbot.waitUntil(lambda: window.models.has_weights is not None, timeout=TIMEOUT_MS)
    assert window.models.has_weights is False and window.banner.isVisible()
    assert "No face-restoration model" in window.banner.label.text()
    # A photo still opens and its faces are found (MTCNN works offline, without a model).
    window.open_paths([photo])
    entry = None

    def found():
        nonlocal entry
        entry = window.photos.find(photo)
        return entry is not None and entry.found is not None

    qtbot.waitUntil(found, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(window.view.faces.found_cards) == 3, timeout=TIMEOUT_MS)
    header = window.view.faces.header.text()
    assert "3 face(s) found" in header and "Download" in header
    assert "press Restore" not in header.lower() and "Press Restore" not in header
    assert not window.action_set.restore.isEnabled()
    assert "needs a face-restoration model" in window.action_set.restore.toolTip()
    assert len(window.view.compare.split.face_items()) == 3
    window.close()


def test_5_selftest_says_incomplete_without_a_model(tmp_path):
    from engine.app.selftest import NO_RESTORER, Outcome, verdict

    outcomes = [
        Outcome("torch", "ok", "", 0.1),
        Outcome("restore a face (CPU)", "skip", NO_RESTORER, 0.0),
    ]
    line = verdict(outcomes, 3.0)
    assert line.startswith("selftest incomplete") and "passed" not in line
    assert "NOT tested" in line and "revive models download" in line
    assert verdict([Outcome("torch", "ok", "", 0.1)], 1.0).startswith("selftest passed")
    assert verdict([Outcome("x", "FAIL", "", 0.1)], 1.0).startswith("selftest FAILED")


# --- 6. the window fits the screen ---------------------------------------------------------------


def test_6_fitted_geometry_keeps_the_window_on_the_screen():
    area = QRect(0, 0, 1366, 728)
    fitted = fitted_geometry(QRect(300, 200, 1400, 900), area)
    assert fitted.width() <= 1366 and fitted.height() <= 728 - 32
    assert area.contains(fitted.topLeft()) and fitted.right() <= area.right()
    assert fitted_geometry(QRect(10, 10, 800, 600), area) == QRect(10, 10, 800, 600)


def test_6_window_fits_1366x768_and_remembers_its_geometry(qtbot, settings, tiny_weights, photo):
    settings.model, settings.device, settings.restore_on_open = tiny_weights, "cpu", False
    window = _window(qtbot, settings, size=(1366, 700))
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 700, hint
    _open(qtbot, window, photo)
    window.action_set.restore.trigger()
    qtbot.waitUntil(window.status_panel.cancel_button.isVisible, timeout=TIMEOUT_MS)
    rect = window.rect()
    for widget in (
        window.status_panel.cancel_button,
        window.status_panel.progress_bar,
        window.view.faces,
        window.statusBar(),
    ):
        corner = widget.mapTo(window, QPoint(widget.width() - 1, widget.height() - 1))
        assert rect.contains(corner), widget
    qtbot.waitUntil(lambda: not window.jobs.is_busy(), timeout=TIMEOUT_MS)
    # Remembered: a later start on this (offscreen, 800 x 600) screen gets the size back,
    # shrunk to fit.
    window.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    area = again.screen().availableGeometry()
    assert again.width() <= area.width() and again.height() <= area.height()
    again.close()


def test_6_on_a_2x_screen_of_1366x768_everything_shows(tmp_path):
    """A real 1366 x 768 screen at device pixel ratio 2 (Qt's offscreen screen config)."""
    config = tmp_path / "screen.json"
    config.write_text(
        '{"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768,'
        ' "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 2}]}'
    )
    script = (
        "import sys\n"
        "from PySide6.QtCore import QPoint, QSettings\n"
        "from gui.app import create_app\n"
        "from gui.main_window import MainWindow\n"
        "from gui.settings import Settings\n"
        "app = create_app()\n"
        f"ini = r'{tmp_path / 's.ini'}'\n"
        "w = MainWindow(Settings(QSettings(ini, QSettings.Format.IniFormat)))\n"
        "w.show()\n"
        "for _ in range(5): app.processEvents()\n"
        "s = w.screen()\n"
        "area = s.availableGeometry()\n"
        "ok = area.contains(w.frameGeometry()) and s.devicePixelRatio() == 2\n"
        "for part in (w.statusBar(), w.faces_dock, w.toolbar):\n"
        "    c = part.mapTo(w, QPoint(part.width() - 1, part.height() - 1))\n"
        "    ok = ok and w.rect().contains(c)\n"
        "print(w.width(), w.height(), s.devicePixelRatio(), ok)\n"
        "w.close(); sys.exit(0 if ok else 1)\n"
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "REVIVE_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    width, height = (int(v) for v in done.stdout.split()[:2])
    assert width <= 1366 and height <= 768


# --- 7. progress ----------------------------------------------------------------------------------


def test_7_one_percentage_with_the_stage_in_words_and_the_time_left():
    from engine.progress import ProgressEvent

    now = [0.0]
    progress = OverallProgress("family.jpg", batch=(3, 7), clock=lambda: now[0])
    shown = [progress.update(ProgressEvent("decode", 1, 1))]
    for stage, total in (("detect", 1), ("align", 29), ("restore", 29), ("paste", 29)):
        for done in range(total + 1):
            now[0] += 0.5
            shown.append(progress.update(ProgressEvent(stage, done, total)))
    percents = [s.percent for s in shown]
    assert percents == sorted(percents)  # never starts again
    assert 28 <= percents[0] <= 29 and 42 <= percents[-1] <= 43  # photo 3 of 7
    middle = shown[len(shown) // 2]
    assert middle.text.startswith("Photo 3 of 7 · family.jpg · Restoring faces:")
    assert "of 29 faces" in middle.text and middle.remaining_s is not None
    assert "left" in middle.line()
    assert duration_words(40) == "about 40 s" and duration_words(600) == "about 10 min"
    assert duration_words(36_000) == "about 10 h"


def test_7_restore_all_says_photo_n_of_m_and_the_bar_is_readable(qtbot, window, photo):
    second = photo.with_name("second.jpg")
    shutil.copyfile(photo, second)
    window.open_paths([photo.parent])
    qtbot.waitUntil(
        lambda: (
            len(window.photos.entries) == 2
            and all(e.status is PhotoStatus.LOADED for e in window.photos.entries)
        ),
        timeout=TIMEOUT_MS,
    )
    texts, percents = [], []

    def heard(job, event):
        texts.append(window.status_panel.step_label.text())
        percents.append(window.status_panel.percent)

    window.jobs.busyProgress.connect(heard)
    window.action_set.restore_all.trigger()
    qtbot.waitUntil(
        lambda: all(e.status is PhotoStatus.RESTORED for e in window.photos.entries),
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: not window.jobs.is_busy(), timeout=TIMEOUT_MS)
    assert any(t.startswith("Photo 1 of 2") for t in texts)
    assert any(t.startswith("Photo 2 of 2") for t in texts)
    assert percents == sorted(percents) and percents[-1] >= 95
    assert window.status_panel.progress_bar.width() >= 200
    assert window.status_panel.progress_bar.format() == "%p%"


# --- 8. the faces panel ---------------------------------------------------------------------


def test_8_faces_panel_counts_names_and_bulk_choices(qtbot, window, photo):
    _open(qtbot, window, photo)
    entry = _restore(qtbot, window)
    panel = window.view.faces
    assert "3 face(s) restored, all used" in panel.header.text()
    card = panel.card(0)
    assert "score" not in card.title.text() and PRESET not in card.title.text()
    assert "px wide" in card.title.text() and preset_label(PRESET) in card.title.text()
    qtbot.mouseClick(
        card.accept_box, Qt.MouseButton.LeftButton, pos=QPoint(8, card.accept_box.height() // 2)
    )
    assert "3 face(s) restored, 2 used" in panel.header.text()
    panel.use_none_button.click()
    assert "none used" in panel.header.text()
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert not any(f.accepted for f in entry.result.faces)
    assert np.array_equal(entry.result.image, entry.photo.pixels)  # nothing pasted
    panel.use_all_button.click()
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert all(f.accepted for f in entry.result.faces)
    assert all(c.accept_box.isChecked() for c in panel.cards)


def test_8_a_click_on_the_slider_track_jumps_there(qtbot):
    slider = JumpSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(100)
    qtbot.addWidget(slider)
    slider.resize(300, 24)
    slider.show()
    qtbot.waitExposed(slider)
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(75, 12))
    assert 15 <= slider.value() <= 30  # near the click, not 100 - a page step (90)


# --- 9. compare ----------------------------------------------------------------------------


def test_9_face_outlines_can_be_hidden_and_the_run_ends_on_the_whole_photo(qtbot, window, photo):
    _open(qtbot, window, photo)
    _restore(qtbot, window)
    split = window.view.compare.split
    assert split.is_fit  # not zoomed on face 1
    items = split.face_items()
    assert items and all(i.isVisible() for i in items)
    window.set_view_mode("after")
    window.action_set.face_boxes.trigger()  # B
    assert not any(i.isVisible() for i in split.face_items())
    assert not window.settings.show_face_boxes
    window.action_set.face_boxes.trigger()
    assert all(i.isVisible() for i in split.face_items())


# --- 10. errors ----------------------------------------------------------------------------


def test_10_three_bad_files_one_dialog_listing_all(qtbot, window, tmp_path):
    bad = []
    for name in ("a.jpg", "b.png", "c.tif"):
        path = tmp_path / name
        path.write_bytes(b"not a photo at all" * 20)
        bad.append(path)
    window.open_paths(bad)
    qtbot.waitUntil(lambda: len(window.messages.errors) == 3, timeout=TIMEOUT_MS)
    text = window.messages.error_box.text()
    assert text.startswith("3 problems") and all(p.name in text for p in bad)
    # The failed photo is shown as failed, not "Loading…" forever.
    window.photos.select(window.photos.find(bad[0]))
    assert window.view.stack.currentWidget() is window.view.error_page
    assert "could not be opened" in window.view.error_page.text()
    assert "Loading" not in window.view.faces.header.text()


def test_10_a_photo_without_a_face_is_simply_enlarged(qtbot, window, faceless):
    window.options.scale_combo.setCurrentIndex(window.options.scale_combo.findData(2))
    entry = _open(qtbot, window, faceless)
    qtbot.waitUntil(lambda: entry.found is not None, timeout=TIMEOUT_MS)
    assert "No face found" in window.view.faces.header.text()
    assert window.action_set.restore.isEnabled()
    _restore(qtbot, window)
    assert entry.result.faces == [] and entry.result.image.shape[:2] == (240, 320)
    assert "only enlarged 2×" in window.view.faces.header.text()
    window.action_set.save.trigger()
    qtbot.waitUntil(lambda: entry.saved_to is not None, timeout=TIMEOUT_MS)
    assert Image.open(entry.saved_to).size == (320, 240)


def test_10_a_damaged_checkpoint_import_is_said_in_words(qtbot, window, tmp_path):
    bad = tmp_path / "SPARNetHD_V4_Attn2D_net_H-epoch10.pth"
    bad.write_bytes(b"PK\x03\x04" + bytes(2000))  # a cut-off download
    dialog = window.models.open_model_manager()
    dialog.import_checkpoint(bad)
    qtbot.waitUntil(lambda: bool(_error_text(window)), timeout=TIMEOUT_MS)
    text = _error_text(window)
    assert "damaged or incomplete" in text and "miniz" not in text and "zip" not in text.lower()
    dialog.close()


# --- 11. saving ----------------------------------------------------------------------------


def test_11_save_twice_keeps_the_first_and_export_names_the_skipped(qtbot, window, photo, tmp_path):
    entry = _open(qtbot, window, photo)
    _restore(qtbot, window)
    window.action_set.save.trigger()
    qtbot.waitUntil(lambda: entry.saved_to is not None, timeout=TIMEOUT_MS)
    first = entry.saved_to
    first_bytes = first.read_bytes()
    entry.saved_to = None
    window.view.faces.use_none_button.click()  # a change, then Ctrl+S again
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    window.action_set.save.trigger()
    qtbot.waitUntil(lambda: entry.saved_to is not None, timeout=TIMEOUT_MS)
    assert entry.saved_to.name == "test_hzgg_revived-2.png" and first.read_bytes() == first_bytes
    assert "already exists and was kept" in window.status_panel.step_label.text()

    broken = photo.with_name("broken.jpg")
    broken.write_bytes(b"\xff\xd8\xff nothing")
    window.open_paths([broken])
    qtbot.waitUntil(lambda: bool(window.messages.errors), timeout=TIMEOUT_MS)
    window.messages.error_box.close()
    out = tmp_path / "exported"
    window.saving.start_batch_export(window.photos.exportable(), ExportChoice(out, "PNG", 90))
    qtbot.waitUntil(lambda: bool(_error_text(window)), timeout=TIMEOUT_MS)
    text = _error_text(window)
    assert text.startswith("1 of 2 photo(s) saved") and "skipped" in text and "broken.jpg" in text


def test_11_save_as_shows_the_whole_file_name(qtbot, settings, tmp_path):
    long = tmp_path / "a folder with a long name" / "grandmother_1931_wedding_portrait_revived.jpg"
    dialog = ExportDialog(None, settings, long, folder=False)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.path_edit
    assert edit.width() >= edit.fontMetrics().horizontalAdvance(str(long))
    assert export.BY_NAME["JPEG"].suffix == ".jpg"


# --- 12. the Models and Retrain dialogs ---------------------------------------------------


def test_12_model_card_in_words_and_columns_that_fit(qtbot, window):
    dialog = window.models.open_model_manager()
    qtbot.waitUntil(lambda: any(r.info.name == WEIGHTS for r in dialog.rows), timeout=TIMEOUT_MS)
    row = [r.info.name for r in dialog.rows].index(WEIGHTS)
    dialog.table.selectRow(row)
    card = dialog.card.toPlainText()
    assert "{" not in card and "'" not in card
    assert "Trained on" in card and "Faces: 3" in card
    header = dialog.table.horizontalHeader()
    assert header.sectionResizeMode(0) == header.ResizeMode.Stretch
    assert [dialog.table.horizontalHeaderItem(c).text() for c in range(4)] == [
        "Model",
        "What it does",
        "Size",
        "Files",
    ]
    dialog.close()


def test_12_retrain_speaks_plainly_and_measures_a_step(qtbot, window, tmp_path):
    pytest.importorskip("training.api")
    from tests.training_util import TINY_SPARNET, make_pack, tiny_config

    window.models.open_retrain()
    dialog = window.models.retrain_dialog
    labels = [dialog.model_combo.itemText(i) for i in range(dialog.model_combo.count())]
    assert dialog.model_combo.currentData() == "restorer"
    assert not any(":" in label or "_" in label for label in labels)
    assert dialog.steps_spin.value() <= 500 and not dialog.log.isVisible()
    pack = make_pack(tmp_path / "pack", n=8, size=32)
    config = tiny_config("sparnet_x8", pack, tmp_path / "run", model_overrides=TINY_SPARNET)
    dialog.config_from_form = lambda: config  # the tiny network instead of the real one
    dialog.data_edit.setText(str(pack))
    with qtbot.waitSignal(dialog.measured, timeout=TIMEOUT_MS) as blocker:
        dialog.measure()
    seconds = blocker.args[0]
    assert 0 < seconds < 60
    assert dialog.estimate.text().startswith("One step takes")
    assert "steps take about" in dialog.estimate.text()
    assert dialog.steps_spin.value() >= 20  # chosen to take about ten minutes
    dialog.steps_spin.setValue(100)  # the user's choice stays, the estimate follows
    assert "100 steps take" in dialog.estimate.text()
    dialog.close()
