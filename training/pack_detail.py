"""A pack's faces that hold fine detail at their own size, for training a restorer to draw it.

A face that was enlarged from a smaller source before it was stored has nothing above
its source's resolution: a restorer trained to reproduce it learns to stay soft. Halving
such a face and enlarging it back (the round trip) changes almost nothing, so the round
trip's PSNR ranks faces by the detail they really hold. High-frequency noise also fails
the round trip, so faces whose flat areas are noisy (or screened, printed faces) are
left out too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .degradation_estimates import halftone, noise_sigma
from .pack import PackError, _write_subset, checked_entries, decode_face


def round_trip_psnr(gray: np.ndarray, factor: int = 2) -> float:
    """PSNR of luma after area down by ``factor`` and Lanczos back: high = little detail."""
    gray = gray.astype(np.float32)
    h, w = gray.shape
    small = cv2.resize(gray, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    back = cv2.resize(small, (w, h), interpolation=cv2.INTER_LANCZOS4)
    mse = float(np.mean((gray - back) ** 2))
    return 10 * float(np.log10(255.0**2 / max(mse, 1e-10)))


@dataclass(frozen=True)
class FaceDetail:
    """What the selection looks at in one face."""

    round_trip_db: float
    noise: float
    halftone: float


def face_detail(face: np.ndarray) -> FaceDetail:
    """The detail, noise and dot-screen figures of an RGB uint8 face."""
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    return FaceDetail(round_trip_psnr(gray), noise_sigma(face), halftone(face))


@dataclass(frozen=True)
class DetailLimits:
    """Which faces count as detailed. The defaults are chosen in docs/training.md.

    Fine skin texture, wrinkles and beards read as noise to the estimator, so the
    noise limit only drops the noisiest faces; the dot-screen limit drops printed ones.
    """

    max_round_trip_db: float = 37.0
    max_noise: float = 2.5
    max_halftone: float = 5000.0

    def keeps(self, detail: FaceDetail) -> bool:
        return (
            detail.round_trip_db < self.max_round_trip_db
            and detail.noise < self.max_noise
            and detail.halftone < self.max_halftone
        )


def detail_subset_pack(
    pack: str | Path, out: str | Path, limits: DetailLimits = DetailLimits()
) -> Path:
    """Write the pack's detailed faces (copied as encoded) to ``out``; return its index."""
    pack, out = Path(pack), Path(out)
    index, entries = checked_entries(pack, out)
    details = (face_detail(decode_face(data)) for _, data in entries)
    keep = [i for i, detail in enumerate(details) if limits.keeps(detail)]
    if not keep:
        raise PackError(f"no face of {pack} passes the detail limits {asdict(limits)}")
    source: dict[str, Any] = {"pack": pack.name, "count": len(entries), **asdict(limits)}
    return _write_subset(out, index, entries, keep, {"detail_of": source})
