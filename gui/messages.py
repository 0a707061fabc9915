"""Error and information dialogs that never block the event loop.

Each is window-modal but opened with ``open()``, not ``exec()``: the app keeps
painting and working while one shows, and tests can read it. Errors that arrive while
an error dialog is still open (three bad files dropped at once) join it as a list, so
none is lost behind another; a new information message replaces the one showing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

SHOWN_AT_MOST = 12  # more go to "Show Details…"


class Messages:
    """The window's one error box and one information box."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.error_box: QMessageBox | None = None
        self.info_box: QMessageBox | None = None
        self.errors: list[str] = []  # those the open error box lists
        self._error_title = ""

    def error(self, message: str, title: str = "Revive") -> QMessageBox:
        """Show ``message``; while an error box of that title is open, add it to its list."""
        box = self.error_box
        if box is not None and box.isVisible() and title == self._error_title:
            if message not in self.errors:
                self.errors.append(message)
                self._fill(box)
            return box
        if box is not None:
            box.close()
        self.errors = [message]
        self._error_title = title
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok)
        box.setObjectName("error_dialog")
        box.setParent(self.parent, box.windowFlags())
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setTextFormat(Qt.TextFormat.PlainText)
        self._fill(box)
        box.open()
        self.error_box = box
        return box

    def _fill(self, box: QMessageBox) -> None:
        errors = self.errors
        if len(errors) == 1:
            box.setText(errors[0])
            return
        shown = "\n".join(f"• {m}" for m in errors[:SHOWN_AT_MOST])
        more = len(errors) - SHOWN_AT_MOST
        if more > 0:
            shown += f"\n… and {more} more (Show Details…)"
            box.setDetailedText("\n".join(errors))
        box.setText(f"{len(errors)} problems:\n\n{shown}")

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
