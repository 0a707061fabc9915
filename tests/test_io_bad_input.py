"""engine.io on bad input: one ImageReadError line each, and the file is never touched."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile, TiffImagePlugin

from engine.errors import ImageReadError
from engine.io import load_photo
from engine.io import png as png_chunks
from tests.io_samples import rgb8, rgb16, sha256

TRUNCATED = "the file is truncated (it may not have finished downloading)"


def encoded(fmt: str, array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def cv_encoded(suffix: str, array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(suffix, array)
    assert ok
    return buffer.tobytes()


def bmp_header(width: int, height: int) -> bytes:
    """A BMP that declares a size and holds no pixels: enough for a header check."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info


def png_of_zeros(width: int, height: int) -> bytes:
    """A valid 8-bit gray PNG of any size, built a block of rows at a time (100 MP: ~100 KB)."""
    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    block = row * max(1, (1 << 20) // len(row))
    rows_per_block = len(block) // len(row)
    parts, done = [], 0
    while done < height:
        count = min(rows_per_block, height - done)
        parts.append(compressor.compress(block[: count * len(row)]))
        done += count
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        png_chunks.SIGNATURE
        + png_chunks.chunk(b"IHDR", header)
        + png_chunks.chunk(b"IDAT", b"".join(parts))
        + png_chunks.chunk(b"IEND", b"")
    )


def refused(path: Path, *fragments: str, **kwargs) -> str:
    """Loading ``path`` fails with one ImageReadError line naming it; the file is unchanged."""
    before = sha256(path) if path.is_file() else None
    with pytest.raises(ImageReadError) as caught:
        load_photo(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path.name}: ")
    for fragment in fragments:
        assert fragment in message, message
    if before is not None:
        assert sha256(path) == before
    return message


def test_missing_folder_and_empty(tmp_path):
    refused(tmp_path / "photo.jpg", "file not found")
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    refused(folder, "is a folder")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    refused(empty, "empty (0 bytes)")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("half.jpg", lambda: encoded("JPEG", rgb8(120, 160))),
        ("no_end_marker.jpg", lambda: encoded("JPEG", rgb8(120, 160))),
        ("half.png", lambda: encoded("PNG", rgb8(120, 160))),
        ("half16.png", lambda: cv_encoded(".png", rgb16(120, 160))),
        ("half.tif", lambda: encoded("TIFF", rgb8(120, 160))),
        ("half16.tif", lambda: cv_encoded(".tif", rgb16(120, 160))),
        ("half.webp", lambda: encoded("WEBP", rgb8(120, 160))),
        ("half.bmp", lambda: encoded("BMP", rgb8(120, 160))),
        ("half.gif", lambda: encoded("GIF", rgb8(120, 160)[..., 0])),
    ],
)
def test_truncated_files_say_so(tmp_path, name, make):
    data = make()
    cut = len(data) - 2 if name.startswith("no_end") else len(data) // 2
    path = tmp_path / name
    path.write_bytes(data[:cut])
    assert refused(path) == f"{name}: {TRUNCATED}"


def test_truncation_is_an_error_even_if_pillow_was_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    path = tmp_path / "half.jpg"
    path.write_bytes(encoded("JPEG", rgb8(120, 160))[:3000])
    refused(path, TRUNCATED)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


def test_not_an_image(tmp_path):
    text = tmp_path / "holiday.jpg"
    text.write_text("These are my holiday notes, not a photo.\n")
    refused(text, "not an image", "text file")
    noise = tmp_path / "noise.png"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    refused(noise, "not an image")
    damaged = tmp_path / "damaged.png"
    data = bytearray(encoded("PNG", rgb8()))
    data[40] ^= 0xFF  # break a chunk's CRC
    damaged.write_bytes(bytes(data))
    refused(damaged, "damaged")


def test_unsupported_formats_are_named(tmp_path):
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    refused(heic, "HEIC files are not supported", "export it as JPEG")
    disguised = tmp_path / "IMG_0002.jpg"  # phones' "JPEG" that is really HEIC
    disguised.write_bytes(heic.read_bytes())
    refused(disguised, "HEIC")
    icon = tmp_path / "favicon.png"
    icon.write_bytes(encoded("ICO", rgb8(32, 32)))
    refused(icon, "ICO files are not supported")


def test_camera_raw_is_refused_not_read_as_its_preview(tmp_path):
    # Raw files are TIFF-like: Pillow would happily return the small preview inside.
    preview = encoded("TIFF", rgb8(60, 80))
    for name in ("IMG_1.CR2", "DSC_1.nef", "photo.dng"):
        path = tmp_path / name
        path.write_bytes(preview)
        refused(path, "camera raw files are not supported", "16-bit TIFF")
    dng_as_tif = tmp_path / "exported.tif"
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[50706] = b"\x01\x04\x00\x00"  # DNGVersion
    tags.tagtype[50706] = 1
    Image.fromarray(rgb8(60, 80)).save(dng_as_tif, tiffinfo=tags)
    refused(dng_as_tif, "camera raw")


def test_degenerate_sizes(tmp_path):
    dot = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(dot)
    refused(dot, "only 1x1 pixels", "too small")
    sliver = tmp_path / "sliver.png"
    Image.new("L", (500, 3)).save(sliver)
    refused(sliver, "500x3")
    nothing = tmp_path / "nothing.png"
    header = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    nothing.write_bytes(
        png_chunks.SIGNATURE
        + png_chunks.chunk(b"IHDR", header)
        + png_chunks.chunk(b"IDAT", zlib.compress(b""))
        + png_chunks.chunk(b"IEND", b"")
    )
    refused(nothing, "0x0")
    zero_bmp = tmp_path / "zero.bmp"
    zero_bmp.write_bytes(bmp_header(0, 0))
    refused(zero_bmp, "damaged")


def test_hundred_megapixels_refused_before_any_pixel_is_decoded(tmp_path, monkeypatch):
    path = tmp_path / "giant.png"
    path.write_bytes(png_of_zeros(10_000, 10_000))
    assert path.stat().st_size < 1_000_000

    def no_decoding(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    message = refused(path)
    assert message == (
        "giant.png: the image is 10000x10000 (100.0 megapixels), more than the 80 megapixel limit"
    )


def test_limit_is_configurable_and_checked_on_the_header(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(rgb8(40, 50)).save(path)
    refused(path, "50x40", "0.002 megapixels", "0.001 megapixel limit", max_megapixels=0.001)
    assert load_photo(path, max_megapixels=0.002).pixels.shape == (40, 50, 3)


def test_pillows_decompression_bomb_error_becomes_one_line(tmp_path):
    # 200 MP is past Pillow's own hard limit, which fires inside Image.open.
    path = tmp_path / "bomb.bmp"
    path.write_bytes(bmp_header(20_000, 10_000))
    refused(path, "too large (200.0 megapixels)", "80 megapixel limit")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.png"
    Image.fromarray(rgb8()).save(path)
    path.chmod(0)
    try:
        refused(path, "permission denied")
    finally:
        path.chmod(0o644)
