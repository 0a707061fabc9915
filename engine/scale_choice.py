"""Auto scale: the smallest output scale at which a photo's faces are large enough.

At 1x a 35 px face is restored at the network's size and shrunk back to 35 px, so no
restorer's detail survives. Auto picks the smallest of 1x, 2x and 4x at which the
photo's median face is at least ``MIN_FACE_SIDE`` px wide, and never a scale whose
result would pass ``MAX_RESULT_MEGAPIXELS``. The CLI (``--scale auto``) and the app
(its default) ask this one function; the chosen scale and the result's size are shown
before the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .options import SCALES

AUTO = "auto"
SCALE_CHOICES: tuple[str | int, ...] = (AUTO, *SCALES)  # what a front end offers
MIN_FACE_SIDE = 96  # px: the median face's width in the result
MAX_RESULT_MEGAPIXELS = 60.0


@dataclass(frozen=True)
class ScaleChoice:
    """The scale Auto picked for one photo, the result's size, and why."""

    scale: int
    width: int  # the result's size in pixels
    height: int
    median_face: float | None  # px in the photo; None without faces
    capped: bool  # a larger scale was wanted but the result would be too big

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def describe(self) -> str:
        """One line for people: ``Auto: 2× → 1600 × 1200 (faces 60 px → 120 px)``."""
        size = f"{self.scale}× → {self.width} × {self.height}"
        if self.median_face is None:
            return f"Auto: {size} (no face found)"
        face = f"faces {self.median_face:.0f} px → {self.median_face * self.scale:.0f} px"
        if self.capped:
            face += f", kept under {MAX_RESULT_MEGAPIXELS:g} MP"
        return f"Auto: {size} ({face})"


def face_widths(boxes: Sequence[Any] | np.ndarray) -> list[float]:
    """Each face's width in the photo's pixels, from ``x0, y0, x1, y1`` boxes."""
    return [max(1.0, float(b[2]) - float(b[0])) for b in boxes]


def choose_scale(
    widths: Sequence[float],
    photo_size: tuple[int, int],
    min_face: float = MIN_FACE_SIDE,
    max_megapixels: float = MAX_RESULT_MEGAPIXELS,
) -> ScaleChoice:
    """The smallest scale whose median face reaches ``min_face`` px, within the size cap.

    ``photo_size`` is ``(width, height)``. Without faces nothing needs enlarging: 1x.
    When even 4x leaves the median face small, 4x (the most the restorers can give),
    unless the size cap says less.
    """
    w, h = photo_size
    median = float(np.median(widths)) if len(widths) else None
    wanted = SCALES[-1]
    if median is None:
        wanted = 1
    else:
        wanted = next((s for s in SCALES if median * s >= min_face), SCALES[-1])
    fitting = [s for s in SCALES if s <= wanted and w * h * s * s <= max_megapixels * 1e6]
    scale = fitting[-1] if fitting else 1
    return ScaleChoice(scale, w * scale, h * scale, median, capped=scale < wanted)


def resolve_scale(
    scale: int | str, boxes: Sequence[Any] | np.ndarray, photo_size: tuple[int, int]
) -> int:
    """``scale`` itself, or Auto's choice for these face boxes when it is ``"auto"``."""
    if scale == AUTO:
        return choose_scale(face_widths(boxes), photo_size).scale
    return int(scale)


def parse_scale(text: str) -> int | str:
    """A scale as typed on the command line: ``1``, ``2``, ``4`` or ``auto``."""
    value = str(text).strip().lower()
    if value == AUTO:
        return AUTO
    if value in {str(s) for s in SCALES}:
        return int(value)
    raise ValueError(f"scale must be 1, 2, 4 or auto, not {text!r}")
