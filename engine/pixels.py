"""Pixel dtype conversions, written once for the whole code base.

Images are numpy H x W (x C) arrays: uint8, uint16, or float in [0, 1]. 16-bit
goes to 8-bit by rounding ``v * 255 / 65535`` (so 65535 -> 255 and 257 * k -> k
exactly); 8-bit goes up by ``v * 257`` (0 -> 0, 255 -> 65535), so a round trip
8 -> 16 -> 8 is lossless.
"""

from __future__ import annotations

import numpy as np


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 stays (same object); uint16 is rounded down to 8 bits; floats in [0, 1] scaled."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def to_uint16(image: np.ndarray) -> np.ndarray:
    """uint16 stays; uint8 is spread over 16 bits (x 257); floats in [0, 1] scaled."""
    if image.dtype == np.uint16:
        return image
    if image.dtype == np.uint8:
        return image.astype(np.uint16) * np.uint16(257)
    return np.rint(np.clip(image, 0.0, 1.0) * 65535).astype(np.uint16)


def to_float01(image: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] from uint8, uint16 or float (floats are only cast, not clipped)."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255)
    if image.dtype == np.uint16:
        return image.astype(np.float32) / np.float32(65535)
    return image.astype(np.float32)


def peak_value(dtype: np.dtype) -> float:
    """Full scale of a pixel dtype: 255, 65535, or 1.0 for floats."""
    return float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0
