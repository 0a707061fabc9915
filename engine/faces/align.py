"""One alignment template and one warp, shared by inference and training-data preparation.

A face is aligned by the similarity transform (rotation, uniform scale,
translation; no reflection, no shear) that maps its five landmarks (left eye,
right eye, nose tip, left and right mouth corners, as seen in the image) onto a
template in a square crop, fitted in the least-squares sense (Umeyama). Its exact
inverse takes the restored crop back into the photo.

Templates are stored normalised to a unit square and scaled to the crop size:

* ``ffhq512``: the FFHQ 512 px five-point template that the released SPARNetHD
  checkpoints were trained on (faces fill the crop with hair and chin margins).
* ``utkface``: the mean MTCNN landmarks of UTKFace's aligned 200 px crops (forehead
  to chin), which Revive's own weights are trained on; measured by
  ``python -m engine.faces.derive_template`` (numbers and command in its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TEMPLATES: dict[str, np.ndarray] = {
    "ffhq512": np.array(
        [
            [192.98138, 239.94708],
            [318.90277, 240.19360],
            [256.63416, 314.01935],
            [201.26117, 371.41043],
            [313.08905, 371.15118],
        ]
    )
    / 512.0,
    # Mean MTCNN landmarks of 2,985 UTKFace training crops (3,000 drawn with seed 0, 15
    # without exactly one detection); per-point std about 0.08 (x) and 0.045 (y) of the side.
    "utkface": np.array(
        [
            [0.2530, 0.2080],
            [0.7108, 0.2051],
            [0.4789, 0.4732],
            [0.2759, 0.6738],
            [0.6869, 0.6754],
        ]
    ),
}


def template_points(name: str, size: int) -> np.ndarray:
    """The template's five points in pixels of a ``size`` x ``size`` crop."""
    try:
        return TEMPLATES[name] * size
    except KeyError:
        raise ValueError(
            f"unknown alignment template {name!r}; known: {sorted(TEMPLATES)}"
        ) from None


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping points ``src`` onto ``dst``: 2x3."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sing, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # no reflection
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    var_s = (s**2).sum() / len(src)
    scale = (sing * np.diag(sign)).sum() / var_s
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_d - scale * rotation @ mu_s
    return matrix


def invert_similarity(matrix: np.ndarray) -> np.ndarray:
    """The exact inverse of a 2x3 affine map."""
    linear = np.asarray(matrix[:, :2], dtype=np.float64)
    inv = np.linalg.inv(linear)
    return np.hstack([inv, -inv @ matrix[:, 2:3]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def similarity_scale(matrix: np.ndarray) -> float:
    """How much the map enlarges lengths (crop pixels per photo pixel)."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


@dataclass
class AlignedFace:
    """A face warped to a template crop, with the maps both ways."""

    crop: np.ndarray  # size x size x C, dtype of the photo
    matrix: np.ndarray  # 2x3, photo -> crop
    inverse: np.ndarray  # 2x3, crop -> photo
    size: int
    template: str


def alignment_matrix(landmarks: np.ndarray, template: str, size: int) -> np.ndarray:
    """The photo -> crop similarity for a face with these five landmarks."""
    return fit_similarity(landmarks, template_points(template, size))


def warp_to_template(
    image: np.ndarray, matrix: np.ndarray, size: int, border: int = cv2.BORDER_REFLECT_101
) -> np.ndarray:
    """Warp ``image`` (uint8 / uint16 / float32, HxW or HxWxC) into a size x size crop.

    When the face is shrunk by more than 2x, the region around it is first reduced
    with area averaging, so the crop is not aliased (warpAffine alone samples the
    photo sparsely and shows jagged edges and moire).
    """
    return warp_affine(image, matrix, (size, size), border)


def warp_affine(
    image: np.ndarray,
    matrix: np.ndarray,
    size: tuple[int, int],
    border: int = cv2.BORDER_REFLECT_101,
    border_value: float = 0.0,
) -> np.ndarray:
    """Warp ``image`` by the 2x3 ``matrix`` into a ``size`` = (width, height) image, anti-aliased.

    The same warp serves alignment (photo -> crop) and paste-back (crop -> photo region):
    bicubic, after an area-averaging reduction when the map shrinks by more than 2x.
    """
    width, height = size
    scale = similarity_scale(matrix)
    if scale < 0.5:
        inverse = invert_similarity(matrix)
        corners = transform_points(
            inverse, np.array([[0, 0], [width, 0], [0, height], [width, height]])
        )
        margin = 4.0 / scale
        x0 = int(max(0, np.floor(corners[:, 0].min() - margin)))
        y0 = int(max(0, np.floor(corners[:, 1].min() - margin)))
        x1 = int(min(image.shape[1], np.ceil(corners[:, 0].max() + margin)))
        y1 = int(min(image.shape[0], np.ceil(corners[:, 1].max() + margin)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            factor = 0.5 / scale  # shrink so that the remaining warp enlarges by >= 0.5
            region = image[y0:y1, x0:x1]
            w = max(1, round((x1 - x0) / factor))
            h = max(1, round((y1 - y0) / factor))
            small = cv2.resize(region, (w, h), interpolation=cv2.INTER_AREA)
            sx, sy = w / (x1 - x0), h / (y1 - y0)
            # cv2.resize maps pixel centres: small = s * (x - x0) + (s - 1) / 2
            to_small = np.array(
                [[sx, 0, -x0 * sx + (sx - 1) / 2], [0, sy, -y0 * sy + (sy - 1) / 2]]
            )
            # photo -> small region -> crop: crop = M (S^-1 small)
            matrix = compose(matrix, invert_similarity(to_small))
            image = small
    return cv2.warpAffine(
        image,
        matrix.astype(np.float64),
        (width, height),
        flags=cv2.INTER_CUBIC,
        borderMode=border,
        borderValue=(border_value,) * 4,
    )


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer(inner(x)) as one 2x3 map."""
    linear = outer[:, :2] @ inner[:, :2]
    shift = outer[:, :2] @ inner[:, 2] + outer[:, 2]
    return np.hstack([linear, shift[:, None]])


def align_face(image: np.ndarray, landmarks: np.ndarray, template: str, size: int) -> AlignedFace:
    """Align one face of ``image`` to ``template`` at ``size`` px."""
    matrix = alignment_matrix(landmarks, template, size)
    crop = warp_to_template(image, matrix, size)
    return AlignedFace(crop, matrix, invert_similarity(matrix), size, template)
