"""Faces that belong to their photo: the surroundings' grain given to a restored face.

At 2x or 4x the photo around the faces is only enlarged, grain and all, while a
restored face comes out clean: it looks pasted in. For each face this measures the
grain (the robust standard deviation of a high-pass of the luma) and the sharpness
(the same of a coarser band) inside the face and in a ring around it, in the result.
Where the face is visibly cleaner than its ring, it adds the missing grain: noise made
at the photo's own resolution and enlarged like the photo was (so it has the same
texture as the enlarged grain around it), scaled to the missing amount, inside a
feathered ellipse over the face. The noise is seeded by the face, so pasting again
gives the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..results import GrainMatch

VISIBLE_RATIO = 0.8  # a face with less than this share of its ring's grain looks pasted in
MIN_GRAIN = 0.8  # grey levels (of 255): less grain than this around a face is no grain
RING = (1.25, 1.9)  # the ring around a face: box grown this much, inner and outer side


def _luma(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma in grey levels of 255, float32."""
    peak = 65535.0 if image.dtype == np.uint16 else (1.0 if image.dtype.kind == "f" else 255.0)
    pixels = image.astype(np.float32) * (255.0 / peak)
    if pixels.ndim == 2:
        return pixels
    return pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114


def _robust_std(values: np.ndarray) -> float:
    """Noise std from the median absolute deviation (edges barely move it)."""
    if values.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def high_pass(luma: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    return luma - cv2.GaussianBlur(luma, (0, 0), sigma)


def band_pass(luma: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    return cv2.GaussianBlur(luma, (0, 0), sigma) - cv2.GaussianBlur(luma, (0, 0), 2 * sigma)


def _window(
    box: Sequence[float] | np.ndarray, grow: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * grow / 2
    h, w = shape[:2]
    return (
        max(0, int(cx - half)),
        max(0, int(cy - half)),
        min(w, int(np.ceil(cx + half))),
        min(h, int(np.ceil(cy + half))),
    )


def _inside(box: Sequence[float], shape: tuple[int, ...]) -> np.ndarray:
    """The face's ellipse (its box, a little shrunk) as a bool mask over ``shape``."""
    mask = np.zeros(shape[:2], np.uint8)
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    centre = (round((x0 + x1) / 2), round((y0 + y1) / 2))
    axes = (max(1, round((x1 - x0) * 0.42)), max(1, round((y1 - y0) * 0.48)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    return mask.astype(bool)


def _ring(box: Sequence[float], shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    ox0, oy0, ox1, oy1 = _window(box, RING[1], shape)
    ix0, iy0, ix1, iy1 = _window(box, RING[0], shape)
    mask[oy0:oy1, ox0:ox1] = True
    mask[iy0:iy1, ix0:ix1] = False
    return mask


def measure(
    image: np.ndarray, box: Sequence[float] | np.ndarray
) -> tuple[float, float, float, float]:
    """Grain and sharpness inside the face and in the ring around it, in ``image``.

    ``box`` is the face in ``image``'s pixels. Returns ``(face grain, ring grain,
    face sharpness, ring sharpness)``.
    """
    x0, y0, x1, y1 = _window(box, RING[1] + 0.2, image.shape)
    luma = _luma(image[y0:y1, x0:x1])
    local = [float(box[0]) - x0, float(box[1]) - y0, float(box[2]) - x0, float(box[3]) - y0]
    inside, ring = _inside(local, luma.shape), _ring(local, luma.shape)
    fine, coarse = high_pass(luma), band_pass(luma)
    return (
        _robust_std(fine[inside]),
        _robust_std(fine[ring]),
        _robust_std(coarse[inside]),
        _robust_std(coarse[ring]),
    )


def _grain_like_the_photo(shape: tuple[int, int], scale: int, seed: int) -> np.ndarray:
    """Unit-grain noise over ``shape``: white at the photo's resolution, enlarged like it."""
    rng = np.random.default_rng(seed)
    h, w = shape
    small = rng.standard_normal((max(1, -(-h // scale)) + 2, max(1, -(-w // scale)) + 2))
    big = cv2.resize(
        small.astype(np.float32),
        (small.shape[1] * scale, small.shape[0] * scale),
        interpolation=cv2.INTER_LANCZOS4,
    )[:h, :w]
    return big / max(_robust_std(high_pass(big)), 1e-6)  # its measured grain is 1


def match_grain(
    image: np.ndarray,
    boxes: Sequence[Sequence[float] | np.ndarray],
    scale: int,
    seeds: Sequence[int] | None = None,
) -> tuple[np.ndarray, list[GrainMatch]]:
    """``image`` with each face given its surroundings' grain where it visibly lacks it.

    ``boxes`` are the faces in ``image``'s pixels, ``seeds`` one per face (its noise
    stays the same when other faces change). Returns a new image and what was measured
    at each face.
    """
    out = image.astype(np.float32)
    peak = 65535.0 if image.dtype == np.uint16 else 255.0
    found: list[GrainMatch] = []
    for n, box in enumerate(boxes):
        face, ring, face_sharp, ring_sharp = measure(image, box)
        missing = float(np.sqrt(max(0.0, ring * ring - face * face)))
        visible = ring >= MIN_GRAIN and face < VISIBLE_RATIO * ring
        added = missing if visible else 0.0
        found.append(GrainMatch(face, ring, face_sharp, ring_sharp, round(added, 3)))
        if added <= 0:
            continue
        x0, y0, x1, y1 = _window(box, 1.1, image.shape)
        local = [float(box[0]) - x0, float(box[1]) - y0, float(box[2]) - x0, float(box[3]) - y0]
        shape = (y1 - y0, x1 - x0)
        feather = max(1.0, (float(box[2]) - float(box[0])) * 0.06)
        weight = cv2.GaussianBlur(_inside(local, shape).astype(np.float32), (0, 0), feather)
        seed = seeds[n] if seeds is not None else n
        noise = _grain_like_the_photo(shape, max(1, scale), seed) * added
        noise = noise * weight * (peak / 255.0)
        region = out[y0:y1, x0:x1]
        region += noise[..., None] if region.ndim == 3 else noise
    if image.dtype.kind == "f":
        return out.astype(image.dtype), found
    return np.clip(np.rint(out), 0, peak).astype(image.dtype), found
