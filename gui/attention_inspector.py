"""Where the network looked: the attention behind one face, for photographers first.

From left to right:

1. **All units together**: the mean of every Face Attention Unit's spatial map, over
   the face as it went into the network, large, with a colour legend (dark blue =
   little attention, yellow = full attention) and one sentence on what to conclude.
2. **Face parts**: the face before and after, and, where the face-parts network ran,
   the hair / skin / features masks tinted over the *input* face.
3. **Step by step**: every unit's own map, one row per step of the network (reading
   the face = encoder, rebuilding details = body, drawing the result = decoder).

Every map uses one fixed colour scale (0 to 1) by default, so maps can be compared;
*Stretch each map* spreads each map's own range over the colours instead, to show a
faint pattern. Hovering a tile shows it large; *Export PNG…* saves what is shown.
"""

from __future__ import annotations

import html
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
from engine.attention_words import attention_sentence, combined_attention
from engine.models.presets import preset_label
from engine.pixels import to_uint8
from engine.results import AttentionMap, FaceRecord

from .imaging import heat_map, mask_tint, overlay, pixmap_from_array, resize_nearest
from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoEntry

TILE = 96  # one unit's map, large enough to read (its caption in its tooltip)
SUMMARY = 200  # all units together
FACE_TILE = 96  # the face before / after
MASK_TILE = 64
MAGNIFIED = 480
COLUMNS = 10
STAGES = ("encoder", "body", "decoder")
STAGE_WORDS = {
    "encoder": "Reading the face",
    "body": "Rebuilding details",
    "decoder": "Drawing the result",
}
# Tints of the component masks when shown over the face (hair, skin, other parts).
MASK_TINTS = {"hair": (230, 90, 40), "skin": (250, 210, 60), "other": (40, 170, 250)}
MASK_WORDS = {"hair": "hair", "skin": "skin", "other": "features"}

EMPTY_TITLE = "Where the network looked: select a face to see it."
CONCLUSION = (
    "Yellow is where the network worked hardest, dark blue where it changed little. "
    "On a good restoration the yellow follows the eyes, nose, mouth and the outline of "
    "the face; yellow spread over the background or the hair means the network found "
    "little face to work with: check this face closely, lower its strength, or untick it."
)


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

    def __init__(
        self,
        render: Render,
        caption: str,
        tooltip: str = "",
        side: int = TILE,
        label: str | None = "",
    ) -> None:
        super().__init__()
        self.draw = render
        self.caption = caption
        self.picture = QLabel()
        self.picture.setFixedSize(QSize(side, side))
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setPixmap(pixmap_from_array(render(side), side))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(1)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        if label is not None:  # None: no words under it (the tooltip has them)
            text = QLabel(label or caption)
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text.setWordWrap(True)
            text.setMaximumWidth(max(side, 80) + 20)
            layout.addWidget(text)
        self.setToolTip(f"{caption}: {tooltip}" if tooltip and label is None else tooltip)

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
        return to_uint8(image)
    interpolation = cv2.INTER_AREA if image.shape[0] > side else cv2.INTER_CUBIC
    return cv2.resize(to_uint8(image), (side, side), interpolation=interpolation)


def map_picture(
    values: np.ndarray, face: FaceSizes | None, show_overlay: bool, stretch: bool, side: int
) -> np.ndarray:
    """Attention values as a ``side`` px heat map, optionally over the face."""
    values = _stretch(values) if stretch else values
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


def legend_picture(width: int = 200, height: int = 12) -> np.ndarray:
    """The colour scale, 0 (left) to 1 (right)."""
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    return heat_map(ramp)


class Legend(QWidget):
    """The heat-map colours with what they mean."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = QLabel()
        self.bar.setPixmap(pixmap_from_array(legend_picture(2 * SUMMARY, 12)))
        self.bar.setFixedSize(2 * SUMMARY, 12)
        self.low = QLabel("little")
        self.high = QLabel("full attention")
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        words = QHBoxLayout()
        words.setContentsMargins(0, 0, 0, 0)
        words.addWidget(self.low)
        words.addStretch(1)
        words.addWidget(self.high)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self.bar)
        layout.addLayout(words)
        self.setFixedWidth(2 * SUMMARY)

    def set_stretched(self, stretched: bool) -> None:
        self.low.setText("lowest" if stretched else "0: little")
        self.high.setText("highest of each map" if stretched else "1: full attention")


class AttentionInspector(QWidget):
    """Shows one face's attention and face parts; ``set_face(None)`` clears."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face: FaceRecord | None = None
        self._stale = False
        self.title = QLabel(EMPTY_TITLE)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.conclusion = QLabel(CONCLUSION)  # rebuilt beside each face's summary
        self.conclusion.hide()
        self.overlay_box = QCheckBox("Over the face")
        self.overlay_box.setToolTip("Blend each map over the face as it went into the network")
        self.stretch_box = QCheckBox("Stretch each map")
        self.stretch_box.setChecked(False)
        self.stretch_box.setToolTip(
            "Off (default): one fixed colour scale, 0 to 1, so maps can be compared. "
            "On: each map's own range fills the colours, to show a faint pattern."
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
        self._content_layout.setContentsMargins(2, 2, 2, 2)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.scroll_area, 1)

        self.magnifier = Magnifier()
        self.summary_tile: MapTile | None = None
        self.legend: Legend | None = None
        self.map_tiles: list[MapTile] = []
        self.mask_tiles: list[MapTile] = []
        self.overlay_box.toggled.connect(self._rebuild)
        self.stretch_box.toggled.connect(self._rebuild)
        self._rebuild()

    def on_photo(self, entry: PhotoEntry | None, change: PhotoChange) -> None:
        """The current photo changed: empty without a restored face; a face edited keeps
        its maps, a face restored again gets its new ones."""
        if not change.current:
            return
        result = entry.result if entry is not None else None
        if change.shows_again:
            if result is None or not result.faces:
                self.set_face(None)  # with faces, the selected one is shown
            return
        shown = self.face
        if entry is None or shown is None:
            return
        for face in change.faces(entry):
            if face.index != shown.index or face is shown:
                continue
            if change.kind is ChangeKind.FACE_EDITED:
                self.face = face  # the same maps
            elif change.kind is ChangeKind.FACE_RERUN and entry.rerunning is None:
                self.set_face(face)  # its new maps

    def set_overlay(self, on: bool) -> None:
        self.overlay_box.setChecked(on)

    def set_stretch(self, on: bool) -> None:
        self.stretch_box.setChecked(on)

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

    # --- building ----------------------------------------------------------------------
    def _clear(self) -> None:
        while self._content_layout.count():
            item = self._content_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.map_tiles, self.mask_tiles = [], []
        self.summary_tile, self.legend = None, None

    def _tile(
        self,
        render: Render,
        caption: str,
        tooltip: str = "",
        side: int = TILE,
        label: str | None = "",
    ) -> MapTile:
        tile = MapTile(render, caption, tooltip, side, label)
        tile.hovered.connect(self._on_hover)
        return tile

    def _rebuild(self) -> None:
        self._stale = False
        self._clear()
        face = self.face
        self.export_button.setEnabled(face is not None)
        if face is None:
            self.title.setText(EMPTY_TITLE)
            return
        maps = face.attention or []
        self.title.setText(
            f"<b>Where the network looked: face {face.index + 1}</b> ({preset_label(face.model)})"
        )
        boxes = [self._summary_box(face, maps), self._parts_box(face), self._units_box(maps, face)]
        for box, stretch in zip(boxes, (0, 0, 1), strict=True):
            self._content_layout.addWidget(box, stretch)
            box.show()  # now, not on the next event-loop turn (an export may come first)

    def _summary_box(self, face: FaceRecord, maps: list[AttentionMap]) -> QGroupBox:
        box = QGroupBox("All units together")
        layout = QHBoxLayout(box)
        layout.setSpacing(6)
        if not maps:
            note = QLabel(
                "No attention maps for this face: its model (CAGFace) works without "
                "attention units. The face parts beside it show what it used instead."
            )
            note.setWordWrap(True)
            note.setMaximumWidth(SUMMARY + 60)
            layout.addWidget(note)
            return box
        before = FaceSizes(face.crop_before)
        combined = combined_attention(maps)
        render = partial(
            map_picture,
            combined,
            before,
            self.overlay_box.isChecked(),
            self.stretch_box.isChecked(),
        )
        self.summary_tile = self._tile(
            render,
            "where the network looked (all units)",
            f"The mean of all {len(maps)} attention maps, over the face as it went in; "
            f"mean {float(combined.mean()):.2f}, highest {float(combined.max()):.2f}",
            side=SUMMARY,
            label=None,
        )
        layout.addWidget(self.summary_tile, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(4)
        self.legend = Legend()
        self.legend.set_stretched(self.stretch_box.isChecked())
        words.addWidget(self.legend)
        sentence = attention_sentence(face.index, maps, face.masks)
        self.conclusion = QLabel(f"<b>{html.escape(sentence)}</b><br><br>{CONCLUSION}")
        self.conclusion.setTextFormat(Qt.TextFormat.RichText)
        self.conclusion.setWordWrap(True)
        self.conclusion.setFixedWidth(2 * SUMMARY + 20)
        words.addWidget(self.conclusion)
        words.addStretch(1)
        layout.addLayout(words)
        return box

    def _parts_box(self, face: FaceRecord) -> QGroupBox:
        box = QGroupBox("The face, and the parts it found")
        layout = QGridLayout(box)
        layout.setSpacing(2)
        before = FaceSizes(face.crop_before)
        layout.addWidget(self._tile(before, "face before", side=FACE_TILE), 0, 0)
        after = FaceSizes(face.crop_after)
        layout.addWidget(self._tile(after, "face after", side=FACE_TILE), 0, 1)
        masks = face.masks or {}
        if not masks:
            note = QLabel(
                "No face parts: the face-parts network (hair, skin, features) is not installed."
            )
            note.setWordWrap(True)
            note.setMaximumWidth(2 * FACE_TILE + 20)
            layout.addWidget(note, 1, 0, 1, 2)
        ordered = sorted(masks.items(), key=lambda kv: _mask_order(kv[0]))
        for i, (name, mask) in enumerate(ordered):
            render = partial(
                mask_picture,
                mask,
                before,  # over the face as it went in: the masks were found on it
                MASK_TINTS.get(name, (200, 60, 200)),
                self.overlay_box.isChecked(),
            )
            tile = self._tile(
                render,
                name,
                f"{MASK_WORDS.get(name, name)}: {float(mask.mean()):.0%} of the picture",
                side=MASK_TILE,
                label=MASK_WORDS.get(name, name),
            )
            layout.addWidget(tile, 1 + i // 3, i % 3)
            self.mask_tiles.append(tile)
        layout.setRowStretch(layout.rowCount(), 1)
        return box

    def _units_box(self, maps: list[AttentionMap], face: FaceRecord) -> QGroupBox:
        box = QGroupBox("Step by step: each attention unit")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(2)
        grid.setVerticalSpacing(0)
        if not maps:
            grid.addWidget(QLabel("(none for this model)"), 0, 0)
            return box
        before = FaceSizes(face.crop_before)
        stages = [s for s in STAGES if any(m.stage == s for m in maps)]
        stages += sorted({m.stage for m in maps} - set(stages))
        row = 0
        for stage in stages:
            in_stage = [m for m in maps if m.stage == stage]
            words = STAGE_WORDS.get(stage, stage.capitalize())
            heading = QLabel(f"<b>{words}</b><br>{stage}, {len(in_stage)} units")
            heading.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(heading, row, 0, (len(in_stage) + COLUMNS - 1) // COLUMNS, 1)
            for i, amap in enumerate(in_stage):
                render = partial(
                    map_picture,
                    amap.values,
                    before,
                    self.overlay_box.isChecked(),
                    self.stretch_box.isChecked(),
                )
                v = amap.values
                tip = (
                    f"{words}, unit {i + 1} (attention unit #{amap.index} of the network, "
                    f"{amap.resolution} px map): lowest {float(v.min()):.2f}, "
                    f"mean {float(v.mean()):.2f}, highest {float(v.max()):.2f}"
                )
                caption = f"{stage} {i + 1} · {amap.resolution} px"
                tile = self._tile(render, caption, tip, label=None)
                grid.addWidget(tile, row + i // COLUMNS, 1 + i % COLUMNS)
                self.map_tiles.append(tile)
            row += (len(in_stage) + COLUMNS - 1) // COLUMNS
        grid.setRowStretch(row, 1)
        grid.setColumnStretch(COLUMNS + 1, 1)
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
        """Save everything shown (summary, parts, every unit) as a PNG; return the path."""
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
