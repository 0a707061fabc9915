"""The in-memory photo: pixels plus everything needed to write it back faithfully.

Pixels are always H x W x 3 RGB (gray sources are expanded to three equal
channels) so every later step handles one layout; ``is_grayscale`` and
``bit_depth`` remember what the source was, so ``save_photo`` can write a gray
16-bit file back as gray 16-bit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

DEFAULT_MAX_MEGAPIXELS = 80.0
MIN_SIDE_PX = 8  # smaller "photos" (1x1 spacer GIFs, icons) cannot hold a face


@dataclass
class Photo:
    """A decoded photo, EXIF orientation already applied.

    ``exif`` is raw EXIF (it starts with ``b"Exif\\0\\0"``, Pillow's convention)
    with the orientation tag reset to 1 and the embedded thumbnail dropped; date
    taken, camera and GPS are kept as they were. ``notes`` lists what loading
    (or saving) had to change, in words a photographer understands.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    is_grayscale: bool = False
    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str = "PNG"
    source: Path | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    mode: str = "RGB"  # Pillow mode (or "RGB;16" style) of the source, for information
    frames: int = 1  # > 1 for animated GIF / multi-page TIFF (only the first is read)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        px = self.pixels
        if px.ndim != 3 or px.shape[2] != 3:
            raise ValueError(f"Photo.pixels must be H x W x 3, got shape {px.shape}")
        if px.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"Photo.pixels must be uint8 or uint16, got {px.dtype}")
        expected = 8 if px.dtype == np.uint8 else 16
        if self.bit_depth != expected:
            raise ValueError(f"bit_depth {self.bit_depth} does not match dtype {px.dtype}")
        if self.alpha is not None and (
            self.alpha.shape != px.shape[:2] or self.alpha.dtype != px.dtype
        ):
            raise ValueError("Photo.alpha must be H x W with the dtype of the pixels")

    def __repr__(self) -> str:
        kind = ("gray" if self.is_grayscale else "RGB") + (
            "+alpha" if self.alpha is not None else ""
        )
        extras = [
            label
            for label, present in (
                ("ICC", self.icc_profile),
                ("EXIF", self.exif),
                ("XMP", self.xmp),
            )
            if present
        ]
        return (
            f"Photo({self.width}x{self.height} {kind} {self.bit_depth}-bit {self.format}, "
            f"metadata={'+'.join(extras) or 'none'}, source={self.source})"
        )

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def max_value(self) -> int:
        return 255 if self.bit_depth == 8 else 65535


def to_float_rgb(photo: Photo) -> np.ndarray:
    """H x W x 3 float32 in [0, 1]; 8- and 16-bit photos look the same to the pipeline.

    float32 holds every 16-bit level exactly (24-bit mantissa), so
    ``from_float_rgb(to_float_rgb(p), p)`` returns ``p``'s pixels bit for bit.
    """
    return photo.pixels.astype(np.float32) / np.float32(photo.max_value)


def from_float_rgb(array: np.ndarray, like: Photo) -> Photo:
    """A photo with ``array`` (H x W x 3 float in [0, 1]) as pixels, in ``like``'s bit depth.

    Alpha, metadata and source are carried over from ``like``. If the pipeline
    changed the size (upscaling), the alpha channel is resized to match.
    """
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 array, got shape {array.shape}")
    dtype = like.pixels.dtype
    scaled = np.clip(array, 0.0, 1.0) * np.float32(like.max_value)
    pixels = np.rint(scaled).astype(dtype)
    alpha = like.alpha
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        alpha = cv2.resize(
            alpha, (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_LINEAR
        )
    return dataclasses.replace(like, pixels=pixels, alpha=alpha, notes=list(like.notes))
