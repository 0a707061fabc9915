"""Estimates of how a real photo is degraded, to set the ranges the restorer trains on.

Each estimator reads one uint8 RGB image and returns a number with a plain meaning
(docs/training.md, "What real old photos do to a face", has the method and the
figures). They are measurements, not restorations: no learned model is involved.

* ``blur_sigma``: the Gaussian blur (sigma in px of a 128 px aligned face) that makes
  clean faces' power spectrum fall off like this face's. Fitted on the log ratio of
  radially averaged spectra, over the band where the face's own noise floor does not
  dominate.
* ``noise_sigma``: white-noise level on 0-255 (Immerkaer 1996: the mean absolute
  response to a 3x3 kernel that cancels smooth gradients, edges left out).
* ``blockiness``: mean luma step across 8 px block borders over the mean step inside
  the blocks (1.0: no JPEG blocks).
* ``tone``: black level, white level and contrast range of the luma (1st / 99th
  percentiles, on 0-255).
* ``colour``: mean Lab chroma and the mean a*, b* (colour cast; gray photos ~0).
* ``grain``: the correlation of the high-pass residual with itself one and two pixels
  away (white noise ~0; film grain, clumped over several pixels, is higher).
* ``halftone``: the strongest off-axis peak in the residual's spectrum over the median
  at its radius (a printed dot screen shows a sharp peak; photos stay near 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma as float64 on 0-255."""
    rgb = image[..., :3].astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def radial_spectrum(gray: np.ndarray, bins: int = 32) -> np.ndarray:
    """Radially averaged power spectrum of a square image (Hann window), ``bins`` rings
    from 0 to 0.5 cycles / px."""
    n = gray.shape[0]
    window = np.outer(np.hanning(n), np.hanning(n))
    g = (gray - gray.mean()) * window
    power = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(n)), np.fft.fftshift(np.fft.fftfreq(n)))
    radius = np.hypot(fx, fy).T
    ring = np.minimum((radius / 0.5 * bins).astype(int), bins)
    sums = np.bincount(ring.ravel(), power.ravel(), bins + 1)[:bins]
    counts = np.bincount(ring.ravel(), minlength=bins + 1)[:bins]
    return sums / np.maximum(counts, 1)


def ring_frequencies(bins: int = 32) -> np.ndarray:
    return (np.arange(bins) + 0.5) / bins * 0.5


def blur_sigma(
    face: np.ndarray, reference: np.ndarray, noise: float | None = None, bins: int = 32
) -> float:
    """Equivalent Gaussian sigma (px) of an aligned face against ``reference``, the mean
    radial spectrum of clean faces of the same side (``radial_spectrum``).

    A Gaussian of sigma s multiplies the power at frequency f by exp(-(2 pi f s)^2), so
    log(P_face / P_clean) falls along a line in f^2 whose slope gives s. White noise
    adds a flat floor (sigma^2 per pixel, scaled by the window); only rings whose power
    stands well above it are fitted.
    """
    gray = luma(face)
    spectrum = radial_spectrum(gray, bins)
    f = ring_frequencies(bins)
    n = gray.shape[0]
    # uint8 rounding alone leaves noise of 1/sqrt(12) levels: blur cannot be read below it.
    level = max(noise or 0.0, 0.29)
    floor = level**2 * float((np.hanning(n) ** 2).sum()) ** 2  # 2-D window: the 1-D sum squared
    usable = (f > 0.03) & (spectrum > 4 * floor) & (f < 0.4)
    if usable.sum() < 3:
        return float("nan")
    ratio = np.log(np.maximum(spectrum[usable] - floor, 1e-9) / reference[usable])
    # Contrast differences shift the line up or down; the slope alone measures blur.
    slope = np.polyfit(f[usable] ** 2, ratio, 1)[0]
    return float(np.sqrt(max(0.0, -slope)) / (2 * np.pi))


_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(image: np.ndarray) -> float:
    """Immerkaer's estimate over the pixels away from strong edges (Sobel below its
    90th percentile), so a face's contours are not counted as noise."""
    y = luma(image).astype(np.float32)
    response = np.abs(cv2.filter2D(y, -1, _NOISE_KERNEL))[1:-1, 1:-1]
    edges = np.hypot(cv2.Sobel(y, -1, 1, 0), cv2.Sobel(y, -1, 0, 1))[1:-1, 1:-1]
    calm = edges < np.percentile(edges, 90)
    return float(np.sqrt(np.pi / 2) / 6 * response[calm].mean())


def blockiness(image: np.ndarray) -> float:
    """Mean |luma step| across 8 px block borders over the mean inside blocks."""
    y = luma(image)
    steps_x = np.abs(np.diff(y, axis=1))
    steps_y = np.abs(np.diff(y, axis=0))
    border_x = (np.arange(steps_x.shape[1]) % 8) == 7
    border_y = (np.arange(steps_y.shape[0]) % 8) == 7
    across = steps_x[:, border_x].mean() + steps_y[border_y].mean()
    inside = steps_x[:, ~border_x].mean() + steps_y[~border_y].mean()
    return float(across / max(inside, 1e-9))


@dataclass(frozen=True)
class Tone:
    black: float  # 1st percentile of luma
    white: float  # 99th percentile
    contrast: float  # (white - black) / 255


def tone(image: np.ndarray) -> Tone:
    lo, hi = np.percentile(luma(image), [1, 99])
    return Tone(float(lo), float(hi), float((hi - lo) / 255))


@dataclass(frozen=True)
class Colour:
    chroma: float  # mean Lab chroma
    a: float  # mean a* (+ red, - green)
    b: float  # mean b* (+ yellow / sepia, - blue)


def colour(image: np.ndarray) -> Colour:
    lab = cv2.cvtColor(image[..., :3].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    a, b = lab[..., 1], lab[..., 2]
    return Colour(float(np.hypot(a, b).mean()), float(a.mean()), float(b.mean()))


def residual(image: np.ndarray) -> np.ndarray:
    """Luma minus its 5x5 Gaussian blur: grain, noise, dots and fine edges."""
    y = luma(image).astype(np.float32)
    return y - cv2.GaussianBlur(y, (5, 5), 0)


def grain(image: np.ndarray) -> tuple[float, float]:
    """Correlation of the high-pass residual with itself at 1 and 2 px (x and y averaged).

    Edges are kept out: only pixels whose local residual energy is in the lower half
    take part, so the figure is about texture of flat regions.
    """
    r = residual(image)
    energy = cv2.blur(r * r, (9, 9))
    flat = energy <= np.median(energy)

    def corr(lag: int) -> float:
        pairs = []
        for a, b, m in (
            (r[:, :-lag], r[:, lag:], flat[:, :-lag] & flat[:, lag:]),
            (r[:-lag], r[lag:], flat[:-lag] & flat[lag:]),
        ):
            x, y = a[m], b[m]
            if x.size > 16:
                pairs.append(float(np.corrcoef(x, y)[0, 1]))
        return float(np.mean(pairs)) if pairs else float("nan")

    return corr(1), corr(2)


def halftone(image: np.ndarray) -> float:
    """Strongest off-axis spectral peak of the residual over its ring's median."""
    r = residual(image)
    h, w = r.shape
    side = min(h, w, 512)
    y0, x0 = (h - side) // 2, (w - side) // 2
    tile = r[y0 : y0 + side, x0 : x0 + side]
    power = np.abs(np.fft.fftshift(np.fft.fft2(tile * np.outer(*[np.hanning(side)] * 2)))) ** 2
    freqs = np.fft.fftshift(np.fft.fftfreq(side))
    fy, fx = np.meshgrid(freqs, freqs, indexing="ij")
    radius = np.hypot(fx, fy)
    off_axis = (np.abs(fx) > 0.02) & (np.abs(fy) > 0.02)  # JPEG blocks peak on the axes
    band = off_axis & (radius > 0.08) & (radius < 0.45)
    rings = np.round(radius * side).astype(int)
    best = 1.0
    for ring in np.unique(rings[band]):
        values = power[band & (rings == ring)]
        if values.size >= 8:
            best = max(best, float(values.max() / max(np.median(values), 1e-12)))
    return best


__all__ = [
    "Colour",
    "Tone",
    "blockiness",
    "blur_sigma",
    "colour",
    "grain",
    "halftone",
    "luma",
    "noise_sigma",
    "radial_spectrum",
    "residual",
    "ring_frequencies",
    "tone",
]
