"""The main window's actions, menus and toolbar (with their keyboard shortcuts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QToolBar

from .settings import DEVICE_CHOICES, SCALE_CHOICES


class ActionsMixin:
    """Builds every QAction once; menus and the toolbar share them."""

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
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
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
        self.auto_restore_action = self._action(
            "Restore Photos When &Opened",
            self._set_restore_on_open,
            None,
            "Start restoring every photo as soon as it is opened or dropped",
            checkable=True,
        )
        self.auto_restore_action.setChecked(self.settings.restore_on_open)
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
        photo_menu.addAction(self.auto_restore_action)
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
        self.model_combo.setMinimumContentsLength(20)
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
