"""ICC profile helpers: the sRGB profile, which colour space a profile describes, and
whether embedded bytes are a profile at all."""

from __future__ import annotations

import io
import warnings

from PIL import ImageCms

SRGB_PROFILE: bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

_SPACES = {b"RGB ": "RGB", b"GRAY": "GRAY", b"CMYK": "CMYK", b"Lab ": "LAB"}


# The other colour spaces ICC.1 names (header bytes 16-19), for messages.
_OTHER_SPACES = {
    b"XYZ ": "XYZ", b"Luv ": "Luv", b"YCbr": "YCbCr", b"Yxy ": "Yxy", b"HSV ": "HSV",
    b"HLS ": "HLS", b"CMY ": "CMY",
    **{f"{n:X}CLR".encode(): f"{n}-colour" for n in range(2, 16)},
}  # fmt: skip


def colour_space(profile: bytes | None) -> str | None:
    """'RGB', 'GRAY', 'CMYK', 'LAB' (or another ICC space) from the profile header, or None.

    None also for bytes that name no ICC colour space (a damaged profile).
    """
    if not profile or len(profile) < 128:
        return None
    key = bytes(profile[16:20])
    return _SPACES.get(key) or _OTHER_SPACES.get(key)


def describe(space: str | None) -> str:
    return {"GRAY": "gray", "LAB": "Lab"}.get(space or "", space or "unknown")


def is_valid(profile: bytes | None) -> bool:
    """Whether ``profile`` is an ICC profile the colour engine can read."""
    if not profile or colour_space(profile) is None:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ImageCms.ImageCmsProfile(io.BytesIO(profile))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return False
    return True


def fits(profile: bytes | None, channels: int) -> bool:
    """Whether a profile may be attached to pixels with this many colour channels."""
    space = colour_space(profile)
    return space == ("GRAY" if channels == 1 else "RGB")
