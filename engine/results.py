"""What a restoration returns: the photo and a structured record per face.

Both front ends read these (the GUI shows thumbnails, attention maps and masks;
the CLI writes faces, attention grids and a JSON report). ``to_report()`` gives the
JSON-safe summary.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Likeness(enum.StrEnum):
    """Where a photo's likeness figures are: they follow the pasted photo, never precede it."""

    OFF = "off"  # not asked for (``identity`` off)
    UNAVAILABLE = "unavailable"  # the identity check is not installed
    PENDING = "pending"  # asked for: measured once the photo is written or shown
    MEASURED = "measured"
    MISSING = "missing"  # cancelled before every figure was measured; the photo stands

    @property
    def words(self) -> str:
        """What a report says of the figures (empty when there is nothing to say)."""
        if self is Likeness.MISSING:
            return "cancelled before every likeness figure was measured: the missing ones are null"
        if self is Likeness.PENDING:
            return "the likeness figures were not measured yet"
        return ""


@dataclass(frozen=True)
class GrainMatch:
    """What was measured at one face and what was done (grey levels of 255)."""

    face_grain: float
    ring_grain: float
    face_sharpness: float
    ring_sharpness: float
    added: float  # std of the grain added to the face; 0: nothing needed

    def words(self) -> str:
        """One line for the loupe."""
        if self.added > 0:
            return (
                f"Grain added: {self.added:.1f} (face {self.face_grain:.1f}, "
                f"around it {self.ring_grain:.1f})"
            )
        return (
            f"Grain already matches (face {self.face_grain:.1f}, around it {self.ring_grain:.1f})"
        )


@dataclass
class AttentionMap:
    """One Face Attention Unit's spatial map, for display.

    ``stage`` is encoder / body / decoder; ``index`` the FAU's position in module
    order; ``values`` an h x w float32 array in [0, 1] (3D attention already
    averaged over channels); ``resolution`` its side in pixels.
    """

    stage: str
    index: int
    values: np.ndarray

    @property
    def resolution(self) -> int:
        return int(self.values.shape[-1])

    @property
    def label(self) -> str:
        return f"{self.stage} {self.index} · {self.resolution}px"


@dataclass
class FaceRecord:
    """Everything known about one face of a restored photo."""

    index: int
    box: np.ndarray  # x0, y0, x1, y1 in input-photo pixels
    landmarks: np.ndarray  # 5 x 2, input-photo pixels
    score: float
    crop_before: np.ndarray  # the network's input face, H x W x 3 uint8 RGB (aligned or region)
    crop_after: np.ndarray  # the network's output face, H x W x 3 uint8 RGB
    to_crop: np.ndarray  # 2x3 map: input-photo pixels -> crop pixels of crop_after
    model: str  # preset name that restored it
    attention: list[AttentionMap] | None = None  # on request only
    masks: dict[str, np.ndarray] | None = None  # components: hair / skin / other, [0, 1]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    accepted: bool = True  # rejected faces are not pasted
    strength: float = 1.0  # 0 = original, 1 = fully restored
    weights: str = ""  # name of the weight set that restored it
    # How the network's output reached the photo: "" (as it came out), or a sentence for
    # the user, e.g. the face was larger than the network's size and kept its own detail.
    note: str = ""
    # Did the restoration keep the person? dlib's face descriptors of the face as pasted
    # and of the original, at ``identity_strength`` (None: the check is not installed).
    identity: Any = None  # engine.identity.IdentityScore
    identity_strength: float = 1.0
    # Grain and sharpness inside and around the face as pasted, and the grain added to
    # match (engine.faces.grain); None: not measured (1x, or matching off).
    grain: GrainMatch | None = None
    # What recompose pastes (no network run): the crop as pasted (crop_after's geometry,
    # float32 [0, 1], colour-matched, full precision for 16-bit photos) and its feathered
    # face-region mask (float32 [0, 1], exactly 0 on the crop's border).
    restored: np.ndarray | None = field(default=None, repr=False)
    paste_mask: np.ndarray | None = field(default=None, repr=False)

    def to_report(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "box": [round(float(v), 1) for v in self.box],
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks],
            "score": round(self.score, 4),
            "model": self.model,
            "weights": self.weights,
            "note": self.note,
            "identity": None
            if self.identity is None
            else {**self.identity.to_json(), "strength": round(self.identity_strength, 3)},
            "accepted": self.accepted,
            "strength": self.strength,
            "crop_size": list(self.crop_after.shape[:2]),
            "attention_maps": len(self.attention or []),
            "masks": sorted(self.masks or {}),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


@dataclass
class RestoreResult:
    """A restored photo: output pixels, the faces, and how it went."""

    image: (
        np.ndarray
    )  # output RGB pixels, dtype of the input (uint8 / uint16), H*scale x W*scale x 3
    faces: list[FaceRecord]
    scale: int
    device: str
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. fell back to the CPU
    alpha: np.ndarray | None = None  # the input's alpha, resized to the output
    # The input photo at the output size (Lanczos for scale 2 / 4; the input's own pixels,
    # not a copy, at scale 1): the "before" view, and what recompose pastes onto.
    base: np.ndarray | None = field(default=None, repr=False)
    keep_chroma: bool = False  # gray / toned photo: faces changed luminance only
    options: Any = field(default=None, repr=False)  # the RestoreOptions used
    # The faces' likeness figures (``FaceRecord.identity``) come after the pasted photo:
    # ``engine.face_identity.measure_result`` measures a PENDING result.
    likeness: Likeness = Likeness.OFF

    @property
    def faces_restored(self) -> int:
        return sum(1 for f in self.faces if f.accepted and f.strength > 0)

    def to_report(self) -> dict[str, Any]:
        return {
            "size": [int(self.image.shape[1]), int(self.image.shape[0])],
            "scale": self.scale,
            "device": self.device,
            "faces": [f.to_report() for f in self.faces],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
            "keep_chroma": self.keep_chroma,
            "likeness": str(self.likeness),
            **({"likeness_note": self.likeness.words} if self.likeness.words else {}),
        }
