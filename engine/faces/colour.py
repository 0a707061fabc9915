"""A restored face in the photo's own colours: colour match and gray / toned photos.

Only detail should come from the network. Before pasting, the restored crop's low
frequencies (colour, shading) are matched to the original's; a gray or toned photo
(sepia, cyanotype) takes only the luminance change, so no face is colourised.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..pixels import peak_value

# Rec. 601 luma weights: the "luminance" of the keep-chroma mode.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def keeps_chroma(pixels: np.ndarray, is_grayscale: bool, setting: bool | str) -> bool:
    """Whether faces may change only luminance: the setting, or "auto" = gray or toned."""
    if setting != "auto":
        return bool(setting)
    return is_grayscale or looks_monochrome(_small_copy(pixels))


def _small_copy(pixels: np.ndarray, side: int = 512) -> np.ndarray:
    h, w = pixels.shape[:2]
    f = min(1.0, side / max(h, w))
    if f >= 1.0:
        return pixels
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    k = 2 * int(np.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(image, (k, k), sigma, borderType=cv2.BORDER_REFLECT_101)


def match_colors(
    restored: np.ndarray, original: np.ndarray, mask: np.ndarray, sigma_fraction: float = 1 / 16
) -> np.ndarray:
    """Give ``restored`` the low frequencies (colour, shading) of ``original`` inside ``mask``.

    ``restored`` (H x W x 3 float32, [0, 1]) may be larger than ``original`` (CAGFace's x4
    output); ``mask`` has ``restored``'s size. Both are compared through a Gaussian of
    ``sigma_fraction`` of the side, averaged only over the face (a normalised convolution,
    so the background outside the mask does not leak in); the difference is added to
    ``restored``. An additive shift per channel is the same in RGB and in any
    luminance / chroma space linear in RGB (YCbCr), so it is done in RGB.
    """
    h, w = restored.shape[:2]
    work = max(16, min(128, h, w))  # low frequencies only: a small copy suffices
    ws, hs = (work, round(work * h / w)) if w >= h else (round(work * w / h), work)

    def small(a: np.ndarray) -> np.ndarray:
        return cv2.resize(a.astype(np.float32), (ws, hs), interpolation=cv2.INTER_AREA)

    m = small(mask)
    sigma = max(1.0, sigma_fraction * max(ws, hs))
    weight = _blur(m, sigma)[..., None]
    m = m[..., None]
    ok = weight > 1e-3
    mean_orig = _blur(small(original) * m, sigma) / np.maximum(weight, 1e-3)
    mean_rest = _blur(small(restored) * m, sigma) / np.maximum(weight, 1e-3)
    shift = np.where(ok, mean_orig - mean_rest, 0.0).astype(np.float32)
    full = cv2.resize(shift, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(restored + full, 0.0, 1.0)


def keep_luminance_only(restored: np.ndarray, original: np.ndarray) -> np.ndarray:
    """``original`` with the luminance of ``restored`` (float [0, 1]): no new colour.

    A smaller ``original`` (CAGFace's region at the photo's resolution) is enlarged to
    ``restored``'s size first (bicubic).
    """
    h, w = restored.shape[:2]
    if original.shape[:2] != (h, w):
        original = cv2.resize(original, (w, h), interpolation=cv2.INTER_CUBIC)
    delta = (restored - original) @ LUMA
    return np.clip(original + delta[..., None], 0.0, 1.0)


def looks_monochrome(rgb: np.ndarray, tolerance: float = 0.03) -> bool:
    """Whether a photo is gray or toned (sepia, cyanotype): its colour follows its luminance.

    The chroma (Cb, Cr) of every pixel is compared with the median chroma of pixels of
    similar luminance; when 99% of pixels are within ``tolerance`` (of full scale), the
    photo carries no colour of its own and restoring must not add any. Pass a small copy
    (a few hundred thousand pixels is plenty).
    """
    peak = peak_value(rgb.dtype)
    x = rgb.reshape(-1, 3).astype(np.float32) / np.float32(peak)
    if len(x) > 400_000:
        x = x[:: len(x) // 400_000 + 1]
    y = x @ LUMA
    chroma = np.stack([(x[:, 2] - y) / 1.772, (x[:, 0] - y) / 1.402], axis=1)
    bins = np.minimum((y * 32).astype(int), 31)
    residual = np.zeros(len(x), np.float32)
    for b in np.unique(bins):
        sel = bins == b
        residual[sel] = np.abs(chroma[sel] - np.median(chroma[sel], axis=0)).max(axis=1)
    return bool(np.quantile(residual, 0.99) <= tolerance)
