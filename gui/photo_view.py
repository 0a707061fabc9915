"""What the window shows of the current photo: before / after, its faces, their attention.

``PhotoView`` owns the central picture (the start page until a photo is open, then
the before / after view), the faces panel and the attention inspector, and keeps
them showing the ``PhotoController``'s current photo. Its ``show_*`` methods are
called when something about a photo changed; those about a photo that is not the
current one do nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QStackedWidget

from engine.results import FaceRecord, RestoreResult

from .attention_inspector import AttentionInspector
from .faces_panel import FacesPanel
from .photo_controller import PhotoController, PhotoEntry, PhotoStatus
from .settings import Settings
from .views import CompareView
from .window_parts import WelcomePage

Entry = PhotoEntry[QImage]

NOT_RESTORED = "Not restored yet: press Restore (Ctrl+R)."


def faces_message(entry: Entry) -> str:
    """What the faces panel says while a photo has no result."""
    status = entry.status
    if status is PhotoStatus.RESTORING:
        return "Restoring…"
    if status is PhotoStatus.QUEUED:
        return "Queued for restoration…"
    if status is PhotoStatus.ERROR:
        return f"Not restored: {entry.detail}"
    if status is PhotoStatus.CANCELLED:
        return "Restoration was cancelled. Press Restore (Ctrl+R) to run it again."
    return NOT_RESTORED


def face_rect(face: FaceRecord, scale: float) -> QRectF:
    x0, y0, x1, y1 = (float(v) * scale for v in face.box)
    return QRectF(x0, y0, x1 - x0, y1 - y0)


class PhotoView(QObject):
    """The current photo's pictures, faces panel and attention inspector."""

    openRequested = Signal()  # the start page's buttons
    sampleRequested = Signal()

    def __init__(
        self, photos: PhotoController[QImage], settings: Settings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.photos = photos
        self.settings = settings
        self.compare = CompareView()
        for view in self.compare.views():
            view.setAcceptDrops(False)  # drops go to the window
            view.viewport().setAcceptDrops(False)
        self.welcome = WelcomePage(self.openRequested.emit, self.sampleRequested.emit)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.compare)

        self.faces = FacesPanel()
        self.inspector = AttentionInspector()
        self.inspector.set_overlay(settings.overlay_attention)
        self.inspector.overlay_box.toggled.connect(self._remember_overlay)
        self.compare.faceClicked.connect(self.select_face)
        self.faces.faceSelected.connect(self._on_face_selected)

    def _remember_overlay(self, on: bool) -> None:
        self.settings.overlay_attention = on

    def _is_current(self, entry: Entry) -> bool:
        return entry is self.photos.current

    # --- the whole photo ---------------------------------------------------------------
    def show_current(self) -> None:
        """Show the current photo (the start page when there is none)."""
        entry = self.photos.current
        if entry is None or entry.before_image is None:
            self.stack.setCurrentWidget(self.welcome if entry is None else self.compare)
            self.compare.set_images(None, None)
            self.compare.set_faces([])
            self.faces.set_faces([], None if entry is None else "Loading…")
            self.inspector.set_face(None)
            return
        self.stack.setCurrentWidget(self.compare)
        before = QPixmap.fromImage(entry.before_image)
        after = QPixmap.fromImage(entry.after_image) if entry.after_image is not None else None
        self.compare.set_images(before, after)
        self.show_faces(entry)

    def show_result(self, entry: Entry) -> None:
        """``entry`` has a new result: both pictures and the faces."""
        if not self._is_current(entry):
            return
        if entry.before_image is not None and entry.after_image is not None:
            self.compare.set_images(
                QPixmap.fromImage(entry.before_image), QPixmap.fromImage(entry.after_image)
            )
        self.show_faces(entry)

    def show_after(self, entry: Entry) -> None:
        """``entry``'s faces were pasted again: only the "after" picture changes."""
        if self._is_current(entry) and entry.after_image is not None:
            self.compare.set_after(QPixmap.fromImage(entry.after_image))

    # --- the faces -----------------------------------------------------------------------
    def show_faces(self, entry: Entry) -> None:
        """The faces panel and the face boxes of ``entry`` (a message while it has none)."""
        if not self._is_current(entry):
            return
        result = entry.result
        if result is None:
            self.faces.set_faces([], faces_message(entry))
            self.compare.set_faces([])
            self.inspector.set_face(None)
            return
        self.faces.set_faces(result.faces)
        scale = float(result.scale)
        self.compare.set_faces([face_rect(f, scale) for f in result.faces])
        if result.faces:
            self.faces.select(0)
        else:
            self.inspector.set_face(None)

    def face_edited(self, entry: Entry, face: FaceRecord) -> None:
        """A face was accepted / rejected or its strength changed (its maps stay)."""
        if not self._is_current(entry):
            return
        self.faces.update_face(face)
        if self.inspector.face is not None and self.inspector.face.index == face.index:
            self.inspector.face = face

    def face_rerun(self, entry: Entry, face: FaceRecord) -> None:
        """A face was restored again: new crops and new attention maps."""
        if not self._is_current(entry):
            return
        self.faces.update_face(face)
        if self.faces.selected == face.index:
            self.inspector.set_face(face)

    def select_face(self, index: int) -> None:
        self.faces.select(index)

    def _on_face_selected(self, index: int) -> None:
        entry = self.photos.current
        result: RestoreResult | None = entry.result if entry is not None else None
        if result is None or not (0 <= index < len(result.faces)):
            self.inspector.set_face(None)
            return
        face = result.faces[index]
        self.compare.set_selected_face(index)
        self.compare.frame(face_rect(face, float(result.scale)))
        self.inspector.set_face(face)
