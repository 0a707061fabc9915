"""PNG at the chunk level: truncation check, metadata chunks, and a 16-bit encoder.

Pillow reduces 16-bit colour PNGs to 8 bits, so those are decoded and encoded
with OpenCV, which knows nothing of metadata: the ICC profile (iCCP), EXIF
(eXIf), XMP (iTXt) and resolution (pHYs) are added here as plain chunks.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable
from typing import IO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(SIGNATURE) + 8 + 13 + 4
_XMP_KEYWORD = b"XML:com.adobe.xmp"
_IDAT_SIZE = 1 << 20
_METADATA_CHUNKS = {b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"eXIf", b"pHYs", b"iTXt", b"tEXt"}
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def oversized_text_chunks(
    path: str | os.PathLike[str], limit: int
) -> list[tuple[bytes, bytes, int, int]]:
    """(type, keyword, start, end) of the text chunks holding more than ``limit`` bytes.

    Text is metadata (comments, software names); a chunk larger than ``limit`` (Pillow's
    ``MAX_TEXT_CHUNK``) makes Pillow refuse the whole file. Chunk headers are read with
    seeks; a compressed chunk is inflated only up to ``limit`` + 1 bytes to judge it.
    An empty list for anything that is not a PNG, or that ends early.
    """
    found: list[tuple[bytes, bytes, int, int]] = []
    with open(path, "rb") as fh:
        if fh.read(len(SIGNATURE)) != SIGNATURE:
            return []
        pos = len(SIGNATURE)
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return found
            length, kind = struct.unpack(">I4s", head)
            end = pos + 8 + length + 4
            if kind == b"IEND":
                return found
            if kind in _TEXT_CHUNKS and length > 0:
                payload = fh.read(min(length, limit + 1) if kind == b"tEXt" else length)
                if _text_size(kind, payload, limit) > limit:
                    found.append((kind, payload.partition(b"\0")[0][:79], pos, end))
            fh.seek(end)
            pos = end


def _text_size(kind: bytes, payload: bytes, limit: int) -> int:
    """How many text bytes a chunk holds, counted to ``limit`` + 1 at most."""
    keyword, _, rest = payload.partition(b"\0")
    if kind == b"tEXt":
        return len(rest)
    if kind == b"zTXt":
        compressed = rest[1:]
    else:  # iTXt: compression flag, method, language\0, translated keyword\0, text
        flag = rest[:1]
        rest = rest[2:].partition(b"\0")[2].partition(b"\0")[2]
        if flag != b"\x01":
            return len(rest)
        compressed = rest
    try:
        return len(zlib.decompressobj().decompress(compressed, limit + 1))
    except zlib.error:
        return 0  # damaged: Pillow's own check decides


def without_spans(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    """``data`` without the byte ranges ``spans`` (whole chunks, so the PNG stays valid)."""
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(data[pos:start])
        pos = end
    out.append(data[pos:])
    return b"".join(out)


def ihdr(data: bytes | memoryview) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from a PNG's header, or None."""
    data = bytes(data[:_IHDR_END])
    if not data.startswith(SIGNATURE) or len(data) < _IHDR_END or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def chunk_spans(data: bytes | memoryview) -> Iterable[tuple[bytes, int, int]]:
    """(type, start, end) of every serialised chunk; EOFError if the file ends before IEND."""
    pos = len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise EOFError("PNG ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length + 4
        if end > len(data):
            raise EOFError(f"PNG chunk {kind!r} is cut short")
        yield kind, pos, end
        if kind == b"IEND":
            return
        pos = end


def chunks(data: bytes) -> Iterable[tuple[bytes, bytes]]:
    """(type, payload) of every chunk; raises EOFError if the file ends before IEND."""
    for kind, start, end in chunk_spans(data):
        yield kind, data[start + 8 : end - 4]


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One serialised chunk: length, type, payload, CRC32 of type + payload."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def metadata_chunks(
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    xmp: bytes | None = None,
    dpi: tuple[float, float] | None = None,
) -> list[bytes]:
    """Serialised iCCP / eXIf / iTXt / pHYs chunks (all allowed before IDAT)."""
    out = []
    if icc_profile:
        out.append(chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if exif:
        body = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        out.append(chunk(b"eXIf", body))
    if xmp:
        out.append(chunk(b"iTXt", _XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp))
    if dpi:
        ppm = [max(1, round(d / 0.0254)) for d in dpi]
        out.append(chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    return out


def write_with_metadata(fh: IO[bytes], png: bytes | memoryview, extra: list[bytes]) -> None:
    """Write ``png`` with its own metadata chunks replaced by ``extra``, right after IHDR.

    The image chunks are copied as they are (no re-encoding, no extra copy).
    """
    if ihdr(png) is None:
        raise ValueError("not a PNG stream")
    view = memoryview(png)
    fh.write(view[:_IHDR_END])
    for extra_chunk in extra:
        fh.write(extra_chunk)
    for kind, start, end in chunk_spans(png):
        if kind != b"IHDR" and kind not in _METADATA_CHUNKS:
            fh.write(view[start:end])


def with_metadata(png: bytes, extra: list[bytes]) -> bytes:
    """``png`` with its own metadata chunks replaced by ``extra`` (see write_with_metadata)."""
    out = io.BytesIO()
    write_with_metadata(out, png, extra)
    return out.getvalue()


def encode_16bit(array: np.ndarray, *, level: int = 6) -> bytes:
    """A 16-bit PNG of an H x W x C (C = 1..4: gray, gray+alpha, RGB, RGBA) uint16 array.

    Used for gray + alpha at 16 bits, which OpenCV cannot write. Every row uses
    the Sub filter (difference to the pixel on the left), computed for the
    whole image at once.
    """
    if array.dtype != np.uint16 or array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        raise ValueError("expected an H x W x C uint16 array with 1 to 4 channels")
    height, width, channels = array.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = array.astype(">u2").view(np.uint8).reshape(height, width * channels * 2)
    bpp = channels * 2
    filtered = raw.copy()
    filtered[:, bpp:] -= raw[:, :-bpp]
    rows = np.empty((height, raw.shape[1] + 1), np.uint8)
    rows[:, 0] = 1  # filter type Sub
    rows[:, 1:] = filtered
    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    stream = zlib.compress(rows.tobytes(), level)
    idat = [chunk(b"IDAT", stream[i : i + _IDAT_SIZE]) for i in range(0, len(stream), _IDAT_SIZE)]
    return SIGNATURE + chunk(b"IHDR", header) + b"".join(idat) + chunk(b"IEND", b"")
