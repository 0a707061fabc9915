"""ICC profile helpers: the sRGB profile, and which colour space a profile describes."""

from __future__ import annotations

from PIL import ImageCms

SRGB_PROFILE: bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

_SPACES = {b"RGB ": "RGB", b"GRAY": "GRAY", b"CMYK": "CMYK", b"Lab ": "LAB"}


def colour_space(profile: bytes | None) -> str | None:
    """'RGB', 'GRAY', 'CMYK', 'LAB' from the profile header (bytes 16-19), or None."""
    if not profile or len(profile) < 20:
        return None
    return _SPACES.get(profile[16:20], profile[16:20].decode("latin-1").strip())


def fits(profile: bytes | None, channels: int) -> bool:
    """Whether a profile may be attached to pixels with this many colour channels."""
    space = colour_space(profile)
    return space == ("GRAY" if channels == 1 else "RGB")
