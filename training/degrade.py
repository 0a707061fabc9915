"""Degradation models that turn a clean face into the network's low-quality input.

``eq14``: the SPARNet paper's Eq. 14, ``((I_h * k) down_s + n) JPEG_q``, then bicubic
up-sampling back to the HR size (the network's input is always HR-sized). One blur
kernel is drawn among Gaussian / average / median (side 3-15) and motion (length
5-25); the down-sampled side is a random fraction of the HR side in [16/512, 128/512];
white Gaussian noise has sigma in [0, 25.5] (on 0-255); JPEG quality is in [60, 85].
Every range is a field of ``Eq14Config``; the paper's ranges are the defaults and
are meant for 512 px faces (``Eq14Config.for_size`` scales the blur for others).

``bicubic``: the plain x4 / x8 / x16 degradation of the SR papers, down- and
up-sampled with an anti-aliased bicubic filter (PIL, like MATLAB's ``imresize``).

Every sample is reproducible: all randomness comes from a numpy ``Generator`` that
the caller seeds, usually with ``sample_rng(seed, index)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from PIL import Image

BLUR_KINDS = ("gaussian", "average", "median", "motion")
_CV_INTERP = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


def sample_rng(seed: int, index: int, *extra: int) -> np.random.Generator:
    """The generator of one sample: a pure function of (seed, index, ...); all >= 0.

    ``extra`` tags must be non-zero (numpy's SeedSequence treats trailing zeros as absent).
    """
    return np.random.default_rng([int(seed), int(index), *map(int, extra)])


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch's sample order (a stream apart from the samples')."""
    return np.random.default_rng([int(seed), int(epoch), 0x0DE5, 0x0DE5])


@dataclass(frozen=True)
class Eq14Config:
    """Ranges of the SPARNet paper's Eq. 14 (inclusive); defaults are the paper's (512 px)."""

    blur_kinds: tuple[str, ...] = BLUR_KINDS
    blur_size: tuple[int, int] = (3, 15)  # Gaussian / average / median kernel side (odd)
    motion_length: tuple[int, int] = (5, 25)  # motion-blur line length (odd)
    scale: tuple[float, float] = (16 / 512, 128 / 512)  # LR side / HR side
    noise_sigma: tuple[float, float] = (0.0, 25.5)  # on 0-255
    jpeg_quality: tuple[int, int] = (60, 85)
    # Probability of each step (the paper applies all of them; its code release used
    # 0.5 / 0.2 / 0.7 for blur / noise / JPEG).
    p_blur: float = 1.0
    p_noise: float = 1.0
    p_jpeg: float = 1.0
    down_interpolations: tuple[str, ...] = ("linear", "cubic", "area")
    gray_probability: float = 0.0  # turn the HR *and* LR gray (old photos), as the release does

    def __post_init__(self) -> None:
        for name in ("blur_size", "motion_length", "scale", "noise_sigma", "jpeg_quality"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"Eq14Config.{name}: lower bound {lo} exceeds upper {hi}")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError("Eq14Config.scale must lie in (0, 1]")
        if unknown := set(self.blur_kinds) - set(BLUR_KINDS):
            raise ValueError(f"unknown blur kinds {sorted(unknown)}")
        if unknown := set(self.down_interpolations) - set(_CV_INTERP):
            raise ValueError(f"unknown interpolations {sorted(unknown)}")

    def for_size(self, hr_size: int, reference: int = 512) -> Eq14Config:
        """The same model for another HR side: blur sizes scale with it (odd, at least 1)."""
        f = hr_size / reference

        def odd(v: float) -> int:
            return max(1, 2 * round((v * f - 1) / 2) + 1)

        return replace(
            self,
            blur_size=(odd(self.blur_size[0]), odd(self.blur_size[1])),
            motion_length=(odd(self.motion_length[0]), odd(self.motion_length[1])),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Eq14Config:
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


# The ranges Revive's blind restorers train on (at 512 px; ``for_size`` scales the blur):
# the paper's kernels, noise and JPEG, but down-sampling by 2 to 8 (faces that old photos
# hold at 16 to 64 px for a 128 px model), each step applied with the probability of
# the authors' code release (blur 0.5 -> 0.7 here: soft focus is the commonest fault of
# old prints), and one face in five gray.
RESTORER_EQ14 = Eq14Config(
    scale=(1 / 8, 1 / 2),
    p_blur=0.7,
    p_noise=0.5,
    p_jpeg=0.7,
    gray_probability=0.2,
)


@dataclass(frozen=True)
class Eq14Params:
    """The draw of one sample; ``None`` fields mean the step was skipped."""

    blur: str | None
    blur_size: int | None  # kernel side, or motion length
    motion_angle: float | None  # degrees
    lr_size: tuple[int, int]  # (height, width) after down-sampling
    down_interpolation: str
    noise_sigma: float | None
    jpeg_quality: int | None
    gray: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _odd_between(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A uniformly drawn odd integer in [lo, hi] (lo/hi rounded inwards to odd)."""
    lo_odd = lo if lo % 2 else lo + 1
    hi_odd = hi if hi % 2 else hi - 1
    if hi_odd < lo_odd:
        return max(1, lo | 1)
    return lo_odd + 2 * int(rng.integers(0, (hi_odd - lo_odd) // 2 + 1))


def lr_size_range(hr_side: int, scale: tuple[float, float]) -> tuple[int, int]:
    """Integer LR sides whose ratio to ``hr_side`` lies inside ``scale``."""
    lo = max(1, math.ceil(scale[0] * hr_side - 1e-9))
    hi = max(lo, math.floor(scale[1] * hr_side + 1e-9))
    return lo, hi


def sample_eq14_params(
    rng: np.random.Generator, config: Eq14Config, hr_shape: tuple[int, int]
) -> Eq14Params:
    """Draw the blur, scale, noise and JPEG quality of one sample."""
    h, w = hr_shape
    blur = size = angle = None
    if rng.random() < config.p_blur:
        blur = config.blur_kinds[int(rng.integers(0, len(config.blur_kinds)))]
        if blur == "motion":
            size = _odd_between(rng, *config.motion_length)
            angle = float(rng.uniform(0.0, 180.0))
        else:
            size = _odd_between(rng, *config.blur_size)
    # One scale factor for both sides (faces are square; other shapes keep their aspect).
    side_lo, side_hi = lr_size_range(max(h, w), config.scale)
    side = int(rng.integers(side_lo, side_hi + 1))
    factor = side / max(h, w)
    lr_size = (max(1, round(h * factor)), max(1, round(w * factor)))
    interp = config.down_interpolations[int(rng.integers(0, len(config.down_interpolations)))]
    sigma = float(rng.uniform(*config.noise_sigma)) if rng.random() < config.p_noise else None
    quality = (
        int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        if rng.random() < config.p_jpeg
        else None
    )
    gray = bool(rng.random() < config.gray_probability)
    return Eq14Params(blur, size, angle, lr_size, interp, sigma, quality, gray)


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A normalised line of ``length`` pixels through the centre, at ``angle`` degrees."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    centre = ((length - 1) / 2, (length - 1) / 2)
    rot = cv2.getRotationMatrix2D(centre, angle, 1.0)
    line = np.asarray(cv2.warpAffine(kernel, rot, (length, length), flags=cv2.INTER_LINEAR))
    total = line.sum()
    return line / total if total > 0 else np.eye(1, dtype=np.float32)


def apply_blur(image: np.ndarray, kind: str, size: int, angle: float | None = None) -> np.ndarray:
    """Blur a uint8 RGB image with one of the four kernels of Eq. 14."""
    if size <= 1:
        return image
    if kind == "gaussian":
        return cv2.GaussianBlur(image, (size, size), 0, borderType=cv2.BORDER_REFLECT_101)
    if kind == "average":
        return cv2.blur(image, (size, size), borderType=cv2.BORDER_REFLECT_101)
    if kind == "median":
        return cv2.medianBlur(np.ascontiguousarray(image), size)
    if kind == "motion":
        kernel = motion_kernel(size, 0.0 if angle is None else angle)
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    raise ValueError(f"unknown blur {kind!r}")


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode a uint8 RGB image as JPEG at ``quality`` (OpenCV / libjpeg)."""
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return np.asarray(decoded)[..., ::-1].copy()


def to_gray3(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[..., None], 3, axis=2)


def bicubic_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased bicubic resize of a uint8 RGB image to (height, width) (PIL, as MATLAB)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image.copy()
    return np.array(Image.fromarray(image).resize((w, h), Image.Resampling.BICUBIC))


def degrade_eq14(
    hr: np.ndarray, rng: np.random.Generator, config: Eq14Config | None = None
) -> tuple[np.ndarray, np.ndarray, Eq14Params]:
    """Apply Eq. 14 to a uint8 RGB face.

    Returns ``(lr_up, lr, params)``: the network input (bicubic-up-sampled back to
    the HR size), the small degraded image, and the draw. When ``params.gray`` the
    caller should turn its target gray too (``to_gray3``).
    """
    config = config or Eq14Config()
    params = sample_eq14_params(rng, config, hr.shape[:2])
    x = to_gray3(hr) if params.gray else hr
    if params.blur is not None and params.blur_size is not None:
        x = apply_blur(x, params.blur, params.blur_size, params.motion_angle)
    lh, lw = params.lr_size
    x = cv2.resize(x, (lw, lh), interpolation=_CV_INTERP[params.down_interpolation])
    if params.noise_sigma is not None:
        noise = rng.normal(0.0, params.noise_sigma, size=x.shape)
        if params.gray:
            noise = np.repeat(noise[..., :1], 3, axis=2)
        x = np.clip(np.rint(x.astype(np.float64) + noise), 0, 255).astype(np.uint8)
    if params.jpeg_quality is not None:
        x = jpeg_roundtrip(x, params.jpeg_quality)
    lr = x
    return bicubic_resize(lr, hr.shape[:2]), lr, params


def degrade_bicubic(hr: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain bicubic x``factor``: ``(lr_up, lr)``; HR sides must divide by ``factor``."""
    h, w = hr.shape[:2]
    if h % factor or w % factor:
        raise ValueError(f"a {w}x{h} face does not divide by the factor {factor}")
    lr = bicubic_resize(hr, (h // factor, w // factor))
    return bicubic_resize(lr, (h, w)), lr


DEGRADATIONS = ("bicubic4x", "bicubic8x", "bicubic16x", "eq14", "none")


@dataclass(frozen=True)
class Degradation:
    """A named degradation (``DEGRADATIONS``), with the Eq. 14 ranges when it is ``eq14``."""

    name: str = "bicubic8x"
    eq14: Eq14Config = field(default_factory=Eq14Config)

    def __post_init__(self) -> None:
        if self.name not in DEGRADATIONS:
            raise ValueError(f"unknown degradation {self.name!r}; use one of {DEGRADATIONS}")

    @property
    def factor(self) -> int | None:
        return int(self.name[len("bicubic") : -1]) if self.name.startswith("bicubic") else None

    def __call__(self, hr: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(lr_up, target)``: the HR-sized network input and the (maybe gray) target."""
        if self.name == "none":
            return hr.copy(), hr
        if self.factor is not None:
            return degrade_bicubic(hr, self.factor)[0], hr
        lr_up, _, params = degrade_eq14(hr, rng, self.eq14)
        return lr_up, (to_gray3(hr) if params.gray else hr)
