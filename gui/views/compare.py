"""The main photo area: split / before / after in one view, or side by side, synced.

Switching mode carries the zoom and position over; in side-by-side mode a pan or
zoom in either view is mirrored in the other.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from .image_view import ImageView
from .split_view import SplitView

MODES = ("split", "side_by_side", "before", "after")


def _titled(view: ImageView, title: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    label = QLabel(title)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(label)
    layout.addWidget(view, 1)
    return box


class CompareView(QStackedWidget):
    """Before / after comparison with four modes (see ``MODES``)."""

    faceClicked = Signal(int)
    modeChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.split = SplitView()
        self.left = ImageView()
        self.right = ImageView()
        pair = QSplitter(Qt.Orientation.Horizontal)
        pair.addWidget(_titled(self.left, "Before"))
        pair.addWidget(_titled(self.right, "After"))
        pair.setChildrenCollapsible(False)
        self.addWidget(self.split)
        self.addWidget(pair)
        self._mode = "split"
        self.left.viewChanged.connect(lambda: self._mirror(self.left, self.right))
        self.right.viewChanged.connect(lambda: self._mirror(self.right, self.left))
        for view in (self.split, self.left, self.right):
            view.faceClicked.connect(self.faceClicked)

    # --- content -----------------------------------------------------------------------
    def set_images(self, before: QPixmap | None, after: QPixmap | None) -> None:
        self.split.set_images(before, after)
        scale = 1.0
        if before is not None and after is not None and before.width():
            scale = after.width() / before.width()
        self.left.set_pixmap(before, scale)
        self.right.set_pixmap(after if after is not None else before)
        self._mirror(self.left, self.right)

    def set_after(self, after: QPixmap) -> None:
        self.split.set_after(after)
        state = self.right.view_state()
        self.right.set_pixmap(after)
        self.right.apply_view_state(state)

    def set_faces(self, boxes: list[QRectF]) -> None:
        for view in self.views():
            view.set_faces(boxes)

    def set_selected_face(self, index: int) -> None:
        for view in self.views():
            view.set_selected_face(index)

    def set_faces_visible(self, on: bool) -> None:
        for view in self.views():
            view.set_faces_visible(on)

    def views(self) -> tuple[ImageView, ...]:
        return (self.split, self.left, self.right)

    def active_view(self) -> ImageView:
        return self.split if self._mode != "side_by_side" else self.left

    # --- modes -------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        if mode == self._mode:
            return
        state = self.active_view().view_state()
        self._mode = mode
        if mode == "side_by_side":
            self.setCurrentIndex(1)
            self.left.apply_view_state(state)
            self.right.apply_view_state(state)
        else:
            self.split.set_mode(mode)
            self.setCurrentIndex(0)
            self.split.apply_view_state(state)
        self.modeChanged.emit(mode)

    def toggle_before_after(self) -> None:
        """Flip between the original and the restored photo (from any mode)."""
        self.set_mode("before" if self._mode != "before" else "after")

    # --- zoom --------------------------------------------------------------------------
    def zoom_in(self) -> None:
        self.active_view().zoom_in()

    def zoom_out(self) -> None:
        self.active_view().zoom_out()

    def zoom_fit(self) -> None:
        self.active_view().zoom_fit()

    def zoom_actual(self) -> None:
        self.active_view().zoom_actual()

    def frame(self, rect: QRectF) -> None:
        self.active_view().frame(rect)

    def _mirror(self, source: ImageView, target: ImageView) -> None:
        target.apply_view_state(source.view_state())
