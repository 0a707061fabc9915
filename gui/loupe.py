"""The face loupe: one face of the result, large, before and after.

A photographer judges a restoration face by face and up close; the faces panel's
thumbnails are too small for that and the whole-photo split too far away. The loupe
shows the selected face as it sits in the result (with a margin of its photo around
it), at least ``MIN_SIDE`` px and up to the face's own size in the result, drawn in
the screen's device pixels (so a 2x screen shows the face's pixels, not a blur).

* Space, or *Before / After*, flips between the original and the restoration in place;
  *Side by side* shows both at once.
* Left / Right (and Up / Down) step through the photo's faces.
* Beside the picture: *Use this face*, the strength slider, and *Match the photo's
  grain* (engine.faces.grain); they send requests like the faces panel's cards.

It opens by itself on the first face when a restoration ends (``MainWindow``). It
follows the current photo by itself (``on_photo``: cleared without a restored face,
pasted again, a face edited); the face it shows is the one the user selects. The
loupe only shows and asks; ``PhotoWork`` does the work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.results import FaceRecord, RestoreResult

from .faces_panel import FaceControls, face_width
from .imaging import qimage_from_array
from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoEntry

MIN_SIDE = 256  # logical px: the smallest the loupe draws a face
MARGIN = 0.3  # of the face box's side, on each side: the face in its photo
PLACEHOLDER = "Restore a photo, then click a face to see it here, large."


def face_window(
    box: Sequence[float] | np.ndarray, scale: float, shape: tuple[int, ...]
) -> tuple[int, ...]:
    """The square ``x0, y0, x1, y1`` around ``box`` (photo px) in a result ``scale`` x larger.

    The face's box grown by ``MARGIN`` on every side, moved (not cut) to stay inside an
    image of ``shape`` (rows, columns, ...), and cut only when the image is smaller.
    """
    x0, y0, x1, y1 = (float(v) * scale for v in box[:4])
    side = max(x1 - x0, y1 - y0) * (1 + 2 * MARGIN)
    h, w = shape[:2]
    side = min(side, h, w)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(cx - side / 2, 0), w - side)))
    top = int(round(min(max(cy - side / 2, 0), h - side)))
    n = int(round(side))
    return left, top, left + n, top + n


def grain_words(result: RestoreResult, face: FaceRecord) -> str:
    """What grain matching did to this face, in one line (engine.faces.grain)."""
    if result.scale == 1:
        return "At 1× the face keeps the photo's own grain."
    if result.options is not None and not result.options.photo.grain_match:
        return "Off: the face may look cleaner than the photo around it."
    if face.grain is None:
        return "Not measured (the face is not used)."
    return str(face.grain.words())


def display_side(own_px: int, available: int, device_ratio: float) -> int:
    """How many logical px the loupe gives a face whose window is ``own_px`` result px.

    At least ``MIN_SIDE``; larger faces up to their own pixels on this screen (own px
    over the device pixel ratio), never more than the room there is (but ``MIN_SIDE``).
    """
    own = own_px / max(device_ratio, 1e-6)
    return int(max(MIN_SIDE, min(own, available)))


class _Picture(QLabel):
    """One face picture, drawn in device pixels for the screen it is on."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(QSize(MIN_SIDE, MIN_SIDE))
        # The picture never asks for its pixmap's size: the loupe's room decides.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setToolTip(caption)
        self.caption = caption

    def show_array(self, pixels: np.ndarray | None, side: int) -> None:
        if pixels is None or pixels.size == 0:
            self.clear()
            return
        ratio = self.devicePixelRatioF()
        device = max(1, round(side * ratio))
        pixmap = QPixmap.fromImage(qimage_from_array(pixels)).scaled(
            device,
            device,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)


class FaceLoupe(QWidget):
    """The selected face of the current result, large; requests go out as signals."""

    faceRequested = Signal(int)  # step to this face (the window selects it everywhere)
    acceptedChanged = Signal(int, bool)
    strengthChanged = Signal(int, float)
    grainMatchChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.result: RestoreResult | None = None
        self.index = -1
        self.showing_after = True
        self._crops: tuple[np.ndarray, np.ndarray] | None = None

        self.title = QLabel(PLACEHOLDER)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.picture = _Picture("The face: Space flips before / after")
        self.second = _Picture("After: the restored face")
        self.second.hide()
        self.which = QLabel()  # "After" / "Before" under the single picture
        self.which.setAlignment(Qt.AlignmentFlag.AlignLeft)

        self.flip_button = QPushButton("Before / After")
        self.flip_button.setToolTip("Flip between the original and the restored face (Space)")
        self.side_button = QPushButton("Side by side")
        self.side_button.setCheckable(True)
        self.side_button.setToolTip("The original and the restored face next to each other")
        self.previous_button = QPushButton("◀")
        self.previous_button.setToolTip("The previous face (Left arrow)")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("The next face (Right arrow)")
        self.controls = FaceControls(Qt.Orientation.Vertical, self)
        self.accept_box = self.controls.accept_box
        self.strength = self.controls.strength
        self.strength_label = self.controls.strength_label
        self.grain_box = QCheckBox("Match the photo's grain")
        self.grain_box.setToolTip(
            "Give the restored face the grain and sharpness of the photo around it, so it "
            "does not look pasted in (only where they differ visibly)"
        )
        self.grain_note = QLabel()
        self.grain_note.setWordWrap(True)

        pictures = QHBoxLayout()
        pictures.addWidget(self.picture, 1)
        pictures.addWidget(self.second, 1)
        controls = QWidget()  # beside the picture, as narrow as its words allow
        controls.setFixedWidth(170)
        side = QVBoxLayout(controls)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.accept_box)
        side.addWidget(QLabel("Strength"))
        self.strength.setMinimumHeight(120)
        self.strength.setMaximumHeight(260)
        side.addWidget(self.strength, 0, Qt.AlignmentFlag.AlignHCenter)
        side.addWidget(self.strength_label, 0, Qt.AlignmentFlag.AlignHCenter)
        side.addSpacing(12)
        side.addWidget(self.grain_box)
        side.addWidget(self.grain_note)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addLayout(pictures, 1)
        middle.addWidget(controls)
        buttons = QHBoxLayout()
        for button in (self.previous_button, self.flip_button, self.side_button):
            buttons.addWidget(button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)  # the buttons above the face: its room below is its own
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.which)
        layout.addLayout(middle, 1)

        self.flip_button.clicked.connect(self.flip)
        self.side_button.toggled.connect(self.set_side_by_side)
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.controls.acceptedChanged.connect(self.acceptedChanged)
        self.controls.strengthChanged.connect(self.strengthChanged)
        self.grain_box.toggled.connect(self.grainMatchChanged)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, slot in (
            (Qt.Key.Key_Space, self.flip),
            (Qt.Key.Key_Left, lambda: self.step(-1)),
            (Qt.Key.Key_Up, lambda: self.step(-1)),
            (Qt.Key.Key_Right, lambda: self.step(1)),
            (Qt.Key.Key_Down, lambda: self.step(1)),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)
        self._set_enabled(False)

    # --- following the photos ------------------------------------------------------------
    def on_photo(self, entry: PhotoEntry | None, change: PhotoChange) -> None:
        """The current photo changed: nothing to show without a restored face (with one,
        the faces panel selects the first and the window shows it here)."""
        if not change.current:
            return
        result = entry.result if entry is not None else None
        if change.shows_again:
            if result is None or not result.faces:
                self.show_face(None, -1)
        elif change.kind is ChangeKind.PASTED:
            self.refresh(result)  # the same face, pasted again
        elif change.kind is ChangeKind.LIKENESS and self.result is not None:
            self.result = result  # the same pixels; the faces' figures came
        elif change.kind is ChangeKind.FACE_EDITED:
            for face in change.faces(entry):
                self.set_face(face)

    # --- what it shows ----------------------------------------------------------------
    @property
    def face(self) -> FaceRecord | None:
        if self.result is None:
            return None
        return next((f for f in self.result.faces if f.index == self.index), None)

    def show_face(self, result: RestoreResult | None, index: int) -> None:
        """Face ``index`` of ``result`` (None: nothing restored to show)."""
        self.result, self.index = result, index
        face = self.face
        if result is None or face is None:
            self._crops = None
            self.title.setText(PLACEHOLDER)
            self.picture.clear()
            self.second.clear()
            self.which.clear()
            self._set_enabled(False)
            return
        self._set_enabled(True)
        self._cut(result, face)
        self.set_face(face)
        self.grain_note.setText(grain_words(result, face))
        self._draw()

    def refresh(self, result: RestoreResult | None) -> None:
        """The result was pasted again (strength, accept): the same face, new pixels."""
        if result is not None and self.result is not None and self.index >= 0:
            self.show_face(result, self.index)

    def set_face(self, face: FaceRecord) -> None:
        """The face's controls as they stand (no requests are sent)."""
        if face.index != self.index:
            return
        n = len(self.result.faces) if self.result is not None else 0
        scale = self.result.scale if self.result is not None else 1
        width = face_width(face.box)
        self.title.setText(
            f"Face {face.index + 1} of {n} · {width} px wide in the photo, "
            f"{width * scale} px in the result"
        )
        self.controls.show(face)

    def set_grain_match(self, on: bool) -> None:
        """The grain setting as it stands (no request is sent)."""
        self.grain_box.blockSignals(True)
        self.grain_box.setChecked(on)
        self.grain_box.blockSignals(False)

    def _cut(self, result: RestoreResult, face: FaceRecord) -> None:
        before = result.base if result.base is not None else result.image
        window = face_window(face.box, float(result.scale), result.image.shape)
        x0, y0, x1, y1 = window
        self._crops = (before[y0:y1, x0:x1], result.image[y0:y1, x0:x1])

    def side(self) -> int:
        """The logical side the face is drawn at now."""
        if self._crops is None:
            return MIN_SIDE
        room = self.picture.height()
        if self.side_button.isChecked():
            room = min(room, self.picture.width())
        else:
            room = min(room, max(self.picture.width(), MIN_SIDE))
        return display_side(self._crops[0].shape[0], room, self.devicePixelRatioF())

    def _draw(self) -> None:
        if self._crops is None:
            return
        before, after = self._crops
        side = self.side()
        if self.side_button.isChecked():
            self.picture.show_array(before, side)
            self.second.show_array(after, side)
            self.picture.setToolTip("Before: the original")
            self.which.setText("Before (left) · After (right)")
        else:
            self.picture.show_array(after if self.showing_after else before, side)
            self.picture.setToolTip("The face: Space flips before / after")
            self.which.setText("After: restored" if self.showing_after else "Before: the original")

    def _set_enabled(self, on: bool) -> None:
        for widget in (
            self.flip_button,
            self.side_button,
            self.previous_button,
            self.next_button,
            self.accept_box,
            self.strength,
        ):
            widget.setEnabled(on)

    # --- what the user does -----------------------------------------------------------
    def flip(self) -> None:
        """Before <-> after in place (in side by side: back to one picture, flipped)."""
        if self._crops is None:
            return
        if self.side_button.isChecked():
            self.side_button.setChecked(False)
        self.showing_after = not self.showing_after
        self._draw()

    def set_side_by_side(self, on: bool) -> None:
        self.side_button.blockSignals(True)
        self.side_button.setChecked(on)
        self.side_button.blockSignals(False)
        self.second.setVisible(on)
        self._draw()

    def step(self, delta: int) -> None:
        """The next (``delta`` 1) or previous (-1) face, wrapping round."""
        if self.result is None or not self.result.faces:
            return
        indices = [f.index for f in self.result.faces]
        position = indices.index(self.index) if self.index in indices else 0
        self.faceRequested.emit(indices[(position + delta) % len(indices)])

    def sizeHint(self) -> QSize:  # noqa: N802
        """Room for a face a little over ``MIN_SIDE`` and the controls beside it."""
        return QSize(MIN_SIDE + 220, 560)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._draw()
