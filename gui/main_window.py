"""Revive's main window: the photo queue, the before / after view, faces and attention.

Everything the engine does is wrapped in a ``Job`` (see ``engine_calls``) and sent
to the one worker thread; the window only reacts to the worker's signals. Each
``PhotoEntry`` carries a generation counter so that an answer computed for an
older state of a photo's faces (accept / strength) is recognised and dropped.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.options import RestoreOptions

from . import engine_calls as calls
from .attention_inspector import AttentionInspector
from .faces_panel import FacesPanel
from .photo_queue import PhotoEntry, PhotoQueue
from .settings import MODEL_CHOICES, Settings
from .views import CompareView
from .window_actions import ActionsMixin
from .window_jobs import JobsMixin
from .window_models import ModelsMixin
from .window_parts import NO_WEIGHTS_TEXT, Banner, WelcomePage
from .window_saving import SavingMixin
from .worker import EngineHost, Job

log = logging.getLogger(__name__)

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.gif);;All files (*)"


class MainWindow(JobsMixin, ActionsMixin, SavingMixin, ModelsMixin, QMainWindow):
    """The app window. ``engine`` and ``settings`` are injectable for tests."""

    photoShown = Signal(object)  # PhotoEntry
    weightsChecked = Signal(bool)  # restoration weights present?

    def __init__(
        self,
        settings: Settings | None = None,
        engine: EngineHost | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self.engine = engine or EngineHost(parent=self)
        self._callbacks: dict[int, dict[str, Callable[..., None]]] = {}
        self._busy_jobs: set[int] = set()
        self.error_box: QMessageBox | None = None
        self.info_box: QMessageBox | None = None
        self.model_rows: list[calls.ModelRow] = []
        self.model_availability: dict[str, str | None] = {}
        self.has_weights: bool | None = None  # None until the first check answers
        self.device_text = "…"
        self.current: PhotoEntry | None = None
        self._transient_status = True
        self.retrain_dialog = None
        self.model_manager = None

        self.setWindowTitle("Revive")
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._restore_settings()

        worker = self.engine
        worker.started.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        worker.result.connect(self._on_result)
        worker.error.connect(self._on_error)
        worker.cancelled.connect(self._on_cancelled)
        worker.finished.connect(self._on_finished)
        self._update_actions()
        self.refresh_models()
        self.refresh_device()
        self.warmed_up = False
        options = self.restore_options()  # read on this thread, used on the worker's
        self.submit(
            "warm-up",
            lambda ctx: calls.warm_up(ctx.restorer(), options),
            on_result=lambda job, _: self._warmed_up(),
            on_error=lambda job, message: log.warning("warm-up failed: %s", message),
        )

    def _warmed_up(self) -> None:
        """The engine is imported and the detector built: keep the garbage collector off them.

        A full collection walks every object alive; torch, facenet and Qt leave hundreds
        of thousands, and a walk of them on the worker thread holds the GIL long enough
        (~0.3 s) to freeze the window mid-restore. One collection now (seconds after
        start, before any photo), then ``gc.freeze`` moves the survivors (nearly all of
        them live as long as the app) out of the collector's sight.
        """
        self.warmed_up = True
        gc.collect()
        gc.freeze()

    def _build_widgets(self) -> None:
        self.compare = CompareView()
        for view in self.compare.views():
            view.setAcceptDrops(False)
            view.viewport().setAcceptDrops(False)
        self.compare.faceClicked.connect(self.select_face)
        self.welcome = WelcomePage(self.open_files_dialog, self.try_sample)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.compare)
        self.banner = Banner(
            NO_WEIGHTS_TEXT,
            [("Manage models…", self.open_model_manager), ("How to train", self._show_train_help)],
        )
        self.banner.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.queue = PhotoQueue()
        self.queue.entrySelected.connect(self.show_entry)
        self.queue_dock = self._dock("Photos", self.queue, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.faces = FacesPanel()
        self.faces.faceSelected.connect(self._on_face_selected)
        self.faces.acceptedChanged.connect(self.set_face_accepted)
        self.faces.strengthChanged.connect(self.set_face_strength)
        self.faces.rerunRequested.connect(self.rerun_face)
        self.faces_dock = self._dock("Faces", self.faces, Qt.DockWidgetArea.RightDockWidgetArea)
        self.faces_dock.setMinimumWidth(250)

        self.inspector = AttentionInspector()
        self.inspector.set_overlay(self.settings.overlay_attention)
        self.inspector.overlay_box.toggled.connect(self._remember_overlay)
        self.inspector.export_button.clicked.connect(self.export_attention_grid)
        self.inspector_dock = self._dock(
            "Attention inspector", self.inspector, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.inspector_dock.hide()
        self._inspector_sized = False
        self.inspector_dock.visibilityChanged.connect(self._size_inspector)
        self.faces.inspectRequested.connect(self.show_inspector)

        # Status bar: current step, progress, Cancel; device and model on the right.
        self.step_label = QLabel("Ready")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.device_label = QLabel()
        self.model_label = QLabel()
        bar = self.statusBar()
        bar.addWidget(self.step_label, 1)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.cancel_button)
        bar.addPermanentWidget(self.device_label)
        bar.addPermanentWidget(self.model_label)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_").lower())
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _restore_settings(self) -> None:
        s = self.settings
        self._fill_model_combo()
        self._select_data(self.device_combo, s.device)
        self._select_data(self.scale_combo, s.scale)
        self.color_box.setChecked(s.color_match)
        self.model_combo.currentIndexChanged.connect(self._on_options_changed)
        self.device_combo.currentIndexChanged.connect(self._on_options_changed)
        self.scale_combo.currentIndexChanged.connect(self._on_options_changed)
        self.color_box.toggled.connect(self._on_options_changed)
        self.set_view_mode(s.view_mode)
        self.mode_actions[s.view_mode].setChecked(True)
        if (geometry := s.geometry()) is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        if (state := s.window_state()) is not None:
            self.restoreState(state)
        self._update_status_labels()

    @staticmethod
    def _select_data(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _fill_model_combo(self) -> None:
        """The three model families, then every installed restoration weight set by name."""
        wanted = self.settings.model
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        for value, text in MODEL_CHOICES:
            combo.addItem(text, value)
        for row, (value, _text) in enumerate(MODEL_CHOICES):
            why_not = self.model_availability.get(value)
            if why_not:  # e.g. no CAGFace weights: shown, but greyed out with the reason
                item = combo.model().item(row)
                item.setEnabled(False)
                item.setToolTip(why_not)
        restorers = [r for r in self.model_rows if r.kind is not None and r.kind.restores_faces]
        if restorers:
            combo.insertSeparator(combo.count())
            for row in restorers:
                combo.addItem(f"{row.info.name} ({row.info.preset})", row.info.name)
        index = combo.findData(wanted)
        combo.setCurrentIndex(index if index >= 0 else 0)
        combo.blockSignals(False)

    def restore_options(self) -> RestoreOptions:
        """The GUI's choices as ``RestoreOptions`` (attention maps always on)."""
        return RestoreOptions.of(
            model=self.model_combo.currentData() or "auto",
            device=self.device_combo.currentData() or "auto",
            scale=int(self.scale_combo.currentData() or 1),
            color_match=self.color_box.isChecked(),
            attention=True,
            masks=True,
        )

    def _on_options_changed(self) -> None:
        s = self.settings
        s.model = self.model_combo.currentData() or "auto"
        s.device = self.device_combo.currentData() or "auto"
        s.scale = int(self.scale_combo.currentData() or 1)
        s.color_match = self.color_box.isChecked()
        self.refresh_device()
        self._update_status_labels()

    def _set_restore_on_open(self, on: bool) -> None:
        self.settings.restore_on_open = bool(on)

    def _remember_overlay(self, on: bool) -> None:
        self.settings.overlay_attention = on

    def _update_status_labels(self) -> None:
        self.device_label.setText(f"Device: {self.device_text}")
        model = self.model_combo.currentText() or "Auto"
        entry = self.current
        if entry is not None and entry.result is not None and entry.result.faces:
            used = sorted({f.model for f in entry.result.faces})
            model = f"{model} → {', '.join(used)}"
        self.model_label.setText(f"Model: {model}")

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open photos", self.settings.last_folder, PHOTO_FILTER
        )
        if files:
            self.settings.last_folder = str(Path(files[0]).parent)
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a folder of photos", self.settings.last_folder
        )
        if folder:
            self.settings.last_folder = folder
            self.open_paths([folder])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self.settings.clear_recent)

    def open_paths(self, paths: list[str | Path]) -> None:
        """Files and folders (dropped, opened, or from the command line) into the queue."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self.submit(
            "collect",
            lambda ctx: calls.collect(paths),
            on_result=lambda job, found: self._add_paths(found, explicit=paths),
        )

    def _add_paths(self, found: list[Path], explicit: list[str]) -> None:
        if not found:
            self.show_error("No photos found in what was opened (JPEG, PNG, TIFF, WebP, BMP).")
            return
        first = None
        for path in found:
            path = Path(path)
            entry = self.queue.find(path)
            if entry is None:
                entry = self.queue.add(PhotoEntry(path.name, path))
                self._load(entry)
            elif entry.status == "error":
                self._load(entry)  # try again: the file may have been fixed
            first = first or entry
        for item in explicit:
            if Path(item).is_file():
                self.settings.add_recent(item)
        if first is not None:
            self.queue.select(first)  # what was just opened is what the user wants to see

    def _load(self, entry: PhotoEntry) -> None:
        entry.status, entry.detail = "loading", ""
        self.queue.refresh(entry)
        path = entry.path
        self.submit(
            "load",
            lambda ctx: calls.load(path),
            payload=entry,
            on_result=self._on_loaded,
            on_error=self._on_entry_error,
        )

    def _on_loaded(self, job: Job, loaded: calls.Loaded) -> None:
        entry: PhotoEntry = job.payload
        if entry not in self.queue.entries:
            return
        entry.photo = loaded.photo
        entry.before_image = loaded.image
        entry.status = "loaded"
        self.queue.set_thumbnail(entry, QPixmap.fromImage(loaded.thumbnail))
        self.queue.refresh(entry)
        if entry is self.current:
            self.show_entry(entry)
        if self.settings.restore_on_open and self.has_weights:
            self.restore_entry(entry)

    def _on_entry_error(self, job: Job, message: str) -> None:
        entry: PhotoEntry = job.payload
        if entry in self.queue.entries:
            entry.status = "error"
            entry.detail = message
            self.queue.refresh(entry)
        self.set_status(f"Error: {message}")
        self.show_error(message)

    def close_current(self) -> None:
        entry = self.current
        if entry is None:
            return
        self.queue.remove(entry)
        self.current = None
        if self.queue.entries:
            self.queue.setCurrentRow(0)
        else:
            self.show_entry(None)
        self._update_actions()

    def show_entry(self, entry: PhotoEntry | None) -> None:
        """Make ``entry`` the photo in the big view, the faces panel and the inspector."""
        self.current = entry
        if entry is None or entry.before_image is None:
            self.stack.setCurrentWidget(self.welcome if entry is None else self.compare)
            self.compare.set_images(None, None)
            self.compare.set_faces([])
            self.faces.set_faces([], None if entry is None else "Loading…")
            self.inspector.set_face(None)
        else:
            self.stack.setCurrentWidget(self.compare)
            before = QPixmap.fromImage(entry.before_image)
            after = QPixmap.fromImage(entry.after_image) if entry.after_image else None
            self.compare.set_images(before, after)
            self._show_faces(entry)
        title = "Revive" if entry is None else f"{entry.name} — Revive"
        self.setWindowTitle(title)
        self._update_actions()
        self._update_status_labels()
        self.photoShown.emit(entry)

    def _show_faces(self, entry: PhotoEntry) -> None:
        result = entry.result
        if result is None:
            message = {
                "restoring": "Restoring…",
                "queued": "Queued for restoration…",
                "error": f"Not restored: {entry.detail}",
                "cancelled": "Restoration was cancelled. Press Restore (Ctrl+R) to run it again.",
            }.get(entry.status, "Not restored yet: press Restore (Ctrl+R).")
            self.faces.set_faces([], message)
            self.compare.set_faces([])
            self.inspector.set_face(None)
            return
        self.faces.set_faces(result.faces)
        scale = float(result.scale)
        self.compare.set_faces(
            [
                QRectF(
                    f.box[0] * scale,
                    f.box[1] * scale,
                    (f.box[2] - f.box[0]) * scale,
                    (f.box[3] - f.box[1]) * scale,
                )
                for f in result.faces
            ]
        )
        if result.faces:
            self.faces.select(0)
        else:
            self.inspector.set_face(None)

    def restore_current(self) -> None:
        if self.current is not None:
            self.restore_entry(self.current)

    def restore_all(self) -> None:
        for entry in self.queue.entries:
            if entry.status in ("loaded", "cancelled", "done") and entry.photo is not None:
                self.restore_entry(entry)

    def restore_entry(self, entry: PhotoEntry) -> Job | None:
        if entry.photo is None:
            if entry.status != "loading" and entry.path is not None:
                self._load(entry)
            return None
        if entry.status in ("queued", "restoring"):
            return None
        entry.status = "queued"
        entry.detail = ""
        self.queue.refresh(entry)
        photo, options = entry.photo, self.restore_options()

        def run(ctx) -> calls.Restored:
            return calls.restore(ctx.restorer(), photo, options, ctx.progress, ctx.cancel)

        job = self.submit(
            "restore",
            run,
            label=entry.name,
            payload=entry,
            busy=True,
            on_result=self._on_restored,
            on_error=self._on_restore_error,
            on_cancelled=self._on_restore_cancelled,
        )
        if entry is self.current:
            self._show_faces(entry)
        return job

    def _on_restored(self, job: Job, restored: calls.Restored) -> None:
        entry: PhotoEntry = job.payload
        entry.result = restored.result
        entry.after_image = restored.after
        entry.generation += 1
        entry.image_generation = entry.generation
        entry.status = "done"
        entry.detail = "; ".join(restored.result.warnings)
        self.queue.refresh(entry)
        self._update_actions()  # Save is possible from now, not only once the job winds up
        if entry is self.current:
            self.compare.set_images(
                QPixmap.fromImage(entry.before_image), QPixmap.fromImage(restored.after)
            )
            self._show_faces(entry)
            self._update_status_labels()
        self.set_status(
            f"{entry.name}: {len(restored.result.faces)} face(s) restored on "
            f"{_device_words(restored.result.device)}"
        )
        if restored.result.device:
            self.device_text = _device_words(restored.result.device)
            self._update_status_labels()

    def _on_restore_error(self, job: Job, message: str) -> None:
        entry: PhotoEntry = job.payload
        entry.status = "error"
        entry.detail = message
        self.queue.refresh(entry)
        if entry is self.current:
            self._show_faces(entry)
        self.set_status(f"Error: {message}")
        self.show_error(f"{entry.name}: {message}")

    def _on_restore_cancelled(self, job: Job) -> None:
        entry: PhotoEntry = job.payload
        entry.status = "cancelled" if entry.result is None else "done"
        self.queue.refresh(entry)
        if entry is self.current:
            self._show_faces(entry)
        self.set_status(f"Cancelled: {entry.name}")

    def _on_face_selected(self, index: int) -> None:
        entry = self.current
        if entry is None or entry.result is None or not (0 <= index < len(entry.result.faces)):
            self.inspector.set_face(None)
            return
        face = entry.result.faces[index]
        self.compare.set_selected_face(index)
        scale = float(entry.result.scale)
        x0, y0, x1, y1 = (float(v) * scale for v in face.box)
        self.compare.frame(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.inspector.set_face(face)

    def show_inspector(self) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()

    def _size_inspector(self, visible: bool) -> None:
        """The first time it opens, give the inspector room for three rows of maps."""
        if visible and not self._inspector_sized and not self.inspector_dock.isFloating():
            self._inspector_sized = True
            self.resizeDocks([self.inspector_dock], [480], Qt.Orientation.Vertical)

    def select_face(self, index: int) -> None:
        self.faces.select(index)

    def _change_face(self, index: int, **changes: Any) -> None:
        """Record a new accepted / strength for a face, then recompose in the worker."""
        entry = self.current
        if entry is None or entry.result is None:
            return
        faces = [
            dataclasses.replace(f, **changes) if f.index == index else f for f in entry.result.faces
        ]
        entry.result = dataclasses.replace(entry.result, faces=faces)
        entry.generation += 1
        generation = entry.generation
        photo, result = entry.photo, entry.result
        self.engine.cancel_all(kinds=("recompose",))  # only the newest state matters
        self.submit(
            "recompose",
            lambda ctx: calls.recompose(ctx.restorer(), photo, result, ctx.cancel),
            payload=(entry, generation),
            on_result=self._on_recomposed,
        )
        self.faces.update_face(faces[[f.index for f in faces].index(index)])
        if self.inspector.face is not None and self.inspector.face.index == index:
            self.inspector.face = faces[[f.index for f in faces].index(index)]

    def set_face_accepted(self, index: int, accepted: bool) -> None:
        self._change_face(index, accepted=accepted)

    def set_face_strength(self, index: int, strength: float) -> None:
        self._change_face(index, strength=float(strength))

    def _on_recomposed(self, job: Job, done: calls.Recomposed) -> None:
        entry, generation = job.payload
        if generation != entry.generation:
            return  # the faces changed again since; a newer recompose is on its way
        entry.result = done.result
        entry.after_image = done.after
        entry.image_generation = generation
        if entry is self.current:
            self.compare.set_after(QPixmap.fromImage(done.after))

    def rerun_face(self, index: int) -> None:
        entry = self.current
        if entry is None or entry.result is None:
            return
        entry.generation += 1
        generation = entry.generation
        photo, result, options = entry.photo, entry.result, self.restore_options()
        self.faces.set_busy(True)

        def run(ctx) -> calls.Recomposed:
            return calls.rerun_face(
                ctx.restorer(), photo, result, index, options, ctx.progress, ctx.cancel
            )

        def finished(job: Job, done: calls.Recomposed) -> None:
            self._on_recomposed(job, done)
            if job.payload[1] == entry.generation and entry is self.current:
                face = next(f for f in done.result.faces if f.index == index)
                self.faces.update_face(face)
                if self.faces.selected == index:
                    self.inspector.set_face(face)

        def done_anyway(*_args: Any) -> None:
            self.faces.set_busy(False)

        job = self.submit(
            "rerun",
            run,
            label=f"{entry.name}, face {index + 1}",
            payload=(entry, generation),
            busy=True,
            on_result=lambda j, v: (finished(j, v), done_anyway()),
            on_error=lambda j, m: (done_anyway(), self.show_error(m)),
            on_cancelled=done_anyway,
        )
        return job

    def set_view_mode(self, mode: str) -> None:
        self.compare.set_mode(mode)
        self.mode_actions[mode].setChecked(True)
        self.settings.view_mode = mode

    def _on_mode_changed(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)
        self.settings.view_mode = mode

    def _update_actions(self) -> None:
        entry = self.current
        restored = entry is not None and entry.result is not None
        ready = entry is not None and entry.photo is not None
        self.restore_action.setEnabled(bool(ready and self.has_weights is not False))
        self.restore_all_action.setEnabled(bool(self.queue.entries and self.has_weights))
        self.save_action.setEnabled(restored)
        self.save_as_action.setEnabled(restored)
        self.export_action.setEnabled(bool(self.queue.entries))
        self.close_action.setEnabled(entry is not None)
        self.cancel_action.setEnabled(self.is_busy())
        has_many = len(self.queue.entries) > 1
        self.next_action.setEnabled(has_many)
        self.previous_action.setEnabled(has_many)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            # Leave the drop handler first (the drag source waits for it to return).
            QTimer.singleShot(0, lambda: self.open_paths(paths))

    def closeEvent(self, event) -> None:  # noqa: N802
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.inspector.magnifier.hide()
        if self.retrain_dialog is not None:
            self.retrain_dialog.shutdown()  # a running training checkpoints first
        self.engine.shutdown()
        super().closeEvent(event)

    def open_url(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))


def _device_words(device: str) -> str:
    """``cpu`` / ``cuda:0 (fp16)`` / ``mps`` as the status bar says them."""
    kind, _, rest = device.partition(":")
    words = {"cpu": "CPU", "cuda": "GPU", "mps": "GPU (Apple)"}.get(kind, kind)
    return f"{words} {rest}".strip() if kind == "cuda" and rest else words
