"""Test images for the engine.io tests, built in memory: gradients, noise, metadata, profiles."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
DATE_TAKEN = "1927:10:24 10:30:00"
MAKE, MODEL = "Leica", "M3 test body"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rgb8(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Gradients plus noise: every pixel differs, so flips and rotations are visible."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], -1
    )
    noise = rng.integers(-20, 21, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def rgb16(height: int = 48, width: int = 64, seed: int = 1, channels: int = 3) -> np.ndarray:
    """16-bit values that are not multiples of 257: any 8-bit detour changes them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 65536, (height, width, channels), dtype=np.uint16)


def blocks8(height: int = 64, width: int = 96) -> np.ndarray:
    """Flat 16x16 colour blocks: JPEG keeps them within a few levels, orientation stays visible."""
    rng = np.random.default_rng(7)
    colours = rng.integers(30, 226, (height // 16, width // 16, 3), dtype=np.uint8)
    return np.repeat(np.repeat(colours, 16, axis=0), 16, axis=1)


def exif_bytes(orientation: int = 1, *, make: str = MAKE, model: str = MODEL) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = DATE_TAKEN  # DateTimeOriginal
    return exif.tobytes()


def exif_of(path: Path) -> tuple[dict, dict]:
    """(IFD0 tags, EXIF sub-IFD tags) as Pillow reads them from a written file."""
    with Image.open(path) as image:
        exif = image.getexif()
        return dict(exif), dict(exif.get_ifd(0x8769))


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def cmyk_profile(lab: tuple[int, int, int] = (138, 208, 195)) -> bytes:
    """A tiny ICC v2 input profile: every CMYK ink mix maps to one Lab colour (default: red).

    No CMYK profile ships with Pillow or the OS here, and a conversion that
    really goes through the embedded profile must show that profile's effect.
    """
    desc_text = b"Revive test CMYK\x00"
    desc = (
        b"desc"
        + bytes(4)
        + struct.pack(">I", len(desc_text))
        + desc_text
        + bytes(4 + 4 + 2 + 1 + 67)
    )
    wtpt = b"XYZ " + bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    ramp = bytes(range(256))
    identity = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    a2b0 = (
        b"mft1" + bytes(4) + bytes([4, 3, 2, 0]) + identity + ramp * 4 + bytes(lab) * 16 + ramp * 3
    )
    cprt = b"text" + bytes(4) + b"none\x00"
    tags = [(b"desc", desc), (b"wtpt", wtpt), (b"A2B0", a2b0), (b"cprt", cprt)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        data += bytes(-(offset + len(data)) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (
        struct.pack(">I", offset + len(data))
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"scnrCMYKLab "
        + bytes(12)
        + b"acspAPPL"
        + bytes(24)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data
