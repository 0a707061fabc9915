"""A sample old photo for newcomers: scikit-image's public-domain astronaut, degraded.

Help > Try a sample (and anyone wanting a quick look) gets a photo that ships
inside a dependency, made to look like a small, soft, noisy, over-compressed
scan: down-scaled, blurred, noised, JPEG-compressed, then enlarged back. The
degradation is fixed (seeded), so the sample is the same on every machine.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ReviveError
from ..progress import ProgressCallback, Stage, report


def astronaut() -> np.ndarray:
    """The 512 x 512 RGB astronaut portrait (Eileen Collins, NASA; public domain)."""
    try:
        from skimage import data
    except ImportError:
        raise ReviveError(
            "the sample photo comes with scikit-image, which is not installed "
            "(pip install scikit-image)"
        ) from None
    return np.ascontiguousarray(data.astronaut()[..., :3])


def degrade_for_demo(
    image: np.ndarray,
    factor: int = 4,
    blur_sigma: float = 1.2,
    noise_sigma: float = 6.0,
    jpeg_quality: int = 35,
    seed: int = 0,
) -> np.ndarray:
    """Make a clean uint8 RGB image look old: smaller, softer, noisy, blocky; same size back."""
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), blur_sigma)
    rng = np.random.default_rng(seed)
    noisy = small.astype(np.float32) + rng.normal(0.0, noise_sigma, small.shape)
    small = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    )
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        raise ReviveError("could not make the sample photo")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover - it decodes what it just encoded
        raise ReviveError("could not make the sample photo")
    small = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def demo_photo(progress: ProgressCallback | None = None):
    """The degraded astronaut as an in-memory ``engine.io.Photo`` (no file behind it)."""
    from ..io import Photo

    report(progress, Stage.DECODE, 0, 1, "preparing the sample photo")
    pixels = degrade_for_demo(astronaut())
    report(progress, Stage.DECODE, 1, 1, "sample photo ready")
    return Photo(pixels=pixels, format="PNG", notes=["sample: scikit-image astronaut, degraded"])
