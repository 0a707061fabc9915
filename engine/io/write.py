"""save_photo: write a Photo atomically, in the input's format, never over an input.

What a photographer gets (see README "Image formats"):
- same format, bit depth, gray/colour and alpha as the input where the format
  can hold them; ICC profile, EXIF (date taken, camera) and XMP carried over;
- what a format cannot hold (its row in ``formats.FORMATS``: alpha, 16 bits, gray,
  metadata, a maximum side) is flattened on white, rounded to 8 bits, written as
  RGB, left out or refused; each such change is logged on the ``engine.io`` logger.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import stat
import struct
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import cv2
import numpy as np
from PIL import Image

from engine.atomic import atomic_path
from engine.errors import ImageWriteError, ReviveError
from engine.io import icc, png
from engine.io.formats import (
    BY_NAME,
    FORMAT_SUFFIX,
    READ_SUFFIXES,
    WRITABLE_FORMATS,
    ImageFormat,
    format_for_suffix,
    normalize_format,
    output_format_for,
)
from engine.io.photo import Photo
from engine.io.quiet import native_stderr_silenced
from engine.io.tiff import write_tiff
from engine.pixels import to_uint8

log = logging.getLogger("engine.io")

_JPEG_MAX_EXIF = 65_533
# What an encoder (or Pillow serialising odd metadata) raises on a photo it cannot write.
_ENCODE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    SyntaxError,
    ZeroDivisionError,
    struct.error,
    cv2.error,
)


def save_photo(
    photo: Photo,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    quality: int = 95,
    protected: Iterable[str | os.PathLike[str]] = (),
    notes: list[str] | None = None,
) -> Path:
    """Write ``photo`` to ``path`` atomically and return the path written.

    The format is ``format`` if given, else the one the suffix names, else the
    photo's own (GIF -> PNG); a suffix naming another format is refused.
    Refuses (ImageWriteError) to write onto the photo's source or any
    ``protected`` path, including through symbolic or hard links. On any
    failure nothing is left behind. What the format made change (transparency
    flattened, 8 bits, a profile left out) is logged and appended to ``notes``.
    """
    target = Path(path)
    name = target.name or str(target)
    job = _Job(name, notes if notes is not None else [])
    fmt = _output_format(format, target, photo, name)
    if not 1 <= quality <= 100:
        raise ImageWriteError(f"{name}: quality must be between 1 and 100, not {quality}")
    for guarded in (photo.source, *protected):
        if guarded is not None and same_file(target, Path(guarded)):
            raise ImageWriteError(
                f"{name}: refusing to overwrite the input photo {Path(guarded).name}; "
                "choose another output name or folder"
            )
    if _is_dir(target):
        raise ImageWriteError(f"{name}: is a folder; give a file name for the output")

    try:
        with _quiet(), atomic_path(target) as tmp, open(tmp, "wb") as fh:
            _write(fh, photo, BY_NAME[fmt], quality, job)
    except ReviveError:
        raise
    except PermissionError:
        raise ImageWriteError(
            f"{name}: cannot write into {target.parent} (permission denied)"
        ) from None
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise ImageWriteError(f"{name}: the disk is full") from None
        if err.errno == errno.ENAMETOOLONG:
            raise ImageWriteError(f"{name}: the file name is too long") from None
        reason = err.strerror or str(err) or type(err).__name__
        raise ImageWriteError(f"{name}: could not be written ({reason})") from None
    except _ENCODE_ERRORS as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0][:160]
        raise ImageWriteError(f"{name}: {fmt} could not encode this image ({reason})") from None
    return target


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No library warnings on the terminal: what matters reaches the notes."""
    with warnings.catch_warnings(), native_stderr_silenced():
        warnings.simplefilter("ignore")
        yield


class _Job:
    """The output's name (for messages) and the notes of what saving had to change."""

    def __init__(self, name: str, notes: list[str]) -> None:
        self.name, self.notes = name, notes


def _output_format(asked: str | None, target: Path, photo: Photo, name: str) -> str:
    named = READ_SUFFIXES.get(target.suffix.lower())  # what the file name promises
    if asked is None:
        fmt = format_for_suffix(target.suffix) or output_format_for(photo.format)
    else:
        try:
            fmt = normalize_format(asked)
        except ValueError as err:
            raise ImageWriteError(f"{name}: {err}") from None
    if named is not None and named not in FORMAT_SUFFIX:
        raise ImageWriteError(f"{name}: Revive does not write {named}; use a .png or .jpg name")
    if named is not None and named != fmt:
        raise ImageWriteError(
            f"{name}: the file name says {named} but {fmt} was asked for; "
            f"use the {FORMAT_SUFFIX[fmt]} extension"
        )
    return fmt


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (links, case-insensitive disks, ``..``)."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass  # one of them does not exist (yet)
    try:
        ra, rb = a.resolve(), b.resolve()
    except (OSError, RuntimeError):
        ra, rb = a.absolute(), b.absolute()
    return os.path.normcase(ra) == os.path.normcase(rb)


# ---------------------------------------------------------------- pixel layout


def _note(job: _Job, text: str) -> None:
    log.warning("%s: %s", job.name, text)
    if text not in job.notes:
        job.notes.append(text)


def _write(fh: IO[bytes], photo: Photo, fmt: ImageFormat, quality: int, job: _Job) -> None:
    """Lay the pixels out as the format's row allows, then run its encoder."""
    array = _layout(photo, job, fmt)
    if fmt.max_side is not None:
        _check_side(array, fmt.max_side)
    if not fmt.metadata and (photo.exif or photo.icc_profile or photo.xmp):
        _note(job, f"{fmt.label} cannot hold EXIF or a colour profile: they are left out")
    _ENCODERS[fmt.name](fh, array, photo, quality, job)


def _layout(photo: Photo, job: _Job, fmt: ImageFormat) -> np.ndarray:
    """H x W x C array (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) the format can hold."""
    pixels, alpha = photo.pixels, photo.alpha
    if alpha is not None and not fmt.alpha:
        pixels = _flatten_on_white(pixels, alpha, photo.max_value)
        alpha = None
        _note(job, f"{fmt.label} cannot hold transparency: flattened on white")
    if photo.bit_depth == 16 and not fmt.bits16:
        pixels = to_uint8(pixels)
        alpha = None if alpha is None else to_uint8(alpha)
        _note(job, f"{fmt.label} holds 8 bits per channel: saved at 8 bits")
    planes = [_gray(pixels)[..., None]] if photo.is_grayscale and fmt.gray else [pixels]
    if photo.is_grayscale and not fmt.gray:
        _note(job, f"{fmt.label} has no gray mode: saved as RGB")
    if alpha is not None:
        planes.append(alpha[..., None])
    return planes[0] if len(planes) == 1 else np.concatenate(planes, axis=2)


def _gray(pixels: np.ndarray) -> np.ndarray:
    """One channel: the shared value when the channels agree, else Rec. 601 luma."""
    red = pixels[..., 0]
    if np.array_equal(red, pixels[..., 1]) and np.array_equal(red, pixels[..., 2]):
        return np.ascontiguousarray(red)
    return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)


def _flatten_on_white(pixels: np.ndarray, alpha: np.ndarray, top: int) -> np.ndarray:
    weight = alpha.astype(np.float32)[..., None] / np.float32(top)
    flat = pixels.astype(np.float32) * weight + np.float32(top) * (1.0 - weight)
    return np.rint(flat).astype(pixels.dtype)


def _profile_for(photo: Photo, channels: int, job: _Job) -> bytes | None:
    """The photo's ICC profile if it describes this pixel layout; else none, with a note."""
    profile = photo.icc_profile
    if not profile:
        return None
    colour_channels = 1 if channels in (1, 2) else 3
    if icc.fits(profile, colour_channels):
        return profile
    space = icc.colour_space(profile)
    what = f"{icc.describe(space)} colour profile" if space else "damaged colour profile"
    _note(job, f"the {what} does not fit the output: left out")
    return None


def _pil_image(array: np.ndarray) -> Image.Image:
    """Pillow infers the mode: I;16 (16-bit gray), L, LA, RGB or RGBA."""
    plane = array[..., 0] if array.shape[2] == 1 else array
    return Image.fromarray(np.ascontiguousarray(plane))


def _check_side(array: np.ndarray, limit: int) -> None:
    height, width = array.shape[:2]
    if max(height, width) > limit:
        raise ValueError(
            f"it holds at most {limit} pixels on a side and this image is {width}x{height}; "
            "save it as PNG or TIFF"
        )


# ---------------------------------------------------------------- one encoder per format
# Each gets the pixels already laid out as its row in ``formats.FORMATS`` allows.


def _write_jpeg(fh: IO[bytes], array: np.ndarray, photo: Photo, quality: int, job: _Job) -> None:
    options: dict[str, object] = {
        "quality": quality,
        # Chroma at full resolution for high quality: no colour bleeding on edges.
        "subsampling": 0 if quality >= 90 else 2,
    }
    profile = _profile_for(photo, array.shape[2], job)
    if profile:
        options["icc_profile"] = profile
    exif = _jpeg_exif(photo.exif, job)
    if exif:
        options["exif"] = exif
    if photo.xmp and len(photo.xmp) <= 65_000:
        options["xmp"] = photo.xmp
    if photo.dpi:
        options["dpi"] = _int_dpi(photo.dpi)
    _pil_image(array).save(fh, "JPEG", **options)


def _jpeg_exif(exif: bytes | None, job: _Job) -> bytes | None:
    """EXIF that fits one JPEG APP1 segment (64 KiB), compacted or left out if needed."""
    if not exif or len(exif) <= _JPEG_MAX_EXIF:
        return exif
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        compact = parsed.tobytes()
    except Exception:
        compact = b""
    if compact and len(compact) <= _JPEG_MAX_EXIF:
        return compact
    _note(job, "the EXIF data is larger than JPEG allows: left out")
    return None


def _write_png(fh: IO[bytes], array: np.ndarray, photo: Photo, quality: int, job: _Job) -> None:
    channels = array.shape[2]
    encoded: bytes | memoryview
    if array.dtype == np.uint8 or channels == 1:
        buffer = io.BytesIO()
        _pil_image(array).save(buffer, "PNG", compress_level=6)
        encoded = buffer.getvalue()
    elif channels == 2:
        encoded = png.encode_16bit(array)
    else:
        bgr = array[..., [2, 1, 0, 3][:channels]]
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        del bgr
        if not ok:
            raise ValueError("the PNG encoder failed")
        encoded = buf.data.cast("B")
    extra = png.metadata_chunks(
        icc_profile=_profile_for(photo, channels, job),
        exif=photo.exif,
        xmp=photo.xmp,
        dpi=photo.dpi,
    )
    png.write_with_metadata(fh, encoded, extra)


def _write_tiff(fh: IO[bytes], array: np.ndarray, photo: Photo, quality: int, job: _Job) -> None:
    if array.shape[2] == 2 and array.dtype == np.uint16:
        # Neither Pillow nor OpenCV reads 16-bit gray+alpha TIFF: write RGBA instead.
        array = np.concatenate([np.repeat(array[..., :1], 3, axis=2), array[..., 1:]], axis=2)
        _note(job, "16-bit gray with transparency is written as 16-bit RGBA TIFF")
    write_tiff(
        fh,
        array,
        icc_profile=_profile_for(photo, array.shape[2], job),
        exif=photo.exif,
        xmp=photo.xmp,
        dpi=photo.dpi,
    )


def _write_webp(fh: IO[bytes], array: np.ndarray, photo: Photo, quality: int, job: _Job) -> None:
    options: dict[str, object] = {"quality": quality, "method": 4}
    if quality >= 100:
        options["lossless"] = True
        options["exact"] = True  # keep the colour under transparent pixels too
    profile = _profile_for(photo, array.shape[2], job)
    if profile:
        options["icc_profile"] = profile
    if photo.exif:
        options["exif"] = photo.exif
    if photo.xmp:
        options["xmp"] = photo.xmp
    _pil_image(array).save(fh, "WEBP", **options)


def _write_bmp(fh: IO[bytes], array: np.ndarray, photo: Photo, quality: int, job: _Job) -> None:
    options: dict[str, object] = {}
    if photo.dpi:
        options["dpi"] = _int_dpi(photo.dpi)
    _pil_image(array).save(fh, "BMP", **options)


def _int_dpi(dpi: tuple[float, float]) -> tuple[int, int]:
    return (max(1, round(dpi[0])), max(1, round(dpi[1])))


# The dispatch follows the table: every writable row has its ``_write_<name>`` here.
_ENCODERS: dict[str, Callable[[IO[bytes], np.ndarray, Photo, int, _Job], None]] = {
    name: globals()[f"_write_{name.lower()}"] for name in WRITABLE_FORMATS
}
