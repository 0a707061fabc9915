"""The queue of photos: thumbnail, name and status of every photo opened or dropped.

Each row is a ``PhotoEntry``, the GUI's record of one photo: where it came
from, the decoded photo and the restoration result once the worker delivers
them, and a status line. Entries change only on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

THUMB_SIDE = 64

STATUS_TEXT = {
    "new": "waiting",
    "loading": "loading…",
    "loaded": "not restored yet",
    "queued": "queued for restoration",
    "restoring": "restoring…",
    "done": "restored",
    "cancelled": "cancelled",
    "error": "error",
    "saved": "saved",
}


@dataclass(eq=False)
class PhotoEntry:
    """One photo in the queue (``path`` is None for an in-memory sample)."""

    name: str
    path: Path | None = None
    photo: Any = None  # engine.io.Photo, once loaded
    result: Any = None  # engine.results.RestoreResult, once restored
    before_image: Any = None  # QImage of the photo (made on the worker thread)
    after_image: Any = None  # QImage of the result
    status: str = "new"
    detail: str = ""
    generation: int = 0  # bumped by every change to the faces, so stale answers are dropped
    image_generation: int = -1  # the generation ``result.image`` was pasted for
    saved_to: Path | None = None
    item: QListWidgetItem | None = field(default=None, repr=False)

    def status_line(self) -> str:
        text = STATUS_TEXT.get(self.status, self.status)
        if self.status == "done" and self.result is not None:
            text = f"restored · {len(self.result.faces)} face(s)"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text


class PhotoQueue(QListWidget):
    """The list of photos; selecting a row makes it the current photo."""

    entrySelected = Signal(object)  # PhotoEntry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSpacing(2)
        self.entries: list[PhotoEntry] = []
        self.currentItemChanged.connect(self._on_current)

    def add(self, entry: PhotoEntry) -> PhotoEntry:
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, entry)
        item.setSizeHint(QSize(200, THUMB_SIDE + 8))
        entry.item = item
        self.entries.append(entry)
        self.addItem(item)
        self.refresh(entry)
        return entry

    def remove(self, entry: PhotoEntry) -> None:
        if entry.item is not None:
            self.takeItem(self.row(entry.item))
        self.entries.remove(entry)

    def find(self, path: Path) -> PhotoEntry | None:
        return next((e for e in self.entries if e.path is not None and e.path == path), None)

    def refresh(self, entry: PhotoEntry) -> None:
        if entry.item is None:
            return
        entry.item.setText(f"{entry.name}\n{entry.status_line()}")
        entry.item.setToolTip(str(entry.path) if entry.path else entry.name)

    def set_thumbnail(self, entry: PhotoEntry, pixmap: QPixmap) -> None:
        if entry.item is not None:
            entry.item.setIcon(QIcon(pixmap))

    def current_entry(self) -> PhotoEntry | None:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, entry: PhotoEntry) -> None:
        if entry.item is not None:
            self.setCurrentItem(entry.item)

    def step(self, delta: int) -> None:
        """Select the next (+1) or previous (-1) photo, wrapping around."""
        if not self.entries:
            return
        row = self.currentRow()
        self.setCurrentRow((row + delta) % self.count() if row >= 0 else 0)

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.entrySelected.emit(current.data(Qt.ItemDataRole.UserRole))
