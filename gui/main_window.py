"""Revive's main window: the parts that make it, put together.

Each part owns its state and its widgets; the window builds them, lays them out,
connects them, and handles what belongs to the window itself (title, drops, docks,
closing). Every change of a photo comes as one stream: the controller's typed
``PhotoChange`` re-emitted as ``photoChanged(entry, change)``, which each part that
shows a photo follows with its own ``on_photo`` (``gui.photo_changes``). The parts:

- ``jobs`` (``JobRunner``): the engine worker, its queue and callbacks, busy state;
- ``photos`` (``PhotoController``, Qt-free): the photo queue, statuses, current photo;
- ``work`` (``PhotoWork``): open, load, restore, re-paste and re-run faces, the sample;
- ``view`` (``PhotoView``): before / after, faces panel, attention inspector;
- ``queue`` (``PhotoQueue``): the list of photos;
- ``saving`` (``Saving``): Save, Save As, Export All, attention-grid export;
- ``models`` (``ModelsPanel``): installed weights, Manage Models, Retrain;
- ``options`` (``OptionsBar``): model, device, scale and colour choices;
- ``status_panel`` (``StatusPanel``), ``messages`` (``Messages``), ``action_set``
  (``ActionSet``): the status bar, dialogs, and every command with its shortcut.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from engine.io.formats import dialog_filter
from engine.models.presets import preset_label

from . import engine_calls as calls
from .actions import ActionSet, RecentMenu
from .appearance import apply_color_scheme
from .jobs import JobRunner
from .messages import Messages
from .model_offer import ModelOffer
from .models_panel import ModelsPanel, training_available
from .options_bar import OptionsBar
from .photo_changes import ChangeKind, PhotoChange, PhotoFollower
from .photo_controller import PhotoController, PhotoEntry
from .photo_queue import PhotoQueue
from .photo_view import PhotoView
from .photo_work import PhotoWork
from .preferences import Preferences
from .saving import Saving
from .settings import Settings
from .settings_dialog import SettingsDialog
from .status_panel import StatusPanel
from .window_parts import NO_WEIGHTS_TEXT, Banner

log = logging.getLogger(__name__)

PHOTO_FILTER = dialog_filter()
_LEFT, _RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
_BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


@dataclass(frozen=True)
class DockRow:
    """One panel around the photo: the window builds its dock and View-menu entry from it.

    ``widget`` makes (or finds) the panel from the window's parts; a panel with an
    ``on_photo(entry, change)`` method (``PhotoFollower``) hears every photo change.
    A new panel: its file plus a row.
    """

    attribute: str  # the window's attribute for the dock, e.g. ``faces_dock``
    title: str
    area: Qt.DockWidgetArea
    widget: Callable[[MainWindow], QWidget]
    shown: bool = True  # at the first start (later, the window's saved state decides)
    min_width: int = 0
    in_view_menu: bool = True  # False: a command of its own shows it (the inspector)
    beside: str = ""  # the dock it shares a column with: tabs on a narrow screen


DOCKS: tuple[DockRow, ...] = (
    DockRow("queue_dock", "Photos", _LEFT, lambda w: w.queue),
    DockRow("faces_dock", "Faces", _RIGHT, lambda w: w.view.faces, min_width=250),
    DockRow("loupe_dock", "Face loupe", _RIGHT, lambda w: w.view.loupe, beside="faces_dock"),
    DockRow(
        "inspector_dock",
        "Attention inspector",
        _BOTTOM,
        lambda w: w.view.inspector,
        shown=False,
        in_view_menu=False,
    ),
)
DEFAULT_SIZE = (1400, 900)
SCREEN_MARGIN = 24  # px kept free around the window (title bar, panels)
WIDE_SCREEN = 1700  # px: narrower, the face loupe and the Faces panel share a column


def fitted_geometry(window: QRect, area: QRect, frame: tuple[int, int] = (8, 40)) -> QRect:
    """``window`` made to fit ``area`` (a screen's free part), moved inside it if needed.

    ``frame``: the width and height the window manager adds (borders, title bar).
    """
    width = min(window.width(), max(320, area.width() - frame[0]))
    height = min(window.height(), max(240, area.height() - frame[1]))
    x = min(max(window.x(), area.left()), area.left() + area.width() - width - frame[0])
    y = min(max(window.y(), area.top()), area.top() + area.height() - height - frame[1])
    return QRect(max(area.left(), x), max(area.top(), y), width, height)


Entry = PhotoEntry[QImage]


class MainWindow(QMainWindow):
    """The app window. ``settings`` and ``jobs`` are injectable for tests."""

    photoChanged = Signal(object, object)  # PhotoEntry (or None: no photo), PhotoChange
    view: PhotoView
    queue: PhotoQueue
    # Docks of ``DOCKS`` that the window's own code names (set in ``_build_layout``).
    queue_dock: QDockWidget
    faces_dock: QDockWidget
    loupe_dock: QDockWidget
    inspector_dock: QDockWidget

    def __init__(
        self,
        settings: Settings | None = None,
        jobs: JobRunner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self.jobs = jobs or JobRunner(parent=self)
        self.photos: PhotoController[QImage] = PhotoController()
        self.photos.subscribe(self.photoChanged.emit)  # the one stream of photo changes
        self.messages = Messages(self)
        self.status_panel = StatusPanel(self.statusBar(), self.jobs)
        self.options = OptionsBar(self.settings, self.jobs, self)
        self.view = PhotoView(self.photos, self.settings, self)
        self.queue = PhotoQueue(self.photos)
        self.models = ModelsPanel(self, self.jobs, self.settings, self.messages)
        self.prefs = Preferences(self.settings.store)
        self.offer = ModelOffer(self.prefs, parent=self)
        if self.prefs.appearance != "system" and (app := QApplication.instance()) is not None:
            apply_color_scheme(app, self.prefs.appearance)
        self.work = PhotoWork(
            self.jobs,
            self.photos,
            self.options.restore_options,
            self.settings,
            self.status_panel,
            self.messages,
            lambda: self.models.believed,
            self,
        )
        self.saving = Saving(
            self,
            self.jobs,
            self.photos,
            self.settings,
            self.options.restore_options,
            self.status_panel,
            self.messages,
            self.view.inspector,
        )

        self.setWindowTitle("Revive")
        self.setAcceptDrops(True)
        self._shown_once = False
        self._build_layout()
        self.action_set = ActionSet(
            self, self.inspector_dock.toggleViewAction(), training_available()
        )
        self.recent_menu = RecentMenu(self.settings, lambda path: self.open_paths([path]), self)
        self.action_set.build_menus(
            [self.docks[row.attribute] for row in DOCKS if row.in_view_menu], self.recent_menu
        )
        self.toolbar = self.action_set.build_toolbar(self.options.add_to)
        self._connect_actions()
        self._connect_parts()
        self._restore_window()
        self._update_actions()
        self._update_status_labels()

        self._on_weights_checked(self.models.believed)  # at once, from the manifests
        self.models.refresh()
        self.options.refresh_device()
        self.warmed_up = False
        options = self.options.restore_options()  # read on this thread, used on the worker's
        self.jobs.submit(
            "warm-up",
            lambda ctx: calls.warm_up(ctx.restorer(), options),
            on_result=lambda _: self._warmed_up(),
            on_error=lambda message: log.warning("warm-up failed: %s", message),
        )

    @property
    def current(self) -> Entry | None:
        """The photo shown in the view (None: the start page)."""
        return self.photos.current

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

    # --- building ----------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.banner = Banner(
            NO_WEIGHTS_TEXT,
            [
                ("Download a model…", self.models.open_downloads),
                ("Import a checkpoint…", self.models.open_import),
                ("How to train", self.models.show_train_help),
            ],
        )
        self.banner.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.offer.bar)
        layout.addWidget(self.offer.missing_bar)
        layout.addWidget(self.view.stack, 1)
        self.setCentralWidget(central)

        self.docks: dict[str, QDockWidget] = {}
        for row in DOCKS:
            dock = self._dock(row.title, row.widget(self), row.area)
            if row.min_width:
                dock.setMinimumWidth(row.min_width)
            if not row.shown:
                dock.hide()
            self.docks[row.attribute] = dock
            setattr(self, row.attribute, dock)
        self._place_beside()
        self._inspector_sized = False
        self.inspector_dock.visibilityChanged.connect(self._size_inspector)

    def _place_beside(self) -> None:
        """A row's ``beside`` dock shares its column: as tabs on a laptop (the photo keeps
        its room), side by side on a wide screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        narrow = screen is not None and screen.availableGeometry().width() < WIDE_SCREEN
        for row in DOCKS:
            if not row.beside:
                continue
            dock, other = self.docks[row.attribute], self.docks[row.beside]
            if narrow:
                self.tabifyDockWidget(other, dock)
                other.raise_()
            else:
                self.splitDockWidget(dock, other, Qt.Orientation.Horizontal)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_").lower())
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect_actions(self) -> None:
        a, work, saving, compare = self.action_set, self.work, self.saving, self.view.compare
        a.open.triggered.connect(self.open_files_dialog)
        a.open_folder.triggered.connect(self.open_folder_dialog)
        a.save.triggered.connect(saving.save_current)
        a.save_as.triggered.connect(saving.save_current_as)
        a.export.triggered.connect(saving.export_all)
        a.close.triggered.connect(self.close_current)
        a.quit.triggered.connect(self.close)
        a.restore.triggered.connect(work.restore_current)
        a.restore_all.triggered.connect(work.restore_all)
        a.cancel.triggered.connect(work.cancel)
        a.auto_restore.setChecked(self.settings.restore_on_open)
        a.auto_restore.toggled.connect(self._set_restore_on_open)
        a.next.triggered.connect(lambda: self.photos.step(1))
        a.previous.triggered.connect(lambda: self.photos.step(-1))
        for mode, action in a.modes.items():
            action.triggered.connect(lambda _=False, m=mode: self.set_view_mode(m))
        a.toggle.triggered.connect(compare.toggle_before_after)
        a.face_boxes.setChecked(self.settings.show_face_boxes)
        a.face_boxes.toggled.connect(self.view.set_face_boxes_visible)
        a.zoom_in.triggered.connect(compare.zoom_in)
        a.zoom_out.triggered.connect(compare.zoom_out)
        a.zoom_fit.triggered.connect(compare.zoom_fit)
        a.zoom_actual.triggered.connect(compare.zoom_actual)
        a.models.triggered.connect(self.models.open_model_manager)
        a.retrain.triggered.connect(self.models.open_retrain)
        a.sample.triggered.connect(work.try_sample)
        a.shortcuts.triggered.connect(self.show_shortcuts)
        a.about.triggered.connect(self.show_about)
        a.preferences.triggered.connect(self.open_settings)
        self.status_panel.cancel_button.clicked.connect(a.cancel.trigger)

    def followers(self) -> list[PhotoFollower]:
        """Who hears the photo changes, in this order: the central view, every dock's
        panel that follows photos (``DOCKS`` order), the status bar, the toolbar, the
        model offer, and the window itself (its title, commands and docks)."""
        panels = [self.docks[row.attribute].widget() for row in DOCKS]
        return [
            self.view,
            *(p for p in panels if isinstance(p, PhotoFollower)),
            self.status_panel,
            self.options,
            self.offer,
            self,
        ]

    def _connect_parts(self) -> None:
        view, work, faces = self.view, self.work, self.view.faces
        for follower in self.followers():
            self.photoChanged.connect(follower.on_photo)
        self.jobs.busyChanged.connect(self._update_actions)
        self.jobs.unhandledError.connect(self.messages.error)
        faces.acceptedChanged.connect(work.set_face_accepted)
        faces.allAcceptedRequested.connect(work.set_all_accepted)
        faces.strengthChanged.connect(work.set_face_strength)
        faces.rerunRequested.connect(work.rerun_face)
        faces.keepLikenessRequested.connect(work.keep_likeness)
        faces.inspectRequested.connect(self.show_inspector)
        view.loupe.faceRequested.connect(faces.select)
        view.loupe.acceptedChanged.connect(work.set_face_accepted)
        view.loupe.strengthChanged.connect(work.set_face_strength)
        view.loupe.set_grain_match(self.prefs.grain_match)
        view.loupe.grainMatchChanged.connect(self._set_grain_match)
        self.models.listed.connect(self.offer.set_models)
        self.offer.downloadRequested.connect(self.download_model)
        self.offer.fallbackChosen.connect(self.options.choose_model)
        self.options.missingChosen.connect(self.offer.missing_chosen)
        self.options.availableChosen.connect(self.offer.chosen_available)
        view.openRequested.connect(self.open_files_dialog)
        view.sampleRequested.connect(work.try_sample)
        view.inspector.export_button.clicked.connect(self.saving.export_attention_grid)
        view.compare.modeChanged.connect(self._on_mode_changed)
        self.options.changed.connect(self._update_status_labels)
        self.options.deviceText.connect(self.status_panel.show_device)
        self.models.listed.connect(self.options.set_models)
        self.models.weightsChecked.connect(self._on_weights_checked)

    def _restore_window(self) -> None:
        """The last size and place, the docks as they were; always inside this screen."""
        self.set_view_mode(self.settings.view_mode)
        if (geometry := self.settings.geometry()) is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(*DEFAULT_SIZE)
        if (state := self.settings.window_state()) is not None:
            self.restoreState(state)
        # An inspector left open opens again with the first restored face, not empty.
        self._inspector_wanted = not self.inspector_dock.isHidden()
        self.inspector_dock.hide()
        self.fit_to_screen()

    def fit_to_screen(self, area: QRect | None = None) -> None:
        """Shrink and move the window into ``area`` (default: its screen's free part).

        A size remembered on a larger screen, or the default 1400 x 900 on a
        1366 x 768 laptop (or a 2x screen of that logical size), would put the status
        bar, Cancel and the faces panel off the screen.
        """
        if area is None:
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return
            area = screen.availableGeometry()
        if self.isMaximized() or self.isFullScreen():
            return
        frame = (8, 40)  # a guess until the window manager has framed the window
        if self.isVisible():
            outer = self.frameGeometry()
            frame = (outer.width() - self.width(), outer.height() - self.height())
        current = QRect(self.pos(), self.size())
        fitted = fitted_geometry(current, area, frame)
        if fitted.size() != self.size():
            self.resize(fitted.size())
        if fitted.topLeft() != self.pos():
            self.move(fitted.topLeft())

    # --- what the parts tell ------------------------------------------------------------
    def on_photo(self, entry: Entry | None, change: PhotoChange) -> None:
        """What the window itself shows of the photos: the commands that apply, the
        title, the model that restored the photo shown, the loupe opened on a result."""
        self._update_actions()
        if not change.current:
            return
        if change.kind in (ChangeKind.CURRENT, ChangeKind.LOADED):
            self.work.find_faces(entry)  # shown before it is restored
            self.setWindowTitle("Revive" if entry is None else f"{entry.name} — Revive")
            self._update_status_labels()
            self._open_loupe()
        elif change.kind is ChangeKind.RESULT:
            self._update_status_labels()
            self._open_loupe(entry)

    def open_settings(self) -> SettingsDialog:
        """File ▸ Settings…: applied at once when accepted."""
        o = self.options
        choices = {"model": o.model_combo, "scale": o.scale_combo, "device": o.device_combo}
        dialog = SettingsDialog(self.settings, self.prefs, choices, self)
        dialog.accepted.connect(self._apply_settings)
        dialog.open()  # window-modal, never blocking the event loop
        return dialog

    def _apply_settings(self) -> None:
        app = QApplication.instance()
        if app is not None:
            apply_color_scheme(app, self.prefs.appearance)
        self.options.apply_settings()
        if self.view.loupe.grain_box.isChecked() != self.prefs.grain_match:
            self.view.loupe.set_grain_match(self.prefs.grain_match)
            self.work.set_grain_match(self.prefs.grain_match)

    def _set_grain_match(self, on: bool) -> None:
        self.prefs.grain_match = on
        self.work.set_grain_match(on)

    def download_model(self, name: str) -> None:
        """Download a catalogue model, its progress shown in Manage Models."""
        manager = self.models.open_model_manager()
        manager.show_downloads()
        manager.download(name)

    def _open_loupe(self, entry: Entry | None = None) -> None:
        """A restoration ended, or a restored photo was opened: its first face, large."""
        entry = entry or self.photos.current
        if entry is not self.photos.current or entry is None or entry.result is None:
            return
        if entry.result.faces:
            self.loupe_dock.show()
            self.loupe_dock.raise_()
            if self._inspector_wanted:
                self._inspector_wanted = False
                self.show_inspector()

    def _on_weights_checked(self, has_weights: bool | None) -> None:
        self.banner.setVisible(has_weights is False)
        self.view.set_has_weights(has_weights)
        self._update_actions()
        self._update_status_labels()

    def _update_actions(self) -> None:
        entry = self.photos.current
        self.action_set.update(
            photo=entry is not None,
            loaded=entry is not None and entry.photo is not None,
            restored=entry is not None and entry.result is not None,
            count=len(self.photos),
            has_weights=self.models.believed,
            busy=self.jobs.is_busy(),
        )

    def _update_status_labels(self) -> None:
        """The model chosen, or, for a restored photo, the model(s) that restored it."""
        model = self.options.model_text()
        if self.models.believed is False:
            model = "none installed"
        entry = self.photos.current
        if entry is not None and entry.result is not None and entry.result.faces:
            used = sorted({preset_label(f.model) for f in entry.result.faces})
            model = ", ".join(used)
        self.status_panel.show_model(model)

    # --- commands of the window itself --------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Files and folders (dropped, opened, or from the command line) into the queue."""
        self.work.open_paths(paths)

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open photos", self.settings.last_folder, PHOTO_FILTER
        )
        if files:
            self.settings.last_folder = str(Path(files[0]).parent)
            self.open_paths(list(files))

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a folder of photos", self.settings.last_folder
        )
        if folder:
            self.settings.last_folder = folder
            self.open_paths([folder])

    def close_current(self) -> None:
        if self.photos.current is not None:
            self.photos.remove(self.photos.current)

    def _set_restore_on_open(self, on: bool) -> None:
        self.settings.restore_on_open = bool(on)

    def set_view_mode(self, mode: str) -> None:
        self.view.compare.set_mode(mode)
        self._on_mode_changed(mode)

    def _on_mode_changed(self, mode: str) -> None:
        self.action_set.modes[mode].setChecked(True)
        self.settings.view_mode = mode

    def show_inspector(self) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()

    def _size_inspector(self, visible: bool) -> None:
        """The first time it opens, give the inspector a third of the height (the photo
        keeps the rest: at 768 px high it stays well above half the window)."""
        if visible:
            self._inspector_wanted = False
        if visible and not self._inspector_sized and not self.inspector_dock.isFloating():
            self._inspector_sized = True
            height = max(250, min(340, self.height() // 3))
            self.resizeDocks([self.inspector_dock], [height], Qt.Orientation.Vertical)

    def show_shortcuts(self) -> None:
        self.messages.info(self.action_set.shortcuts_table(), "Keyboard shortcuts")

    def show_about(self) -> None:
        from engine import __version__

        self.messages.info(
            f"<b>Revive {__version__}</b><br>Restores the faces in old and low-quality "
            "photos with SPARNet / SPARNetHD (Chen et al., 2020) and CAGFace "
            "(Kalarot et al., 2020), and shows the attention behind every result.",
            "About Revive",
        )

    def open_url(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    # --- Qt events ---------------------------------------------------------------------
    @staticmethod
    def _accept_files(event: QDragMoveEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        self._accept_files(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        self._accept_files(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths: list[str | Path] = [
            u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()
        ]
        if paths:
            event.acceptProposedAction()
            # Leave the drop handler first (the drag source waits for it to return).
            QTimer.singleShot(0, lambda: self.open_paths(paths))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:  # now the frame is known: fit it, frame included
            self._shown_once = True
            QTimer.singleShot(0, self.fit_to_screen)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.view.inspector.magnifier.hide()
        self.models.shutdown()  # a running training checkpoints first
        self.offer.shutdown()  # a time measurement stops between two layers
        self.jobs.shutdown()
        super().closeEvent(event)
