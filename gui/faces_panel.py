"""The faces panel: one card per face, before / after, its size, and its controls.

A card's check box accepts or rejects the face (rejected faces are not pasted),
its slider blends original and restored (a click on the track jumps there), and its
Re-run button restores that face again. Its identity line says whether the restored
face still looks like the person (dlib's face descriptors, engine.identity; the
threshold is calibrated in docs/identity.md); a face that may not gets *Keep the
likeness*, which lowers its strength until it passes. The faces can be ordered by
that figure and filtered to the doubtful ones. *Use all* / *Use none* tick or untick every
face at once; the header counts the faces in use as they change. Clicking a card
selects the face (the window frames it and shows its attention maps). Before a photo
is restored (or with no restoration model installed) the panel shows the faces that
were found, each with its crop. It follows the current photo by itself (``on_photo``,
``gui.photo_changes``). The panel only emits requests; the window sends them to the
engine worker.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QVBoxLayout,
    QWidget,
)

from engine.models.presets import preset_label
from engine.results import FaceRecord, Likeness, RestoreResult

from .imaging import pixmap_from_array
from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoEntry, PhotoStatus

THUMB = 88
NO_FACES_YET = "No faces yet: open a photo to see its faces here."
GET_A_MODEL = (
    "Restoring them needs a face-restoration model: Models ▸ Manage Models… ▸ Download "
    "(or the button in the banner above)."
)


CHECKING_LIKENESS = "Checking the likeness…"


def figures_pending(result: RestoreResult) -> bool:
    """The likeness figures of ``result``'s faces are still to come."""
    return result.likeness is Likeness.PENDING


def faces_message(entry: PhotoEntry, has_weights: bool | None = True) -> str:
    """What the faces panel says while a photo has no result."""
    status = entry.status
    if status is PhotoStatus.RESTORING:
        return "Restoring…"
    if status is PhotoStatus.QUEUED:
        return "Queued for restoration…"
    if status is PhotoStatus.ERROR:
        return f"Not restored: {entry.detail}"
    if status in (PhotoStatus.NEW, PhotoStatus.LOADING):
        return "Loading…"
    found = entry.found
    if found is None:
        what = "Finding faces…"
    elif not found:
        what = "No face found in this photo."
    else:
        what = f"{len(found)} face(s) found."
    if has_weights is False:
        if found is not None and not found:
            return f"{what} There is nothing to restore in it."
        return f"{what} {GET_A_MODEL}"
    if status is PhotoStatus.CANCELLED:
        return f"{what} Restoration was cancelled. Press Restore (Ctrl+R) to run it again."
    if found is not None and not found:
        return (
            f"{what} Restore (Ctrl+R) enlarges it by the output scale chosen in the "
            "toolbar (2× or 4×), without changing it otherwise."
        )
    return f"{what} Press Restore (Ctrl+R) to restore them."


def no_face_result_message(scale: int) -> str:
    """What the faces panel says of a result without faces (the photo was only enlarged)."""
    if scale > 1:
        return f"No face found: the photo was only enlarged {scale}×, nothing else changed."
    return (
        "No face found: nothing was changed. Choose an output scale of 2× or 4× in the "
        "toolbar and Restore again to enlarge the photo."
    )


def face_width(box: Sequence[float] | np.ndarray) -> int:
    """A face's width in the photo's pixels."""
    return max(1, round(float(box[2]) - float(box[0])))


class JumpSlider(QSlider):
    """A slider that jumps to where its track is clicked (not a page step towards it)."""

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            option = QStyleOptionSlider()
            self.initStyleOption(option)
            style = self.style()
            control = QStyle.ComplexControl.CC_Slider
            handle = style.subControlRect(control, option, QStyle.SubControl.SC_SliderHandle, self)
            if not handle.contains(event.position().toPoint()):
                groove = style.subControlRect(
                    control, option, QStyle.SubControl.SC_SliderGroove, self
                )
                if self.orientation() == Qt.Orientation.Horizontal:
                    pos = event.position().x() - groove.x() - handle.width() / 2
                    span = groove.width() - handle.width()
                else:
                    pos = event.position().y() - groove.y() - handle.height() / 2
                    span = groove.height() - handle.height()
                value = QStyle.sliderValueFromPosition(
                    self.minimum(), self.maximum(), round(pos), max(1, span), option.upsideDown
                )
                self.setValue(value)  # then the handle is under the mouse: a drag may follow
        super().mousePressEvent(event)


class _Thumb(QLabel):
    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setFixedSize(QSize(THUMB, THUMB))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip(caption)

    def set_image(self, image) -> None:
        self.setPixmap(pixmap_from_array(image, THUMB))


class FaceControls(QObject):
    """A face's *Use this face* box and strength slider (its card's, and the loupe's).

    While the slider is dragged it asks at most every 150 ms (each ask re-pastes).
    ``show`` puts a face's values in without sending a request.
    """

    acceptedChanged = Signal(int, bool)
    strengthChanged = Signal(int, float)

    def __init__(self, orientation: Qt.Orientation, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.index = -1
        self.accept_box = QCheckBox("Use this face")
        self.accept_box.setToolTip("Unchecked faces are left as in the original photo")
        self.strength = JumpSlider(orientation)
        self.strength.setRange(0, 100)
        self.strength.setToolTip("Blend between the original (0%) and the restored face (100%)")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(36)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._emit_strength)
        self.accept_box.toggled.connect(self._on_accept)
        self.strength.valueChanged.connect(self._on_strength)
        self.strength.sliderReleased.connect(self._emit_strength)

    def show(self, face: FaceRecord) -> None:
        self.index = face.index
        for widget in (self.accept_box, self.strength):
            widget.blockSignals(True)
        self.accept_box.setChecked(face.accepted)
        self.strength.setValue(round(face.strength * 100))
        for widget in (self.accept_box, self.strength):
            widget.blockSignals(False)
        self.strength.setEnabled(face.accepted)
        self._update_label()

    def _on_accept(self, checked: bool) -> None:
        self.strength.setEnabled(checked)
        if self.index >= 0:
            self.acceptedChanged.emit(self.index, checked)

    def _on_strength(self, _value: int) -> None:
        self._update_label()
        if self.strength.isSliderDown():
            self._timer.start()
        else:
            self._emit_strength()

    def _emit_strength(self) -> None:
        self._timer.stop()
        if self.index >= 0:
            self.strengthChanged.emit(self.index, self.strength.value() / 100.0)

    def _update_label(self) -> None:
        self.strength_label.setText(f"{self.strength.value()}%")


class FaceCard(QFrame):
    """One face. Emits requests; never touches the engine."""

    clicked = Signal(int)
    acceptedChanged = Signal(int, bool)
    strengthChanged = Signal(int, float)
    rerunRequested = Signal(int)
    keepLikenessRequested = Signal(int)

    def __init__(
        self, face: FaceRecord, pending: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.index = face.index
        self._selected = False
        self.pending = pending  # its likeness figure is on its way
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

        self.before = _Thumb("Before: the face as the network saw it")
        self.after = _Thumb("After: the restored face")
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.controls = FaceControls(Qt.Orientation.Horizontal, self)
        self.accept_box = self.controls.accept_box
        self.strength = self.controls.strength
        self.strength_label = self.controls.strength_label
        self.rerun = QPushButton("Re-run")
        self.rerun.setToolTip("Restore this face again with the current model settings")
        self.identity_label = QLabel()
        self.identity_label.setWordWrap(True)
        self.keep_likeness = QPushButton("Keep the likeness")
        self.keep_likeness.setToolTip(
            "Lower this face's strength until it looks like the person again"
        )

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
        layout.addWidget(self.identity_label)
        layout.addWidget(self.keep_likeness)
        layout.addLayout(controls)

        self.controls.acceptedChanged.connect(self.acceptedChanged)
        self.controls.strengthChanged.connect(self.strengthChanged)
        self.rerun.clicked.connect(lambda: self.rerunRequested.emit(self.index))
        self.keep_likeness.clicked.connect(lambda: self.keepLikenessRequested.emit(self.index))
        self.set_face(face)

    def set_face(self, face: FaceRecord) -> None:
        """Show ``face`` (after a re-run, too) without emitting change requests."""
        self.face = face
        self.before.set_image(face.crop_before)
        self.after.set_image(face.crop_after)
        self.title.setText(
            f"Face {face.index + 1} · {face_width(face.box)} px wide\n{preset_label(face.model)}"
        )
        self.title.setToolTip(
            f"Restored by {preset_label(face.model)} (weights {face.weights or face.model}). "
            f"The face is {face_width(face.box)} px wide in the photo; face detector's "
            f"confidence {face.score:.3f}."
        )
        self.controls.show(face)
        self.set_identity(face)

    def set_identity(self, face: FaceRecord, pending: bool | None = None) -> None:
        """The identity line (and Keep the likeness) for ``face``'s current figure;
        ``pending`` (None: as it was): the figures are being measured."""
        self.face = face
        if pending is not None:
            self.pending = pending
        if not face.accepted:  # its slider keeps the strength it gets when ticked again
            self.identity_label.setText("Not used: the original face stays in the photo")
            self.identity_label.setToolTip(
                "Tick Use this face to paste the restored face at the strength shown"
            )
            self.keep_likeness.setVisible(False)
            return
        score = face.identity
        if score is None and self.pending:
            self.identity_label.setText(CHECKING_LIKENESS)
            self.identity_label.setToolTip(
                "The photo is shown first; each face's likeness figure follows here"
            )
            self.keep_likeness.setVisible(False)
            return
        if score is None:
            from engine.face_identity import identity_reason

            reason = identity_reason()
            if reason is None:
                self.identity_label.setText("Likeness not checked for this face")
                self.identity_label.setToolTip("The identity check was off, or it failed")
            else:
                self.identity_label.setText("Likeness not checked (identity check unavailable)")
                self.identity_label.setToolTip(
                    f"{reason}. Install Revive's identity extra (pip install "
                    "'revive[identity]') to see whether each restored face still looks "
                    "like the person"
                )
            self.keep_likeness.setVisible(False)
            return
        at = f" at {face.identity_strength:.0%}" if face.identity_strength < 0.995 else ""
        if score.flagged:
            text = f"⚠ May no longer look like the person: {score.cosine:.2f}{at}"
        else:
            text = f"Looks like the original: {score.cosine:.2f}{at}"
        self.identity_label.setText(text)
        self.identity_label.setToolTip(
            "How alike the restored face and the original are to a face-recognition "
            f"network (1 = the same; under {score.threshold:.2f} the restoration may have "
            "changed who it looks like). Lower the strength, or press Keep the likeness."
        )
        self.keep_likeness.setVisible(score.flagged and face.accepted)

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


class FoundCard(QFrame):
    """A face found but not restored: its crop and its size."""

    clicked = Signal(int)

    def __init__(self, index: int, box: Sequence[float], crop: np.ndarray | None) -> None:
        super().__init__()
        self.index = index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.picture = _Thumb("The face as found in the photo")
        if crop is not None and crop.size:
            self.picture.set_image(crop)
        self.title = QLabel(f"Face {index + 1} · {face_width(box)} px wide\nnot restored yet")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.picture)
        layout.addWidget(self.title, 1)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.index)
        super().mousePressEvent(event)


class FacesPanel(QWidget):
    """Every face of the current photo, top to bottom."""

    faceSelected = Signal(int, bool)  # index, frame it in the view (a click on its card)
    acceptedChanged = Signal(int, bool)
    allAcceptedRequested = Signal(bool)  # Use all (True) / Use none (False)
    strengthChanged = Signal(int, float)
    rerunRequested = Signal(int)
    keepLikenessRequested = Signal(int)
    inspectRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel(NO_FACES_YET)
        self.header.setWordWrap(True)
        self.use_all_button = QPushButton("Use all")
        self.use_all_button.setToolTip("Paste every restored face")
        self.use_none_button = QPushButton("Use none")
        self.use_none_button.setToolTip("Leave every face as in the original")
        self.use_all_button.clicked.connect(lambda: self._set_all(True))
        self.use_none_button.clicked.connect(lambda: self._set_all(False))
        bulk = QHBoxLayout()
        bulk.addWidget(self.use_all_button)
        bulk.addWidget(self.use_none_button)
        bulk.addStretch(1)
        self.order_combo = QComboBox()
        self.order_combo.addItem("Left to right", "position")
        self.order_combo.addItem("Least alike first", "likeness")
        self.order_combo.setToolTip("The order of the faces below")
        self.doubtful_only = QCheckBox("Only faces that may look like someone else")
        self.doubtful_only.setToolTip(
            "Show only the faces whose identity figure is under the threshold"
        )
        self.filter_note = QLabel()  # what an empty filtered list means
        self.filter_note.setWordWrap(True)
        self.filter_note.hide()
        self.order_combo.currentIndexChanged.connect(self._arrange)
        self.doubtful_only.toggled.connect(self._arrange)
        sorting = QHBoxLayout()
        self.order_label = QLabel("Order")
        sorting.addWidget(self.order_label)
        sorting.addWidget(self.order_combo, 1)
        self.inspect_button = QPushButton("Where the network looked…")
        self.inspect_button.setToolTip(
            "Show where the network looked on the selected face: its attention maps and "
            "the face parts it found (Ctrl+I)"
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
        layout.addLayout(bulk)
        layout.addLayout(sorting)
        layout.addWidget(self.doubtful_only)
        layout.addWidget(self.filter_note)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.inspect_button)
        self.cards: list[FaceCard] = []
        self.found_cards: list[FoundCard] = []
        self._selected = -1
        self._message: str | None = None
        self._show_bulk(False)
        self._entry: PhotoEntry | None = None  # the current photo
        self.has_weights: bool | None = None

    # --- following the photos ------------------------------------------------------------
    def on_photo(self, entry: PhotoEntry | None, change: PhotoChange) -> None:
        """The faces of the current photo: shown again, edited, re-run, pasted again."""
        if not change.current:
            return
        if change.kind is ChangeKind.CURRENT:
            self._entry = entry
        if change.shows_again:
            self.show_photo(entry)
        elif entry is None:
            return
        elif change.kind is ChangeKind.FACE_EDITED:
            for face in change.faces(entry):
                self.update_face(face)
        elif change.kind in (ChangeKind.PASTED, ChangeKind.LIKENESS) and entry.result:
            # the figures follow the strengths, and arrive after the picture
            self.update_identities(entry.result.faces, figures_pending(entry.result))
        elif change.kind is ChangeKind.FACE_RERUN:
            if entry.rerunning is None:  # ended: the face as it now stands
                for face in change.faces(entry):
                    self.update_face(face)
            self.set_busy(entry.rerunning is not None)

    def set_has_weights(self, has_weights: bool | None) -> None:
        """Whether a restoration model is installed (what to do next, in the header)."""
        self.has_weights = has_weights
        if self._entry is not None:
            self.show_photo(self._entry)

    def show_photo(self, entry: PhotoEntry | None) -> None:
        """``entry``'s restored faces, or those found while it has no result; with a
        result, its first face is selected (the loupe and the inspector follow)."""
        if entry is None:
            self.set_faces([], None)
            return
        if entry.before_image is None:
            if entry.status is PhotoStatus.ERROR:
                self.set_faces([], f"Could not be opened: {entry.detail}")
            else:
                self.set_faces([], "Loading…")
            return
        result = entry.result
        if result is None:
            found = entry.found or []
            message = faces_message(entry, self.has_weights)
            if found and entry.status not in (PhotoStatus.QUEUED, PhotoStatus.RESTORING):
                crops = entry.found_crops or [None] * len(found)
                self.set_found([f.box for f in found], crops, message)
            else:
                self.set_faces([], message)
            return
        if result.faces:
            self.set_faces(result.faces, pending=figures_pending(result))
            self.select(0)  # its maps in the inspector; the view is not moved
        else:
            self.set_faces([], no_face_result_message(result.scale))

    def _show_bulk(self, on: bool) -> None:
        self.use_all_button.setVisible(on)
        self.use_none_button.setVisible(on)
        scored = any(card.face.identity is not None for card in self.cards)
        for widget in (self.order_label, self.order_combo, self.doubtful_only):
            widget.setVisible(on and scored)

    def _arrange(self) -> None:
        """Put the cards in the chosen order; hide the confident ones when filtering."""
        by_likeness = self.order_combo.currentData() == "likeness"

        def key(card: FaceCard) -> tuple[float, int]:
            score = card.face.identity
            likeness = score.cosine if (by_likeness and score is not None) else 0.0
            return (likeness, card.index)

        for card in self.cards:
            self._list_layout.removeWidget(card)
        shown = 0
        for position, card in enumerate(sorted(self.cards, key=key)):
            self._list_layout.insertWidget(position, card)
            score = card.face.identity
            doubtful = score is not None and score.flagged
            card.setVisible(doubtful or not self.doubtful_only.isChecked())
            shown += doubtful or not self.doubtful_only.isChecked()
        filtering = self.doubtful_only.isChecked() and bool(self.cards)
        self.filter_note.setVisible(filtering and shown == 0)
        self.filter_note.setText(
            f"None of the {len(self.cards)} face(s) may look like someone else: each passed "
            "the likeness check. Untick the box above to see them all."
        )

    def _clear(self) -> None:
        for card in [*self.cards, *self.found_cards]:
            card.deleteLater()
        self.cards, self.found_cards = [], []
        self._selected = -1

    def set_faces(
        self, faces: list[FaceRecord], message: str | None = None, pending: bool = False
    ) -> None:
        """Restored faces (with a message instead of the count when there are none);
        ``pending``: their likeness figures are on their way."""
        self._clear()
        for face in faces:
            card = FaceCard(face, pending)
            card.clicked.connect(lambda index: self.select(index, frame=True))
            card.acceptedChanged.connect(self._on_accepted)
            card.strengthChanged.connect(self.strengthChanged)
            card.rerunRequested.connect(self.rerunRequested)
            card.keepLikenessRequested.connect(self.keepLikenessRequested)
            self._list_layout.insertWidget(self._list_layout.count() - 1, card)
            self.cards.append(card)
        self.inspect_button.setEnabled(bool(faces))
        self._show_bulk(len(faces) > 1)
        self._arrange()
        self._message = message
        self._update_header()

    def set_found(
        self,
        boxes: Sequence[Sequence[float]],
        crops: Sequence[np.ndarray | None],
        message: str,
    ) -> None:
        """Faces found but not restored: their crops, and ``message`` (what to do)."""
        self._clear()
        for i, (box, crop) in enumerate(zip(boxes, crops, strict=True)):
            card = FoundCard(i, box, crop)
            card.clicked.connect(lambda index: self.select(index, frame=True))
            self._list_layout.insertWidget(self._list_layout.count() - 1, card)
            self.found_cards.append(card)
        self.inspect_button.setEnabled(False)
        self._show_bulk(False)
        self._message = message
        self.header.setText(message)

    def _update_header(self) -> None:
        if not self.cards:
            self.header.setText(self._message or NO_FACES_YET)
            return
        used = sum(card.accept_box.isChecked() for card in self.cards)
        total = len(self.cards)
        if used == total:
            words = f"{total} face(s) restored, all used."
        elif used == 0:
            words = f"{total} face(s) restored, none used: the photo stays as it was."
        else:
            words = f"{total} face(s) restored, {used} used."
        self.header.setText(f"{words} Click one to see where the network looked.")

    def _on_accepted(self, index: int, accepted: bool) -> None:
        self._update_header()
        self.acceptedChanged.emit(index, accepted)

    def _set_all(self, accepted: bool) -> None:
        """Tick or untick every card (quietly), then one request for all of them."""
        for card in self.cards:
            card.accept_box.blockSignals(True)
            card.accept_box.setChecked(accepted)
            card.strength.setEnabled(accepted)
            card.accept_box.blockSignals(False)
        self._update_header()
        self.allAcceptedRequested.emit(accepted)

    def update_face(self, face: FaceRecord) -> None:
        for card in self.cards:
            if card.index == face.index:
                card.set_face(face)
        self._update_header()

    def update_identities(self, faces: Sequence[FaceRecord], pending: bool = False) -> None:
        """New identity figures (they came after the picture, or the strengths changed);
        sliders stay."""
        by_index = {f.index: f for f in faces}
        for card in self.cards:
            if card.index in by_index:
                card.set_identity(by_index[card.index], pending)
        self._show_bulk(len(self.cards) > 1)
        self._arrange()

    def card(self, index: int) -> FaceCard:
        return next(c for c in self.cards if c.index == index)

    @property
    def selected(self) -> int:
        return self._selected

    def select(self, index: int, frame: bool = False) -> None:
        """Select face ``index``; ``frame``: the view zooms to it (a click on its card)."""
        self._selected = index
        for card in self.cards:
            card.set_selected(card.index == index)
        cards: list[FaceCard | FoundCard] = [*self.cards, *self.found_cards]
        target = next((c for c in cards if c.index == index), None)
        if target is not None:
            self.scroll_area.ensureWidgetVisible(target)
        self.faceSelected.emit(index, frame)

    def set_busy(self, busy: bool) -> None:
        """A face is being restored again: no edits meanwhile (they would outdate it)."""
        for card in self.cards:
            card.rerun.setEnabled(not busy)
            card.accept_box.setEnabled(not busy)
            card.strength.setEnabled(not busy and card.accept_box.isChecked())
            card.keep_likeness.setEnabled(not busy)
        self.use_all_button.setEnabled(not busy)
        self.use_none_button.setEnabled(not busy)
