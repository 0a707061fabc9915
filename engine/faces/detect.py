"""Face detection with MTCNN from facenet-pytorch (its weights ship in the wheel: offline).

Very large photos are searched on a down-scaled copy (MTCNN's image pyramid grows
with the photo), then boxes and landmarks are scaled back. Faces smaller than
``min_face_size`` pixels (in the original photo) or scoring under ``min_score``
are dropped; both are settable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ReviveError
from ..pixels import to_uint8


@dataclass
class DetectedFace:
    """One face: box (x0, y0, x1, y1), MTCNN score, and 5 landmarks (x, y) in photo pixels."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray  # 5 x 2: left eye, right eye, nose, left and right mouth corner

    @property
    def size(self) -> float:
        """Side of the face box (geometric mean of width and height)."""
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        return float(np.sqrt(max(w, 0) * max(h, 0)))

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))


class FaceDetector:
    """MTCNN with a size cap, score and size thresholds; built on first use, thread-safe."""

    def __init__(
        self,
        min_face_size: float = 16.0,
        min_score: float = 0.9,
        max_side: int = 2000,
        device: str = "cpu",
    ) -> None:
        self.min_face_size = min_face_size
        self.min_score = min_score
        self.max_side = max_side
        self.device = device
        self._mtcnn = None
        self._lock = threading.Lock()

    def load(self) -> FaceDetector:
        """Import facenet-pytorch and build MTCNN now, not on the first photo.

        The import holds Python's GIL for whole seconds in places: an app does it once,
        early, on its worker thread, so a photo being processed never stalls its UI.
        """
        self._model()
        return self

    def _model(self):
        if self._mtcnn is None:
            try:
                from facenet_pytorch import MTCNN
            except ImportError as err:  # pragma: no cover - depends on the install
                raise ReviveError(
                    f"face detection needs facenet-pytorch, which is not installed ({err})"
                ) from None
            self._mtcnn = MTCNN(
                keep_all=True, device=self.device, min_face_size=12, post_process=False
            )
        return self._mtcnn

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Faces in an H x W x 3 RGB image (uint8 or uint16), left to right."""
        image = to_uint8(rgb)
        h, w = image.shape[:2]
        factor = min(1.0, self.max_side / max(h, w))
        if factor < 1.0:
            size = (max(1, round(w * factor)), max(1, round(h * factor)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        # MTCNN's own minimum, in the searched image, follows ours (but not below its 12 px net).
        mtcnn = self._model()
        with self._lock:
            mtcnn.min_face_size = max(12, int(self.min_face_size * factor))
            boxes, scores, points = mtcnn.detect(np.ascontiguousarray(image), landmarks=True)
        if boxes is None:
            return []
        faces = []
        for box, score, pts in zip(boxes, scores, points, strict=True):
            face = DetectedFace(
                np.asarray(box, np.float64) / factor,
                float(score),
                np.asarray(pts, np.float64) / factor,
            )
            if face.score >= self.min_score and face.size >= self.min_face_size:
                faces.append(face)
        return sorted(faces, key=lambda f: (f.box[0], f.box[1]))
