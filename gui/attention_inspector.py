"""The attention inspector: why the network did what it did, for one face.

Left, the spatial attention map of every Face Attention Unit, one row per stage
(encoder / body / decoder), each labelled with its resolution and shown as a
heat map, optionally overlaid on the restored face. Right, CAGFace's component
masks (hair, skin, other parts). Hovering a tile shows it large; the whole grid
exports as one PNG.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
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
from engine.pixels import to_uint8
from engine.results import AttentionMap, FaceRecord

from .imaging import (
    heat_map,
    mask_tint,
    overlay,
    pixmap_from_array,
    resize_nearest,
)

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
        self.setPixmap(pixmap_from_array(image, MAGNIFIED))
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


Render = Callable[[int], np.ndarray]  # side in pixels -> H x W x 3 uint8 picture


class MapTile(QWidget):
    """One picture with a caption; hovering shows it magnified.

    ``draw(side)`` draws the picture at a given size, so a tile costs a tile's
    pixels and the large version is drawn only when the mouse is over it.
    """

    hovered = Signal(object, str)  # the tile (or None when the mouse leaves), caption

    def __init__(self, render: Render, caption: str, tooltip: str = "") -> None:
        super().__init__()
        self.draw = render
        self.caption = caption
        self.picture = QLabel()
        self.picture.setFixedSize(QSize(TILE, TILE))
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setPixmap(pixmap_from_array(render(TILE), TILE))
        label = QLabel(caption)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setMaximumWidth(TILE + 30)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(label)
        if tooltip:
            self.setToolTip(tooltip)

    def enterEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(self, self.caption)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(None, "")
        super().leaveEvent(event)


def _stretch(values: np.ndarray) -> np.ndarray:
    """Min-max stretch so a map that varies little still shows its pattern."""
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-6 else np.zeros_like(values)


class FaceSizes:
    """One face crop at the sizes asked for, each made once (tiles share the small one)."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self._sizes: dict[int, np.ndarray] = {}

    def __call__(self, side: int) -> np.ndarray:
        if side not in self._sizes:
            self._sizes[side] = fit(self.image, side)
        return self._sizes[side]


def fit(image: np.ndarray, side: int) -> np.ndarray:
    """A face crop at ``side`` pixels (area-averaged down, smooth up)."""
    if image.shape[0] == side and image.shape[1] == side:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > side else cv2.INTER_CUBIC
    return cv2.resize(to_uint8(image), (side, side), interpolation=interpolation)


def map_picture(
    amap: AttentionMap, face: FaceSizes | None, show_overlay: bool, stretch: bool, side: int
) -> np.ndarray:
    """An attention map as a ``side`` px heat map, optionally over the face."""
    values = _stretch(amap.values) if stretch else amap.values
    heat = resize_nearest(heat_map(values), (side, side))  # keep the map's cells visible
    if show_overlay and face is not None:
        return overlay(face(side), heat)
    return heat


def mask_picture(
    mask: np.ndarray, face: FaceSizes, tint: tuple[int, int, int], show_overlay: bool, side: int
) -> np.ndarray:
    if show_overlay:
        return mask_tint(face(side), fit_mask(mask, side), tint)
    return heat_map(fit_mask(mask, side))


def fit_mask(mask: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(np.asarray(mask, np.float32), (side, side), interpolation=cv2.INTER_AREA)


class AttentionInspector(QWidget):
    """Shows one face's attention maps and component masks; ``set_face(None)`` clears."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face: FaceRecord | None = None
        self._stale = False
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
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.scroll_area, 1)

        self.magnifier = Magnifier()
        self.map_tiles: list[MapTile] = []
        self.mask_tiles: list[MapTile] = []
        self.overlay_box.toggled.connect(self._rebuild)
        self.stretch_box.toggled.connect(self._rebuild)
        self._rebuild()

    def set_overlay(self, on: bool) -> None:
        self.overlay_box.setChecked(on)

    def set_face(self, face: FaceRecord | None) -> None:
        """Show ``face``; while the inspector is hidden the grid is built when it shows."""
        self.face = face
        if self.isVisible():
            self._rebuild()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self._rebuild()

    # --- building the grid -------------------------------------------------------------
    def _clear(self) -> None:
        while self._content_layout.count():
            item = self._content_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.map_tiles, self.mask_tiles = [], []

    def _tile(self, render: Render, caption: str, tooltip: str = "") -> MapTile:
        tile = MapTile(render, caption, tooltip)
        tile.hovered.connect(self._on_hover)
        return tile

    def _rebuild(self) -> None:
        self._stale = False
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
        for box, stretch in ((self._attention_box(face, maps), 3), (self._masks_box(face), 1)):
            self._content_layout.addWidget(box, stretch)
            box.show()  # now, not on the next event-loop turn (an export may come first)

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
        after = FaceSizes(face.crop_after)
        stages = [s for s in STAGES if any(m.stage == s for m in maps)]
        stages += sorted({m.stage for m in maps} - set(stages))
        for stage in stages:
            in_stage = [m for m in maps if m.stage == stage]
            heading = QLabel(f"<b>{stage.capitalize()}</b>  ({len(in_stage)})")
            grid.addWidget(heading, row, 0, 1, COLUMNS)
            row += 1
            for i, amap in enumerate(in_stage):
                render = partial(
                    map_picture,
                    amap,
                    after,
                    self.overlay_box.isChecked(),
                    self.stretch_box.isChecked(),
                )
                v = amap.values
                tip = (
                    f"{amap.label}: min {float(v.min()):.3f}, mean {float(v.mean()):.3f}, "
                    f"max {float(v.max()):.3f}"
                )
                caption = f"{stage} {i + 1} · {amap.resolution}px"
                tile = self._tile(render, caption, f"FAU #{amap.index} in module order. {tip}")
                grid.addWidget(tile, row + i // COLUMNS, i % COLUMNS)
                self.map_tiles.append(tile)
            row += (len(in_stage) + COLUMNS - 1) // COLUMNS
        grid.setRowStretch(row, 1)
        grid.setColumnStretch(COLUMNS, 1)
        return box

    def _masks_box(self, face: FaceRecord) -> QGroupBox:
        box = QGroupBox("Face components")
        layout = QGridLayout(box)
        after = FaceSizes(face.crop_after)
        layout.addWidget(self._tile(FaceSizes(face.crop_before), "face before"), 0, 0)
        layout.addWidget(self._tile(after, "face after"), 0, 1)
        masks = face.masks or {}
        if not masks:
            note = QLabel(
                "No component masks for this face: the face-component network "
                "(hair, skin, other parts) is not installed, or masks were not asked for."
            )
            note.setWordWrap(True)
            layout.addWidget(note, 1, 0, 1, 3)
        for i, (name, mask) in enumerate(sorted(masks.items(), key=lambda kv: _mask_order(kv[0]))):
            render = partial(
                mask_picture,
                mask,
                after,
                MASK_TINTS.get(name, (200, 60, 200)),
                self.overlay_box.isChecked(),
            )
            tile = self._tile(render, name, f"{name}: share of the face {float(mask.mean()):.0%}")
            layout.addWidget(tile, 1 + i // 3, i % 3)
            self.mask_tiles.append(tile)
        layout.setRowStretch(layout.rowCount(), 1)
        layout.setColumnStretch(3, 1)
        return box

    # --- hover and export --------------------------------------------------------------
    def _on_hover(self, tile: MapTile | None, caption: str) -> None:
        if tile is None:
            self.magnifier.hide()
        else:
            self.magnifier.show_image(tile.draw(MAGNIFIED), caption, QCursor.pos())

    def hideEvent(self, event) -> None:  # noqa: N802
        self.magnifier.hide()
        super().hideEvent(event)

    def export_png(self, path: str | Path) -> Path:
        """Save the whole grid (maps and masks, as shown) as a PNG; return the path."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        self._content_layout.activate()  # a grid built just now is laid out before the grab
        size = self.content.size().expandedTo(self.content.sizeHint())
        if size != self.content.size():
            self.content.resize(size)
        image = self.content.grab().toImage()
        with atomic_path(path) as tmp:
            # PySide6 takes the format as str at run time; its stubs say bytes (and b"" fails).
            if not image.save(str(tmp), "PNG"):  # type: ignore[call-overload]
                raise OSError(f"could not write {path}")
        return path


def _mask_order(name: str) -> int:
    order = ("hair", "skin", "other")
    return order.index(name) if name in order else len(order)
