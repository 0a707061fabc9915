"""Face detection with MTCNN from facenet-pytorch (its weights ship in the wheel: offline).

Very large photos are searched on a down-scaled copy (MTCNN's image pyramid grows
with the photo), then boxes and landmarks are scaled back. Faces smaller than
``min_face_size`` pixels (in the original photo) or scoring under ``min_score``
are dropped; both are settable. A photo whose short side cannot hold a face of
that size (a thin strip, a tiny image, a minimum larger than the photo) has no
face: MTCNN is not even asked (its image pyramid would be empty, and it fails).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


MTCNN_MIN_FACE = 12  # px: the input of MTCNN's first network (P-Net)


class FaceDetector:
    """MTCNN with a size cap, score and size thresholds; built on first use, thread-safe."""

    def __init__(
        self,
        min_face_size: float = 16.0,
        min_score: float = 0.9,
        max_side: int = 2000,
        device: str = "cpu",
        prepare: Callable[[Any], object] | None = None,
    ) -> None:
        self.min_face_size = min_face_size
        # called once on the built MTCNN: the pipeline puts the runtime setting's
        # ONNX Runtime sessions behind its three nets here (engine.runtimes.mtcnn)
        self.prepare = prepare
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
                keep_all=True,
                device=self.device,
                min_face_size=MTCNN_MIN_FACE,
                post_process=False,
            )
            if self.prepare is not None:
                self.prepare(self._mtcnn)
        return self._mtcnn

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Faces in an H x W x 3 RGB image (uint8 or uint16), left to right."""
        h, w = rgb.shape[:2]
        if min(h, w) < max(MTCNN_MIN_FACE, self.min_face_size):
            return []  # no face of the asked size fits (nor one MTCNN's smallest net finds)
        factor = min(1.0, self.max_side / max(h, w))
        # MTCNN's own minimum, in the searched image, follows ours (but not below its 12 px net).
        min_size = max(MTCNN_MIN_FACE, int(self.min_face_size * factor))
        if min(h, w) * factor < min_size:
            return []  # a thin strip: on the searched copy its short side holds no face
        image = to_uint8(rgb)
        if factor < 1.0:
            size = (max(1, round(w * factor)), max(1, round(h * factor)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if min(image.shape[:2]) < min_size:
            return []
        mtcnn = self._model()
        with self._lock:
            mtcnn.min_face_size = min_size
            try:
                boxes, scores, points = mtcnn.detect(np.ascontiguousarray(image), landmarks=True)
            except ValueError as err:
                # facenet-pytorch concatenates an empty list when a stage is left with no
                # candidate box inside the image: then nothing was found.
                if "non-empty list of Tensors" not in str(err):
                    raise
                return []
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
