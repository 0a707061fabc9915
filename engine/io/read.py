"""load_photo: any supported file -> an upright Photo, or one clear ImageReadError line.

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
import stat
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from engine.errors import ImageReadError
from engine.io import png
from engine.io.exif import (
    EXIF_PREFIX,
    apply_orientation,
    exif_from_tiff_tags,
    read_orientation,
    reset_orientation,
    swaps_axes,
)
from engine.io.formats import PILLOW_OPEN_FORMATS, RAW_SUFFIXES
from engine.io.icc import SRGB_PROFILE, colour_space
from engine.io.photo import DEFAULT_MAX_MEGAPIXELS, MIN_SIDE_PX, Photo

_PIL_GLOBALS = threading.Lock()
_TRUNCATED = "the file is truncated (it may not have finished downloading)"
_READS = "Revive reads JPEG, PNG, TIFF, WebP, BMP and GIF"
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    MemoryError,
    cv2.error,
    Image.DecompressionBombError,
)


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
    _check_file(path, name)
    if path.suffix.lower() in RAW_SUFFIXES:
        raise ImageReadError(f"{name}: {_RAW_ADVICE}")
    limit = int(max_megapixels * 1_000_000)
    with _pillow_guard(limit):
        try:
            image = Image.open(path, formats=PILLOW_OPEN_FORMATS)
        except Image.DecompressionBombError as err:
            raise ImageReadError(_too_large_from_pillow(name, err, max_megapixels)) from None
        except UnidentifiedImageError:
            raise ImageReadError(_unidentified(path, name)) from None
        except _DECODE_ERRORS as err:
            if _riff_cut_short(path):
                raise ImageReadError(f"{name}: {_TRUNCATED}") from None
            raise ImageReadError(_decode_failure(name, err)) from None
        with image:
            return _decode(image, path, name, limit, max_megapixels)


_RAW_ADVICE = (
    "camera raw files are not supported; develop it in your raw converter "
    "and export a 16-bit TIFF (or a JPEG) first"
)


def _check_file(path: Path, name: str) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageReadError(f"{name}: file not found") from None
    except PermissionError:
        raise ImageReadError(f"{name}: cannot be read (permission denied)") from None
    except OSError as err:
        raise ImageReadError(f"{name}: cannot be read ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError(f"{name}: is a folder, not a photo")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(f"{name}: is not a regular file")
    if info.st_size == 0:
        raise ImageReadError(f"{name}: the file is empty (0 bytes)")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise ImageReadError(f"{name}: cannot be read (permission denied)") from None
    except OSError as err:
        raise ImageReadError(f"{name}: cannot be read ({err.strerror or err})") from None


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


def _megapixels(pixels: int) -> str:
    value = pixels / 1e6
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def _too_large(name: str, width: int, height: int, max_megapixels: float) -> str:
    return (
        f"{name}: the image is {width}x{height} ({_megapixels(width * height)} megapixels), "
        f"more than the {max_megapixels:g} megapixel limit"
    )


def _too_large_from_pillow(name: str, err: Exception, max_megapixels: float) -> str:
    found = re.search(r"\((\d+) pixels\)", str(err))
    size = f" ({_megapixels(int(found.group(1)))} megapixels)" if found else ""
    return f"{name}: the image is too large{size}, more than the {max_megapixels:g} megapixel limit"


def _decode_failure(name: str, err: BaseException) -> str:
    text = str(err)
    if isinstance(err, EOFError) or "truncated" in text.lower() or "incomplete" in text.lower():
        return f"{name}: {_TRUNCATED}"
    if isinstance(err, MemoryError):
        return f"{name}: not enough memory to open this image"
    reason = text.splitlines()[0][:120] if text else type(err).__name__
    return f"{name}: the image data is damaged and cannot be decoded ({reason})"


# Content signatures of formats Revive does not read, for a precise message.
_FTYP_BRANDS = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"heim": "HEIC",
    b"heis": "HEIC",
    b"hevm": "HEIC",
    b"hevs": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
    b"crx ": "camera raw (CR3)",
}


def _sniff(head: bytes) -> str | None:
    """A human name for a known non-supported format, from its first bytes."""
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "HEIF/MP4")
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL "):
        return "JPEG XL"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"8BPS"):
        return "Photoshop (PSD)"
    if head[:4] in (b"II*\x00", b"MM\x00*") and head[8:10] == b"CR":
        return "camera raw (CR2)"
    if head.startswith(b"\x00\x00\x00\x0cjP  "):
        return "JPEG 2000"
    return None


def _unidentified(path: Path, name: str) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        return f"{name}: cannot be read ({err.strerror or err})"
    size = path.stat().st_size
    tiff_ifd = int.from_bytes(head[4:8], "little" if head[:2] == b"II" else "big")
    if (head[:4] in (b"II*\x00", b"MM\x00*") and tiff_ifd >= size) or _riff_cut_short(path):
        return f"{name}: {_TRUNCATED}"
    known = _sniff(head)
    if known is None:
        # Any other format Pillow knows (ICO, TGA, PPM ...): name it, never decode it.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(path) as other:
                    known = other.format
        except Exception:
            known = None
    if known == "camera raw (CR2)" or (known or "").startswith("camera raw"):
        return f"{name}: {_RAW_ADVICE}"
    if known:
        return f"{name}: {known} files are not supported ({_READS}); export it as JPEG or TIFF"
    header = png.ihdr(head)
    if header is not None and 0 in header[:2]:
        return f"{name}: the image is {header[0]}x{header[1]} pixels: there is nothing to restore"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return (
            f"{name}: this TIFF cannot be read (a TIFF variant Revive does not support, "
            "or a damaged file); re-save it as a standard 8- or 16-bit RGB TIFF"
        )
    if head.startswith(_KNOWN_MAGIC) or head[8:12] == b"WEBP":
        return f"{name}: the image data is damaged and cannot be decoded"
    if _looks_like_text(head):
        return f"{name}: not an image (it is a text file); {_READS}"
    return f"{name}: not an image, or a format Revive cannot read ({_READS})"


# Supported formats' first bytes: such a file that Pillow cannot open is damaged.
_KNOWN_MAGIC = (png.SIGNATURE, b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


def _decode(image: Image.Image, path: Path, name: str, limit: int, max_megapixels: float) -> Photo:
    source_format = {"MPO": "JPEG", "DIB": "BMP"}.get(image.format or "", image.format or "")
    width, height = image.size
    if width * height > limit:
        raise ImageReadError(_too_large(name, width, height, max_megapixels))
    if width < MIN_SIDE_PX or height < MIN_SIDE_PX:
        raise ImageReadError(
            f"{name}: the image is only {width}x{height} pixels, too small to restore "
            f"(at least {MIN_SIDE_PX}x{MIN_SIDE_PX} needed)"
        )
    notes: list[str] = []
    frames = int(getattr(image, "n_frames", 1) or 1)
    if frames > 1 and source_format in ("GIF", "TIFF"):
        what = "frame of the animation" if source_format == "GIF" else "page"
        notes.append(f"only the first {what} of {frames} is read")
    if source_format == "TIFF" and 50706 in image.tag_v2:  # DNGVersion
        raise ImageReadError(f"{name}: {_RAW_ADVICE}")

    if source_format == "TIFF":
        # Read before decoding: Pillow rotates TIFFs itself while loading and then
        # deletes the orientation from this same Exif object.
        tiff_tags = image.getexif()
        exif_raw, orientation = exif_from_tiff_tags(tiff_tags), _tiff_orientation(tiff_tags)
    _check_complete(image, source_format, path, name)
    try:
        if _needs_opencv(image, source_format, path):
            decoded = _decode_opencv(path, name, source_format, image)
        else:
            decoded = _decode_pillow(image, name, notes)
    except ImageReadError:
        raise
    except _DECODE_ERRORS as err:
        raise ImageReadError(_decode_failure(name, err)) from None
    stated_orientation = orientation if source_format == "TIFF" else 1
    if source_format == "TIFF":
        if orientation != 1 and 0x0112 not in image.tag_v2:
            orientation = 1  # Pillow turned the TIFF upright itself while loading it
    else:
        exif_raw = image.info.get("exif") or decoded.exif_chunk
        if isinstance(exif_raw, str):
            exif_raw = exif_raw.encode("latin-1")
        orientation = stated_orientation = read_orientation(exif_raw)

    icc = image.info.get("icc_profile") or None
    if decoded.icc_override is not None:
        icc = decoded.icc_override or None
    notes.extend(decoded.notes)

    gray, pixels, alpha = decoded.gray, decoded.pixels, decoded.alpha
    pixels = apply_orientation(pixels, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    if gray:
        pixels = np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels
    dpi = _dpi(image.info.get("dpi"))
    if source_format == "TIFF" and 282 not in image.tag_v2:
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


class _Decoded:
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


def _needs_opencv(image: Image.Image, fmt: str, path: Path) -> bool:
    """True where Pillow would reduce the pixels to 8 bits (16-bit colour PNG / TIFF)."""
    if fmt == "PNG":
        with open(path, "rb") as fh:
            header = png.ihdr(fh.read(64))
        return header is not None and header[2] == 16 and header[3] in (2, 4, 6)
    if fmt == "TIFF":
        bits = image.tag_v2.get(258, (1,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        samples = image.tag_v2.get(277, 1)
        return max(bits) > 8 and samples >= 2
    return False


def _decode_opencv(path: Path, name: str, fmt: str, image: Image.Image) -> _Decoded:
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
            raise ImageReadError(f"{name}: {_TRUNCATED}") from None
    elif fmt == "TIFF":
        # OpenCV turns TIFFs by their orientation tag itself (and fails on the
        # quarter turns): hand it an upright-tagged copy, we apply the tag after.
        upright = reset_orientation(data)
        if upright is not None:
            data = upright[len(EXIF_PREFIX) :]
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageReadError(f"{name}: the image data is damaged and cannot be decoded")
    if array.dtype != np.uint16:
        array = _to_uint16(array)
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
    return _Decoded(array, alpha=alpha, gray=gray, mode=f"{mode};16", exif_chunk=exif_chunk)


def _check_complete(image: Image.Image, fmt: str, path: Path, name: str) -> None:
    """Catch files cut short before a decoder does (with a vaguer error, or noise on stderr)."""
    size = path.stat().st_size
    if fmt == "TIFF":
        _check_tiff_extent(image, size, name)
    elif fmt == "WEBP" and _riff_cut_short(path):
        raise ImageReadError(f"{name}: {_TRUNCATED}")


def _riff_cut_short(path: Path) -> bool:
    """A WebP (RIFF) file shorter than its header says."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    declared = int.from_bytes(head[4:8], "little") + 8
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP" and declared > path.stat().st_size


def _check_tiff_extent(image: Image.Image, size: int, name: str) -> None:
    """A TIFF whose strips or tiles point past the end of the file was cut short."""
    tags = image.tag_v2
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if any(o + c > size for o, c in zip(offsets, counts, strict=False)):
            raise ImageReadError(f"{name}: {_TRUNCATED}")


def _to_uint16(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.uint16) * 257
    values = array.astype(np.float64)
    if np.issubdtype(array.dtype, np.floating):
        values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0)
        if values.min() >= 0.0 and values.max() <= 1.0:
            return np.rint(values * 65535).astype(np.uint16)
    return _rescale_to_uint16(values)


def _rescale_to_uint16(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if low >= 0 and high <= 65535 and np.all(values == np.rint(values)):
        return values.astype(np.uint16)
    span = (high - low) or 1.0
    return np.rint((values - low) * (65535.0 / span)).astype(np.uint16)


def _decode_pillow(image: Image.Image, name: str, notes: list[str]) -> _Decoded:
    image.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES is off)
    mode = image.mode
    if mode in ("1", "L", "LA", "La"):
        conv = image.convert("LA") if mode in ("LA", "La") else image.convert("L")
        array = np.asarray(conv)
        if conv.mode == "LA":
            return _Decoded(
                np.ascontiguousarray(array[..., 0]),
                alpha=np.ascontiguousarray(array[..., 1]),
                gray=True,
                mode=mode,
            )
        return _Decoded(np.ascontiguousarray(array), alpha=None, gray=True, mode=mode)
    if mode.startswith("I;16"):
        array = np.asarray(image).astype(np.uint16)
        return _Decoded(array, alpha=None, gray=True, mode=mode)
    if mode in ("I", "F"):
        array = np.asarray(image)
        out = _to_uint16(array)
        if not (array.min() >= 0 and array.max() <= (1.0 if mode == "F" else 65535)):
            notes.append(f"{mode} values were rescaled to the 16-bit range")
        return _Decoded(out, alpha=None, gray=True, mode=mode)
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
    return _Decoded(np.ascontiguousarray(array[..., :3]), alpha=alpha, gray=False, mode=mode)


def _decode_palette(image: Image.Image) -> _Decoded:
    has_alpha = image.mode == "PA" or image.has_transparency_data
    used = image.getcolors(256) or []
    palette = image.getpalette("RGB") or []
    gray = bool(used) and all(
        palette[3 * i : 3 * i + 3] == [palette[3 * i]] * 3
        for _, i in used
        if 3 * i + 2 < len(palette)
    )
    array = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    alpha = np.ascontiguousarray(array[..., 3]) if has_alpha else None
    rgb = array[..., :3]
    pixels = np.ascontiguousarray(rgb[..., 0]) if gray else np.ascontiguousarray(rgb)
    return _Decoded(pixels, alpha=alpha, gray=gray, mode=image.mode)


def _decode_cmyk(image: Image.Image) -> _Decoded:
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
            return _Decoded(
                np.asarray(rgb), alpha=None, gray=False, mode="CMYK",
                icc_override=SRGB_PROFILE, notes=[note],
            )  # fmt: skip
    note = "converted from CMYK without a colour profile: colours are approximate"
    return _Decoded(
        np.asarray(image.convert("RGB")), alpha=None, gray=False, mode="CMYK",
        icc_override=b"", notes=[note],
    )  # fmt: skip


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
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return (x, y) if x > 0 and y > 0 else None
