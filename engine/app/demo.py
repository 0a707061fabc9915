"""A sample old photo for newcomers: scikit-image's public-domain astronaut, damaged.

Help > Try a sample (and anyone wanting a quick look) gets a photo that ships inside
a dependency, damaged the way the shipped restorer was trained to repair: the middle
of every range its model card records (``card.eq14``: blur, down-scaling, noise, JPEG
quality), so a stronger restorer trained on other ranges gets a sample to match
without a change here. Down-scaled, blurred, noised, JPEG-compressed, then enlarged
back, seeded: the same sample on every machine for the same card.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import ReviveError
from ..progress import ProgressCallback, Stage, report


@dataclass(frozen=True)
class SampleDamage:
    """How the sample is damaged; ``from_card`` takes the middle of a card's ranges."""

    blur_side: int = 5  # Gaussian kernel side (odd; 1: none)
    scale: float = 0.25  # small side over the photo's side
    noise_sigma: float = 6.0  # grey levels of 255
    jpeg_quality: int = 35

    @classmethod
    def from_card(cls, card: Mapping[str, Any] | None) -> SampleDamage:
        """The middle of the card's recorded Eq. 14 ranges (the defaults where it has none)."""
        eq14 = (card or {}).get("eq14")
        if not isinstance(eq14, Mapping):
            return cls()
        default = cls()

        def middle(key: str, fallback: float) -> float:
            low_high = eq14.get(key)
            if not isinstance(low_high, (list, tuple)) or len(low_high) != 2:
                return fallback
            return (float(low_high[0]) + float(low_high[1])) / 2

        scale = eq14.get("scale")
        geometric = (
            math.sqrt(float(scale[0]) * float(scale[1]))
            if isinstance(scale, (list, tuple)) and len(scale) == 2
            else default.scale
        )
        side = middle("blur_size", default.blur_side)
        return cls(
            blur_side=max(1, 2 * math.ceil((side - 1) / 2) + 1),  # odd, rounded up
            scale=geometric,
            noise_sigma=middle("noise_sigma", default.noise_sigma),
            jpeg_quality=round(middle("jpeg_quality", default.jpeg_quality)),
        )


def shipped_damage() -> SampleDamage:
    """The damage the shipped default restorer's card says it repairs."""
    from ..model_card_words import shipped_default_card

    return SampleDamage.from_card(shipped_default_card("restorer"))


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
    image: np.ndarray, damage: SampleDamage | None = None, seed: int = 0
) -> np.ndarray:
    """Make a clean uint8 RGB image look old: smaller, softer, noisy, blocky; same size back."""
    damage = damage or SampleDamage()
    h, w = image.shape[:2]
    small = image
    if damage.blur_side > 1:  # the blur is at the photo's own scale, as in training
        small = cv2.GaussianBlur(small, (damage.blur_side, damage.blur_side), 0)
    size = (max(1, round(w * damage.scale)), max(1, round(h * damage.scale)))
    small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    noisy = small.astype(np.float32) + rng.normal(0.0, damage.noise_sigma, small.shape)
    small = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(
        ".jpg",
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, int(damage.jpeg_quality)],
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
    pixels = degrade_for_demo(astronaut(), shipped_damage())
    report(progress, Stage.DECODE, 1, 1, "sample photo ready")
    return Photo(
        pixels=pixels,
        format="PNG",
        notes=["sample: scikit-image astronaut, damaged as the shipped restorer repairs"],
    )
