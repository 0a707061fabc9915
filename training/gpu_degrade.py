"""The degradations of ``training.degrade`` as batched torch ops, so a GPU never waits.

An H200 trains a 128 px restorer on thousands of faces a second; Eq. 14 on the CPU
(OpenCV blur and resize, numpy noise, a libjpeg round trip, PIL up-sampling) costs
about 0.6 ms a face of one core and holds the GIL part of that time, so three
trainings side by side would wait for their samples. Here only the draw of each
sample stays on the CPU (``sample_eq14_params`` with the sample's own generator: the
same blur, scale, noise level, JPEG quality and gray choice as the CPU path draws for
that sample); the pixels are degraded on the device, one batch at a time:

* gray: BT.601 luma, as ``cv2.COLOR_RGB2GRAY``;
* blur: one grouped convolution with a kernel per face (OpenCV's Gaussian and box
  kernels, ``degrade.motion_kernel``), reflect-101 borders; median blur by unfolding;
* resize: every resize is a matrix, built once by resizing an identity with the very
  function the CPU path uses (``cv2.resize`` linear / cubic / area, PIL's
  anti-aliased bicubic), so ``Y = D X D^T`` per face in one batched product; each
  face keeps its own LR side inside a fixed canvas;
* noise: Gaussian, one draw shared by the three channels of a gray face;
* JPEG: libjpeg's baseline path approximated: BT.601 YCbCr, 4:2:0 chroma, 8x8 DCT,
  the quality-scaled Annex K tables (``jpeg_quality_scaling``), rounding, inverse;
* up-sampling back to the face side: PIL's bicubic as a matrix.

Values are rounded to 0-255 levels after each step, like the CPU path's uint8
images. The noise comes from a torch generator seeded by (seed, step, rank), so a
run is reproducible on one device; it is not bit-identical to the CPU path, and
``tests/test_gpu_degrade.py`` checks that their statistics agree (PSNR of the
degraded faces against the clean ones, step by step and for the whole Eq. 14).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .degrade import (
    _CV_INTERP,
    Degradation,
    Eq14Config,
    lr_size_range,
    motion_kernel,
    sample_eq14_params,
)

INTERPOLATIONS = ("linear", "cubic", "area")

# Annex K of the JPEG standard, natural (row-major) order: rows are vertical frequencies.
LUMA_TABLE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    np.float64,
)
CHROMA_TABLE = np.full((8, 8), 99.0)
CHROMA_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def quant_table(base: np.ndarray, quality: int) -> np.ndarray:
    """libjpeg's ``jpeg_quality_scaling`` + ``jpeg_add_quant_table`` (baseline: 1-255)."""
    quality = min(100, max(1, int(quality)))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


def dct_matrix() -> np.ndarray:
    """The orthonormal 8-point DCT-II (rows: frequencies); JPEG's scaling in 2D."""
    c = np.zeros((8, 8))
    for u in range(8):
        a = np.sqrt(1 / 8) if u == 0 else np.sqrt(2 / 8)
        for x in range(8):
            c[u, x] = a * np.cos((2 * x + 1) * u * np.pi / 16)
    return c


# --- resize operators: a resize along one axis is a matrix -----------------------------------


def cv2_resize_matrix(src: int, dst: int, interpolation: str) -> np.ndarray:
    """``dst x src``: what ``cv2.resize`` does to a column of ``src`` values."""
    eye = np.eye(src, dtype=np.float32)
    out = cv2.resize(eye, (src, dst), interpolation=_CV_INTERP[interpolation])
    return np.asarray(out, np.float64).reshape(dst, src)


def pil_bicubic_matrix(src: int, dst: int) -> np.ndarray:
    """``dst x src``: PIL's bicubic resize (anti-aliased when shrinking) of a column."""
    eye = Image.fromarray(np.eye(src, dtype=np.float32))  # mode "F"
    out = eye.resize((src, dst), Image.Resampling.BICUBIC)  # rows only: width unchanged
    return np.asarray(out, np.float64).reshape(dst, src)


def _resize(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor | None = None) -> torch.Tensor:
    """``rows @ X @ cols^T`` per face: N x C x H x W by N x h x H (and N x w x W)."""
    cols = rows if cols is None else cols
    if rows.dim() == 2:
        return torch.einsum("ih,nchw,jw->ncij", rows, x, cols)
    return torch.einsum("nih,nchw,njw->ncij", rows, x, cols)


def _resize_pil(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """PIL's two passes: columns first, rounded to levels in between (as its uint8 image)."""
    if rows.dim() == 2:
        wide = _levels(torch.einsum("nchw,jw->nchj", x, rows))
        return _levels(torch.einsum("ih,nchj->ncij", rows, wide))
    wide = _levels(torch.einsum("nchw,njw->nchj", x, rows))
    return _levels(torch.einsum("nih,nchj->ncij", rows, wide))


def _levels(x: torch.Tensor) -> torch.Tensor:
    """Back to integer levels 0-255, as a uint8 image would be."""
    return x.round().clamp_(0, 255)


# --- the steps ---------------------------------------------------------------------------


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma on three channels, in ``cv2.COLOR_RGB2GRAY``'s fixed point (15 bits)."""
    w = x.new_tensor([9798.0, 19235.0, 3735.0]).view(1, 3, 1, 1)  # sums exact in float32
    gray = torch.floor(((x * w).sum(1, keepdim=True) + 16384.0) / 32768.0)
    return gray.expand_as(x).contiguous()


def blur(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Each face with its own K x K kernel (correlation, reflect-101 borders, like cv2)."""
    n, c, h, w = x.shape
    k = kernels.shape[-1]
    if k == 1:
        return x * kernels.view(n, 1, 1, 1)
    pad = k // 2
    flat = F.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode="reflect")
    weight = kernels.repeat_interleave(c, dim=0).unsqueeze(1)  # (N*C) x 1 x K x K
    return F.conv2d(flat, weight, groups=n * c).view(n, c, h, w)


def median_blur(x: torch.Tensor, k: int) -> torch.Tensor:
    """``cv2.medianBlur`` (replicated borders) of a few faces."""
    n, c, h, w = x.shape
    pad = k // 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    windows = F.unfold(padded.reshape(n * c, 1, h + 2 * pad, w + 2 * pad), k)
    return windows.median(dim=1).values.view(n, c, h, w)


def jpeg(x: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor) -> torch.Tensor:
    """libjpeg's baseline round trip, approximated (sides must divide by 16).

    ``luma_q`` / ``chroma_q``: N x 8 x 8 quantisation tables, one per face.
    """
    n, _, h, w = x.shape
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = _levels(0.299 * r + 0.587 * g + 0.114 * b)
    cb = _levels(-0.168736 * r - 0.331264 * g + 0.5 * b + 128)
    cr = _levels(0.5 * r - 0.418688 * g - 0.081312 * b + 128)
    chroma = _levels(F.avg_pool2d(torch.cat([cb, cr], 1), 2))  # h2v2 down-sampling
    c = x.new_tensor(dct_matrix())

    def roundtrip(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        m, k, ph, pw = plane.shape
        blocks = (plane - 128).view(m, k, ph // 8, 8, pw // 8, 8).permute(0, 1, 2, 4, 3, 5)
        coef = c @ blocks @ c.T
        q = table.view(m, 1, 1, 1, 8, 8)
        coef = torch.round(coef / q) * q
        back = (c.T @ coef @ c).permute(0, 1, 2, 4, 3, 5).reshape(m, k, ph, pw)
        return _levels(back + 128)

    y = roundtrip(y, luma_q)
    chroma = roundtrip(chroma, chroma_q)
    chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
    cb, cr = chroma[:, 0:1] - 128, chroma[:, 1:2] - 128  # "fancy" up-sampling, then RGB
    rgb = torch.cat([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return _levels(rgb)


@contextlib.contextmanager
def exact_float32() -> Iterator[None]:
    """No TF32 inside (matrix resizes and DCTs must stay exact to a fraction of a level)."""
    old_matmul = torch.backends.cuda.matmul.allow_tf32
    old_cudnn = torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old_matmul
        torch.backends.cudnn.allow_tf32 = old_cudnn


# --- one sample's draw, and a batch of them ----------------------------------------------------


@dataclass(frozen=True)
class Draw:
    """The CPU side of one sample: everything random except the noise values."""

    kernel: np.ndarray | None  # K x K linear blur kernel (None: no linear blur)
    median: int  # median blur side (0: none)
    lr: int  # LR side (eq14) or 0
    interpolation: int  # index into INTERPOLATIONS
    sigma: float
    quality: int  # JPEG quality (0: no JPEG)
    gray: bool


class DeviceDegradation:
    """One named degradation (``Degradation``) applied to a batch on its tensors' device.

    ``draw`` runs on the CPU per sample (it takes the sample's generator right after
    the augmentation, exactly where ``Degradation.__call__`` would); ``collate`` stacks
    the draws; calling the object degrades a uint8 N x H x W x 3 batch.
    """

    def __init__(self, degradation: Degradation, size: int) -> None:
        self.degradation, self.size = degradation, size
        self.factor = degradation.factor
        self.name = degradation.name
        self._tables: dict[tuple[str, torch.device], torch.Tensor] = {}
        if self.factor is not None:
            if size % self.factor:
                raise ValueError(f"{size} px faces do not divide by the factor {self.factor}")
            small = size // self.factor
            self._down = pil_bicubic_matrix(size, small)
            self._up = pil_bicubic_matrix(small, size)
        if self.name == "eq14":
            cfg: Eq14Config = degradation.eq14
            if cfg.old_print:
                raise ValueError(
                    "gpu_degrade has Eq. 14's steps only: the old-print steps (fade, cast, "
                    "grain, halftone) degrade on the CPU"
                )
            self.config = cfg
            self.lr_lo, self.lr_hi = lr_size_range(size, cfg.scale)
            self.canvas = -(-self.lr_hi // 16) * 16
            sides = [1]
            if set(cfg.blur_kinds) & {"gaussian", "average", "median"}:
                sides.append(cfg.blur_size[1] | 1)
            if "motion" in cfg.blur_kinds:
                sides.append(cfg.motion_length[1] | 1)
            self.kmax = max(sides) if cfg.p_blur > 0 else 1
            self._gauss: dict[int, np.ndarray] = {}

    # -- CPU side ---------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, side: int) -> Draw | None:
        """The random choices of one sample (eq14), from the sample's generator."""
        if self.name != "eq14":
            return None
        p = sample_eq14_params(rng, self.config, (side, side))
        kernel, median = None, 0
        if p.blur is not None and p.blur_size is not None and p.blur_size > 1:
            if p.blur == "median":
                median = p.blur_size
            else:
                kernel = self._kernel(p.blur, p.blur_size, p.motion_angle)
        return Draw(
            kernel,
            median,
            p.lr_size[0],
            INTERPOLATIONS.index(p.down_interpolation),
            p.noise_sigma or 0.0,
            p.jpeg_quality or 0,
            p.gray,
        )

    def _kernel(self, kind: str, size: int, angle: float | None) -> np.ndarray:
        if kind == "gaussian":
            if size not in self._gauss:
                g = cv2.getGaussianKernel(size, 0).astype(np.float64)[:, 0]
                self._gauss[size] = np.outer(g, g)
            k = self._gauss[size]
        elif kind == "average":
            k = np.full((size, size), 1.0 / (size * size))
        else:
            k = motion_kernel(size, 0.0 if angle is None else angle).astype(np.float64)
        out = np.zeros((self.kmax, self.kmax), np.float32)
        off = (self.kmax - k.shape[0]) // 2
        out[off : off + k.shape[0], off : off + k.shape[1]] = k
        return out

    def collate(self, draws: Sequence[Draw | None]) -> dict[str, Any]:
        """The draws of a batch as CPU tensors (moved to the device in ``__call__``)."""
        if self.name != "eq14":
            return {}
        ds = [d for d in draws if d is not None]
        delta = np.zeros((self.kmax, self.kmax), np.float32)
        delta[self.kmax // 2, self.kmax // 2] = 1.0
        kernels = np.stack([d.kernel if d.kernel is not None else delta for d in ds])
        luma = [quant_table(LUMA_TABLE, d.quality or 100) for d in ds]
        chroma = [quant_table(CHROMA_TABLE, d.quality or 100) for d in ds]
        return {
            "kernels": torch.from_numpy(kernels),
            "median": torch.tensor([d.median for d in ds]),
            "lr": torch.tensor([d.lr for d in ds]),
            "interp": torch.tensor([d.interpolation for d in ds]),
            "sigma": torch.tensor([d.sigma for d in ds], dtype=torch.float32),
            "jpeg": torch.tensor([d.quality > 0 for d in ds]),
            "luma_q": torch.from_numpy(np.stack(luma).astype(np.float32)),
            "chroma_q": torch.from_numpy(np.stack(chroma).astype(np.float32)),
            "gray": torch.tensor([d.gray for d in ds]),
        }

    # -- device side --------------------------------------------------------------------------
    def _table(self, name: str, device: torch.device) -> torch.Tensor:
        key = (name, device)
        if key not in self._tables:
            self._tables[key] = torch.from_numpy(self._build(name)).float().to(device)
        return self._tables[key]

    def _build(self, name: str) -> np.ndarray:
        if name == "down":
            return self._down
        if name == "up":
            return self._up
        sides = range(self.lr_lo, self.lr_hi + 1)
        s, c = self.size, self.canvas
        if name == "eq14_down":  # interpolation x LR side x canvas x size
            out = np.zeros((len(INTERPOLATIONS), len(sides), c, s))
            for i, interp in enumerate(INTERPOLATIONS):
                for j, lr in enumerate(sides):
                    out[i, j, :lr] = cv2_resize_matrix(s, lr, interp)
            return out
        if name == "eq14_up":  # LR side x size x canvas
            out = np.zeros((len(sides), s, c))
            for j, lr in enumerate(sides):
                out[j, :, :lr] = pil_bicubic_matrix(lr, s)
            return out
        if name == "eq14_edge":  # LR side x canvas x canvas: rows past the side repeat its last
            out = np.zeros((len(sides), c, c))
            for j, lr in enumerate(sides):
                out[j, np.arange(c), np.minimum(np.arange(c), lr - 1)] = 1.0
            return out
        raise KeyError(name)

    def __call__(
        self,
        hq: torch.Tensor,
        draws: dict[str, Any],
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 N x H x W x 3 on the device -> (input, target): float N x 3 x H x W, [-1, 1]."""
        device = hq.device
        with torch.no_grad(), exact_float32(), torch.autocast(device.type, enabled=False):
            x = hq.permute(0, 3, 1, 2).float()
            if self.name == "none":
                lq = x
            elif self.factor is not None:
                small = _resize_pil(x, self._table("down", device))
                lq = _resize_pil(small, self._table("up", device))
            else:
                x, lq = self._eq14(x, {k: v.to(device) for k, v in draws.items()}, generator)
            return lq.div(127.5).sub(1.0), x.div(127.5).sub(1.0)

    def _eq14(
        self, x: torch.Tensor, d: dict[str, torch.Tensor], generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gray = d["gray"].view(-1, 1, 1, 1)
        if bool(gray.any()):
            x = torch.where(gray, to_gray(x), x)
        y = _levels(blur(x, d["kernels"]))
        medians = d["median"]
        for k in sorted({int(v) for v in medians.tolist() if v > 1}):
            idx = (medians == k).nonzero().flatten()
            y[idx] = median_blur(x[idx], k)
        side = d["lr"] - self.lr_lo
        y = _levels(_resize(y, self._table("eq14_down", x.device)[d["interp"], side]))
        noise = torch.randn(y.shape, generator=generator, device=y.device)
        noise = torch.where(gray, noise[:, :1].expand_as(noise), noise)
        y = _levels(y + noise * d["sigma"].view(-1, 1, 1, 1))
        if bool(d["jpeg"].any()):
            y = _resize(y, self._table("eq14_edge", x.device)[side])  # libjpeg's edge padding
            y = torch.where(d["jpeg"].view(-1, 1, 1, 1), jpeg(y, d["luma_q"], d["chroma_q"]), y)
        lq = _resize_pil(y, self._table("eq14_up", x.device)[side])
        return x, lq


__all__ = [
    "DeviceDegradation",
    "Draw",
    "blur",
    "cv2_resize_matrix",
    "jpeg",
    "median_blur",
    "pil_bicubic_matrix",
    "quant_table",
    "to_gray",
]
