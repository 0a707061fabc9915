"""Pixels for display: numpy arrays to QImage / QPixmap, heat-map colouring, overlays.

Display only: nothing here changes what the engine computes or what gets saved.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

from engine.pixels import to_uint8
from engine.visualize import heat_map as _engine_heat_map

# The heat-map colours are the engine's (``engine.visualize``), so the inspector and the
# CLI's ``--save-attention`` grids read the same way.
heat_map = _engine_heat_map


def resize_nearest(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize to (height, width): attention cells stay visible as cells."""
    h, w = image.shape[:2]
    rows = (np.arange(size[0]) * h // size[0]).clip(0, h - 1)
    cols = (np.arange(size[1]) * w // size[1]).clip(0, w - 1)
    return image[rows][:, cols]


def overlay(face: np.ndarray, heat: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    """Blend a coloured heat map over a face crop (the heat map is resized to the face)."""
    face = to_uint8(face)
    heat = resize_nearest(heat, face.shape[:2])
    mixed = face.astype(np.float32) * (1.0 - opacity) + heat.astype(np.float32) * opacity
    return np.rint(mixed).clip(0, 255).astype(np.uint8)


def mask_tint(face: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """A face crop with a component mask (h x w in [0, 1]) tinted in ``colour``."""
    face = to_uint8(face).astype(np.float32)
    m = resize_nearest(np.clip(mask, 0.0, 1.0).astype(np.float32), face.shape[:2])[..., None]
    tint = np.asarray(colour, dtype=np.float32)[None, None, :]
    mixed = face * (1.0 - 0.6 * m) + tint * (0.6 * m)
    return np.rint(mixed).clip(0, 255).astype(np.uint8)


def qimage_from_array(image: np.ndarray) -> QImage:
    """H x W (gray) or H x W x 3 RGB array (uint8 / uint16 / float) to an owning QImage."""
    array = np.ascontiguousarray(to_uint8(image))
    if array.ndim == 2:
        h, w = array.shape
        qimage = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Grayscale8)
    else:
        h, w = array.shape[:2]
        qimage = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888)
    return qimage.copy()  # detach from the numpy buffer


def display_image(image: np.ndarray) -> QImage:
    """A QImage already in the screen's native layout (32-bit RGB).

    Made on the worker thread, so that ``QPixmap.fromImage`` on the GUI thread is a plain
    copy instead of a pixel-format conversion (tens of milliseconds for a large photo).
    """
    return qimage_from_array(image).convertToFormat(QImage.Format.Format_RGB32)


def pixmap_from_array(image: np.ndarray, max_side: int | None = None) -> QPixmap:
    """A QPixmap of the array, optionally scaled down (smoothly) to fit ``max_side``."""
    pixmap = QPixmap.fromImage(qimage_from_array(image))
    if max_side and max(pixmap.width(), pixmap.height()) > max_side:
        pixmap = pixmap.scaled(
            max_side,
            max_side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return pixmap


def array_from_qimage(image: QImage) -> np.ndarray:
    """A QImage to an H x W x 3 uint8 RGB array (used by tests and exports)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = rgb.height(), rgb.width()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=rgb.sizeInBytes())
    return buffer.reshape(h, rgb.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()
