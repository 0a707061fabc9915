"""Why a file cannot be read, in one line a photographer understands.

Every check here looks at the file system or at the first bytes / the header
only: nothing decodes pixels. Decoders' own exceptions are translated too, so
no traceback or library jargon reaches the user.
"""

from __future__ import annotations

import re
import stat
import warnings
from pathlib import Path

from PIL import Image

from engine.errors import ImageReadError
from engine.io import png
from engine.io.formats import READS
from engine.io.tiff import tiff_tags

TRUNCATED = "the file is truncated (it may not have finished downloading)"

RAW_ADVICE = (
    "camera raw files are not supported; develop it in your raw converter "
    "and export a 16-bit TIFF (or a JPEG) first"
)


def check_file(path: Path, name: str) -> None:
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


def megapixels(pixels: int) -> str:
    value = pixels / 1e6
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def too_large(name: str, width: int, height: int, max_megapixels: float) -> str:
    return (
        f"{name}: the image is {width}x{height} ({megapixels(width * height)} megapixels), "
        f"more than the {max_megapixels:g} megapixel limit"
    )


def too_large_from_pillow(name: str, err: Exception, max_megapixels: float) -> str:
    found = re.search(r"\((\d+) pixels\)", str(err))
    size = f" ({megapixels(int(found.group(1)))} megapixels)" if found else ""
    return f"{name}: the image is too large{size}, more than the {max_megapixels:g} megapixel limit"


def decode_failure(name: str, err: BaseException) -> str:
    text = str(err)
    if isinstance(err, EOFError) or "truncated" in text.lower() or "incomplete" in text.lower():
        return f"{name}: {TRUNCATED}"
    if isinstance(err, MemoryError):
        return f"{name}: not enough memory to open this image"
    reason = text.splitlines()[0][:120] if text else type(err).__name__
    return f"{name}: the image data is damaged and cannot be decoded ({reason})"


def own_fault(name: str, err: BaseException) -> str:
    """One line for an exception no damaged file should cause: Revive's bug, logged."""
    from engine.fault_log import record_fault

    text = str(err).splitlines()[0][:120] if str(err) else ""
    what = f"{type(err).__name__}: {text}" if text else type(err).__name__
    log = record_fault(f"{name}: {what}", err)
    where = f"; the details are in {log}" if log is not None else ""
    return (
        f"{name}: Revive failed to read this file because of a fault of its own, not of "
        f"the file ({what}); please report it{where}"
    )


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


def unidentified(path: Path, name: str) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        return f"{name}: cannot be read ({err.strerror or err})"
    size = path.stat().st_size
    tiff_ifd = int.from_bytes(head[4:8], "little" if head[:2] == b"II" else "big")
    if (head[:4] in (b"II*\x00", b"MM\x00*") and tiff_ifd >= size) or riff_cut_short(path):
        return f"{name}: {TRUNCATED}"
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
        return f"{name}: {RAW_ADVICE}"
    if known:
        return f"{name}: {known} files are not supported ({READS}); export it as JPEG or TIFF"
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
        return f"{name}: not an image (it is a text file); {READS}"
    return f"{name}: not an image, or a format Revive cannot read ({READS})"


# Supported formats' first bytes: such a file that Pillow cannot open is damaged.
_KNOWN_MAGIC = (png.SIGNATURE, b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


def check_complete(image: Image.Image, fmt: str, path: Path, name: str) -> None:
    """Refuse a file cut short, even where what is left would decode.

    A file that ends before its format's end (PNG's IEND chunk, GIF's trailer, the
    strips of a TIFF, the size a WebP or a camera's MPO declares) is an unfinished
    download or copy: the decoders would return it without its last rows or frames,
    or with noise on stderr. JPEG's decoder refuses a missing end marker itself.
    """
    size = path.stat().st_size
    cut = False
    if fmt == "TIFF":
        _check_tiff_extent(image, size, name)
    elif fmt == "WEBP":
        cut = riff_cut_short(path)
    elif fmt == "PNG":
        cut = png_cut_short(path, size)
    elif fmt == "GIF":
        cut = gif_cut_short(path)
    elif fmt == "JPEG" and (image.format or "") == "MPO":
        cut = _mpo_cut_short(image, size)
    if cut:
        raise ImageReadError(f"{name}: {TRUNCATED}")


def png_cut_short(path: Path, size: int) -> bool:
    """A PNG that ends before its IEND chunk (chunk headers only: nothing is decoded)."""
    with open(path, "rb") as fh:
        if fh.read(len(png.SIGNATURE)) != png.SIGNATURE:
            return False
        position = len(png.SIGNATURE)
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return True
            length = int.from_bytes(head[:4], "big")
            if head[4:8] == b"IEND":
                return False
            position += 8 + length + 4
            if position > size:
                return True
            fh.seek(position)


def gif_cut_short(path: Path) -> bool:
    """A GIF that ends before its trailer byte (blocks are skipped, nothing is decoded)."""
    data = path.read_bytes()
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return len(data) < 13
    pos = 13
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while pos < len(data):
        kind = data[pos]
        if kind == 0x3B:  # trailer
            return False
        if kind == 0x2C:  # image: descriptor, local colour table, LZW code size, data
            if pos + 10 > len(data):
                return True
            packed = data[pos + 9]
            pos += 10 + ((3 << ((packed & 7) + 1)) if packed & 0x80 else 0) + 1
        elif kind == 0x21:  # extension: label, then data sub-blocks
            pos += 2
        else:
            return False  # damaged rather than cut: the decoder says so
        while True:  # data sub-blocks, up to an empty one
            if pos >= len(data):
                return True
            length = data[pos]
            pos += 1 + length
            if length == 0:
                break
    return True


def _mpo_cut_short(image: Image.Image, size: int) -> bool:
    """A camera MPO (JPEG with a second picture) whose later pictures are cut short."""
    offsets = getattr(image, "_MpoImageFile__mpoffsets", None)
    entries = (getattr(image, "mpinfo", None) or {}).get(0xB002) or []
    if not offsets or len(offsets) != len(entries):
        return False
    for offset, entry in zip(offsets[1:], entries[1:], strict=False):
        try:
            end = int(offset) + int(entry["Size"])
        except (KeyError, TypeError, ValueError):
            return False
        if end > size:
            return True
    return False


def riff_cut_short(path: Path) -> bool:
    """A WebP (RIFF) file shorter than its header says."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    declared = int.from_bytes(head[4:8], "little") + 8
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP" and declared > path.stat().st_size


def _check_tiff_extent(image: Image.Image, size: int, name: str) -> None:
    """A TIFF whose strips or tiles point past the end of the file was cut short."""
    tags = tiff_tags(image)
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if any(o + c > size for o, c in zip(offsets, counts, strict=False)):
            raise ImageReadError(f"{name}: {TRUNCATED}")
