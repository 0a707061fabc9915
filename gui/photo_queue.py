"""The queue of photos as a list: thumbnail, name and status of every photo opened or dropped.

The list shows a ``PhotoController``: it adds, refreshes and removes a row as the
photo changes come (``on_photo``, ``gui.photo_changes``), follows the current photo,
and clicking a row makes that photo the current one. It holds no state of its own
beyond the rows.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoController, PhotoEntry

THUMB_SIDE = 64

Entry = PhotoEntry[QImage]


class PhotoQueue(QListWidget):
    """The rows of the photo queue; selecting a row makes it the current photo."""

    def __init__(self, photos: PhotoController[QImage], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photos = photos
        self.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSpacing(2)
        self._items: dict[Entry, QListWidgetItem] = {}
        self._iconed: set[Entry] = set()  # entries whose thumbnail is shown
        self.currentItemChanged.connect(self._on_current_item)

    def item_of(self, entry: Entry) -> QListWidgetItem | None:
        return self._items.get(entry)

    def on_photo(self, entry: Entry | None, change: PhotoChange) -> None:
        """Every photo's row: added, removed, or what it says refreshed; the current one
        selected."""
        kind = change.kind
        if kind is ChangeKind.CURRENT:
            self._follow_current(entry)
        elif entry is None:
            return
        elif kind is ChangeKind.ADDED:
            item = QListWidgetItem()
            item.setSizeHint(QSize(200, THUMB_SIDE + 8))
            self._items[entry] = item
            self.addItem(item)
            self._refresh(entry, item)
        elif kind is ChangeKind.REMOVED:
            removed = self._items.pop(entry, None)
            self._iconed.discard(entry)
            if removed is not None:
                self.blockSignals(True)  # the controller picks the next current photo
                self.takeItem(self.row(removed))
                self.blockSignals(False)
        elif (row := self.item_of(entry)) is not None:
            self._refresh(entry, row)

    def _refresh(self, entry: Entry, item: QListWidgetItem) -> None:
        item.setText(f"{entry.name}\n{entry.status_line()}")
        item.setToolTip(str(entry.path) if entry.path else entry.name)
        if entry.thumbnail is not None and entry not in self._iconed:
            self._iconed.add(entry)
            item.setIcon(QIcon(QPixmap.fromImage(entry.thumbnail)))

    def _follow_current(self, entry: Entry | None) -> None:
        item = self.item_of(entry) if entry is not None else None
        if item is not self.currentItem():
            self.blockSignals(True)
            if item is None:
                self.setCurrentRow(-1)
            else:
                self.setCurrentItem(item)
            self.blockSignals(False)

    def _on_current_item(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is None:
            return
        entry = next((e for e in self.photos.entries if self.item_of(e) is current), None)
        if entry is not None:
            self.photos.select(entry)
