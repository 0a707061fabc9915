"""A zoomable, pannable photo view (mouse wheel, drag, fit, 100%), with face boxes.

Scene units are output pixels: the restored image is shown at scale 1 and the
original (smaller when upscaling) is stretched to cover it, so before and after
line up and 100% means one restored pixel per screen pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPixmap, QTransform, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
WHEEL_STEP = 1.25


@dataclass(frozen=True)
class ViewState:
    """What two synchronised views share: the zoom and the scene point at the centre."""

    zoom: float
    center: QPointF
    fit: bool


class ImageView(QGraphicsView):
    """Shows one pixmap; emits ``viewChanged`` on every zoom or pan."""

    viewChanged = Signal()
    faceClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self._face_items: list[QGraphicsRectItem] = []
        self._base = QGraphicsPixmapItem()
        self._base.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._base)
        self._selected_face = -1
        self._faces_visible = True
        self._fit = True
        self._syncing = False
        self.horizontalScrollBar().valueChanged.connect(self._emit_changed)
        self.verticalScrollBar().valueChanged.connect(self._emit_changed)

    # --- content -----------------------------------------------------------------------
    def set_pixmap(self, pixmap: QPixmap | None, scale: float = 1.0) -> None:
        """Show ``pixmap`` stretched by ``scale`` scene units per pixel (None clears)."""
        self._base.setPixmap(pixmap if pixmap is not None else QPixmap())
        self._base.setScale(scale)
        self._update_scene_rect()

    def base_item(self) -> QGraphicsPixmapItem:
        return self._base

    def image_rect(self) -> QRectF:
        return self._base.sceneBoundingRect()

    def has_image(self) -> bool:
        return not self._base.pixmap().isNull()

    def _update_scene_rect(self) -> None:
        rect = self.image_rect()
        self.setSceneRect(rect if rect.isValid() else QRectF(0, 0, 1, 1))
        if self._fit:
            self.zoom_fit()

    def set_faces(self, boxes: list[QRectF]) -> None:
        """Outline each face (scene rectangles); the selected one is drawn thicker."""
        for item in self._face_items:
            self.scene().removeItem(item)
        self._face_items = []
        for rect in boxes:
            item = QGraphicsRectItem(rect)
            item.setZValue(10)
            item.setVisible(self._faces_visible)
            self.scene().addItem(item)
            self._face_items.append(item)
        self._style_faces()

    def set_selected_face(self, index: int) -> None:
        self._selected_face = index
        self._style_faces()

    def set_faces_visible(self, on: bool) -> None:
        """Show or hide the face outlines (clicking a face still selects it)."""
        self._faces_visible = bool(on)
        for item in self._face_items:
            item.setVisible(self._faces_visible)

    @property
    def faces_visible(self) -> bool:
        return self._faces_visible

    def _style_faces(self) -> None:
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        for i, item in enumerate(self._face_items):
            selected = i == self._selected_face
            colour = QColor(highlight)
            colour.setAlpha(255 if selected else 150)
            pen = QPen(colour, 3 if selected else 1.5)
            pen.setCosmetic(True)
            item.setPen(pen)

    def face_items(self) -> list[QGraphicsRectItem]:
        return list(self._face_items)

    # --- zoom and pan ------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    @property
    def is_fit(self) -> bool:
        return self._fit

    def set_zoom(self, zoom: float, keep_fit: bool = False) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._fit = keep_fit
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self._emit_changed()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * WHEEL_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / WHEEL_STEP)

    def zoom_actual(self) -> None:
        """100%: one scene unit (one output pixel) per screen pixel."""
        center = self.mapToScene(self.viewport().rect().center())
        self.set_zoom(1.0)
        self.centerOn(center)

    def zoom_fit(self) -> None:
        rect = self.image_rect()
        self._fit = True
        if not rect.isValid() or rect.isEmpty():
            return
        view = self.viewport().rect().adjusted(4, 4, -4, -4)
        zoom = min(view.width() / rect.width(), view.height() / rect.height())
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(rect.center())
        self._emit_changed()

    def frame(self, rect: QRectF, margin: float = 1.0) -> None:
        """Zoom and centre on ``rect`` (a face), with ``margin`` of its size around it."""
        if rect.isEmpty():
            return
        grown = rect.adjusted(
            -rect.width() * margin,
            -rect.height() * margin,
            rect.width() * margin,
            rect.height() * margin,
        )
        view = self.viewport().rect()
        zoom = min(view.width() / grown.width(), view.height() / grown.height())
        self._fit = False
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(rect.center())
        self._emit_changed()

    def view_state(self) -> ViewState:
        return ViewState(self.zoom, self.mapToScene(self.viewport().rect().center()), self._fit)

    def apply_view_state(self, state: ViewState) -> None:
        """Take another view's zoom and centre without echoing ``viewChanged`` back."""
        self._syncing = True
        try:
            if state.fit:
                self.zoom_fit()
            else:
                self._fit = False
                self.setTransform(QTransform.fromScale(state.zoom, state.zoom))
                self.centerOn(state.center)
        finally:
            self._syncing = False
        self.viewport().update()

    def _emit_changed(self) -> None:
        if not self._syncing:
            self.viewChanged.emit()

    # --- events ------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        delta = event.angleDelta().y()
        if delta == 0:
            return
        self.set_zoom(self.zoom * (WHEEL_STEP ** (delta / 120.0)))
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit:
            self.zoom_fit()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        """Double click toggles between fit and 100%."""
        if self._fit:
            self.zoom_actual()
        else:
            self.zoom_fit()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_pos = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        press = getattr(self, "_press_pos", None)
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._press_pos = None
        if (event.position().toPoint() - press).manhattanLength() > 3:
            return  # it was a drag (pan), not a click
        point = self.mapToScene(event.position().toPoint())
        for i, item in enumerate(self._face_items):
            if item.rect().contains(point):
                self.faceClicked.emit(i)
                return

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802
        """A neutral backdrop from the palette, so it follows light and dark themes."""
        painter.fillRect(rect, self.palette().color(QPalette.ColorRole.Dark))

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._style_faces()
