"""Revive's main window: the photo queue, the before / after view, faces and attention.

Everything the engine does is wrapped in a ``Job`` (see ``engine_calls``) and sent
to the one worker thread; the window only reacts to the worker's signals. Each
``PhotoEntry`` carries a generation counter so that an answer computed for an
older state of a photo's faces (accept / strength) is recognised and dropped.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QDesktopServices,
    QKeySequence,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from engine.paths import user_weights_dir
from engine.progress import ProgressEvent

from . import engine_calls as calls
from . import export
from .attention_inspector import AttentionInspector
from .export import ExportChoice
from .faces_panel import FacesPanel
from .photo_queue import PhotoEntry, PhotoQueue
from .settings import DEVICE_CHOICES, MODEL_CHOICES, SCALE_CHOICES, Settings
from .views import CompareView
from .worker import EngineHost, Job

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.gif);;All files (*)"
STAGE_WORDS = {
    "decode": "Reading",
    "detect": "Finding faces",
    "align": "Aligning faces",
    "restore": "Restoring faces",
    "paste": "Pasting faces back",
    "encode": "Saving",
    "export": "Exporting",
}
NO_WEIGHTS_TEXT = (
    "<b>No trained face-restoration weights are installed yet</b>, so Revive cannot "
    "restore faces. Import a released Face-SPARNet checkpoint (<i>Models ▸ Manage "
    "models…</i>), or train your own (<i>Models ▸ Retrain…</i> or "
    "<code>revive train</code> on a GPU machine)."
)


class Banner(QFrame):
    """A strip above the view for something the user must act on (palette colours only)."""

    def __init__(self, text: str, buttons: list[tuple[str, Callable[[], None]]]) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        self.buttons = []
        for title, slot in buttons:
            button = QPushButton(title)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons.append(button)


class WelcomePage(QWidget):
    """What the photo area shows before any photo is open."""

    def __init__(self, open_slot: Callable[[], None], sample_slot: Callable[[], None]) -> None:
        super().__init__()
        title = QLabel("<h2>Drop photos or folders here</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(
            "Every face is found, restored and pasted back. You can compare before and "
            "after, keep or reject each face, and see the attention maps behind the result."
        )
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Open photos…")
        self.sample_button = QPushButton("Try a sample")
        self.open_button.clicked.connect(open_slot)
        self.sample_button.clicked.connect(sample_slot)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(3)


class MainWindow(QMainWindow):
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

    # ================================================================= construction ====
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

    def _action(
        self,
        text: str,
        slot: Callable[..., Any],
        shortcut: QKeySequence | str | list | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        sk = QKeySequence.StandardKey
        self.open_action = self._action("&Open…", self.open_files_dialog, sk.Open, "Open photos")
        self.open_folder_action = self._action(
            "Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O", "Open every photo of a folder"
        )
        self.save_action = self._action(
            "&Save", self.save_current, sk.Save, "Save the restored photo beside the original"
        )
        self.save_as_action = self._action(
            "Save &As…", self.save_current_as, "Ctrl+Shift+S", "Save the restored photo as…"
        )
        self.export_action = self._action(
            "&Export All…",
            self.export_all,
            "Ctrl+Shift+E",
            "Restore and save every photo of the queue into a folder",
        )
        self.close_action = self._action("&Close Photo", self.close_current, sk.Close)
        self.quit_action = self._action("&Quit", self.close, sk.Quit)
        self.restore_action = self._action(
            "&Restore", self.restore_current, ["Ctrl+R", "F5"], "Restore the faces of this photo"
        )
        self.restore_all_action = self._action(
            "Restore &All", self.restore_all, "Ctrl+Shift+R", "Restore every photo of the queue"
        )
        self.cancel_action = self._action(
            "&Cancel", self.cancel, "Esc", "Stop the restoration in progress"
        )
        self.cancel_button.clicked.connect(self.cancel_action.trigger)
        self.next_action = self._action("&Next Photo", lambda: self.queue.step(1), "PgDown")
        self.previous_action = self._action("&Previous Photo", lambda: self.queue.step(-1), "PgUp")

        self.mode_group = QActionGroup(self)
        self.mode_actions: dict[str, QAction] = {}
        for mode, text, key in (
            ("split", "&Split Before / After", "1"),
            ("side_by_side", "Side &by Side", "2"),
            ("before", "&Before Only", "3"),
            ("after", "&After Only", "4"),
        ):
            action = self._action(text, lambda _=False, m=mode: self.set_view_mode(m), key)
            action.setCheckable(True)
            self.mode_group.addAction(action)
            self.mode_actions[mode] = action
        self.toggle_action = self._action(
            "&Toggle Before / After", self.compare.toggle_before_after, "\\"
        )
        self.compare.modeChanged.connect(self._on_mode_changed)
        self.zoom_in_action = self._action("Zoom &In", self.compare.zoom_in, [sk.ZoomIn, "Ctrl+="])
        self.zoom_out_action = self._action("Zoom &Out", self.compare.zoom_out, sk.ZoomOut)
        self.zoom_fit_action = self._action("&Fit in Window", self.compare.zoom_fit, "Ctrl+0")
        self.zoom_actual_action = self._action("&100%", self.compare.zoom_actual, "Ctrl+1")
        self.inspector_action = self.inspector_dock.toggleViewAction()
        self.inspector_action.setText("Attention &Inspector")
        self.inspector_action.setShortcut(QKeySequence("Ctrl+I"))

        self.models_action = self._action(
            "&Manage Models…",
            self.open_model_manager,
            "Ctrl+M",
            "Installed weights, import, verify",
        )
        self.retrain_action = self._action("&Retrain…", self.open_retrain, "Ctrl+T")
        if not self._training_available():
            self.retrain_action.setEnabled(False)
            self.retrain_action.setToolTip(
                "The training module's dialog is not available in this build; "
                "train with `revive train` on a GPU machine"
            )
            self.retrain_action.setStatusTip(self.retrain_action.toolTip())
        self.sample_action = self._action(
            "&Try a Sample", self.try_sample, None, "Degrade and restore a public-domain photo"
        )
        self.shortcuts_action = self._action(
            "&Keyboard Shortcuts", self.show_shortcuts, sk.HelpContents
        )
        self.about_action = self._action("&About Revive", self.show_about)

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open_action, self.open_folder_action])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.save_as_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addActions([self.close_action, self.quit_action])

        photo_menu = menu.addMenu("&Photo")
        photo_menu.addActions([self.restore_action, self.restore_all_action, self.cancel_action])
        photo_menu.addSeparator()
        photo_menu.addActions([self.next_action, self.previous_action])

        view_menu = menu.addMenu("&View")
        view_menu.addActions(list(self.mode_actions.values()))
        view_menu.addAction(self.toggle_action)
        view_menu.addSeparator()
        view_menu.addActions(
            [
                self.zoom_in_action,
                self.zoom_out_action,
                self.zoom_fit_action,
                self.zoom_actual_action,
            ]
        )
        view_menu.addSeparator()
        view_menu.addActions(
            [
                self.queue_dock.toggleViewAction(),
                self.faces_dock.toggleViewAction(),
                self.inspector_action,
            ]
        )

        models_menu = menu.addMenu("&Models")
        models_menu.addActions([self.models_action, self.retrain_action])
        models_menu.setToolTipsVisible(True)

        help_menu = menu.addMenu("&Help")
        help_menu.addActions([self.sample_action, self.shortcuts_action, self.about_action])

        tools = QToolBar("Main")
        tools.setObjectName("main_toolbar")
        tools.setMovable(False)
        tools.addActions([self.open_action, self.restore_action, self.cancel_action])
        tools.addSeparator()
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Which network restores the faces")
        self.model_combo.setMinimumContentsLength(14)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where the network runs")
        for value, text in DEVICE_CHOICES:
            self.device_combo.addItem(text, value)
        self.scale_combo = QComboBox()
        self.scale_combo.setToolTip("Output size: the whole photo is enlarged by this factor")
        for value in SCALE_CHOICES:
            self.scale_combo.addItem(f"{value}×", value)
        self.color_box = QCheckBox("Match colours")
        self.color_box.setToolTip("Keep each restored face's colours close to the original's")
        for label, widget in (
            ("Model", self.model_combo),
            ("Device", self.device_combo),
            ("Scale", self.scale_combo),
        ):
            caption = QLabel(f" {label} ")
            tools.addWidget(caption)
            tools.addWidget(widget)
        tools.addWidget(self.color_box)
        tools.addSeparator()
        for mode in ("split", "side_by_side", "before", "after"):
            tools.addAction(self.mode_actions[mode])
        self.addToolBar(tools)
        self.toolbar = tools

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
        restorers = [r for r in self.model_rows if r.family in calls.RESTORER_FAMILIES]
        if restorers:
            combo.insertSeparator(combo.count())
            for row in restorers:
                combo.addItem(f"{row.info.name} ({row.info.preset})", row.info.name)
        index = combo.findData(wanted)
        combo.setCurrentIndex(index if index >= 0 else 0)
        combo.blockSignals(False)

    # ===================================================================== options ====
    def restore_options(self) -> dict[str, Any]:
        """The GUI's choices as ``RestoreOptions`` fields (attention maps always on)."""
        return {
            "model": self.model_combo.currentData() or "auto",
            "device": self.device_combo.currentData() or "auto",
            "scale": int(self.scale_combo.currentData() or 1),
            "color_match": self.color_box.isChecked(),
            "attention": True,
            "masks": True,
        }

    def _on_options_changed(self) -> None:
        s = self.settings
        s.model = self.model_combo.currentData() or "auto"
        s.device = self.device_combo.currentData() or "auto"
        s.scale = int(self.scale_combo.currentData() or 1)
        s.color_match = self.color_box.isChecked()
        self.refresh_device()
        self._update_status_labels()

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

    # ======================================================================== jobs ====
    def submit(
        self,
        kind: str,
        run: Callable[[Any], Any],
        *,
        label: str = "",
        payload: Any = None,
        busy: bool = False,
        on_result: Callable[[Job, Any], None] | None = None,
        on_error: Callable[[Job, str], None] | None = None,
        on_cancelled: Callable[[Job], None] | None = None,
    ) -> Job:
        """Send ``run`` to the worker thread; ``busy`` jobs show progress and can be cancelled."""
        job = Job(kind, run, label=label, payload=payload)
        self._callbacks[job.id] = {
            k: v
            for k, v in (("result", on_result), ("error", on_error), ("cancelled", on_cancelled))
            if v is not None
        }
        if busy:
            self._busy_jobs.add(job.id)
        self.engine.submit(job)
        self._update_actions()
        return job

    def set_status(self, text: str, transient: bool = False) -> None:
        """The status line; a transient text (progress) gives way to "Ready" when idle."""
        self.step_label.setText(text)
        self._transient_status = transient

    def _on_started(self, job: Job) -> None:
        if job.kind == "restore" and isinstance(job.payload, PhotoEntry):
            job.payload.status = "restoring"
            self.queue.refresh(job.payload)
            if job.payload is self.current:
                self._show_faces(job.payload)
        if job.id in self._busy_jobs:
            self.set_status(job.label or "Working…", transient=True)
            self.progress_bar.setRange(0, 0)
            self.progress_bar.show()
            self.cancel_button.show()

    def _on_progress(self, job: Job, event: ProgressEvent) -> None:
        if job.id not in self._busy_jobs:
            return
        words = STAGE_WORDS.get(event.stage, event.stage.capitalize())
        detail = f"{words}"
        if event.stage in ("restore", "paste") and event.total:
            detail += f": face {min(event.done, event.total)} of {event.total} done"
        elif event.message:
            detail += f": {event.message}"
        prefix = f"{job.label} · " if job.label else ""
        self.set_status(prefix + detail, transient=True)
        if event.total:
            self.progress_bar.setRange(0, event.total)
            self.progress_bar.setValue(min(event.done, event.total))
            self.progress_bar.setFormat(f"{words} %v/%m")
        else:
            self.progress_bar.setRange(0, 0)

    def _on_result(self, job: Job, value: Any) -> None:
        callback = self._callbacks.get(job.id, {}).get("result")
        if callback is not None:
            callback(job, value)

    def _on_error(self, job: Job, message: str) -> None:
        callback = self._callbacks.get(job.id, {}).get("error")
        if callback is not None:
            callback(job, message)
        else:
            self.show_error(message)

    def _on_cancelled(self, job: Job) -> None:
        callback = self._callbacks.get(job.id, {}).get("cancelled")
        if callback is not None:
            callback(job)

    def _on_finished(self, job: Job) -> None:
        self._callbacks.pop(job.id, None)
        if job.id in self._busy_jobs:
            self._busy_jobs.discard(job.id)
            if not self._busy_jobs:
                self.progress_bar.hide()
                self.cancel_button.hide()
                if self._transient_status:
                    self.set_status("Ready", transient=True)
        self._update_actions()

    def is_busy(self) -> bool:
        return bool(self._busy_jobs)

    def cancel(self) -> None:
        """Stop the running restoration and every queued one (loading and saving go on)."""
        if not self._busy_jobs:
            return
        self.engine.cancel_all(kinds=("restore", "rerun", "batch", "sample"))
        self.set_status("Cancelling…", transient=True)

    def show_error(self, message: str, title: str = "Revive") -> QMessageBox:
        """Show ``message`` in a window-modal dialog that does not block the event loop."""
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok)
        box.setObjectName("error_dialog")
        box.setParent(self, box.windowFlags())
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box
        return box

    def show_info(self, message: str, title: str = "Revive") -> QMessageBox:
        if self.info_box is not None:
            self.info_box.close()
        box = QMessageBox(
            QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok
        )
        box.setParent(self, box.windowFlags())
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()
        self.info_box = box
        return box

    # ====================================================================== photos ====
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
            first = first or entry
        for item in explicit:
            if Path(item).is_file():
                self.settings.add_recent(item)
        if self.queue.current_entry() is None and first is not None:
            self.queue.select(first)

    def _load(self, entry: PhotoEntry) -> None:
        entry.status = "loading"
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

    # ================================================================= restoration ====
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
        if entry is self.current:
            self.compare.set_images(
                QPixmap.fromImage(entry.before_image), QPixmap.fromImage(restored.after)
            )
            self._show_faces(entry)
            self._update_status_labels()
        self.set_status(
            f"{entry.name}: {len(restored.result.faces)} face(s) restored on "
            f"{restored.result.device}"
        )
        if restored.result.device:
            self.device_text = restored.result.device
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

    # ======================================================================= faces ====
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
            self.resizeDocks([self.inspector_dock], [430], Qt.Orientation.Vertical)

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

    # ====================================================================== saving ====
    def _save_snapshot(self, entry: PhotoEntry):
        fresh = entry.image_generation == entry.generation
        return entry.photo, entry.result, fresh

    def save_current(self) -> None:
        """Save beside the original as ``<name>_revived.<ext>`` (Save As for a sample)."""
        entry = self.current
        if entry is None or entry.result is None:
            return
        if entry.path is None:
            self.save_current_as()
            return
        fmt = self.settings.export_format or None
        target = calls.default_output_path(entry.path, fmt)
        self._save(entry, target, fmt, self.settings.export_quality, replace_original=False)

    def save_current_as(self) -> None:
        entry = self.current
        if entry is None or entry.result is None:
            return
        fmt = self.settings.export_format or None
        suggestion = calls.default_output_path(
            entry.path, fmt, None if entry.path else self.settings.last_folder
        )
        choice = export.ask_save_as(self, suggestion, self.settings)
        if choice is None:
            return
        replace = False
        if entry.path is not None and _same_path(choice.path, entry.path):
            if not export.confirm_replace_original(self, entry.path):
                return
            replace = True
        self._save(entry, choice.path, choice.format, choice.quality, replace_original=replace)

    def _save(
        self,
        entry: PhotoEntry,
        target: Path,
        fmt: str | None,
        quality: int,
        replace_original: bool,
    ) -> Job:
        photo, result, fresh = self._save_snapshot(entry)

        def run(ctx) -> Path:
            return calls.save(
                ctx.restorer(), photo, result, target, fmt, quality, fresh, replace_original
            )

        def saved(job: Job, path: Path) -> None:
            entry.saved_to = Path(path)
            self.set_status(f"Saved {path}")

        return self.submit(
            "save",
            run,
            label=f"Saving {target.name}",
            payload=entry,
            on_result=saved,
        )

    def export_all(self) -> None:
        entries = [e for e in self.queue.entries if e.status != "error"]
        if not entries:
            return
        choice = export.ask_batch_export(self, self.settings, len(entries))
        if choice is None:
            return
        self.start_batch_export(entries, choice)

    def start_batch_export(self, entries: list[PhotoEntry], choice: ExportChoice) -> Job:
        items = []
        for e in entries:
            photo, result, fresh = self._save_snapshot(e)
            items.append((e.name, e.path, photo, result, fresh))
        options, folder = self.restore_options(), choice.path

        def run(ctx) -> calls.BatchOutcome:
            return calls.batch_export(
                ctx.restorer(),
                items,
                options,
                folder,
                choice.format,
                choice.quality,
                ctx.progress,
                ctx.cancel,
            )

        return self.submit(
            "batch",
            run,
            label="Export",
            busy=True,
            on_result=lambda job, outcome: self._on_batch_done(outcome, folder),
        )

    def _on_batch_done(self, outcome: calls.BatchOutcome, folder: Path) -> None:
        lines = [f"{len(outcome.saved)} photo(s) saved in {folder}."]
        if outcome.cancelled:
            lines.append("The export was cancelled before the end.")
        if outcome.failed:
            lines.append(f"{len(outcome.failed)} photo(s) failed:")
            lines.extend(f"• {name}: {message}" for name, message in outcome.failed[:10])
        self.set_status(lines[0])
        if outcome.failed:
            self.show_error("\n".join(lines), "Export")
        else:
            self.show_info("<br>".join(lines), "Export")

    # =================================================================== attention ====
    def export_attention_grid(self) -> None:
        face = self.inspector.face
        if face is None:
            return
        stem = self.current.path.stem if self.current and self.current.path else "sample"
        suggestion = Path(self.settings.last_folder) / f"{stem}_face{face.index + 1}_attention.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export attention maps", str(suggestion), "PNG image (*.png)"
        )
        if path:
            try:
                written = self.inspector.export_png(path)
            except OSError as err:
                self.show_error(f"Could not export the attention maps: {err}")
            else:
                self.set_status(f"Saved {written}")

    # ================================================================== view modes ====
    def set_view_mode(self, mode: str) -> None:
        self.compare.set_mode(mode)
        self.mode_actions[mode].setChecked(True)
        self.settings.view_mode = mode

    def _on_mode_changed(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)
        self.settings.view_mode = mode

    # ============================================================ models and device ====
    def refresh_models(self) -> None:
        """Re-read the installed weights (worker thread); update the combo and the banner."""
        self.submit(
            "models", lambda ctx: calls.list_models(verify=False), on_result=self._on_models
        )

    def _on_models(self, job: Job, rows: list[calls.ModelRow]) -> None:
        self.model_rows = rows
        self.has_weights = calls.has_restoration_weights(rows)
        self._fill_model_combo()
        self.banner.setVisible(not self.has_weights)
        self._update_actions()
        self._update_status_labels()
        self.weightsChecked.emit(self.has_weights)

    def weights_changed(self) -> None:
        """After an import or a training run: forget the cached networks, re-list weights."""
        self.submit("models", lambda ctx: ctx.forget_restorer())
        self.refresh_models()

    def refresh_device(self) -> None:
        choice = self.device_combo.currentData() or "auto"
        self.submit(
            "device",
            lambda ctx: (calls.devices(), calls.device_label(choice)),
            on_result=self._on_device,
            on_error=lambda job, message: self._on_device(job, (None, f"unavailable ({message})")),
        )

    def _on_device(self, job: Job, value: tuple[list[str] | None, str]) -> None:
        available, label = value
        self.device_text = label
        if available is not None:
            model = self.device_combo.model()
            for row in range(self.device_combo.count()):
                data = self.device_combo.itemData(row)
                item = model.item(row)
                if item is not None and data not in ("auto", None):
                    item.setEnabled(data in available)
        self._update_status_labels()

    def open_model_manager(self) -> None:
        from .model_manager import ModelManagerDialog

        if self.model_manager is None:
            self.model_manager = ModelManagerDialog(self)
            self.model_manager.weightsChanged.connect(self.weights_changed)
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.refresh()

    @staticmethod
    def _training_available() -> bool:
        try:
            return importlib.util.find_spec("training.api") is not None
        except (ImportError, ValueError):
            return False

    def open_retrain(self) -> None:
        if not self._training_available():
            return
        from .retrain_dialog import RetrainDialog

        if self.retrain_dialog is None:
            self.retrain_dialog = RetrainDialog(self)
            self.retrain_dialog.weightsChanged.connect(self.weights_changed)
        self.retrain_dialog.show()
        self.retrain_dialog.raise_()

    def _show_train_help(self) -> None:
        self.show_info(
            "To train your own weights, run <code>revive train --help</code> "
            "(best on a machine with a GPU), or use <i>Models ▸ Retrain…</i>. "
            f"Trained and imported weights go to <code>{user_weights_dir()}</code>.",
            "Training",
        )

    # ======================================================================== help ====
    def try_sample(self) -> None:
        """Degrade the public-domain astronaut and restore it (one click for newcomers)."""
        if self.has_weights is False:
            self.show_error(
                "The sample needs trained weights to restore it. Import a released "
                "Face-SPARNet checkpoint in Models ▸ Manage models… first."
            )
            return

        def loaded(job: Job, value: calls.Loaded) -> None:
            entry = self.queue.add(PhotoEntry("astronaut (sample)", None))
            entry.photo, entry.before_image, entry.status = value.photo, value.image, "loaded"
            self.queue.set_thumbnail(entry, QPixmap.fromImage(value.thumbnail))
            self.queue.refresh(entry)
            self.queue.select(entry)
            self.restore_entry(entry)

        self.submit(
            "sample",
            lambda ctx: calls.sample(ctx.progress),
            label="Sample",
            busy=True,
            on_result=loaded,
        )

    def show_shortcuts(self) -> None:
        actions = [
            self.open_action,
            self.open_folder_action,
            self.save_action,
            self.save_as_action,
            self.export_action,
            self.restore_action,
            self.restore_all_action,
            self.cancel_action,
            self.next_action,
            self.previous_action,
            *self.mode_actions.values(),
            self.toggle_action,
            self.zoom_in_action,
            self.zoom_out_action,
            self.zoom_fit_action,
            self.zoom_actual_action,
            self.inspector_action,
            self.models_action,
            self.quit_action,
        ]
        native = QKeySequence.SequenceFormat.NativeText
        rows = "".join(
            f"<tr><td>{a.text().replace('&', '')}</td><td><b>"
            f"{', '.join(s.toString(native) for s in a.shortcuts())}"
            "</b></td></tr>"
            for a in actions
            if a.shortcuts()
        )
        self.show_info(f"<table cellspacing=6>{rows}</table>", "Keyboard shortcuts")

    def show_about(self) -> None:
        from engine import __version__

        self.show_info(
            f"<b>Revive {__version__}</b><br>Restores the faces in old and low-quality "
            "photos with SPARNet / SPARNetHD (Chen et al., 2020) and CAGFace "
            "(Kalarot et al., 2020), and shows the attention behind every result.",
            "About Revive",
        )

    # ====================================================================== state ====
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

    # ================================================================ drag and drop ====
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
        self.engine.shutdown()
        super().closeEvent(event)

    def open_url(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
