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
    # What old prints add (RESTORER_OLD_PHOTO; all off in Eq. 14 itself). Fading and a
    # colour cast change the target too: the face must keep its photo's tone, or it looks
    # pasted in. Film grain and halftone dots are damage, on the input alone, at the
    # photo's own resolution (after down-sampling, like the noise).
    p_fade: float = 0.0
    fade_contrast: tuple[float, float] = (1.0, 1.0)  # kept share of the tonal range
    fade_black: tuple[float, float] = (0.0, 0.0)  # raised black level, on 0-255
    p_cast: float = 0.0  # a warm (sepia / yellowed) or cool tint, on input and target
    cast_b: tuple[float, float] = (0.0, 0.0)  # Lab b* shift (+ yellow, - blue)
    cast_a: tuple[float, float] = (0.0, 0.0)  # Lab a* shift (+ red, - green)
    p_grain: float = 0.0
    grain_sigma: tuple[float, float] = (0.0, 0.0)  # std of the grain on 0-255
    grain_size: tuple[float, float] = (0.5, 0.5)  # Gaussian sigma (px) of the clumps
    p_halftone: float = 0.0
    halftone_period: tuple[float, float] = (3.0, 3.0)  # dot pitch (px of the LR image)

    def __post_init__(self) -> None:
        ranges: tuple[str, ...] = ("blur_size", "motion_length", "scale", "noise_sigma")
        ranges += ("jpeg_quality", "fade_contrast", "fade_black", "cast_b", "cast_a")
        for name in (*ranges, "grain_sigma", "grain_size", "halftone_period"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"Eq14Config.{name}: lower bound {lo} exceeds upper {hi}")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError("Eq14Config.scale must lie in (0, 1]")
        if unknown := set(self.blur_kinds) - set(BLUR_KINDS):
            raise ValueError(f"unknown blur kinds {sorted(unknown)}")
        if unknown := set(self.down_interpolations) - set(_CV_INTERP):
            raise ValueError(f"unknown interpolations {sorted(unknown)}")

    @property
    def old_print(self) -> bool:
        """Whether any of the old-print steps (fade, cast, grain, halftone) can happen."""
        return max(self.p_fade, self.p_cast, self.p_grain, self.p_halftone) > 0

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


# RESTORER_EQ14 plus what old prints add, from the faces of real old photos measured in
# docs/training.md ("What real old photos do to a face", bench/measure_degradation.py):
# every Eq. 14 range kept inside (its figures must not drop), milder down-sampling too
# (most real faces reach the 128 px crop sharper than any Eq. 14 input), larger blur
# kernels, stronger JPEG, more gray faces, faded tone, sepia or yellowed casts, film
# grain, and now and then a printed dot screen.
RESTORER_OLD_PHOTO = replace(
    RESTORER_EQ14,
    scale=(1 / 8, 1.0),  # Eq. 14's and milder: most real faces reach the crop sharper
    blur_size=(3, 21),
    p_blur=0.8,
    jpeg_quality=(40, 90),
    gray_probability=0.3,
    p_fade=0.5,
    fade_contrast=(0.6, 1.0),
    fade_black=(0.0, 40.0),
    p_cast=0.35,
    cast_b=(-4.0, 18.0),
    cast_a=(-2.0, 6.0),
    p_grain=0.4,
    grain_sigma=(2.0, 8.0),
    grain_size=(0.4, 1.0),
    p_halftone=0.05,
    halftone_period=(2.5, 4.5),
)

PRESETS = {"eq14": RESTORER_EQ14, "old_photo": RESTORER_OLD_PHOTO}


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
    extra = sample_old_print(rng, config) if config.old_print else {}
    return Eq14Params(blur, size, angle, lr_size, interp, sigma, quality, gray, extra)


def sample_old_print(rng: np.random.Generator, config: Eq14Config) -> dict[str, Any]:
    """The old-print draws, taken after Eq. 14's so its draws stay those of RESTORER_EQ14."""
    extra: dict[str, Any] = {}
    if rng.random() < config.p_fade:
        extra["fade"] = (
            float(rng.uniform(*config.fade_contrast)),
            float(rng.uniform(*config.fade_black)),
        )
    if rng.random() < config.p_cast:
        extra["cast"] = (float(rng.uniform(*config.cast_a)), float(rng.uniform(*config.cast_b)))
    if rng.random() < config.p_grain:
        extra["grain"] = (
            float(rng.uniform(*config.grain_sigma)),
            float(rng.uniform(*config.grain_size)),
        )
    if rng.random() < config.p_halftone:
        extra["halftone"] = (float(rng.uniform(*config.halftone_period)), float(rng.uniform(0, 90)))
    if extra:
        extra["seed"] = int(rng.integers(0, 2**31))
    return extra


def fade(image: np.ndarray, contrast: float, black: float) -> np.ndarray:
    """Squeeze the tonal range towards a raised black level (a faded print)."""
    x = black + image.astype(np.float32) * (contrast * (255.0 - black) / 255.0)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def tint(image: np.ndarray, a: float, b: float) -> np.ndarray:
    """Shift Lab a*, b* (a sepia, yellowed or cool cast); lightness stays."""
    lab = np.asarray(cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB))
    lab += np.array([0.0, a, b], np.float32)
    rgb = np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def film_grain(
    image: np.ndarray, sigma: float, size: float, rng: np.random.Generator
) -> np.ndarray:
    """Clumped luminance noise: white noise blurred to ``size`` px, scaled to ``sigma``."""
    white = rng.normal(0.0, 1.0, image.shape[:2]).astype(np.float32)
    noise = np.asarray(cv2.GaussianBlur(white, (0, 0), size), np.float32)
    noise *= sigma / max(float(noise.std()), 1e-6)
    x = image.astype(np.float32) + noise[..., None]
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def halftone_screen(image: np.ndarray, period: float, angle: float) -> np.ndarray:
    """A printed dot screen (amplitude modulated, one screen for all channels), scanned:
    each pixel is ink or paper by its lightness against a rotated cosine screen, then
    softened by the scan."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.deg2rad(angle)
    u = (xx * np.cos(t) + yy * np.sin(t)) * (2 * np.pi / period)
    v = (-xx * np.sin(t) + yy * np.cos(t)) * (2 * np.pi / period)
    screen = 0.5 + 0.25 * (np.cos(u) + np.cos(v))
    value = image.astype(np.float32) / 255.0
    dots = (value > screen[..., None]).astype(np.float32)
    soft = cv2.GaussianBlur(dots, (0, 0), period / 3.0)
    return np.clip(np.rint(soft * 255.0), 0, 255).astype(np.uint8)


def photometric(image: np.ndarray, params: Eq14Params) -> np.ndarray:
    """The print's tone, on input and target alike: gray, fading, colour cast."""
    x = to_gray3(image) if params.gray else image
    if "fade" in params.extra:
        x = fade(x, *params.extra["fade"])
    if "cast" in params.extra:
        x = tint(x, *params.extra["cast"])
    return x


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
    the HR size), the small degraded image, and the draw. The caller's target is
    ``photometric(hr, params)``: gray, faded and tinted like the input.
    """
    config = config or Eq14Config()
    params = sample_eq14_params(rng, config, hr.shape[:2])
    x = photometric(hr, params)
    if params.blur is not None and params.blur_size is not None:
        x = apply_blur(x, params.blur, params.blur_size, params.motion_angle)
    lh, lw = params.lr_size
    x = cv2.resize(x, (lw, lh), interpolation=_CV_INTERP[params.down_interpolation])
    if params.noise_sigma is not None:
        noise = rng.normal(0.0, params.noise_sigma, size=x.shape)
        if params.gray:
            noise = np.repeat(noise[..., :1], 3, axis=2)
        x = np.clip(np.rint(x.astype(np.float64) + noise), 0, 255).astype(np.uint8)
    extra = params.extra
    if "grain" in extra or "halftone" in extra:
        local = np.random.default_rng(extra["seed"])
        if "halftone" in extra:
            x = halftone_screen(x, *extra["halftone"])
        if "grain" in extra:
            grain_sigma, grain_size = extra["grain"]
            x = film_grain(x, grain_sigma, grain_size, local)
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
        return lr_up, photometric(hr, params)
