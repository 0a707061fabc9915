"""EXIF orientation: read it, apply it to pixels, and reset it in the raw EXIF bytes.

The raw EXIF block is patched in place rather than re-serialised, so maker
notes, GPS, date taken and every tag Pillow does not understand survive
byte for byte. Only two words change: the orientation becomes 1 (the pixels are
now upright) and the link to the embedded thumbnail is cut (it shows the old,
unrestored, unrotated picture).
"""

from __future__ import annotations

import struct

import numpy as np
from PIL import Image, TiffTags

EXIF_PREFIX = b"Exif\x00\x00"
ORIENTATION_TAG = 0x0112
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005

# TIFF tags that describe a TIFF file's own pixel layout: they must not travel
# as "EXIF" from a TIFF source into another file.
_TIFF_STRUCTURAL_TAGS = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284,
        290, 291, 292, 293, 296, 297, 301, 317, 318, 319, 320, 321, 322, 323, 324, 325,
        330, 332, 338, 339, 340, 341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521,
        529, 530, 531, 532, 700, 33723, 34377, 34675, 37724, 42113, 50838, 50839,
    }
)  # fmt: skip


def _split(exif: bytes) -> tuple[bytes, str] | None:
    """The TIFF-structured body of an EXIF block and its struct byte order, or None."""
    body = exif[len(EXIF_PREFIX) :] if exif.startswith(EXIF_PREFIX) else exif
    if body[:4] == b"II*\x00":
        return body, "<"
    if body[:4] == b"MM\x00*":
        return body, ">"
    return None


def _ifd0_entries(body: bytes, order: str) -> tuple[int, int] | None:
    """(offset of IFD0, number of entries), or None when the block is malformed."""
    if len(body) < 8:
        return None
    (ifd0,) = struct.unpack_from(order + "I", body, 4)
    if ifd0 + 2 > len(body):
        return None
    (count,) = struct.unpack_from(order + "H", body, ifd0)
    if ifd0 + 2 + 12 * count + 4 > len(body):
        return None
    return ifd0, count


def read_orientation(exif: bytes | None) -> int:
    """The EXIF orientation (1..8); 1 when absent, unreadable or out of range."""
    if not exif:
        return 1
    split = _split(exif)
    if split is None:
        return 1
    body, order = split
    ifd = _ifd0_entries(body, order)
    if ifd is None:
        return 1
    ifd0, count = ifd
    for i in range(count):
        entry = ifd0 + 2 + 12 * i
        tag, typ = struct.unpack_from(order + "HH", body, entry)
        if tag == ORIENTATION_TAG:
            if typ == 3:  # SHORT
                value = struct.unpack_from(order + "H", body, entry + 8)[0]
            elif typ == 4:  # LONG (seen in the wild)
                value = struct.unpack_from(order + "I", body, entry + 8)[0]
            else:
                return 1
            return value if 1 <= value <= 8 else 1
    return 1


def reset_orientation(exif: bytes | None) -> bytes | None:
    """``exif`` with ``Exif\\0\\0`` prefix, orientation 1 and no thumbnail; None if malformed."""
    if not exif:
        return None
    split = _split(exif)
    if split is None:
        return None
    body, order = split
    ifd = _ifd0_entries(body, order)
    if ifd is None:
        return None
    ifd0, count = ifd
    patched = bytearray(body)
    for i in range(count):
        entry = ifd0 + 2 + 12 * i
        tag, typ = struct.unpack_from(order + "HH", patched, entry)
        if tag == ORIENTATION_TAG:
            # Rewrite as SHORT, count 1, value 1 (the value sits left-aligned in 4 bytes).
            struct.pack_into(order + "HIHH", patched, entry + 2, 3, 1, 1, 0)
    # Cut IFD0's link to IFD1 (the thumbnail).
    struct.pack_into(order + "I", patched, ifd0 + 2 + 12 * count, 0)
    return EXIF_PREFIX + bytes(patched)


def exif_from_tiff_tags(tags: Image.Exif) -> bytes | None:
    """An EXIF block from a TIFF file's own tags: camera, dates, GPS; no pixel layout tags."""
    out = Image.Exif()
    for tag, value in tags.items():
        if tag in _TIFF_STRUCTURAL_TAGS or tag in (_EXIF_IFD, _GPS_IFD):
            continue
        out[tag] = value
    for group in (_EXIF_IFD, _GPS_IFD):
        if group in tags:
            sub = dict(tags.get_ifd(group))
            if group == _EXIF_IFD:
                sub.pop(_INTEROP_IFD, None)  # its offset would be stale
            if sub:
                out[group] = sub
    if not len(out):
        return None
    if ORIENTATION_TAG in out:
        out[ORIENTATION_TAG] = 1
    try:
        return out.tobytes()
    except Exception:  # a tag Pillow cannot serialise: keep the file, lose the EXIF
        return None


def exif_tags_for_tiff(exif: bytes) -> dict[int, object]:
    """EXIF block -> {tag: value} ready for a TIFF IFD0 (sub-IFDs as dicts)."""
    parsed = Image.Exif()
    parsed.load(exif)
    tags: dict[int, object] = {}
    for tag, value in parsed.items():
        if tag in _TIFF_STRUCTURAL_TAGS:
            continue
        if tag in TiffTags.TAGS_V2_GROUPS:
            sub = dict(parsed.get_ifd(tag))
            sub.pop(_INTEROP_IFD, None)
            if sub:
                tags[tag] = sub
        else:
            tags[tag] = value
    return tags


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels (H x W or H x W x C) upright for an EXIF orientation 1..8."""
    if orientation == 2:
        out = array[:, ::-1]
    elif orientation == 3:
        out = array[::-1, ::-1]
    elif orientation == 4:
        out = array[::-1]
    elif orientation == 5:
        out = array.swapaxes(0, 1)
    elif orientation == 6:
        out = np.rot90(array, -1)
    elif orientation == 7:
        out = array[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        out = np.rot90(array, 1)
    else:
        return array
    return np.ascontiguousarray(out)


def swaps_axes(orientation: int) -> bool:
    """Orientations 5..8 exchange width and height."""
    return orientation in (5, 6, 7, 8)
