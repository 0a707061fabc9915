"""The photo at the output size: what the faces are pasted onto at 2x / 4x."""

from __future__ import annotations

import cv2
import numpy as np


def upscale(image: np.ndarray, scale: int, rows_per_strip: int = 1024) -> np.ndarray:
    """``image`` enlarged ``scale`` times (Lanczos), in strips so big photos stay in memory.

    Integer scales map pixel centres the same way in a strip as in the whole image, so
    strips with an 8-pixel margin give exactly the whole-image result.
    """
    if scale == 1:
        return image
    h, w = image.shape[:2]
    out = np.empty((h * scale, w * scale, *image.shape[2:]), image.dtype)
    margin = 8
    for r0 in range(0, h, rows_per_strip):
        r1 = min(h, r0 + rows_per_strip)
        a, b = max(0, r0 - margin), min(h, r1 + margin)
        strip = cv2.resize(
            image[a:b], (w * scale, (b - a) * scale), interpolation=cv2.INTER_LANCZOS4
        )
        out[r0 * scale : r1 * scale] = strip[(r0 - a) * scale : (r1 - a) * scale].reshape(
            -1, w * scale, *image.shape[2:]
        )
    return out
