"""The faces panel: one card per detected face, before / after, score, and its controls.

A card's check box accepts or rejects the face (rejected faces are not pasted),
its slider blends original and restored, and its Re-run button restores that
face again. Clicking a card selects the face (the main window frames it and
shows its attention maps). The panel only emits requests; the main window
sends them to the engine worker.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.results import FaceRecord

from .imaging import pixmap_from_array

THUMB = 88


class _Thumb(QLabel):
    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setFixedSize(QSize(THUMB, THUMB))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip(caption)

    def set_image(self, image) -> None:
        self.setPixmap(pixmap_from_array(image, THUMB))


class FaceCard(QFrame):
    """One face. Emits requests; never touches the engine."""

    clicked = Signal(int)
    acceptedChanged = Signal(int, bool)
    strengthChanged = Signal(int, float)
    rerunRequested = Signal(int)

    def __init__(self, face: FaceRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = face.index
        self._selected = False
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

        self.before = _Thumb("Before: the face as the network saw it")
        self.after = _Thumb("After: the restored face")
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.accept_box = QCheckBox("Use this face")
        self.accept_box.setToolTip("Unchecked faces are left as in the original photo")
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setToolTip("Blend between the original (0%) and the restored face (100%)")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(36)
        self.rerun = QPushButton("Re-run")
        self.rerun.setToolTip("Restore this face again with the current model settings")

        thumbs = QHBoxLayout()
        thumbs.setSpacing(4)
        thumbs.addWidget(self.before)
        thumbs.addWidget(self.after)
        strength_row = QHBoxLayout()
        strength_row.addWidget(QLabel("Strength"))
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        controls = QHBoxLayout()
        controls.addWidget(self.accept_box)
        controls.addStretch(1)
        controls.addWidget(self.rerun)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addLayout(thumbs)
        layout.addLayout(strength_row)
        layout.addLayout(controls)

        # While dragging, tell the window at most every 150 ms (each tells recomposes).
        self._strength_timer = QTimer(self)
        self._strength_timer.setSingleShot(True)
        self._strength_timer.setInterval(150)
        self._strength_timer.timeout.connect(self._emit_strength)
        self.accept_box.toggled.connect(self._on_accept)
        self.strength.valueChanged.connect(self._on_strength)
        self.strength.sliderReleased.connect(self._emit_strength)
        self.rerun.clicked.connect(lambda: self.rerunRequested.emit(self.index))
        self.set_face(face)

    def set_face(self, face: FaceRecord) -> None:
        """Show ``face`` (after a re-run, too) without emitting change requests."""
        self.face = face
        self.before.set_image(face.crop_before)
        self.after.set_image(face.crop_after)
        self.title.setText(f"Face {face.index + 1} · score {face.score:.2f} · {face.model}")
        self.title.setToolTip(f"Restored by {face.weights or face.model} ({face.model})")
        for widget in (self.accept_box, self.strength):
            widget.blockSignals(True)
        self.accept_box.setChecked(face.accepted)
        self.strength.setValue(round(face.strength * 100))
        for widget in (self.accept_box, self.strength):
            widget.blockSignals(False)
        self._update_strength_label()
        self.strength.setEnabled(face.accepted)

    def _on_accept(self, checked: bool) -> None:
        self.strength.setEnabled(checked)
        self.acceptedChanged.emit(self.index, checked)

    def _on_strength(self, _value: int) -> None:
        self._update_strength_label()
        if self.strength.isSliderDown():
            self._strength_timer.start()
        else:
            self._emit_strength()

    def _emit_strength(self) -> None:
        self._strength_timer.stop()
        self.strengthChanged.emit(self.index, self.strength.value() / 100.0)

    def _update_strength_label(self) -> None:
        self.strength_label.setText(f"{self.strength.value()}%")

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self.update()

    @property
    def selected(self) -> bool:
        return self._selected

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.index)
        super().mousePressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        rect = self.rect().adjusted(1, 1, -1, -1)
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        if self._selected:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
        else:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRoundedRect(rect, 6, 6)
        painter.end()


class FacesPanel(QWidget):
    """Every face of the current photo, top to bottom."""

    faceSelected = Signal(int)
    acceptedChanged = Signal(int, bool)
    strengthChanged = Signal(int, float)
    rerunRequested = Signal(int)
    inspectRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel("No faces yet: restore a photo to see them here.")
        self.header.setWordWrap(True)
        self.inspect_button = QPushButton("Attention maps…")
        self.inspect_button.setToolTip(
            "Show the selected face's attention maps and component masks (Ctrl+I)"
        )
        self.inspect_button.setEnabled(False)
        self.inspect_button.clicked.connect(self.inspectRequested)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(4, 4, 4, 4)
        self._list_layout.setSpacing(6)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area = scroll
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.inspect_button)
        self.cards: list[FaceCard] = []
        self._selected = -1

    def set_faces(self, faces: list[FaceRecord], message: str | None = None) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        for face in faces:
            card = FaceCard(face)
            card.clicked.connect(self.select)
            card.acceptedChanged.connect(self.acceptedChanged)
            card.strengthChanged.connect(self.strengthChanged)
            card.rerunRequested.connect(self.rerunRequested)
            self._list_layout.insertWidget(self._list_layout.count() - 1, card)
            self.cards.append(card)
        self._selected = -1
        self.inspect_button.setEnabled(bool(faces))
        if message is not None:
            self.header.setText(message)
        elif faces:
            used = sum(f.accepted for f in faces)
            self.header.setText(f"{len(faces)} face(s) found, {used} used. Click one to inspect.")
        else:
            self.header.setText("No faces yet: restore a photo to see them here.")

    def update_face(self, face: FaceRecord) -> None:
        for card in self.cards:
            if card.index == face.index:
                card.set_face(face)

    def card(self, index: int) -> FaceCard:
        return next(c for c in self.cards if c.index == index)

    @property
    def selected(self) -> int:
        return self._selected

    def select(self, index: int) -> None:
        self._selected = index
        for card in self.cards:
            card.set_selected(card.index == index)
        if index >= 0:
            self.scroll_area.ensureWidgetVisible(self.card(index))
        self.faceSelected.emit(index)

    def set_busy(self, busy: bool) -> None:
        for card in self.cards:
            card.rerun.setEnabled(not busy)
