"""Error and information dialogs that never block the event loop.

Each is window-modal but opened with ``open()``, not ``exec()``: the app keeps
painting and working while one shows, and tests can read it. A new message of a
kind replaces the one still showing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


class Messages:
    """The window's one error box and one information box."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.error_box: QMessageBox | None = None
        self.info_box: QMessageBox | None = None

    def error(self, message: str, title: str = "Revive") -> QMessageBox:
        """Show ``message`` in a window-modal dialog that does not block the event loop."""
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok)
        box.setObjectName("error_dialog")
        box.setParent(self.parent, box.windowFlags())
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box
        return box

    def info(self, message: str, title: str = "Revive") -> QMessageBox:
        """Show rich text (tables, links) in a dialog that does not block the event loop."""
        if self.info_box is not None:
            self.info_box.close()
        box = QMessageBox(
            QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok
        )
        box.setParent(self.parent, box.windowFlags())
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()
        self.info_box = box
        return box
