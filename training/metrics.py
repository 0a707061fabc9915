"""Image-quality metrics as the SR papers compute them.

PSNR and SSIM on the luminance channel: Y of ITU-R BT.601 as MATLAB's ``rgb2ycbcr``
(16-235 for 8-bit input; ``skimage.color.rgb2ycbcr``), kept in floating point,
compared with ``skimage.metrics`` (SSIM with the Gaussian window of Wang et al.:
sigma 1.5, population covariance, data range 255). MS-SSIM comes from
``pytorch_msssim`` (on RGB in [0, 1], its default five scales, which need a side
of more than 160 px; smaller faces are up-sampled there first, and the result
says so). LPIPS, FID, identity similarity and landmark AUC need weights that
cannot be downloaded here; they live in ``training.optional_metrics`` and are
skipped with a one-line reason when their weights are missing.
"""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def luminance(image: np.ndarray) -> np.ndarray:
    """Y (16-235 for uint8 input) of an RGB uint8 image, float64, as MATLAB's rgb2ycbcr."""
    if image.dtype != np.uint8:
        raise ValueError("luminance expects uint8 RGB")
    return rgb2ycbcr(image)[..., 0]


def psnr_y(output: np.ndarray, target: np.ndarray) -> float:
    """PSNR of the Y channel in dB (data range 255); inf for identical images."""
    a, b = luminance(output), luminance(target)
    if np.array_equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(b, a, data_range=255.0))


def ssim_y(output: np.ndarray, target: np.ndarray) -> float:
    """SSIM of the Y channel (Gaussian window, sigma 1.5), as Wang et al. and the SR papers."""
    return float(
        structural_similarity(
            luminance(target),
            luminance(output),
            data_range=255.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def msssim_available() -> str | None:
    """None when MS-SSIM can be computed, else the reason it cannot."""
    try:
        import pytorch_msssim  # noqa: F401
    except ImportError:
        return "MS-SSIM skipped: pytorch-msssim is not installed (pip install pytorch-msssim)"
    return None


MSSSIM_MIN_SIDE = 161  # 5 scales of an 11-px window: side > (11 - 1) * 2**4


def ms_ssim(output: np.ndarray, target: np.ndarray) -> float:
    """MS-SSIM of one pair (see ``ms_ssim_many``)."""
    return float(ms_ssim_many(output[None], target[None])[0])


def ms_ssim_many(outputs: np.ndarray, targets: np.ndarray, batch: int = 64) -> np.ndarray:
    """Per-pair MS-SSIM on RGB in [0, 1] (pytorch_msssim, 5 scales, Wang et al. 2003 weights).

    Faces smaller than 161 px are bicubic-up-sampled (both images alike) first,
    since five scales of an 11-pixel window need that much.
    """
    import torch
    import torch.nn.functional as F
    from pytorch_msssim import ms_ssim as _ms_ssim

    def prepare(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
        side = min(x.shape[-2:])
        if side < MSSSIM_MIN_SIDE:
            f = MSSSIM_MIN_SIDE / side
            x = F.interpolate(x, scale_factor=f, mode="bicubic", align_corners=False).clamp(0, 1)
        return x

    values = []
    for i in range(0, len(outputs), batch):
        x, y = prepare(outputs[i : i + batch]), prepare(targets[i : i + batch])
        values.append(_ms_ssim(x, y, data_range=1.0, size_average=False))
    return torch.cat(values).numpy()


def segmentation_iou(confusion: np.ndarray, names: tuple[str, ...] | list[str]) -> dict[str, float]:
    """Per-class IoU and their mean from a C x C confusion matrix (rows: truth)."""
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    out = {f"iou_{n}": float(v) for n, v in zip(names, iou, strict=True)}
    out["miou"] = float(np.nanmean(iou))
    out["pixel_acc"] = float(tp.sum() / max(confusion.sum(), 1))
    return out


def confusion_matrix(pred: np.ndarray, truth: np.ndarray, classes: int) -> np.ndarray:
    idx = truth.astype(np.int64).ravel() * classes + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=classes * classes).reshape(classes, classes)
