"""Did the restoration keep the person? An identity figure per face, offline.

dlib's face-recognition ResNet (128-d descriptors, trained on about 3 million faces)
compares a restored face with its original. Both models are files inside the
``face_recognition_models`` package and dlib comes as the ``dlib-bin`` wheel (the
``identity`` extra): nothing downloads at run time. Without them
:func:`identity_available` says why in one line and :class:`IdentityUnavailable`
is raised on use; the rest of Revive runs as before.

Geometry. The network sees dlib's 150 px "face chip" (padding 0.25), a similarity
warp fixed by the face's landmarks. Revive's crops are already aligned, so the chip
is the similarity that takes the face's five MTCNN-order landmarks (eyes, nose tip,
mouth corners; in pixels of the crop) onto :data:`CHIP_POINTS`, where dlib's own
alignment puts them on average (measured on UTKFace, see ``docs/identity.md``).
Without landmarks the crop's template points stand in for them. Then (``refine``,
the default) dlib's 5-point shape predictor runs inside the face box those points
give and dlib's own chip is used, as ``face_recognition`` does after its detector;
it separates same-face from different-people pairs a little better (ROC AUC 0.990
against 0.985 on 300 UTKFace faces) and falls back to the landmark chip when the
predictor strays.

Typical use, per face (``landmarks5`` in pixels of the restored crop)::

    if identity_available() is None:
        score = IdentityModel.shared().compare(restored, original, landmarks5)
        score.cosine, score.distance, score.flagged  # flagged: cosine < IDENTITY_THRESHOLD

:meth:`IdentityModel.compare` cuts *one* chip geometry from the restored face and
applies it to the original scaled to the restored crop's size (the original may be
the small, blurry input of the restorer), so only the content of the two faces
differs, never their framing.

``landmarks68`` (:class:`LandmarkModel`) is dlib's 68-point shape predictor (iBUG
300-W layout), used by ``revive evaluate --metrics landmarks``.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import cv2
import numpy as np

from .errors import ReviveError
from .faces.align import (
    compose,
    fit_similarity,
    invert_similarity,
    template_points,
    transform_points,
    warp_affine,
)

log = logging.getLogger("engine.identity")

# Flag a face when the cosine similarity of its restored and original descriptors is
# below this: the equal-error point of "the same face, clean vs Eq. 14-degraded with the
# restorers' ranges" against "two different people" on the 1,000 UTKFace validation faces
# (4.4 % of each side wrong at 0.901). The study, its numbers on real photos and what
# it flags elsewhere: docs/identity.md (`python bench/identity_study.py`).
IDENTITY_THRESHOLD = 0.90

EMBEDDING_SIZE = 128
CHIP_SIZE = 150  # the recognition network's input side (dlib.get_face_chip default)
CHIP_PADDING = 0.25  # dlib's compute_face_descriptor default

# Where dlib's 5-point alignment puts the MTCNN-order landmarks (left eye, right eye,
# nose tip, left / right mouth corner) in its 150 px chip: the mean over 2,931 UTKFace
# training crops (HOG detector -> 5-point predictor -> get_face_chip_details at 150 px
# and 0.25 padding; `python bench/identity_study.py --calibrate`).
CHIP_POINTS = np.array(
    [
        [40.04, 33.14],
        [104.00, 32.64],
        [71.65, 70.14],
        [43.33, 98.21],
        [100.75, 98.35],
    ]
)
# dlib's HOG face box in that chip (left, top, right, bottom; same measurement): the box
# the shape predictors were trained to start from.
CHIP_BOX = np.array([11.25, 11.89, 132.52, 131.22])

INSTALL_HINT = "pip install 'revive[identity]' (dlib-bin and face-recognition-models)"
_FILES = {
    "recognition": "dlib_face_recognition_resnet_model_v1.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
}


class IdentityUnavailable(ReviveError):
    """dlib or its model files are not installed: no identity figure can be given."""


def _dlib() -> Any:
    try:
        import dlib  # a plain import: PyInstaller's analysis sees it and collects dlib
    except (ImportError, OSError) as err:
        raise IdentityUnavailable(
            f"identity check unavailable: dlib is not installed ({INSTALL_HINT})"
        ) from err
    return dlib


def model_dir() -> Path:
    """The ``models`` folder of the ``face_recognition_models`` package.

    Found without importing the package (its ``__init__`` needs setuptools'
    ``pkg_resources`` only to build these same paths).
    """
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / "models").is_dir():
            return Path(folder) / "models"
    raise IdentityUnavailable(
        f"identity check unavailable: face-recognition-models is not installed ({INSTALL_HINT})"
    )


def model_file(kind: str) -> Path:
    """Path of one model file: ``recognition``, ``landmarks5`` or ``landmarks68``."""
    path = model_dir() / _FILES[kind]
    if not path.is_file():
        raise IdentityUnavailable(f"identity check unavailable: {path} is missing")
    return path


def identity_available(kinds: tuple[str, ...] = ("recognition", "landmarks5")) -> str | None:
    """None when the identity check can run, else the one-line reason it cannot."""
    try:
        _dlib()
        for kind in kinds:
            model_file(kind)
    except IdentityUnavailable as err:
        return str(err)
    return None


def as_rgb8(image: np.ndarray) -> np.ndarray:
    """Contiguous H x W x 3 uint8 from uint8 / uint16 / float [0, 1], gray or RGB(A)."""
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def is_gray(image: np.ndarray, tolerance: float = 2.0) -> bool:
    """Whether an RGB uint8 image is gray (or nearly: a scanned black-and-white print)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    x = image.astype(np.int16)
    spread = np.maximum(np.abs(x[..., 0] - x[..., 1]), np.abs(x[..., 1] - x[..., 2]))
    return float(spread.mean()) <= tolerance


def _gray3(image: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """dlib's distance: Euclidean, between raw descriptors (dlib: < 0.6 is the same person)."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


@dataclass(frozen=True)
class IdentityScore:
    """How alike a restored face and its original are to a face-recognition network."""

    cosine: float  # of the two descriptors, in [-1, 1]; 1: the same
    distance: float  # dlib's Euclidean distance; 0: the same
    threshold: float = IDENTITY_THRESHOLD

    @property
    def flagged(self) -> bool:
        """True when the restoration moved the face too far from the original."""
        return self.cosine < self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "cosine": round(self.cosine, 4),
            "distance": round(self.distance, 4),
            "threshold": self.threshold,
            "flagged": self.flagged,
        }


def face_points(
    face_shape: tuple[int, ...],
    landmarks5: np.ndarray | None = None,
    template: str | None = None,
) -> np.ndarray:
    """The face's five landmarks in its crop: given, else the template's, else utkface's."""
    if landmarks5 is not None:
        points = np.asarray(landmarks5, np.float64).reshape(5, 2)
        if not np.isfinite(points).all():
            raise ValueError("landmarks must be finite")
        return points
    h, w = face_shape[:2]
    points = template_points(template or "utkface", 1)
    return points * np.array([w, h], np.float64)


def template_chip_matrix(
    face_shape: tuple[int, ...],
    landmarks5: np.ndarray | None = None,
    template: str | None = None,
) -> np.ndarray:
    """2x3: crop pixels -> chip pixels, from the landmarks (or template) alone."""
    return fit_similarity(face_points(face_shape, landmarks5, template), CHIP_POINTS)


def chip_details_matrix(details: Any) -> np.ndarray:
    """2x3: image pixels -> chip pixels of a ``dlib.chip_details`` (as dlib extracts it)."""
    rect = details.rect
    centre = np.array([rect.center().x, rect.center().y])
    angle = details.angle
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array(
        [[rect.left(), rect.top()], [rect.right(), rect.top()], [rect.right(), rect.bottom()]]
    )
    image = (corners - centre) @ rotation.T + centre
    chip = np.array(
        [[0, 0], [details.cols - 1, 0], [details.cols - 1, details.rows - 1]], np.float64
    )
    return fit_similarity(image, chip)


def scale_between(src_shape: tuple[int, ...], dst_shape: tuple[int, ...]) -> np.ndarray:
    """2x3: pixels of an image of ``src_shape`` -> the same place in one of ``dst_shape``.

    Pixel centres map onto pixel centres (both images show the same region).
    """
    sx = dst_shape[1] / src_shape[1]
    sy = dst_shape[0] / src_shape[0]
    return np.array([[sx, 0.0, (sx - 1) / 2], [0.0, sy, (sy - 1) / 2]])


def cut_chip(face: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The 150 px chip of ``face`` under ``matrix`` (anti-aliased when shrinking)."""
    return warp_affine(as_rgb8(face), matrix, (CHIP_SIZE, CHIP_SIZE), cv2.BORDER_REFLECT_101)


S = TypeVar("S", bound="_Shared")


class _Shared:
    """One process-wide instance per class, created on first use (dlib models are big)."""

    _instances: dict[type, Any] = {}
    _instances_lock = threading.Lock()

    @classmethod
    def shared(cls: type[S]) -> S:
        """The instance (raises IdentityUnavailable when dlib or a model is missing)."""
        with _Shared._instances_lock:
            if cls not in _Shared._instances:
                _Shared._instances[cls] = cls()
            return cast(S, _Shared._instances[cls])


class IdentityModel(_Shared):
    """dlib's face-recognition ResNet and 5-point shape predictor, loaded once.

    Thread-safe: dlib's network keeps per-call state, so calls into dlib hold a lock
    (about 25 ms a face on one CPU core); the warps run outside it.
    """

    def __init__(self) -> None:
        dlib = _dlib()
        self._dlib = dlib
        self._net = dlib.face_recognition_model_v1(str(model_file("recognition")))
        self._predictor = dlib.shape_predictor(str(model_file("landmarks5")))
        self._lock = threading.Lock()

    # -- geometry --------------------------------------------------------------------
    def chip_matrix(
        self,
        face: np.ndarray,
        landmarks5: np.ndarray | None = None,
        *,
        template: str | None = None,
        refine: bool = True,
    ) -> np.ndarray:
        """2x3: ``face`` pixels -> chip pixels.

        From the five landmarks (crop pixels, MTCNN order) or the template's points;
        with ``refine`` dlib's 5-point predictor then places the chip itself, from the
        face box those points give (kept only when it agrees with them roughly).
        """
        matrix = template_chip_matrix(face.shape, landmarks5, template)
        if not refine:
            return matrix
        box = transform_points(invert_similarity(matrix), CHIP_BOX.reshape(2, 2)).ravel()
        dlib = self._dlib
        rect = dlib.rectangle(*(int(round(v)) for v in box))
        image = as_rgb8(face)
        with self._lock:
            shape = self._predictor(image, rect)
        refined = chip_details_matrix(dlib.get_face_chip_details(shape, CHIP_SIZE, CHIP_PADDING))
        # A blurred or odd face can mislead the predictor: keep the landmark geometry
        # when the refined chip is more than 20 % larger / smaller or moved far.
        ratio = np.sqrt(abs(np.linalg.det(refined[:, :2]) / np.linalg.det(matrix[:, :2])))
        middle = np.array([[CHIP_SIZE / 2, CHIP_SIZE / 2]])
        centre = transform_points(refined, transform_points(invert_similarity(matrix), middle))
        if not 0.8 < ratio < 1.25 or np.abs(centre - middle).max() > 0.15 * CHIP_SIZE:
            return matrix
        return refined

    # -- descriptors -----------------------------------------------------------------
    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        """N x 128 float32 descriptors of 150 px RGB uint8 chips."""
        if not chips:
            return np.empty((0, EMBEDDING_SIZE), np.float32)
        chips = [np.ascontiguousarray(as_rgb8(c)) for c in chips]
        with self._lock:
            out = self._net.compute_face_descriptor(chips)
        return np.array([np.asarray(v) for v in out], np.float32).reshape(-1, EMBEDDING_SIZE)

    def embed(
        self,
        face: np.ndarray,
        landmarks5: np.ndarray | None = None,
        *,
        template: str | None = None,
        refine: bool = True,
    ) -> np.ndarray:
        """The 128-d descriptor (float32, dlib's raw scale: norm about 1.5) of one face.

        ``face``: an aligned face crop (uint8 / uint16 / float [0, 1], RGB or gray), any
        size; ``landmarks5``: its five landmarks in crop pixels, else ``template``'s.
        """
        matrix = self.chip_matrix(face, landmarks5, template=template, refine=refine)
        return self.embed_chips([cut_chip(face, matrix)])[0]

    def compare(
        self,
        restored: np.ndarray,
        original: np.ndarray,
        landmarks5: np.ndarray | None = None,
        *,
        template: str | None = None,
        refine: bool = True,
        gray: bool | None = None,
    ) -> IdentityScore:
        """How far the restoration moved the face from the original.

        ``restored`` and ``original`` show the same region of the photo, at any two
        sizes (SPARNet's 16 px input and 128 px output, a CAGFace region and its x4
        result); ``landmarks5`` are in pixels of ``restored``. The chip geometry is
        taken from the restored face and applied to both. ``gray`` compares luminance
        only; None: when the original is gray (a black-and-white photo keeps its colour).
        """
        geometry = {"template": template, "refine": refine, "gray": gray}
        a, b = self.embed_chips(list(self._chip_pair(restored, original, landmarks5, geometry)))
        return IdentityScore(cosine(a, b), distance(a, b))

    def _chip_pair(
        self,
        restored: np.ndarray,
        original: np.ndarray,
        landmarks5: np.ndarray | None,
        geometry: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two 150 px chips ``compare`` embeds: one geometry, from the restored face
        (``geometry``: ``compare``'s template, refine and gray)."""
        geometry = geometry or {}
        template, refine = geometry.get("template"), geometry.get("refine", True)
        gray = geometry.get("gray")
        restored, original = as_rgb8(restored), as_rgb8(original)
        if gray is None:
            gray = is_gray(original)
        if gray:
            restored, original = _gray3(restored), _gray3(original)
        matrix = self.chip_matrix(restored, landmarks5, template=template, refine=refine)
        to_original = compose(matrix, scale_between(original.shape, restored.shape))
        return cut_chip(restored, matrix), cut_chip(original, to_original)

    def compare_many(self, pairs: list[FacePair]) -> list[IdentityScore | None]:
        """``compare`` for many faces with one call into dlib's network for all of them.

        A face whose chips cannot be cut (e.g. landmarks that are not finite) gets None;
        the others are still measured.
        """
        chips: list[np.ndarray] = []
        cut: list[bool] = []
        for restored, original, landmarks5 in pairs:
            try:
                chips.extend(self._chip_pair(restored, original, landmarks5))
                cut.append(True)
            except (ValueError, cv2.error) as err:
                log.warning("identity check skipped for one face: %s", err)
                cut.append(False)
        found = iter(self.embed_chips(chips).reshape(-1, 2, EMBEDDING_SIZE))
        scores: list[IdentityScore | None] = []
        for ok in cut:
            if ok:
                a, b = next(found)
                scores.append(IdentityScore(cosine(a, b), distance(a, b)))
            else:
                scores.append(None)
        return scores


# One face to check: (the face as pasted, its original, its five landmarks or None).
FacePair = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


def compare_faces(
    restored: np.ndarray, original: np.ndarray, landmarks5: np.ndarray | None = None
) -> IdentityScore:
    """``IdentityModel.compare``, in the helper process when one was asked for."""
    score = compare_face_pairs([(restored, original, landmarks5)])[0]
    if score is None:
        raise ValueError("the face's chips could not be cut")
    return score


def compare_face_pairs(pairs: list[FacePair]) -> list[IdentityScore | None]:
    """``IdentityModel.compare_many``: one trip to the helper process (when there is
    one) and one call into dlib's network for every face of ``pairs``.

    The faces travel as 8-bit RGB, what dlib's chips are cut from anyway (a quarter of
    the float crops' bytes).
    """
    pairs = [(as_rgb8(a), as_rgb8(b), p) for a, b, p in pairs]
    pool = _helper.pool()
    if pool is not None:
        try:
            return pool.submit(_compare_here, pairs).result()
        except BrokenProcessPool as err:  # the helper died: go on in this process
            _helper.broken(err)
    return _compare_here(pairs)


def _compare_here(pairs: list[FacePair]) -> list[IdentityScore | None]:
    return IdentityModel.shared().compare_many(pairs)


class _HelperProcess:
    """One process that runs the identity check for an app with a window.

    dlib holds the GIL for a whole call (its ResNet: about 90 ms a face on a CPU core),
    which stalls the window's thread in turn; the thread that waits for a helper
    process only waits on a pipe, with the GIL free. dlib is then never called in the
    app's own process (its pybind11 module also crashes when first imported on one
    thread and first called on another, as a window's warm-up and restore jobs would).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")  # never fork a threaded app
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._pool

    def pool(self) -> ProcessPoolExecutor | None:
        with self._lock:
            return self._pool

    def broken(self, err: BaseException) -> None:
        log.warning("identity helper process failed (%s): checking in this process", err)
        self.stop()

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_helper = _HelperProcess()


def _load_models() -> None:
    IdentityModel.shared()


def identity_in_helper_process() -> None:
    """Run the identity check in a helper process from now on, and load its models
    there now, in the background (for an app with a window). Without dlib nothing
    starts; dlib is looked for, not imported, so this process never loads it."""
    if importlib.util.find_spec("dlib") is None:
        return
    _helper.start().submit(_load_models)


def stop_helper_process() -> None:
    """Back to checks in this process (tests; a quitting app needs nothing)."""
    _helper.stop()


class LandmarkModel(_Shared):
    """dlib's 68-point shape predictor (iBUG 300-W order), loaded once; thread-safe."""

    def __init__(self) -> None:
        dlib = _dlib()
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(model_file("landmarks68")))
        self._detector = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def face_box(
        self,
        face: np.ndarray,
        landmarks5: np.ndarray | None = None,
        *,
        template: str | None = None,
        detect: bool = True,
    ) -> np.ndarray:
        """(left, top, right, bottom) of the face for the predictor, in crop pixels.

        dlib's HOG detector's box when ``detect`` and it finds one face near the
        expected place (the predictor was trained from those boxes), else the box that
        the landmarks (or the template) give through :data:`CHIP_BOX`.
        """
        matrix = template_chip_matrix(face.shape, landmarks5, template)
        expected = transform_points(invert_similarity(matrix), CHIP_BOX.reshape(2, 2)).ravel()
        if not detect:
            return expected
        image = as_rgb8(face)
        side = max(image.shape[:2])
        zoom = 256 / side  # the detector's best range: faces of 80 px and more
        small = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
        if zoom > 1:
            small = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        with self._lock:
            found = self._detector(small, 0)
        boxes = [
            np.array([r.left(), r.top(), r.right(), r.bottom()], np.float64) / zoom for r in found
        ]
        width = expected[2] - expected[0]
        boxes = [b for b in boxes if np.abs(b - expected).max() < 0.25 * width]
        return boxes[0] if len(boxes) == 1 else expected

    def points(self, face: np.ndarray, box: np.ndarray) -> np.ndarray:
        """68 x 2 landmarks (x, y in crop pixels) of the face inside ``box``.

        dlib rounds its points to whole pixels: a face whose box is under 400 px is
        enlarged first (bicubic), so that rounding stays under 0.1 % of its width.
        """
        image = as_rgb8(face)
        box = np.asarray(box, np.float64)
        zoom = max(1, int(np.ceil(400 / max(box[2] - box[0], 1.0))))
        if zoom > 1:
            image = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        # pixel centres: big = zoom * (x + 0.5) - 0.5
        scaled = zoom * (box + 0.5) - 0.5
        rect = self._dlib.rectangle(*(int(round(v)) for v in scaled))
        with self._lock:
            shape = self._predictor(image, rect)
        pts = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
        return (pts + 0.5) / zoom - 0.5
