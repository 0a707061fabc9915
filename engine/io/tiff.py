"""A small baseline TIFF writer: 8 or 16 bits, gray / gray+alpha / RGB / RGBA, with metadata.

Pillow cannot write 16-bit RGB(A) TIFF and OpenCV writes no metadata, so every
TIFF output goes through this one writer: deflate compression with the
horizontal-difference predictor (what Photoshop and Lightroom write), the ICC
profile, the EXIF tags (camera and dates in IFD0, the EXIF sub-IFD for date
taken), XMP and resolution. Pillow's IFD serialiser lays out the tags.
"""

from __future__ import annotations

import zlib
from typing import IO, Any

import numpy as np
from PIL import TiffImagePlugin, TiffTags

from engine.io.exif import exif_tags_for_tiff

_STRIP_BYTES = 1 << 20


def tiff_tags(image: Any) -> Any:
    """The TIFF tags of a Pillow TIFF image (Pillow's stubs do not know ``tag_v2``)."""
    return image.tag_v2


def write_tiff(
    fp: IO[bytes],
    array: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    xmp: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    level: int = 6,
) -> None:
    """Write ``array`` (H x W x C, C = 1..4, uint8 or uint16) as a little-endian TIFF."""
    if array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        raise ValueError("expected an H x W x C array with 1 to 4 channels")
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot write {array.dtype} as TIFF")
    height, width, channels = array.shape
    bits = array.dtype.itemsize * 8

    # Horizontal differencing (TIFF predictor 2), per sample, modulo 2**bits.
    diff = array.astype(array.dtype.newbyteorder("<"), copy=True)
    diff[:, 1:] -= array[:, :-1]
    row_bytes = width * channels * array.dtype.itemsize
    rows_per_strip = max(1, min(height, _STRIP_BYTES // max(1, row_bytes)))
    strips = [
        zlib.compress(diff[top : top + rows_per_strip].tobytes(), level)
        for top in range(0, height, rows_per_strip)
    ]

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        for tag, value in exif_tags_for_tiff(exif).items():
            ifd[tag] = value
    if xmp:
        ifd[700] = xmp
        ifd.tagtype[700] = TiffTags.BYTE
    if icc_profile:
        ifd[34675] = icc_profile
        ifd.tagtype[34675] = TiffTags.UNDEFINED
    if dpi:
        ifd[282], ifd[283], ifd[296] = float(dpi[0]), float(dpi[1]), 2
    ifd[256], ifd[257] = width, height
    ifd[258] = (bits,) * channels
    ifd[259] = 8  # Adobe deflate
    ifd[262] = 2 if channels >= 3 else 1  # RGB or BlackIsZero
    ifd[277] = channels
    ifd[278] = rows_per_strip
    ifd[284] = 1  # chunky
    ifd[317] = 2  # horizontal predictor
    ifd[339] = (1,) * channels  # unsigned integers
    if channels in (2, 4):
        ifd[338] = (2,)  # unassociated alpha
    offsets, position = [], 0
    for strip in strips:
        offsets.append(position)
        position += len(strip)
    ifd[273] = tuple(offsets)  # relative; the IFD writer adds where the data starts
    ifd[279] = tuple(len(s) for s in strips)
    ifd.tagtype[273] = ifd.tagtype[279] = TiffTags.LONG
    ifd.save(fp)
    for strip in strips:
        fp.write(strip)
