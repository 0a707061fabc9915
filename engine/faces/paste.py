"""Paste restored faces back: inverse warp, feathered face mask, strength.

Each restored crop goes back through the exact inverse of its alignment (composed
with the output scale) and is blended in through a mask of the *face region* (an
ellipse around the template's face, Gaussian-feathered, exactly zero at the crop's
border), so neither the crop's square nor a seam shows (the crop's colours were made
the photo's before, by ``engine.faces.colour``). ``strength`` blends original and
restored.

Faces whose regions overlap are composited together, order-free: with weights
``w_i = mask_i * strength_i`` the restored colour is ``sum w_i R_i / sum w_i`` (a
normalised mean, so overlaps are never darker or brighter than the faces) and its
opacity ``max_i w_i`` (never less than any one face's, so one face's feathered edge
crossing another face leaves no dip; and two faces at strength 0.5 stay at 0.5). Everything works
on the faces' regions only, never on full-size float copies of the photo, which keeps
a 50-megapixel photo within a few hundred megabytes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..pixels import peak_value
from ..progress import CancelToken, ProgressCallback, Stage, check, report
from .align import compose, invert_similarity, template_points, transform_points, warp_affine
from .colour import LUMA

DEFAULT_FEATHER = 0.03  # Gaussian sigma of the mask edge, as a fraction of the crop side


def face_ellipse(template: str | None, size: int) -> tuple[float, float, float, float]:
    """(cx, cy, ax, ay): the face region of a template crop, in crop pixels.

    From forehead (one eye-to-mouth distance above the eyes) to chin (0.8 of it below
    the mouth), 1.2 eye distances either side of the face's centre line. Without a
    template (CAGFace's face regions) it is the ellipse inscribed in the crop.
    """
    if template is None:
        return size / 2, size / 2, size / 2, size / 2
    pts = template_points(template, size)
    eyes = (pts[0] + pts[1]) / 2
    mouth = (pts[3] + pts[4]) / 2
    eye_to_mouth = float(np.linalg.norm(mouth - eyes))
    eye_distance = float(np.linalg.norm(pts[1] - pts[0]))
    top = eyes[1] - 1.0 * eye_to_mouth
    bottom = mouth[1] + 0.8 * eye_to_mouth
    return float(eyes[0]), (top + bottom) / 2, 1.2 * eye_distance, (bottom - top) / 2


@functools.lru_cache(maxsize=32)
def _face_mask(template: str | None, size: int, feather: float) -> np.ndarray:
    sigma = max(0.5, feather * size)
    radius = int(np.ceil(3 * sigma))
    inset = radius + 1
    cx, cy, ax, ay = face_ellipse(template, size)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    # The hard region is the ellipse shrunk by one sigma and kept 3 sigma from the crop's
    # edges, so that after blurring it is ~1 inside the face and exactly 0 on the border.
    inside = ((x - cx) / max(ax - sigma, 1)) ** 2 + ((y - cy) / max(ay - sigma, 1)) ** 2 <= 1
    hard = np.zeros((size, size), np.float32)
    hard[inset : size - inset, inset : size - inset] = inside[
        inset : size - inset, inset : size - inset
    ]
    k = 2 * radius + 1
    mask = cv2.GaussianBlur(hard, (k, k), sigma, borderType=cv2.BORDER_CONSTANT)
    mask[mask < 1e-4] = 0.0
    mask = np.clip(mask, 0.0, 1.0)
    mask.setflags(write=False)
    return mask


def face_mask(size: int, template: str | None, feather: float = DEFAULT_FEATHER) -> np.ndarray:
    """Feathered face-region mask of a ``size`` px crop, float32 in [0, 1] (read-only)."""
    return _face_mask(template, int(size), float(feather))


def scale_matrix(scale: float) -> np.ndarray:
    """Input-photo pixels -> output pixels of a photo enlarged ``scale`` times (pixel centres)."""
    return np.array([[scale, 0.0, (scale - 1) / 2], [0.0, scale, (scale - 1) / 2]])


def crop_to_output(to_crop: np.ndarray, scale: float) -> np.ndarray:
    """The 2x3 map from crop pixels to output pixels: the exact inverse of the alignment."""
    return compose(scale_matrix(scale), invert_similarity(to_crop))


@dataclass
class PasteItem:
    """One face to paste: its crop (float32 [0, 1]), mask, alignment and strength."""

    crop: np.ndarray
    mask: np.ndarray
    to_crop: np.ndarray  # input-photo pixels -> crop pixels
    strength: float = 1.0


def _roi(item: PasteItem, scale: float, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Output-pixel box (x0, y0, x1, y1) that the item's mask can touch, or None."""
    ys, xs = np.nonzero(item.mask > 0)
    if len(xs) == 0:
        return None
    corners = np.array(
        [
            [xs.min(), ys.min()],
            [xs.max() + 1, ys.min()],
            [xs.min(), ys.max() + 1],
            [xs.max() + 1, ys.max() + 1],
        ],
        np.float64,
    )
    out = transform_points(crop_to_output(item.to_crop, scale), corners - 0.5)
    x0 = max(0, int(np.floor(out[:, 0].min())) - 2)
    y0 = max(0, int(np.floor(out[:, 1].min())) - 2)
    x1 = min(shape[1], int(np.ceil(out[:, 0].max())) + 3)
    y1 = min(shape[0], int(np.ceil(out[:, 1].max())) + 3)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def warped_mask(
    item: PasteItem, scale: float, shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The item's paste weight in output pixels: ((x0, y0, x1, y1), weights of that box).

    For display (the GUI outlines the pasted region) and for measuring seams.
    """
    box = _roi(item, scale, shape)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    matrix = compose(
        np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]]), crop_to_output(item.to_crop, scale)
    )
    weight = warp_affine(
        item.mask.astype(np.float32), matrix, (x1 - x0, y1 - y0), cv2.BORDER_CONSTANT
    )
    return box, np.clip(weight, 0.0, 1.0) * np.float32(min(max(item.strength, 0.0), 1.0))


def _clusters(boxes: list[tuple[int, int, int, int]]) -> list[list[int]]:
    """Indices of boxes grouped into connected sets of overlapping boxes."""
    parent = list(range(len(boxes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def paste_faces(
    base: np.ndarray,
    items: Sequence[PasteItem],
    scale: float,
    *,
    keep_chroma: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """A copy of ``base`` (the photo at the output size, uint8 / uint16 / float) with the faces.

    ``scale`` is the output size over the input photo's size (the faces' ``to_crop`` maps
    are in input pixels). ``keep_chroma`` keeps the base's colour and takes only the
    luminance change from the faces (gray and toned photos are never colourised): the
    change of Rec. 601 luma is added to all three channels, which leaves the base's
    Cb / Cr untouched and keeps equal channels equal.
    """
    out = base.copy()
    active = [it for it in items if it.strength > 0]
    boxes, kept = [], []
    for it in active:
        box = _roi(it, scale, base.shape[:2])
        if box is not None:
            boxes.append(box)
            kept.append(it)
    peak = peak_value(base.dtype)
    groups = _clusters(boxes)
    for done, group in enumerate(groups, 1):
        check(cancel)
        x0 = min(boxes[i][0] for i in group)
        y0 = min(boxes[i][1] for i in group)
        x1 = max(boxes[i][2] for i in group)
        y1 = max(boxes[i][3] for i in group)
        size = (x1 - x0, y1 - y0)
        shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
        num = np.zeros((size[1], size[0], 3), np.float32)
        den = np.zeros((size[1], size[0]), np.float32)
        opacity = np.zeros((size[1], size[0]), np.float32)
        for i in group:
            it = kept[i]
            matrix = compose(shift, crop_to_output(it.to_crop, scale))
            face = warp_affine(it.crop.astype(np.float32), matrix, size, cv2.BORDER_REPLICATE)
            weight = warp_affine(it.mask.astype(np.float32), matrix, size, cv2.BORDER_CONSTANT)
            weight = np.clip(weight, 0.0, 1.0) * np.float32(min(it.strength, 1.0))
            num += np.clip(face, 0.0, 1.0) * weight[..., None]
            den += weight
            np.maximum(opacity, weight, out=opacity)
        region = out[y0:y1, x0:x1].astype(np.float32) / np.float32(peak)
        restored = num / np.maximum(den, 1e-6)[..., None]
        blended = region + opacity[..., None] * (restored - region)
        if keep_chroma:
            delta = (blended - region) @ LUMA
            blended = region + delta[..., None]
        blended = np.clip(blended, 0.0, 1.0) * np.float32(peak)
        if np.issubdtype(out.dtype, np.integer):
            blended = np.rint(blended)
        out[y0:y1, x0:x1] = blended.astype(out.dtype)
        report(progress, Stage.PASTE, done, len(groups), "faces")
    return out
