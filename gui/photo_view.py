"""What the window shows of the current photo: before / after, and which face is chosen.

``PhotoView`` owns the central picture (the start page until a photo is open, a page
saying why when it could not be opened, then the before / after view) and makes the
faces panel, the face loupe and the attention inspector. Each of them, the view
included, follows the photo changes by itself (``on_photo``, ``gui.photo_changes``);
the view only carries the user's choice of a face between them: a click on a face's
outline or card selects it in the panel, outlines it, and shows it in the loupe and
the inspector.

A photo that is not restored (yet, or because no restoration model is installed) is
outlined with the faces that were found, so the user sees what Restore would work on.
When a restoration ends the view stays as it was (the whole photo, unless the user
zoomed); only a click on a face's card frames that face. Face outlines can be hidden.
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
from .photo_changes import ChangeKind, PhotoChange
from .photo_controller import PhotoController, PhotoEntry, PhotoStatus
from .settings import Settings
from .views import CompareView
from .window_parts import WelcomePage

Entry = PhotoEntry[QImage]


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

    def set_has_weights(self, has_weights: bool | None) -> None:
        """Whether a restoration model is installed (what the start page and the faces
        panel suggest)."""
        self.welcome.set_has_weights(has_weights)
        self.faces.set_has_weights(has_weights)

    def set_face_boxes_visible(self, on: bool) -> None:
        self.settings.show_face_boxes = on
        self.compare.set_faces_visible(on)

    # --- following the photos ------------------------------------------------------------
    def on_photo(self, entry: Entry | None, change: PhotoChange) -> None:
        """The central picture and the face outlines follow the current photo."""
        if not change.current:
            return
        kind = change.kind
        if kind in (ChangeKind.CURRENT, ChangeKind.LOADED):
            self.show_current()
        elif entry is None:
            return
        elif kind in (ChangeKind.STATE, ChangeKind.FOUND):
            if entry.before_image is None:
                self.show_current()  # loading again, or it could not be opened
            else:
                self._outline_faces(entry)
        elif kind is ChangeKind.RESULT:
            self._show_result(entry)
        elif kind is ChangeKind.PASTED and entry.after_image is not None:
            self.compare.set_after(QPixmap.fromImage(entry.after_image))

    def show_current(self) -> None:
        """Show the current photo whole (the start page when there is none)."""
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
            return
        self.stack.setCurrentWidget(self.compare)
        before = QPixmap.fromImage(entry.before_image)
        after = QPixmap.fromImage(entry.after_image) if entry.after_image is not None else None
        self.compare.set_images(before, after)
        self.compare.zoom_fit()  # a photo opened (or chosen in the list) is seen whole
        self._outline_faces(entry)

    def _show_result(self, entry: Entry) -> None:
        """A new result: both pictures and the outlines (the zoom stays)."""
        if entry.before_image is not None and entry.after_image is not None:
            self.compare.set_images(
                QPixmap.fromImage(entry.before_image), QPixmap.fromImage(entry.after_image)
            )
        self._outline_faces(entry)

    def _outline_faces(self, entry: Entry) -> None:
        """The restored faces, or the faces found while it has no result."""
        result = entry.result
        if result is None:
            self.compare.set_faces([box_rect(f.box, 1.0) for f in entry.found or []])
            return
        scale = float(result.scale)
        self.compare.set_faces([face_rect(f, scale) for f in result.faces])

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
