"""Pixels out of an opened file: Pillow for most, OpenCV where Pillow would drop bits.

Each decoder returns the pixels as stored (before orientation) and in the
source's own depth: 16-bit stays 16-bit, gray stays one channel, palette and
CMYK become RGB (CMYK through its embedded profile when it has one).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms

from engine.errors import ImageReadError
from engine.io import png
from engine.io.diagnose import TRUNCATED
from engine.io.exif import EXIF_PREFIX, reset_orientation
from engine.io.icc import SRGB_PROFILE, colour_space
from engine.io.tiff import tiff_tags


class Decoded:
    """Pixels as stored (before orientation), plus what decoding learnt."""

    def __init__(
        self,
        pixels: np.ndarray,
        *,
        alpha: np.ndarray | None,
        gray: bool,
        mode: str,
        icc_override: bytes | None = None,
        notes: list[str] | None = None,
        exif_chunk: bytes | None = None,
    ) -> None:
        self.pixels, self.alpha, self.gray, self.mode = pixels, alpha, gray, mode
        self.bit_depth = 16 if pixels.dtype == np.uint16 else 8
        self.icc_override = icc_override  # b"" means: drop the file's profile
        self.notes = notes or []
        self.exif_chunk = exif_chunk


def needs_opencv(image: Image.Image, fmt: str, path: Path) -> bool:
    """True where Pillow would reduce the pixels to 8 bits (16-bit colour PNG / TIFF)."""
    if fmt == "PNG":
        with open(path, "rb") as fh:
            header = png.ihdr(fh.read(64))
        return header is not None and header[2] == 16 and header[3] in (2, 4, 6)
    if fmt == "TIFF":
        bits = tiff_tags(image).get(258, (1,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        samples = tiff_tags(image).get(277, 1)
        return max(bits) > 8 and samples >= 2
    return False


def decode_opencv(path: Path, name: str, fmt: str, image: Image.Image) -> Decoded:
    data = path.read_bytes()
    exif_chunk = None
    colour_type = None
    if fmt == "PNG":
        header = png.ihdr(data)
        colour_type = header[3] if header else None
        try:
            for kind, payload in png.chunks(data):
                if kind == b"eXIf" and exif_chunk is None:
                    exif_chunk = payload
        except EOFError:
            raise ImageReadError(f"{name}: {TRUNCATED}") from None
    elif fmt == "TIFF" and tiff_tags(image).get(0x0112, 1) != 1:
        # OpenCV turns TIFFs by their orientation tag itself (and fails on the
        # quarter turns): hand it an upright-tagged copy, we apply the tag after.
        upright = reset_orientation(data)
        if upright is not None:
            data = upright[len(EXIF_PREFIX) :]
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    del data  # the encoded file is not needed any more: lower the peak memory
    if array is None:
        raise ImageReadError(f"{name}: the image data is damaged and cannot be decoded")
    notes = []
    if array.dtype != np.uint16:
        array, note = _to_uint16(array)
        notes += [note] if note else []
    alpha = None
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = np.ascontiguousarray(array[..., 3])
        array = array[..., :3]
    if array.ndim == 3:
        array = np.ascontiguousarray(array[..., ::-1])  # BGR -> RGB
    gray = array.ndim == 2 or colour_type in (0, 4)
    if gray and array.ndim == 3:
        array = np.ascontiguousarray(array[..., 0])
    mode = (
        ("LA" if alpha is not None else "L") if gray else ("RGBA" if alpha is not None else "RGB")
    )
    return Decoded(
        array, alpha=alpha, gray=gray, mode=f"{mode};16", exif_chunk=exif_chunk, notes=notes
    )


# Below this peak, fractional float samples are taken as light levels, not 8-bit levels.
_EIGHT_BIT_FLOOR = 16.0


def _to_uint16(array: np.ndarray) -> tuple[np.ndarray, str | None]:
    """16-bit levels from 8-bit, 32-bit integer or float samples, and a note if rescaled.

    Floats in [0, 1] are the usual convention; floats holding 0-255 or 0-65535 are 8- or
    16-bit levels stored as floats (as many scanners and scripts write them), integers
    up to 65535 are 16-bit levels. A float image a little over 1 (0-1.2, linear light
    with highlights) is not 8-bit levels: read as such it would turn black. Anything
    else (negative, larger or such values) is stretched to the full 16-bit range, and
    the note says so.
    """
    if array.dtype == np.uint8:
        return array.astype(np.uint16) * 257, None
    values = array.astype(np.float64)
    floating = np.issubdtype(array.dtype, np.floating)
    if floating:
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if floating and low >= 0.0 and high <= 1.0:
        return np.rint(values * 65535).astype(np.uint16), None
    if floating and low >= 0.0 and high <= 255.0:
        if high > _EIGHT_BIT_FLOOR or np.all(np.abs(values - np.rint(values)) < 1e-3):
            return np.rint(values * 257).astype(np.uint16), None
    elif low >= 0.0 and high <= 65535.0:
        return np.rint(values).astype(np.uint16), None
    span = (high - low) or 1.0
    stretched = np.rint((values - low) * (65535.0 / span)).astype(np.uint16)
    kind = "floating-point" if floating else f"{array.dtype.itemsize * 8}-bit"
    return stretched, f"{kind} values ({low:g} to {high:g}) were rescaled to the 16-bit range"


def decode_pillow(image: Image.Image, name: str, notes: list[str]) -> Decoded:
    image.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES is off)
    mode = image.mode
    if mode in ("I", "F", "I;32", "I;32B", "I;32L", "I;32N"):
        return _decode_32bit(image)
    if mode in ("1", "L", "LA", "La"):
        conv = image.convert("LA") if mode in ("LA", "La") else image.convert("L")
        array = np.asarray(conv)
        if conv.mode == "LA":
            return Decoded(
                np.ascontiguousarray(array[..., 0]),
                alpha=np.ascontiguousarray(array[..., 1]),
                gray=True,
                mode=mode,
            )
        return Decoded(np.ascontiguousarray(array), alpha=None, gray=True, mode=mode)
    if mode.startswith("I;16"):
        array = np.asarray(image).astype(np.uint16)
        return Decoded(array, alpha=None, gray=True, mode=mode)
    if mode in ("P", "PA"):
        return _decode_palette(image)
    if mode == "CMYK":
        return _decode_cmyk(image)
    if mode in ("RGB", "RGBA"):
        array = np.asarray(image)
    elif mode in ("RGBa", "RGBX", "YCbCr", "HSV", "LAB"):
        array = np.asarray(image.convert("RGBA" if mode == "RGBa" else "RGB"))
    else:
        raise ImageReadError(f"{name}: unsupported colour mode {mode}")
    alpha = np.ascontiguousarray(array[..., 3]) if array.shape[2] == 4 else None
    return Decoded(np.ascontiguousarray(array[..., :3]), alpha=alpha, gray=False, mode=mode)


def _decode_32bit(image: Image.Image) -> Decoded:
    """32-bit gray (integer or float) as 16-bit gray.

    Pillow holds every 32-bit integer image as signed ("I"): a TIFF of unsigned
    samples (SampleFormat 1, the default) would read values of 2**31 and up as
    negative, so its bits are taken back as unsigned.
    """
    array = np.asarray(image)
    if array.dtype == np.int32 and (image.format or "") == "TIFF":
        sample_format = getattr(image, "tag_v2", {}).get(339, 1)
        sample_format = sample_format[0] if isinstance(sample_format, tuple) else sample_format
        if sample_format == 1:
            array = array.view(np.uint32)
    out, note = _to_uint16(array)
    return Decoded(out, alpha=None, gray=True, mode=image.mode, notes=[note] if note else [])


def _decode_palette(image: Image.Image) -> Decoded:
    has_alpha = image.mode == "PA" or image.has_transparency_data
    # (count, index), or (count, (index, alpha)) for a PA image
    used: list[tuple[int, Any]] = list(image.getcolors(256) or [])
    indices = {colour[0] if isinstance(colour, tuple) else colour for _, colour in used}
    palette: list[int] = list(image.getpalette("RGB") or [])
    gray = bool(indices) and all(
        palette[3 * i : 3 * i + 3] == [palette[3 * i]] * 3
        for i in indices
        if 3 * i + 2 < len(palette)
    )
    array = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    alpha = np.ascontiguousarray(array[..., 3]) if has_alpha else None
    rgb = array[..., :3]
    pixels = np.ascontiguousarray(rgb[..., 0]) if gray else np.ascontiguousarray(rgb)
    return Decoded(pixels, alpha=alpha, gray=gray, mode=image.mode)


def _decode_cmyk(image: Image.Image) -> Decoded:
    """CMYK -> sRGB through the embedded CMYK profile; Pillow's formula without one."""
    icc = image.info.get("icc_profile")
    if icc and colour_space(icc) == "CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            rgb = ImageCms.profileToProfile(
                image,
                source,
                ImageCms.ImageCmsProfile(io.BytesIO(SRGB_PROFILE)),
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                outputMode="RGB",
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
        else:
            note = "converted from CMYK to sRGB with the embedded colour profile"
            return Decoded(
                np.asarray(rgb), alpha=None, gray=False, mode="CMYK",
                icc_override=SRGB_PROFILE, notes=[note],
            )  # fmt: skip
    note = "converted from CMYK without a colour profile: colours are approximate"
    return Decoded(
        np.asarray(image.convert("RGB")), alpha=None, gray=False, mode="CMYK",
        icc_override=b"", notes=[note],
    )  # fmt: skip
