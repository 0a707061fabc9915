"""Every command of the window as a QAction (text, keyboard shortcut, tip), and the menus.

``ActionSet`` makes each action once; the menus, the toolbar and the keyboard share
them. It does not know what they do: the window connects each one to the part that
does it, and tells the set what is possible now (``update``) so that the actions
that cannot run are greyed out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar, QWidget

from .settings import Settings

Shortcut = QKeySequence | QKeySequence.StandardKey | str
VIEW_MODES = (
    ("split", "&Split Before / After", "1"),
    ("side_by_side", "Side &by Side", "2"),
    ("before", "&Before Only", "3"),
    ("after", "&After Only", "4"),
)
NO_TRAINING_TIP = (
    "The training module's dialog is not available in this build; "
    "train with `revive train` on a GPU machine"
)


class ActionSet(QObject):
    """The window's actions; ``update`` enables the ones that can run now."""

    def __init__(
        self, window: QMainWindow, inspector_toggle: QAction, training_available: bool
    ) -> None:
        super().__init__(window)
        self.window = window
        sk = QKeySequence.StandardKey
        self.open = self._action("&Open…", sk.Open, "Open photos")
        self.open_folder = self._action(
            "Open &Folder…", "Ctrl+Shift+O", "Open every photo of a folder"
        )
        self.save = self._action("&Save", sk.Save, "Save the restored photo beside the original")
        self.save_as = self._action("Save &As…", "Ctrl+Shift+S", "Save the restored photo as…")
        self.export = self._action(
            "&Export All…",
            "Ctrl+Shift+E",
            "Restore and save every photo of the queue into a folder",
        )
        self.close = self._action("&Close Photo", sk.Close)
        self.quit = self._action("&Quit", "Ctrl+Q")
        self.preferences = self._action(
            "Se&ttings…", "Ctrl+,", "Appearance, likeness check, grain, defaults, threads"
        )
        self.restore = self._action("&Restore", ["Ctrl+R", "F5"], "Restore the faces of this photo")
        self.restore_all = self._action(
            "Restore &All", "Ctrl+Shift+R", "Restore every photo of the queue"
        )
        self.cancel = self._action("&Cancel", "Esc", "Stop the restoration in progress")
        self.auto_restore = self._action(
            "Restore Photos When &Opened",
            None,
            "Start restoring every photo as soon as it is opened or dropped",
            checkable=True,
        )
        self.next = self._action("&Next Photo", "PgDown")
        self.previous = self._action("&Previous Photo", "PgUp")

        self.mode_group = QActionGroup(self)
        self.modes: dict[str, QAction] = {}
        for mode, text, key in VIEW_MODES:
            action = self._action(text, key, checkable=True)
            self.mode_group.addAction(action)
            self.modes[mode] = action
        self.toggle = self._action("&Toggle Before / After", "\\")
        self.face_boxes = self._action(
            "Show Face &Outlines", "B", "Outline the faces found in the photo", checkable=True
        )
        self.zoom_in = self._action("Zoom &In", [sk.ZoomIn, "Ctrl+="])
        self.zoom_out = self._action("Zoom &Out", sk.ZoomOut)
        self.zoom_fit = self._action("&Fit in Window", "Ctrl+0")
        self.zoom_actual = self._action("&100%", "Ctrl+1")
        self.inspector = inspector_toggle
        self.inspector.setText("Attention &Inspector")
        self.inspector.setShortcut(QKeySequence("Ctrl+I"))

        self.models = self._action("&Manage Models…", "Ctrl+M", "Installed weights, import, verify")
        self.retrain = self._action("&Retrain…", "Ctrl+T")
        if not training_available:
            self.retrain.setEnabled(False)
            self.retrain.setToolTip(NO_TRAINING_TIP)
            self.retrain.setStatusTip(NO_TRAINING_TIP)
        self.sample = self._action(
            "&Try a Sample", None, "Degrade and restore a public-domain photo"
        )
        self.sample_tip = self.sample.toolTip()
        self.shortcuts = self._action("&Keyboard Shortcuts", sk.HelpContents)
        self.about = self._action("&About Revive")

    def _action(
        self,
        text: str,
        shortcut: Shortcut | Sequence[Shortcut] | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            shortcuts = [shortcut] if isinstance(shortcut, Shortcut) else list(shortcut)
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        return action

    def update(
        self,
        *,
        photo: bool,
        loaded: bool,
        restored: bool,
        count: int,
        has_weights: bool | None,
        busy: bool,
    ) -> None:
        """Enable what can run: ``photo`` current, ``loaded`` / ``restored`` it, ``count``."""
        can_restore = has_weights is not False
        self.restore.setEnabled(loaded and can_restore)
        self.restore_all.setEnabled(bool(count) and can_restore)
        why = "" if can_restore else " (needs a face-restoration model: Models ▸ Manage Models…)"
        for action, tip in (
            (self.restore, "Restore the faces of this photo"),
            (self.restore_all, "Restore every photo of the queue"),
            (self.sample, self.sample_tip),
        ):
            action.setToolTip(tip + why)
            action.setStatusTip(tip + why)
        self.sample.setEnabled(can_restore)
        self.save.setEnabled(restored)
        self.save_as.setEnabled(restored)
        self.export.setEnabled(count > 0)
        self.close.setEnabled(photo)
        self.cancel.setEnabled(busy)
        self.next.setEnabled(count > 1)
        self.previous.setEnabled(count > 1)

    def with_shortcuts(self) -> list[QAction]:
        """The actions the Keyboard Shortcuts table lists, in its order."""
        return [
            self.open,
            self.open_folder,
            self.save,
            self.save_as,
            self.export,
            self.close,
            self.preferences,
            self.restore,
            self.restore_all,
            self.cancel,
            self.next,
            self.previous,
            *self.modes.values(),
            self.toggle,
            self.face_boxes,
            self.zoom_in,
            self.zoom_out,
            self.zoom_fit,
            self.zoom_actual,
            self.inspector,
            self.models,
            self.retrain,
            self.sample,
            self.shortcuts,
            self.quit,
        ]

    def shortcuts_table(self) -> str:
        native = QKeySequence.SequenceFormat.NativeText
        rows = "".join(
            f"<tr><td>{a.text().replace('&', '')}</td><td><b>"
            f"{', '.join(s.toString(native) for s in a.shortcuts())}"
            "</b></td></tr>"
            for a in self.with_shortcuts()
            if a.shortcuts()
        )
        return f"<table cellspacing=6>{rows}</table>"

    # --- menus and toolbar -------------------------------------------------------------
    def build_menus(self, docks: Sequence[QDockWidget], recent: QMenu) -> None:
        """File, Photo, View (``docks``: show / hide), Models, Help; ``recent`` in File."""
        menu = self.window.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open, self.open_folder])
        file_menu.addMenu(recent)
        file_menu.addSeparator()
        file_menu.addActions([self.save, self.save_as, self.export])
        file_menu.addSeparator()
        file_menu.addAction(self.preferences)
        file_menu.addSeparator()
        file_menu.addActions([self.close, self.quit])

        photo_menu = menu.addMenu("&Photo")
        photo_menu.addActions([self.restore, self.restore_all, self.cancel])
        photo_menu.addAction(self.auto_restore)
        photo_menu.addSeparator()
        photo_menu.addActions([self.next, self.previous])

        view_menu = menu.addMenu("&View")
        view_menu.addActions(list(self.modes.values()))
        view_menu.addActions([self.toggle, self.face_boxes])
        view_menu.addSeparator()
        view_menu.addActions([self.zoom_in, self.zoom_out, self.zoom_fit, self.zoom_actual])
        view_menu.addSeparator()
        view_menu.addActions([*(d.toggleViewAction() for d in docks), self.inspector])

        models_menu = menu.addMenu("&Models")
        models_menu.addActions([self.models, self.retrain])
        models_menu.setToolTipsVisible(True)

        help_menu = menu.addMenu("&Help")
        help_menu.setToolTipsVisible(True)
        help_menu.addActions([self.sample, self.shortcuts, self.about])

    def build_toolbar(self, add_choices: Callable[[QToolBar], None]) -> QToolBar:
        """Open, Restore, Cancel, the restoration choices, then the view modes."""
        tools = QToolBar("Main")
        tools.setObjectName("main_toolbar")
        tools.setMovable(False)
        tools.addActions([self.open, self.restore, self.cancel])
        tools.addSeparator()
        add_choices(tools)
        tools.addSeparator()
        for mode, _text, _key in VIEW_MODES:
            tools.addAction(self.modes[mode])
        self.window.addToolBar(tools)
        return tools


class RecentMenu(QMenu):
    """File ▸ Open Recent, filled from the settings each time it opens."""

    def __init__(
        self, settings: Settings, open_path: Callable[[str], None], parent: QWidget
    ) -> None:
        super().__init__("Open &Recent", parent)
        self.settings = settings
        self.open_path = open_path
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        self.clear()
        recent = self.settings.recent_files
        for path in recent:
            action = self.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if not recent:
            self.addAction("(none)").setEnabled(False)
        else:
            self.addSeparator()
            self.addAction("Clear Recent", self.settings.clear_recent)
