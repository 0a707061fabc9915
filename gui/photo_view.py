"""What the window shows of the current photo: before / after, its faces, their attention.

``PhotoView`` owns the central picture (the start page until a photo is open, a page
saying why when it could not be opened, then the before / after view), the faces panel
and the attention inspector, and keeps them showing the ``PhotoController``'s current
photo. Its ``show_*`` methods are called when something about a photo changed; those
about a photo that is not the current one do nothing.

A photo that is not restored (yet, or because no restoration model is installed) shows
the faces that were found, so the user sees what Restore would work on. When a
restoration ends the view stays as it was (the whole photo, unless the user zoomed);
only a click on a face's card frames that face. Face outlines can be hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from engine.results import FaceRecord, RestoreResult

from .attention_inspector import AttentionInspector
from .faces_panel import FacesPanel
from .loupe import FaceLoupe
from .photo_controller import PhotoController, PhotoEntry, PhotoStatus
from .settings import Settings
from .views import CompareView
from .window_parts import WelcomePage

Entry = PhotoEntry[QImage]

NOT_RESTORED = "Not restored yet: press Restore (Ctrl+R)."
GET_A_MODEL = (
    "Restoring them needs a face-restoration model: Models ▸ Manage Models… ▸ Download "
    "(or the button in the banner above)."
)


def faces_message(entry: Entry, has_weights: bool | None = True) -> str:
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


def face_rect(face: FaceRecord, scale: float) -> QRectF:
    return box_rect(face.box, scale)


def box_rect(box: Sequence[float] | np.ndarray, scale: float) -> QRectF:
    x0, y0, x1, y1 = (float(v) * scale for v in box)
    return QRectF(x0, y0, x1 - x0, y1 - y0)


class ErrorPage(QLabel):
    """What the photo area shows for a photo that could not be opened."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMargin(40)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def show_error(self, name: str, detail: str) -> None:
        self.setText(
            f"{name} could not be opened.\n\n{detail}\n\n"
            "Close it (Ctrl+W) or open another photo; the others in the list are not affected."
        )


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
        self.has_weights: bool | None = None
        self.compare = CompareView()
        for view in self.compare.views():
            view.setAcceptDrops(False)  # drops go to the window
            view.viewport().setAcceptDrops(False)
        self.compare.set_faces_visible(settings.show_face_boxes)
        self.welcome = WelcomePage(self.openRequested.emit, self.sampleRequested.emit)
        self.error_page = ErrorPage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.compare)
        self.stack.addWidget(self.error_page)

        self.faces = FacesPanel()
        self.loupe = FaceLoupe()
        self.inspector = AttentionInspector()
        self.inspector.set_overlay(settings.overlay_attention)
        self.inspector.set_stretch(settings.stretch_attention)
        self.inspector.overlay_box.toggled.connect(self._remember_overlay)
        self.inspector.stretch_box.toggled.connect(self._remember_stretch)
        self.compare.faceClicked.connect(self.select_face)
        self.faces.faceSelected.connect(self._on_face_selected)

    def _remember_overlay(self, on: bool) -> None:
        self.settings.overlay_attention = on

    def _remember_stretch(self, on: bool) -> None:
        self.settings.stretch_attention = on

    def _is_current(self, entry: Entry) -> bool:
        return entry is self.photos.current

    def set_has_weights(self, has_weights: bool | None) -> None:
        """Whether a restoration model is installed (what the faces panel suggests)."""
        self.has_weights = has_weights
        self.welcome.set_has_weights(has_weights)
        if self.photos.current is not None:
            self.show_faces(self.photos.current)

    def set_face_boxes_visible(self, on: bool) -> None:
        self.settings.show_face_boxes = on
        self.compare.set_faces_visible(on)

    # --- the whole photo ---------------------------------------------------------------
    def show_current(self) -> None:
        """Show the current photo (the start page when there is none)."""
        entry = self.photos.current
        if entry is None or entry.before_image is None:
            page: QWidget
            if entry is None:
                page = self.welcome
            elif entry.status is PhotoStatus.ERROR:
                self.error_page.show_error(entry.name, entry.detail)
                page = self.error_page
            else:
                page = self.compare
            self.stack.setCurrentWidget(page)
            self.compare.set_images(None, None)
            self.compare.set_faces([])
            if entry is None:
                self.faces.set_faces([], None)
            elif entry.status is PhotoStatus.ERROR:
                self.faces.set_faces([], f"Could not be opened: {entry.detail}")
            else:
                self.faces.set_faces([], "Loading…")
            self.inspector.set_face(None)
            self.loupe.show_face(None, -1)
            return
        self.stack.setCurrentWidget(self.compare)
        before = QPixmap.fromImage(entry.before_image)
        after = QPixmap.fromImage(entry.after_image) if entry.after_image is not None else None
        self.compare.set_images(before, after)
        self.compare.zoom_fit()  # a photo opened (or chosen in the list) is seen whole
        self.show_faces(entry)

    def show_result(self, entry: Entry) -> None:
        """``entry`` has a new result: both pictures and the faces (the zoom stays)."""
        if not self._is_current(entry):
            return
        if entry.before_image is not None and entry.after_image is not None:
            self.compare.set_images(
                QPixmap.fromImage(entry.before_image), QPixmap.fromImage(entry.after_image)
            )
        self.show_faces(entry)

    def show_after(self, entry: Entry) -> None:
        """``entry``'s faces were pasted again: the "after" picture and the identity figures
        (they follow the strengths) change."""
        if self._is_current(entry) and entry.after_image is not None:
            self.compare.set_after(QPixmap.fromImage(entry.after_image))
            if entry.result is not None:
                self.faces.update_identities(entry.result.faces)
            self.loupe.refresh(entry.result)  # the same face, pasted again

    def show_state(self, entry: Entry) -> None:
        """Its status changed (queued, restoring, failed, faces found): the faces panel."""
        if not self._is_current(entry):
            return
        if entry.before_image is None and entry.status is PhotoStatus.ERROR:
            self.show_current()
            return
        self.show_faces(entry)

    # --- the faces -----------------------------------------------------------------------
    def show_faces(self, entry: Entry) -> None:
        """The faces panel and the face boxes of ``entry`` (found faces while it has no result)."""
        if not self._is_current(entry):
            return
        result = entry.result
        if result is None:
            found = entry.found or []
            message = faces_message(entry, self.has_weights)
            if found and entry.status not in (PhotoStatus.QUEUED, PhotoStatus.RESTORING):
                crops = entry.found_crops or [None] * len(found)
                self.faces.set_found([f.box for f in found], crops, message)
            else:
                self.faces.set_faces([], message)
            self.compare.set_faces([box_rect(f.box, 1.0) for f in found])
            self.inspector.set_face(None)
            self.loupe.show_face(None, -1)
            return
        scale = float(result.scale)
        if result.faces:
            self.faces.set_faces(result.faces)
        else:
            self.faces.set_faces([], no_face_result_message(result.scale))
        self.compare.set_faces([face_rect(f, scale) for f in result.faces])
        if result.faces:
            self.faces.select(0)  # its maps in the inspector; the view is not moved
        else:
            self.inspector.set_face(None)
            self.loupe.show_face(None, -1)

    def face_edited(self, entry: Entry, face: FaceRecord) -> None:
        """A face was accepted / rejected or its strength changed (its maps stay)."""
        if not self._is_current(entry):
            return
        self.faces.update_face(face)
        self.loupe.set_face(face)
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
        """A face box was clicked in the view: select it there (no zoom: it is in sight)."""
        self.faces.select(index, frame=False)

    def _on_face_selected(self, index: int, frame: bool) -> None:
        entry = self.photos.current
        if entry is None:
            return
        result: RestoreResult | None = entry.result
        if result is None:  # found faces: outline the chosen one
            found = entry.found or []
            if 0 <= index < len(found):
                self.compare.set_selected_face(index)
                if frame:
                    self.compare.frame(box_rect(found[index].box, 1.0))
            return
        if not (0 <= index < len(result.faces)):
            self.inspector.set_face(None)
            self.loupe.show_face(None, -1)
            return
        face = result.faces[index]
        self.compare.set_selected_face(index)
        if frame:
            self.compare.frame(face_rect(face, float(result.scale)))
        self.inspector.set_face(face)
        self.loupe.show_face(result, index)
