"""What a restoration can be asked to do, in three typed parts.

* :class:`DetectionOptions`: which faces are found (same for every model);
* :class:`RuntimeOptions`: which networks run where and how fast (never changes the
  picture beyond floating-point noise, except ``model``);
* :class:`PhotoOptions`: how the restored faces are put back into this photo.

``RestoreOptions.of(scale=2, model="cagface")`` builds one from flat setting names
(the command line's and the app's), refusing a name it does not know instead of
dropping it; ``options.replace(...)`` does the same on an existing one; ``flat()``
gives the names back (the app stores them). Every value is checked when it is made,
so a bad one fails before any photo is touched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ReviveError
from .faces.paste import DEFAULT_FEATHER
from .io import DEFAULT_MAX_MEGAPIXELS
from .runtimes import RUNTIME_CHOICES

SCALES = (1, 2, 4)
# What ``model`` may name besides a preset or weights, with the app's words for each.
MODEL_CHOICE_LABELS: dict[str, str] = {
    "auto": "Auto",
    "sparnethd": "SPARNetHD",
    "cagface": "CAGFace (×4, tiled)",
    "sparnet": "SPARNet ×8",
}
MODEL_CHOICES = tuple(MODEL_CHOICE_LABELS)
PRECISION_CHOICES = ("auto", "fp32", "fp16", "bf16")


class OptionError(ReviveError, ValueError):
    """A restoration setting is out of range or unknown."""


def _at_least(name: str, value: float, low: float) -> None:
    if not value >= low:  # also refuses NaN
        raise OptionError(f"{name} must be at least {low:g}, not {value:g}")


@dataclass(frozen=True)
class DetectionOptions:
    min_face_size: float = 16.0  # px in the photo
    min_score: float = 0.9  # MTCNN confidence
    max_side: int = 2000  # larger photos are searched on a down-scaled copy

    def __post_init__(self) -> None:
        _at_least("the minimum face size", self.min_face_size, 1)
        if not 0.0 <= self.min_score <= 1.0:
            raise OptionError(f"the minimum score must lie in [0, 1], not {self.min_score:g}")
        _at_least("the detection side", self.max_side, 64)


@dataclass(frozen=True)
class RuntimeOptions:
    model: str = "auto"  # auto | sparnethd | sparnet | cagface | preset | weights name
    device: str = "auto"  # auto | cuda | cuda:N | mps | cpu
    precision: str = "auto"  # auto (fp16 on CUDA, else fp32) | fp32 | fp16 | bf16
    batch_size: int = 0  # faces per network call; 0 = by device and face size
    tile_size: int = 128  # CAGFace tiles, input pixels
    tile_overlap: int = 16
    cpu_workers: int = 0  # CPU: faces at once, one thread each; 0 = torch's thread count
    attention: bool = False  # return every FAU's attention map (costs memory, not time)
    masks: bool = True  # return the face-component masks (hair, skin, other parts)
    identity: bool = True  # compare each restored face with its original (engine.identity)
    fold_batchnorm: bool = True  # fast paths (same function, see engine.optimize)
    subpixel_upconv: bool = True
    channels_last: bool = False
    compile: bool = False
    inference_mode: bool = True  # False: plain torch.no_grad (the benchmark's baseline)
    # auto | onnx | torch: who runs the networks on a CPU (engine.runtimes); the library
    # keeps torch unless asked, the command line and the app ask for auto.
    network_runtime: str = "torch"

    def __post_init__(self) -> None:
        if not str(self.model).strip():
            raise OptionError("the model name is empty")
        if self.precision not in PRECISION_CHOICES:
            raise OptionError(
                f"precision must be one of {', '.join(PRECISION_CHOICES)}, not {self.precision!r}"
            )
        if self.network_runtime not in RUNTIME_CHOICES:
            raise OptionError(
                f"the runtime must be one of {', '.join(RUNTIME_CHOICES)}, "
                f"not {self.network_runtime!r}"
            )
        _at_least("the batch size", self.batch_size, 0)
        _at_least("the tile size", self.tile_size, 16)
        _at_least("the tile overlap", self.tile_overlap, 0)
        if self.tile_overlap * 2 >= self.tile_size:  # small tiles: the overlap gives way
            object.__setattr__(self, "tile_overlap", max(0, self.tile_size // 2 - 1))
        _at_least("the number of CPU workers", self.cpu_workers, 0)


@dataclass(frozen=True)
class PhotoOptions:
    scale: int | str = 1  # output size over input size: 1, 2, 4 or "auto" (engine.scale_choice)
    strength: float = 1.0  # initial per-face blend, 0 = original, 1 = restored
    color_match: bool = True  # keep the original's low frequencies (colour, shading)
    grain_match: bool = True  # at 2x / 4x, faces get their surroundings' grain (faces.grain)
    keep_chroma: bool | str = "auto"  # auto: gray and toned photos keep their colour
    feather: float = DEFAULT_FEATHER  # paste mask edge, fraction of the crop side
    cagface_region: float = 1.8  # CAGFace face region side, in face-box sides
    # auto: faces with closer eyes go to the tiny-face x8 model; chosen by
    # bench/tiny_face_threshold.py (docs/training.md, "The tiny-face model")
    tiny_face_eye_distance: float = 7.6
    allow_no_faces: bool = False  # False: a photo without faces raises NoFaceError
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS  # when given a path

    def __post_init__(self) -> None:
        if self.scale in SCALES:
            object.__setattr__(self, "scale", int(self.scale))  # 2.0 from a settings file
        if self.scale not in (*SCALES, "auto"):
            raise OptionError(f"scale must be 1, 2, 4 or auto, not {self.scale}")
        if not 0.0 <= self.strength <= 1.0:
            raise OptionError(f"strength must lie between 0 and 1, not {self.strength:g}")
        if self.keep_chroma not in (True, False, "auto"):
            raise OptionError(f"keep_chroma must be true, false or auto, not {self.keep_chroma!r}")
        if not 0.0 < self.feather < 0.25:
            raise OptionError(f"the feather must lie in (0, 0.25), not {self.feather:g}")
        _at_least("the CAGFace region", self.cagface_region, 1.0)
        _at_least("the tiny-face eye distance", self.tiny_face_eye_distance, 0.0)
        if not self.max_megapixels > 0:
            raise OptionError(f"the megapixel limit must be positive, not {self.max_megapixels}")

    @property
    def output_scale(self) -> int:
        """The scale as a number; "auto" is resolved once the faces are found."""
        if self.scale == "auto":
            raise OptionError("the auto scale is chosen after the faces are found")
        return int(self.scale)


_PARTS = {"detection": DetectionOptions, "runtime": RuntimeOptions, "photo": PhotoOptions}
_OWNER = {f.name: part for part, cls in _PARTS.items() for f in fields(cls)}


@dataclass(frozen=True)
class RestoreOptions:
    """Everything a restoration can be asked to do; the defaults suit most photos."""

    detection: DetectionOptions = field(default_factory=DetectionOptions)
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)
    photo: PhotoOptions = field(default_factory=PhotoOptions)

    @classmethod
    def of(cls, **settings: Any) -> RestoreOptions:
        """Options from flat setting names (``scale=2``); an unknown name is an error."""
        return cls().replace(**settings)

    def replace(self, **settings: Any) -> RestoreOptions:
        """A copy with some flat settings changed; an unknown name is an error."""
        unknown = sorted(set(settings) - set(_OWNER))
        if unknown:
            raise OptionError(f"unknown restore setting {unknown[0]!r}")
        parts = {}
        for part in _PARTS:
            mine = {k: v for k, v in settings.items() if _OWNER[k] == part}
            current = getattr(self, part)
            parts[part] = dataclasses.replace(current, **mine) if mine else current
        return RestoreOptions(**parts)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (what ``of`` takes back)."""
        out: dict[str, Any] = {}
        for part in _PARTS:
            out.update(dataclasses.asdict(getattr(self, part)))
        return out

    @staticmethod
    def setting_names() -> tuple[str, ...]:
        return tuple(_OWNER)
