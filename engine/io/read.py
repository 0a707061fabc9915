"""load_photo: any supported file -> an upright Photo, or one clear ImageReadError line.

``as_photo`` takes a Photo, a path or an array alike (what the Restorer accepts).

Pillow reads headers and metadata for every format and decodes the pixels,
except where it would lose bits (16-bit colour PNG and TIFF): those pixels
come from OpenCV's ``IMREAD_UNCHANGED``. The size limit is checked on the
header, before any pixel is decoded.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError

from engine.errors import ImageReadError
from engine.io import png
from engine.io.decode import decode_opencv, decode_pillow, needs_opencv
from engine.io.diagnose import (
    RAW_ADVICE,
    TRUNCATED,
    check_complete,
    check_file,
    decode_failure,
    own_fault,
    riff_cut_short,
    too_large,
    too_large_from_pillow,
    unidentified,
)
from engine.io.exif import (
    apply_orientation,
    exif_from_tiff_tags,
    read_orientation,
    reset_orientation,
    swaps_axes,
)
from engine.io.formats import PILLOW_OPEN_FORMATS, RAW_SUFFIXES
from engine.io.icc import is_valid as valid_icc
from engine.io.photo import DEFAULT_MAX_MEGAPIXELS, MIN_SIDE_PX, Photo
from engine.io.quiet import native_stderr_silenced
from engine.io.tiff import tiff_tags

_PIL_GLOBALS = threading.Lock()
# What damaged data makes the decoders raise. Anything else (a TypeError, an
# AttributeError ...) is a fault of Revive or of a library: said so, and logged.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    ZeroDivisionError,
    OverflowError,
    struct.error,
    zlib.error,
    MemoryError,
    cv2.error,
    Image.DecompressionBombError,
)
# The TypeErrors Pillow itself raises for damaged files (a TIFF without its size).
_PILLOW_DAMAGE_TYPE_ERRORS = frozenset({"Missing dimensions"})


def load_photo(
    path: str | os.PathLike[str], *, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
) -> Photo:
    """Read a photo; EXIF orientation applied, metadata kept for ``save_photo``.

    Raises ImageReadError (one line, starting with the file name) for a missing,
    empty, truncated, damaged, degenerate, too large or unsupported file. The
    file is only ever opened for reading.
    """
    path = Path(path)
    name = path.name or str(path)
    check_file(path, name)
    if path.suffix.lower() in RAW_SUFFIXES:
        raise ImageReadError(f"{name}: {RAW_ADVICE}")
    limit = int(max_megapixels * 1_000_000)
    source, notes = _without_oversized_text(path)
    with native_stderr_silenced(), _pillow_guard(limit):
        image = _open(source, path, name, max_megapixels)
        try:
            frames = int(getattr(image, "n_frames", 1) or 1)
            if frames > 1:  # counting walked every page, and pages of other modes leave
                image.close()  # traces (a palette) on the image: the first page afresh
                image = _open(source, path, name, max_megapixels)
            return _decode(image, path, name, limit, max_megapixels, frames, notes)
        except ImageReadError:
            raise
        except Exception as err:  # metadata or frames past the header are damaged, or a bug
            raise ImageReadError(_failure(name, err)) from None
        finally:
            image.close()


def as_photo(image: Any, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Photo:
    """A ``Photo`` from a Photo, a path, or an array (H x W, H x W x 3 or 4; uint8 / uint16)."""
    if isinstance(image, Photo):
        return image
    if isinstance(image, (str, os.PathLike)):
        return load_photo(Path(image), max_megapixels=max_megapixels)
    array = np.asarray(image)
    if array.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"images must be uint8 or uint16 arrays, not {array.dtype}")
    alpha = None
    gray = array.ndim == 2
    if gray:
        array = np.repeat(array[..., None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array, alpha = array[..., :3], np.ascontiguousarray(array[..., 3])
    if array.ndim != 3 or array.shape[2] != 3:
        raise TypeError(f"expected an H x W x 3 image, got shape {array.shape}")
    return Photo(
        np.ascontiguousarray(array),
        alpha=alpha,
        bit_depth=8 if array.dtype == np.uint8 else 16,
        is_grayscale=gray,
    )


def _open(source: Path | io.BytesIO, path: Path, name: str, max_megapixels: float) -> Image.Image:
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        return Image.open(source, formats=PILLOW_OPEN_FORMATS)
    except Image.DecompressionBombError as err:
        raise ImageReadError(too_large_from_pillow(name, err, max_megapixels)) from None
    except UnidentifiedImageError:
        raise ImageReadError(unidentified(path, name)) from None
    except Exception as err:
        if _is_damage(err) and riff_cut_short(path):
            raise ImageReadError(f"{name}: {TRUNCATED}") from None
        raise ImageReadError(_failure(name, err)) from None


def _is_damage(err: BaseException) -> bool:
    return isinstance(err, _DECODE_ERRORS) or (
        isinstance(err, TypeError) and str(err) in _PILLOW_DAMAGE_TYPE_ERRORS
    )


def _failure(name: str, err: BaseException) -> str:
    """Damaged data in ``decode_failure``'s words; anything else is Revive's own fault."""
    return decode_failure(name, err) if _is_damage(err) else own_fault(name, err)


def _without_oversized_text(path: Path) -> tuple[Path | io.BytesIO, list[str]]:
    """A PNG whose text chunks Pillow would refuse as too large, without them, and a note.

    A 2 MiB comment is metadata, not the picture: the photo is restored without it.
    """
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    try:
        dropped = png.oversized_text_chunks(path, limit)
    except OSError:
        return path, []
    if not dropped:
        return path, []
    data = png.without_spans(path.read_bytes(), [(start, end) for *_, start, end in dropped])
    notes = [
        f"the {kind.decode('ascii')} text chunk {ascii(keyword.decode('latin-1'))} is larger "
        f"than {limit // 2**20} MiB and was left out"
        for kind, keyword, _start, _end in dropped
    ]
    return io.BytesIO(data), notes


@contextlib.contextmanager
def _pillow_guard(limit_pixels: int) -> Iterator[None]:
    """Pillow settings for one read: truncated files are errors, our own size limit rules.

    Pillow's globals are only touched (under a lock) when they differ from what
    a faithful read needs, so concurrent loads normally run in parallel.
    """
    with warnings.catch_warnings():
        # Pillow warns about odd EXIF and about large images; neither should
        # reach the terminal (the size limit is ours, checked on the header).
        warnings.simplefilter("ignore")
        bomb_limit = Image.MAX_IMAGE_PIXELS
        needs_change = ImageFile.LOAD_TRUNCATED_IMAGES or (
            bomb_limit is not None and limit_pixels > bomb_limit
        )
        if not needs_change:
            yield
            return
        with _PIL_GLOBALS:
            saved = ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            if bomb_limit is not None and limit_pixels > bomb_limit:
                Image.MAX_IMAGE_PIXELS = limit_pixels
            try:
                yield
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = saved


def _decode(
    image: Image.Image,
    path: Path,
    name: str,
    limit: int,
    max_megapixels: float,
    frames: int,
    notes: list[str],
) -> Photo:
    source_format = {"MPO": "JPEG", "DIB": "BMP"}.get(image.format or "", image.format or "")
    width, height = image.size
    if width * height > limit:
        raise ImageReadError(too_large(name, width, height, max_megapixels))
    if width < MIN_SIDE_PX or height < MIN_SIDE_PX:
        raise ImageReadError(
            f"{name}: the image is only {width}x{height} pixels, too small to restore "
            f"(at least {MIN_SIDE_PX}x{MIN_SIDE_PX} needed)"
        )
    notes = list(notes)
    if frames > 1 and source_format in ("GIF", "TIFF"):
        what = "frame of the animation" if source_format == "GIF" else "page"
        kind = "frames" if source_format == "GIF" else "pages"
        notes.append(f"only the first {what} of {frames} is read: {frames - 1} {kind} left out")
    if source_format == "TIFF" and 50706 in tiff_tags(image):  # DNGVersion
        raise ImageReadError(f"{name}: {RAW_ADVICE}")

    if source_format == "TIFF":
        # Read before decoding: Pillow rotates TIFFs itself while loading and then
        # deletes the orientation from this same Exif object.
        tags = image.getexif()
        exif_raw, orientation = exif_from_tiff_tags(tags), _tiff_orientation(tags)
    check_complete(image, source_format, path, name)
    try:
        if needs_opencv(image, source_format, path):
            decoded = decode_opencv(path, name, source_format, image)
        else:
            decoded = decode_pillow(image, name, notes)
    except ImageReadError:
        raise
    except Exception as err:
        raise ImageReadError(_failure(name, err)) from None
    stated_orientation = orientation if source_format == "TIFF" else 1
    if source_format == "TIFF":
        if orientation != 1 and 0x0112 not in tiff_tags(image):
            orientation = 1  # Pillow turned the TIFF upright itself while loading it
    else:
        exif_raw = image.info.get("exif") or decoded.exif_chunk
        if isinstance(exif_raw, str):
            exif_raw = exif_raw.encode("latin-1")
        orientation = stated_orientation = read_orientation(exif_raw)

    icc = image.info.get("icc_profile") or None
    if decoded.icc_override is not None:
        icc = decoded.icc_override or None
    if icc is not None and not valid_icc(icc):
        icc = None  # random bytes would travel into the output as a "profile"
        notes.append("the embedded colour profile is damaged and was left out")
    notes.extend(decoded.notes)

    gray, pixels, alpha = decoded.gray, decoded.pixels, decoded.alpha
    pixels = apply_orientation(pixels, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    if gray:
        pixels = np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels
    dpi = _dpi(image.info.get("dpi"))
    if source_format == "TIFF" and 282 not in tiff_tags(image):
        dpi = None  # Pillow reports 1 dpi for TIFFs that state no resolution
    if dpi and swaps_axes(stated_orientation):
        dpi = (dpi[1], dpi[0])
    if not pixels.flags.writeable:  # arrays that share Pillow's buffer are read-only
        pixels = pixels.copy()
    if alpha is not None and not alpha.flags.writeable:
        alpha = alpha.copy()
    exif = reset_orientation(exif_raw) if exif_raw else None
    if exif_raw and exif is None:
        notes.append("the EXIF data is damaged and was left out")
    return Photo(
        pixels=pixels,
        alpha=alpha,
        bit_depth=decoded.bit_depth,
        is_grayscale=gray,
        icc_profile=icc,
        exif=exif,
        format=source_format,
        source=path,
        xmp=_xmp_upright(image.info.get("xmp")),
        dpi=dpi,
        mode=decoded.mode,
        frames=frames,
        notes=notes,
    )


def _tiff_orientation(tags: Image.Exif) -> int:
    value = tags.get(0x0112, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


_XMP_ORIENTATION = (
    re.compile(rb'(tiff:Orientation=")[1-8](")'),
    re.compile(rb"(<tiff:Orientation>)[1-8](</tiff:Orientation>)"),
)


def _xmp_upright(xmp: bytes | str | None) -> bytes | None:
    """XMP packet with its orientation (if any) reset to 1, like the EXIF one."""
    if not xmp:
        return None
    data = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
    for pattern in _XMP_ORIENTATION:
        data = pattern.sub(rb"\g<1>1\g<2>", data)
    return data


def _dpi(value: object) -> tuple[float, float] | None:
    try:
        x, y = (float(v) for v in cast(Iterable[Any], value))
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None
