"""The attention inspector: why the network did what it did, for one face.

Left, the spatial attention map of every Face Attention Unit, one row per stage
(encoder / body / decoder), each labelled with its resolution and shown as a
heat map, optionally overlaid on the restored face. Right, CAGFace's component
masks (hair, skin, other parts). Hovering a tile shows it large; the whole grid
exports as one PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.atomic import atomic_path
from engine.results import AttentionMap, FaceRecord

from .imaging import heat_map, mask_tint, overlay, pixmap_from_array, resize_nearest

TILE = 104
MAGNIFIED = 360
COLUMNS = 9
STAGES = ("encoder", "body", "decoder")
# Tints of the component masks when shown over the face (hair, skin, other parts).
MASK_TINTS = {"hair": (230, 90, 40), "skin": (250, 210, 60), "other": (40, 170, 250)}


class Magnifier(QLabel):
    """A borderless pop-up showing one tile large while the mouse is over it."""

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.ToolTip | Qt.WindowType.FramelessWindowHint)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QFrame.Shape.Box)
        self.setAutoFillBackground(True)

    def show_image(self, image: np.ndarray, caption: str, at: QPoint) -> None:
        side = MAGNIFIED
        big = resize_nearest(image, (side, side)) if image.shape[0] < side else image
        self.setPixmap(pixmap_from_array(big, side))
        self.setToolTip(caption)
        self.adjustSize()
        screen = QGuiApplication.screenAt(at) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen else None
        x, y = at.x() + 16, at.y() + 16
        if area is not None:
            x = min(x, area.right() - self.width())
            y = min(y, area.bottom() - self.height())
        self.move(x, y)
        self.show()
        self.raise_()


class MapTile(QWidget):
    """One picture with a caption; hovering shows it magnified."""

    hovered = Signal(object, str)  # image (or None when the mouse leaves), caption

    def __init__(self, image: np.ndarray, caption: str, tooltip: str = "") -> None:
        super().__init__()
        self.image = image
        self.caption = caption
        self.picture = QLabel()
        self.picture.setFixedSize(QSize(TILE, TILE))
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        shown = resize_nearest(image, (TILE, TILE)) if image.shape[0] < TILE else image
        self.picture.setPixmap(pixmap_from_array(shown, TILE))
        label = QLabel(caption)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setMaximumWidth(TILE + 16)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(label)
        if tooltip:
            self.setToolTip(tooltip)

    def enterEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(self.image, self.caption)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(None, "")
        super().leaveEvent(event)


def _stretch(values: np.ndarray) -> np.ndarray:
    """Min-max stretch so a map that varies little still shows its pattern."""
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-6 else np.zeros_like(values)


def map_picture(amap: AttentionMap, face: np.ndarray | None, show_overlay: bool, stretch: bool):
    values = _stretch(amap.values) if stretch else amap.values
    heat = heat_map(values)
    if show_overlay and face is not None:
        return overlay(face, heat)
    return heat


class AttentionInspector(QWidget):
    """Shows one face's attention maps and component masks; ``set_face(None)`` clears."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face: FaceRecord | None = None
        self.title = QLabel("Select a face to see its attention maps.")
        self.title.setWordWrap(True)
        self.overlay_box = QCheckBox("Overlay on the face")
        self.overlay_box.setToolTip("Blend each map over the restored face")
        self.stretch_box = QCheckBox("Stretch contrast")
        self.stretch_box.setChecked(True)
        self.stretch_box.setToolTip(
            "Spread each map's own range over the whole colour scale "
            "(off: the colour shows the attention value 0..1 itself)"
        )
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.overlay_box)
        top.addWidget(self.stretch_box)
        top.addWidget(self.export_button)

        self.content = QWidget()
        self.content.setAutoFillBackground(True)
        self._content_layout = QHBoxLayout(self.content)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)

        self.magnifier = Magnifier()
        self.map_tiles: list[MapTile] = []
        self.mask_tiles: list[MapTile] = []
        self.overlay_box.toggled.connect(self._rebuild)
        self.stretch_box.toggled.connect(self._rebuild)
        self._rebuild()

    def set_overlay(self, on: bool) -> None:
        self.overlay_box.setChecked(on)

    def set_face(self, face: FaceRecord | None) -> None:
        self.face = face
        self._rebuild()

    # --- building the grid -------------------------------------------------------------
    def _clear(self) -> None:
        while self._content_layout.count():
            item = self._content_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.map_tiles, self.mask_tiles = [], []

    def _tile(self, image: np.ndarray, caption: str, tooltip: str = "") -> MapTile:
        tile = MapTile(image, caption, tooltip)
        tile.hovered.connect(self._on_hover)
        return tile

    def _rebuild(self) -> None:
        self._clear()
        face = self.face
        self.export_button.setEnabled(face is not None)
        if face is None:
            self.title.setText("Select a face to see its attention maps.")
            return
        maps = face.attention or []
        self.title.setText(
            f"Face {face.index + 1} ({face.model}): {len(maps)} Face Attention Unit map(s)"
        )
        self._content_layout.addWidget(self._attention_box(face, maps), 3)
        self._content_layout.addWidget(self._masks_box(face), 1)

    def _attention_box(self, face: FaceRecord, maps: list[AttentionMap]) -> QGroupBox:
        box = QGroupBox("Spatial attention of every Face Attention Unit")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(6)
        if not maps:
            note = QLabel(
                "This face has no attention maps: its model (e.g. CAGFace) has no Face "
                "Attention Units, or the maps were not requested."
            )
            note.setWordWrap(True)
            grid.addWidget(note, 0, 0)
            return box
        row = 0
        stages = [s for s in STAGES if any(m.stage == s for m in maps)]
        stages += sorted({m.stage for m in maps} - set(stages))
        for stage in stages:
            in_stage = [m for m in maps if m.stage == stage]
            heading = QLabel(f"<b>{stage.capitalize()}</b>  ({len(in_stage)})")
            grid.addWidget(heading, row, 0, 1, COLUMNS)
            row += 1
            for i, amap in enumerate(in_stage):
                picture = map_picture(
                    amap,
                    face.crop_after,
                    self.overlay_box.isChecked(),
                    self.stretch_box.isChecked(),
                )
                v = amap.values
                tip = (
                    f"{amap.label}: min {float(v.min()):.3f}, mean {float(v.mean()):.3f}, "
                    f"max {float(v.max()):.3f}"
                )
                tile = self._tile(picture, f"{stage} {amap.index} · {amap.resolution}px", tip)
                grid.addWidget(tile, row + i // COLUMNS, i % COLUMNS)
                self.map_tiles.append(tile)
            row += (len(in_stage) + COLUMNS - 1) // COLUMNS
        grid.setRowStretch(row, 1)
        grid.setColumnStretch(COLUMNS, 1)
        return box

    def _masks_box(self, face: FaceRecord) -> QGroupBox:
        box = QGroupBox("Face components (CAGFace)")
        layout = QGridLayout(box)
        layout.addWidget(self._tile(face.crop_before, "face before"), 0, 0)
        layout.addWidget(self._tile(face.crop_after, "face after"), 0, 1)
        masks = face.masks or {}
        if not masks:
            note = QLabel(
                "Component masks (hair, skin, other parts) come with CAGFace: choose "
                "“CAGFace (tiled)” as the model to see them."
            )
            note.setWordWrap(True)
            layout.addWidget(note, 1, 0, 1, 2)
        for i, (name, mask) in enumerate(sorted(masks.items(), key=lambda kv: _mask_order(kv[0]))):
            if self.overlay_box.isChecked():
                picture = mask_tint(face.crop_after, mask, MASK_TINTS.get(name, (200, 60, 200)))
            else:
                picture = heat_map(mask)
            tile = self._tile(picture, name, f"{name}: share of the face {float(mask.mean()):.0%}")
            layout.addWidget(tile, 1 + i // 2, i % 2)
            self.mask_tiles.append(tile)
        layout.setRowStretch(layout.rowCount(), 1)
        layout.setColumnStretch(2, 1)
        return box

    # --- hover and export --------------------------------------------------------------
    def _on_hover(self, image: np.ndarray | None, caption: str) -> None:
        if image is None:
            self.magnifier.hide()
        else:
            self.magnifier.show_image(image, caption, QCursor.pos())

    def hideEvent(self, event) -> None:  # noqa: N802
        self.magnifier.hide()
        super().hideEvent(event)

    def export_png(self, path: str | Path) -> Path:
        """Save the whole grid (maps and masks, as shown) as a PNG; return the path."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        image = self.content.grab().toImage()
        with atomic_path(path) as tmp:
            if not image.save(str(tmp), "PNG"):
                raise OSError(f"could not write {path}")
        return path


def _mask_order(name: str) -> int:
    order = ("hair", "skin", "other")
    return order.index(name) if name in order else len(order)
