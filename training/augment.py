"""Geometric augmentation of aligned faces, as in the SPARNet paper (Sec. IV-A1).

Random horizontal flip, rescaling by 1.0-1.3 (enlarge, then crop a random window of
the original size) and, for the x8 model, rotation by 90 / 180 / 270 degrees.
Applied to the clean face before it is degraded, so input and target stay aligned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    rescale: tuple[float, float] = (1.0, 1.3)  # (1, 1) turns rescaling off
    rotate90: bool = False  # rotations by 0/90/180/270 degrees (SPARNet x8 only)
    vflip: bool = False  # CAGFace's six geometric transforms include a vertical flip

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


NO_AUGMENT = AugmentConfig(flip=False, rescale=(1.0, 1.0))


def augment_face(face: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """Return an augmented copy of a uint8 HxWx3 face (same size)."""
    out = face
    lo, hi = config.rescale
    if hi > 1.0:
        s = float(rng.uniform(lo, hi))
        h, w = out.shape[:2]
        nh, nw = max(h, round(h * s)), max(w, round(w * s))
        if (nh, nw) != (h, w):
            big = np.asarray(Image.fromarray(out).resize((nw, nh), Image.Resampling.BICUBIC))
            y = int(rng.integers(0, nh - h + 1))
            x = int(rng.integers(0, nw - w + 1))
            out = big[y : y + h, x : x + w]
    if config.flip and rng.random() < 0.5:
        out = out[:, ::-1]
    if config.vflip and rng.random() < 0.5:
        out = out[::-1]
    if config.rotate90:
        out = np.rot90(out, int(rng.integers(0, 4)))
    return np.ascontiguousarray(out)
