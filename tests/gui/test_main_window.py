"""The real main window driving the real Restorer (tiny test preset, CPU) on a real photo.

Photos from ../shared are copied into the test's temporary folder first, so saving
"beside the original" writes there and never next to the shared data.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication

from engine.models import create_model
from engine.models.blocks import FaceAttentionUnit
from engine.models.presets import preset_label
from engine.paths import user_weights_dir
from engine.weights import save_weights
from gui import export
from gui.engine_calls import likeness_due
from gui.export import ExportChoice
from gui.main_window import MainWindow
from gui.photo_controller import PhotoStatus
from tests.conftest import shared_path

pytest.importorskip("engine.pipeline", reason="needs the pipeline (branch pipeline)")
pytestmark = pytest.mark.shared

PRESET = "sparnethd_tiny"
WEIGHTS = "gui-test-tiny"
TIMEOUT_MS = 120_000


@pytest.fixture
def tiny_weights(user_data_dir) -> str:
    torch.manual_seed(0)
    save_weights(
        create_model(PRESET).state_dict(),
        user_weights_dir(),
        WEIGHTS,
        PRESET,
        card={"title": "GUI test weights", "data": "random (untrained)"},
    )
    return WEIGHTS


@pytest.fixture
def photo(tmp_path) -> Path:
    source = shared_path("real", "sparnet", "test_hzgg.jpg")
    target = tmp_path / "photos" / source.name
    target.parent.mkdir()
    shutil.copyfile(source, target)
    return target


def _window(qtbot, settings) -> MainWindow:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitUntil(lambda: window.models.has_weights is not None, timeout=TIMEOUT_MS)
    return window


@pytest.fixture
def window(qtbot, settings, tiny_weights):
    settings.model = tiny_weights
    settings.device = "cpu"
    settings.restore_on_open = False
    settings.export_format = "PNG"  # lossless, so pixels can be compared exactly
    win = _window(qtbot, settings)
    assert win.models.has_weights and not win.banner.isVisible()
    yield win
    win.close()


def _open(qtbot, window: MainWindow, path: Path):
    window.open_paths([path])

    def loaded() -> bool:
        entry = window.photos.find(path)
        return entry is not None and entry.status in (PhotoStatus.LOADED, PhotoStatus.ERROR)

    qtbot.waitUntil(loaded, timeout=TIMEOUT_MS)
    assert window.current is window.photos.find(path)  # what was opened is shown
    return window.current


def _restore(qtbot, window: MainWindow):
    entry = window.current
    window.action_set.restore.trigger()
    qtbot.waitUntil(
        lambda: entry.status in (PhotoStatus.RESTORED, PhotoStatus.ERROR, PhotoStatus.CANCELLED),
        timeout=TIMEOUT_MS,
    )
    assert entry.status is PhotoStatus.RESTORED, entry.detail
    # the likeness figures follow the shown photo (test_faces_identity.py): wait for them too
    qtbot.waitUntil(lambda: not likeness_due(entry.result), timeout=TIMEOUT_MS)
    return entry


def _wait_saved(qtbot, window: MainWindow, entry) -> None:
    """Until the entry is saved; a failure says what the app said instead."""

    def saved_or_error() -> bool:
        box = window.messages.error_box
        return entry.saved_to is not None or (box is not None and box.isVisible())

    qtbot.waitUntil(saved_or_error, timeout=TIMEOUT_MS)
    box = window.messages.error_box
    assert entry.saved_to is not None, box.text() if box is not None else entry.detail


def _face_region(image: np.ndarray, box: np.ndarray, scale: int = 1) -> np.ndarray:
    x0, y0, x1, y1 = (np.asarray(box) * scale).round().astype(int)
    return image[max(0, y0) : y1, max(0, x0) : x1].astype(np.int32)


def test_restore_reject_a_face_save_and_inspect_attention(qtbot, window, photo, tmp_path):
    from engine.io import load_photo

    entry = _open(qtbot, window, photo)
    assert entry.photo is not None and window.view.compare.split.has_image()
    _restore(qtbot, window)

    faces = entry.result.faces
    assert len(faces) == 3  # test_hzgg.jpg: three people
    assert [c.index for c in window.view.faces.cards] == [0, 1, 2]
    assert window.view.compare.split.has_after()
    assert window.status_panel.model_label.text() == f"Model: {preset_label(PRESET)}"
    assert window.status_panel.device_label.text() == "Device: CPU"

    # Reject face 1 (click its check box): recomposed without it.
    card = window.view.faces.card(0)
    box_centre = QPoint(8, card.accept_box.height() // 2)  # on the tick box itself
    qtbot.mouseClick(card.accept_box, Qt.MouseButton.LeftButton, pos=box_centre)
    assert not card.accept_box.isChecked()
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert entry.result.faces[0].accepted is False

    window.action_set.save.trigger()
    _wait_saved(qtbot, window, entry)
    assert entry.saved_to.parent == photo.parent and entry.saved_to != photo
    saved = load_photo(entry.saved_to).pixels
    original = load_photo(photo).pixels
    assert saved.shape == original.shape
    rejected = np.abs(_face_region(saved, faces[0].box) - _face_region(original, faces[0].box))
    kept = np.abs(_face_region(saved, faces[1].box) - _face_region(original, faces[1].box))
    assert rejected.max() == 0  # not pasted at all
    assert kept.mean() > 5  # the (random-weight) restoration was pasted there

    # Attention inspector: one map per Face Attention Unit of the model.
    fau_count = sum(isinstance(m, FaceAttentionUnit) for m in create_model(PRESET).modules())
    window.action_set.inspector.trigger()
    qtbot.waitUntil(window.inspector_dock.isVisible)
    assert window.view.compare.split.is_fit  # the run ended on the whole photo
    qtbot.mouseClick(window.view.faces.card(1), Qt.MouseButton.LeftButton, pos=QPoint(40, 6))
    assert window.view.inspector.face is not None and window.view.inspector.face.index == 1
    assert len(window.view.inspector.map_tiles) == fau_count == len(faces[1].attention)
    captions = [t.caption for t in window.view.inspector.map_tiles]
    assert any(c.startswith("encoder") for c in captions)
    assert any(c.startswith("body") for c in captions)
    assert any(c.startswith("decoder") for c in captions)
    assert all(c.endswith("px") for c in captions)
    # Clicking a face's card frames it: the view zoomed in on its box.
    assert not window.view.compare.split.is_fit
    box = faces[1].box
    centre = window.view.compare.split.view_state().center
    assert box[0] <= centre.x() <= box[2] and box[1] <= centre.y() <= box[3]

    # Hovering a map shows it enlarged; leaving hides it.
    tile = window.view.inspector.map_tiles[0]
    QApplication.sendEvent(tile, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert window.view.inspector.magnifier.isVisible()
    assert window.view.inspector.magnifier.pixmap().width() >= 300
    QApplication.sendEvent(tile, QEvent(QEvent.Type.Leave))
    assert not window.view.inspector.magnifier.isVisible()

    grid = window.view.inspector.export_png(tmp_path / "attention grid")
    assert grid.suffix == ".png" and grid.stat().st_size > 1000
    assert load_photo(grid).width >= 5 * 100


def test_cancel_stops_a_run_midway(qtbot, window, photo):
    entry = _open(qtbot, window, photo)
    gate, held, stages = threading.Event(), threading.Event(), []

    def hold_at_detection(job, event):  # runs on the worker thread (a direct call)
        stages.append(event.stage)
        if event.stage == "detect" and event.done == 1:
            held.set()
            gate.wait(30)  # hold the worker, faces found, until the test has pressed Cancel

    window.jobs.host.worker.progress.connect(hold_at_detection, Qt.ConnectionType.DirectConnection)
    try:
        window.action_set.restore.trigger()
        qtbot.waitUntil(held.is_set, timeout=TIMEOUT_MS)
        qtbot.waitUntil(window.status_panel.cancel_button.isVisible)
        assert window.action_set.cancel.isEnabled()
        qtbot.mouseClick(window.status_panel.cancel_button, Qt.MouseButton.LeftButton)
        pressed = time.perf_counter()
        landed = []
        window.jobs.host.worker.cancelled.connect(
            lambda job: landed.append(time.perf_counter()), Qt.ConnectionType.DirectConnection
        )
        gate.set()
        qtbot.waitUntil(lambda: entry.status is PhotoStatus.CANCELLED, timeout=TIMEOUT_MS)
        print(f"cancel landed {1000 * (landed[0] - pressed):.0f} ms after the click")
    finally:
        gate.set()
        window.jobs.host.worker.progress.disconnect(hold_at_detection)
    assert entry.result is None
    assert "restore" not in stages and "paste" not in stages  # stopped before the network
    qtbot.waitUntil(lambda: not window.jobs.is_busy())
    assert not window.status_panel.cancel_button.isVisible()
    assert "Cancelled" in window.status_panel.step_label.text()
    # The app goes on: the same photo restores fine afterwards.
    _restore(qtbot, window)
    assert len(entry.result.faces) == 3


def test_corrupt_file_shows_an_error_and_the_app_stays_usable(qtbot, window, photo, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG" + bytes(200))
    window.open_paths([broken])
    qtbot.waitUntil(
        lambda: window.messages.error_box is not None and window.messages.error_box.isVisible()
    )
    assert "broken.jpg" in window.messages.error_box.text()
    entry = window.photos.find(broken)
    assert entry is not None and entry.status is PhotoStatus.ERROR
    window.messages.error_box.close()

    good = _open(qtbot, window, photo)
    _restore(qtbot, window)
    assert len(good.result.faces) == 3


# What runs the photo through the networks; none of it may run on the GUI thread.
PROCESSING = ("engine.pipeline", "engine.face_engines", "engine.faces", "engine.models",
              "engine.networks", "engine.enlarge",
              "engine.io.read", "engine.io.write", "engine.io.decode", "torch")  # fmt: skip
DESCRIPTORS = ("engine.models.presets",)  # plain data the window reads (labels, kinds)


class RevivesOwnCode:
    """Profiles one thread: every stretch it spends in Revive's code (``gui``, ``engine``)
    from the moment the event loop calls in until it returns, in that thread's CPU time.

    CPU time of the GUI thread is what the app controls: a busy machine delays the
    thread, it does not make its own work longer. ``modules``: every module it ran.
    """

    def __init__(self) -> None:
        self.stack: list[object] = []
        self.started = 0.0
        self.slices: list[tuple[float, str]] = []  # (CPU seconds, what the event loop called)
        self.modules: set[str] = set()

    def __call__(self, frame, event, arg) -> None:
        if event == "call":
            module = frame.f_globals.get("__name__", "")
            self.modules.add(module)
            if self.stack or module.split(".")[0] in ("gui", "engine"):
                if not self.stack:
                    self.started = time.thread_time()
                self.stack.append(frame)
        elif event == "return" and self.stack and self.stack[-1] is frame:
            self.stack.pop()
            if not self.stack:
                name = f"{frame.f_globals.get('__name__')}.{frame.f_code.co_qualname}"
                self.slices.append((time.thread_time() - self.started, name))


def test_gui_thread_stays_responsive_while_a_photo_is_processed(qtbot, window, photo):
    """The GUI thread runs no processing step, and its own work is a sliver of the worker's.

    Measured in what the app controls (the GUI thread's CPU time in Revive's code, and
    which modules it runs), not in wall-clock gaps that any other process can widen;
    bench/bench_gui_responsiveness.py prints the wall-clock figure.
    """
    # The window loads the face detector on its worker at start, then freezes the garbage
    # collector's view of what exists: both before a photo is chosen.
    qtbot.waitUntil(lambda: window.warmed_up, timeout=TIMEOUT_MS)
    _open(qtbot, window, photo)
    window.options.scale_combo.setCurrentIndex(
        window.options.scale_combo.findData(4)
    )  # a 4320 x 1764 result
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(len(ticks)))
    profile = RevivesOwnCode()
    timer.start()
    cpu_before = time.process_time()
    gui_before = time.thread_time()
    sys.setprofile(profile)  # this thread only: the worker runs unprofiled
    try:
        entry = _restore(qtbot, window)
    finally:
        sys.setprofile(None)
        timer.stop()
    gui_cpu = time.thread_time() - gui_before
    worker_cpu = time.process_time() - cpu_before - gui_cpu
    longest, where = max(profile.slices)
    print(
        f"GUI thread: {len(profile.slices)} calls into Revive's code, longest {1000 * longest:.0f}"
        f" ms CPU ({where}); worker and others: {worker_cpu:.2f} s CPU; {len(ticks)} ticks"
    )
    assert entry.result is not None and entry.result.faces
    ran_here = sorted(
        m for m in profile.modules if m.startswith(PROCESSING) and m not in DESCRIPTORS
    )
    assert not ran_here, f"processing ran on the GUI thread: {ran_here}"
    assert ticks, "the event loop delivered no timer tick while the photo was processed"
    # The photo was processed elsewhere: the GUI thread's longest stretch of its own work
    # is a small share of the processing (a ratio of CPU times, not a time).
    assert longest < 0.1 * worker_cpu, (longest, where, worker_cpu)


def test_save_as_onto_the_original_needs_explicit_confirmation(qtbot, window, photo, monkeypatch):
    entry = _open(qtbot, window, photo)
    _restore(qtbot, window)
    before = photo.read_bytes()
    asked = []
    monkeypatch.setattr(
        export, "ask_save_as", lambda parent, suggestion, settings: ExportChoice(photo, None, 90)
    )
    monkeypatch.setattr(
        export, "confirm_replace_original", lambda parent, p: asked.append(p) or False
    )
    window.action_set.save_as.trigger()
    qtbot.wait(300)
    assert asked == [photo] and photo.read_bytes() == before and entry.saved_to is None

    monkeypatch.setattr(export, "confirm_replace_original", lambda parent, p: True)
    window.action_set.save_as.trigger()
    _wait_saved(qtbot, window, entry)
    assert entry.saved_to == photo and photo.read_bytes() != before


def test_batch_export_restores_and_saves_every_photo(qtbot, window, photo, tmp_path):
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
    out = tmp_path / "exported"
    window.saving.start_batch_export(window.photos.entries, ExportChoice(out, "JPEG", 80))
    qtbot.waitUntil(
        lambda: window.messages.info_box is not None and window.messages.info_box.isVisible(),
        timeout=TIMEOUT_MS,
    )
    assert sorted(p.name for p in out.iterdir()) == ["second_revived.jpg", "test_hzgg_revived.jpg"]
    assert "2 of 2 photo(s) saved" in window.messages.info_box.text()


def test_settings_are_remembered(qtbot, settings, tiny_weights):
    settings.model = tiny_weights
    first = _window(qtbot, settings)
    first.options.scale_combo.setCurrentIndex(first.options.scale_combo.findData(2))
    first.options.device_combo.setCurrentIndex(first.options.device_combo.findData("cpu"))
    first.options.color_box.setChecked(False)
    first.set_view_mode("side_by_side")
    first.close()

    again = _window(qtbot, settings)
    options = again.options.restore_options()
    assert (options.runtime.model, options.photo.scale, options.runtime.device) == (
        tiny_weights,
        2,
        "cpu",
    )
    assert options.photo.color_match is False and options.runtime.attention is True
    assert again.view.compare.mode == "side_by_side"
    again.close()


def test_without_weights_the_app_says_what_to_do(
    qtbot, settings, user_data_dir, without_shipped_restorer
):
    window = _window(qtbot, settings)
    assert window.models.has_weights is False
    assert window.banner.isVisible()
    text = window.banner.label.text()
    assert "No face-restoration model" in text and "Download" in text and "import" in text
    assert "train" in text
    assert not window.action_set.restore.isEnabled()
    assert not window.action_set.sample.isEnabled()  # greyed, with the reason
    assert "face-restoration model" in window.action_set.sample.toolTip()
    window.work.try_sample()  # even if called: a dialog says why
    assert window.messages.error_box is not None and "model" in window.messages.error_box.text()
    window.close()


def test_model_manager_lists_cards_verifies_and_reports_a_bad_import(qtbot, window, tmp_path):
    window.action_set.models.trigger()
    dialog = window.models.model_manager

    def names() -> list[str]:
        return [row.info.name for row in dialog.rows]

    # The test weights and the shipped component network, each listed once, by the name
    # a photographer reads (the set's own name in the tooltip).
    qtbot.waitUntil(lambda: WEIGHTS in names(), timeout=TIMEOUT_MS)
    assert "components_bisenet-fasseg" in names() and len(set(names())) == len(names())
    row = names().index(WEIGHTS)
    assert dialog.table.item(row, 0).text().startswith(preset_label(PRESET))
    dialog.table.selectRow(row)
    card = dialog.card.toPlainText()
    assert "GUI test weights" in card and "{" not in card and "Trained on" in card
    dialog.verify()
    qtbot.waitUntil(
        lambda: all(dialog.table.item(r, 3).text() == "fine" for r in range(len(names()))),
        timeout=TIMEOUT_MS,
    )

    not_a_checkpoint = tmp_path / "model.pth"
    not_a_checkpoint.write_bytes(b"nope")
    dialog.import_checkpoint(not_a_checkpoint)
    qtbot.waitUntil(
        lambda: window.messages.error_box is not None and window.messages.error_box.isVisible()
    )
    assert "model.pth" in window.messages.error_box.text()
    dialog.close()


def test_shortcuts(window):
    def keys(action):
        return {s.toString() for s in action.shortcuts()}

    assert "Ctrl+O" in keys(window.action_set.open)
    assert "Ctrl+S" in keys(window.action_set.save)
    assert "Ctrl+Shift+S" in keys(window.action_set.save_as)
    assert {"Ctrl+R", "F5"} <= keys(window.action_set.restore)
    assert "Esc" in keys(window.action_set.cancel)
    assert "Ctrl+0" in keys(window.action_set.zoom_fit) and "Ctrl+1" in keys(
        window.action_set.zoom_actual
    )
    assert "Ctrl+Q" in keys(window.action_set.quit)
    assert {"PgDown"} <= keys(window.action_set.next)


def _install(name: str, preset: str, seed: int) -> None:
    torch.manual_seed(seed)
    save_weights(create_model(preset).state_dict(), user_weights_dir(), name, preset)


def test_strength_and_rerun_with_other_weights(qtbot, window, photo):
    entry = _open(qtbot, window, photo)
    _restore(qtbot, window)
    original = entry.photo.pixels
    faces = entry.result.faces

    # Strength 0 on face 2: its region goes back to the original pixels.
    window.view.faces.card(1).strength.setValue(0)
    qtbot.waitUntil(lambda: entry.image_generation == entry.generation, timeout=TIMEOUT_MS)
    assert entry.result.faces[1].strength == 0.0
    image = entry.result.image

    def change(i: int) -> np.ndarray:
        return np.abs(_face_region(image, faces[i].box) - _face_region(original, faces[i].box))

    assert change(1).max() == 0
    assert change(2).mean() > 5

    # Re-run face 3 with other weights: only that face changes.
    _install("gui-test-other", PRESET, seed=1)
    window.models.weights_changed()
    qtbot.waitUntil(
        lambda: window.options.model_combo.findData("gui-test-other") >= 0, timeout=TIMEOUT_MS
    )
    window.options.model_combo.setCurrentIndex(
        window.options.model_combo.findData("gui-test-other")
    )
    before = [f.crop_after.copy() for f in entry.result.faces]
    generation = entry.generation
    window.view.faces.card(2).rerun.click()
    # while it runs, no face can be edited (an edit would make its answer stale)
    assert not window.view.faces.card(0).strength.isEnabled()
    assert not window.view.faces.card(0).accept_box.isEnabled()
    qtbot.waitUntil(
        lambda: entry.image_generation > generation and not window.jobs.is_busy(),
        timeout=TIMEOUT_MS,
    )
    after = entry.result.faces
    assert after[2].weights == "gui-test-other" and after[0].weights == WEIGHTS
    assert not np.array_equal(after[2].crop_after, before[2])
    assert np.array_equal(after[0].crop_after, before[0])
    assert after[1].strength == 0.0  # the other faces keep their settings
    assert window.view.faces.card(2).rerun.isEnabled()
    assert window.view.faces.card(0).accept_box.isEnabled()


def test_dropping_files_and_folders_queues_them(qtbot, window, photo):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    shutil.copyfile(photo, photo.with_name("another.jpg"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo.parent))])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(QPoint(300, 300), *args)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(300, 300), *args)
    window.dropEvent(drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: len(window.photos.entries) == 2, timeout=TIMEOUT_MS)
    assert sorted(e.name for e in window.photos.entries) == ["another.jpg", "test_hzgg.jpg"]
    qtbot.waitUntil(
        lambda: all(e.status is PhotoStatus.LOADED for e in window.photos.entries),
        timeout=TIMEOUT_MS,
    )
    assert all(
        not window.queue.item_of(e).icon().isNull() for e in window.photos.entries
    )  # thumbnails
    window.action_set.next.trigger()
    assert window.current is window.photos.entries[1]


def test_try_a_sample_restores_the_astronaut(qtbot, window):
    pytest.importorskip("skimage")
    window.action_set.sample.trigger()
    qtbot.waitUntil(
        lambda: (
            window.current is not None
            and window.current.status in (PhotoStatus.RESTORED, PhotoStatus.ERROR)
        ),
        timeout=TIMEOUT_MS,
    )
    entry = window.current
    assert entry.name == "astronaut (sample)" and entry.status is PhotoStatus.RESTORED, entry.detail
    assert len(entry.result.faces) == 1 and entry.path is None


def test_cagface_shows_component_masks(qtbot, settings, user_data_dir, photo):
    from PIL import Image

    from engine.weights import default_weights

    shipped = default_weights("cagface")  # the shipped CAGFace and component parser
    assert shipped is not None
    settings.model, settings.device, settings.restore_on_open = "cagface", "cpu", False
    window = _window(qtbot, settings)
    small = photo.with_name("small.png")  # a third of the size: few CAGFace x4 tiles
    with Image.open(photo) as image:
        image.resize((image.width // 3, image.height // 3), Image.Resampling.LANCZOS).save(small)
    entry = _open(qtbot, window, small)
    _restore(qtbot, window)
    window.show_inspector()
    window.view.select_face(0)
    inspector = window.view.inspector
    assert entry.result.faces[0].model == shipped.preset
    assert [t.caption for t in inspector.mask_tiles] == ["hair", "skin", "other"]
    assert inspector.map_tiles == []  # CAGFace has no Face Attention Units
    window.close()


def test_save_keeps_the_format_and_the_camera_metadata(qtbot, window, photo, settings):
    from PIL import Image

    tagged = photo.with_name("tagged.jpg")
    with Image.open(photo) as image:
        exif = Image.Exif()
        exif[0x010F] = "Revive Test Camera Co."  # Make
        exif[0x0132] = "1927:10:24 10:00:00"  # DateTime
        image.save(tagged, quality=92, exif=exif)
    settings.export_format = ""  # same as the original
    entry = _open(qtbot, window, tagged)
    _restore(qtbot, window)
    window.action_set.save.trigger()
    _wait_saved(qtbot, window, entry)
    assert entry.saved_to.name == "tagged_revived.jpg"
    with Image.open(entry.saved_to) as saved:
        assert saved.format == "JPEG"
        assert saved.getexif().get(0x010F) == "Revive Test Camera Co."
        assert saved.getexif().get(0x0132) == "1927:10:24 10:00:00"


def test_model_choices_are_enabled_when_their_weights_are_installed(window):
    combo = window.options.model_combo
    # test weights; the shipped tiny-face model; the shipped CAGFace and its parser
    for value in ("sparnethd", "sparnet", "cagface"):
        item = combo.model().item(combo.findData(value))
        assert item.isEnabled() and not item.text().endswith("(not installed)")
    assert combo.model().item(combo.findData(WEIGHTS)).isEnabled()


def test_model_choices_without_weights_say_so_with_the_reason(
    qtbot, settings, user_data_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "nothing-shipped"))
    settings.device, settings.restore_on_open = "cpu", False
    window = _window(qtbot, settings)
    combo = window.options.model_combo
    for value in ("cagface", "sparnet"):  # nothing ships and nothing is installed
        item = combo.model().item(combo.findData(value))
        assert item.text().endswith("(not installed)") and "installed" in item.toolTip()
