"""Before / after in one view: the restored photo right of a draggable divider.

The same view also shows "before only" and "after only", so switching modes
keeps the zoom and position. The divider sits at a fraction of the view's
width (it stays put while you pan and zoom underneath it).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsView, QWidget

from .image_view import ImageView

GRAB_DISTANCE = 8  # pixels either side of the divider that start a divider drag


class _ClippedPixmapItem(QGraphicsPixmapItem):
    """A pixmap item painted only right of ``clip_x`` (in scene units)."""

    def __init__(self) -> None:
        super().__init__()
        self.clip_x = float("-inf")
        self.setTransformationMode(Qt.TransformationMode.SmoothTransformation)

    def set_clip_x(self, x: float) -> None:
        if x != self.clip_x:
            self.clip_x = x
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.clip_x != float("-inf"):
            left = (self.clip_x - self.pos().x()) / max(self.scale(), 1e-9)
            rect = self.boundingRect()
            painter.setClipRect(QRectF(left, rect.top(), rect.right() - left, rect.height()))
        super().paint(painter, option, widget)


class SplitView(ImageView):
    """Original under, restored over it right of the divider; ``mode`` picks what shows."""

    MODES = ("split", "before", "after")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._after = _ClippedPixmapItem()
        self._after.setZValue(1)
        self.scene().addItem(self._after)
        self._divider = 0.5
        self._dragging = False
        self._mode = "split"
        self.viewChanged.connect(self._update_clip)
        self.setMouseTracking(True)

    # --- content -----------------------------------------------------------------------
    def set_images(self, before: QPixmap | None, after: QPixmap | None) -> None:
        """``before`` is stretched to the size of ``after`` (upscaled output) when both exist."""
        scale = 1.0
        if before is not None and after is not None and not before.isNull() and before.width():
            scale = after.width() / before.width()
        self._after.setPixmap(after if after is not None else QPixmap())
        self.set_pixmap(before, scale)
        self._apply_mode()

    def set_after(self, after: QPixmap) -> None:
        """Swap the restored image (same size) without touching zoom or position."""
        self._after.setPixmap(after)
        self._apply_mode()

    def has_after(self) -> bool:
        return not self._after.pixmap().isNull()

    def after_item(self) -> QGraphicsPixmapItem:
        return self._after

    # --- mode and divider --------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown split-view mode {mode!r}")
        self._mode = mode
        self._apply_mode()

    @property
    def divider(self) -> float:
        """Divider position as a fraction of the view's width (0 = left edge)."""
        return self._divider

    def set_divider(self, fraction: float) -> None:
        self._divider = min(1.0, max(0.0, fraction))
        self._update_clip()

    def _divider_px(self) -> int:
        return round(self._divider * self.viewport().width())

    def _apply_mode(self) -> None:
        self._after.setVisible(self.has_after() and self._mode != "before")
        self._base.setVisible(self._mode != "after" or not self.has_after())
        self._update_clip()

    def _update_clip(self) -> None:
        if self._mode == "split" and self.has_after():
            x = self.mapToScene(self._divider_px(), 0).x()
            self._after.set_clip_x(x)
        else:
            self._after.set_clip_x(float("-inf"))
        self.viewport().update()

    def _divider_active(self) -> bool:
        return self._mode == "split" and self.has_after()

    def _near_divider(self, pos: QPointF) -> bool:
        return self._divider_active() and abs(pos.x() - self._divider_px()) <= GRAB_DISTANCE

    # --- events ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._near_divider(event.position()):
            self._dragging = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._dragging:
            self.set_divider(event.position().x() / max(1, self.viewport().width()))
            event.accept()
            return
        if self._near_divider(event.position()):
            self.viewport().setCursor(Qt.CursorShape.SplitHCursor)
        elif self.dragMode() == QGraphicsView.DragMode.ScrollHandDrag and not event.buttons():
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._dragging:
            self._dragging = False
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_clip()

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not self._divider_active():
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        x = self._divider_px()
        height = self.viewport().height()
        line = palette.color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(line, 2))
        painter.drawLine(x, 0, x, height)
        # A round handle in the middle, so the divider reads as draggable.
        painter.setBrush(palette.color(QPalette.ColorRole.Window))
        painter.drawEllipse(QPointF(x, height / 2), 11, 11)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.WindowText), 1.5))
        cy = height / 2
        for sign in (-1, 1):
            tip = x + sign * 7
            painter.drawLine(QPointF(tip, cy), QPointF(tip - sign * 4, cy - 4))
            painter.drawLine(QPointF(tip, cy), QPointF(tip - sign * 4, cy + 4))
        self._draw_label(painter, "Before", x - 8, right_aligned=True)
        self._draw_label(painter, "After", x + 8, right_aligned=False)
        painter.end()

    def _draw_label(self, painter: QPainter, text: str, x: int, right_aligned: bool) -> None:
        palette = self.palette()
        metrics = painter.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
        left = x - w if right_aligned else x
        box = QRectF(left, 8, w, h)
        background = QColor(palette.color(QPalette.ColorRole.Window))
        background.setAlpha(200)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
