"""Load and save time, file size and peak memory of engine.io per format, on a synthetic photo.

Run: ``.venv/bin/python bench/bench_io.py [--megapixels 12] [--repeats 3]``.
Prints a table; it is a benchmark, not a test (no timing is asserted anywhere).
The picture is smooth gradients plus sensor-like noise, so compressed sizes are
in the range of a real photo's rather than of a flat test card.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

from engine.io import Photo, load_photo, save_photo
from engine.io.icc import SRGB_PROFILE


def camera_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Bench", "Synthetic"
    exif.get_ifd(0x8769)[0x9003] = "2024:01:01 12:00:00"
    return exif.tobytes()


def synthetic(megapixels: float, bits: int) -> np.ndarray:
    width = int(round((megapixels * 1e6 * 3 / 2) ** 0.5))
    height = int(round(width * 2 / 3))
    top = 255 if bits == 8 else 65535
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    rng = np.random.default_rng(0)
    planes = [x * 0.8 + 0.1, y * 0.7 + 0.2, (x + y) * 0.4 + 0.1]
    base = np.stack([np.broadcast_to(p, (height, width)) for p in planes], -1)
    noisy = base + rng.normal(0.0, 0.01, base.shape).astype(np.float32)
    return np.rint(np.clip(noisy, 0, 1) * top).astype(np.uint8 if bits == 8 else np.uint16)


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median seconds, peak MiB of numpy/Python allocations) over ``repeats`` calls."""
    times, peak = [], 0
    for _ in range(repeats):
        tracemalloc.start()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cases = [
        ("JPEG q95", ".jpg", 8),
        ("PNG", ".png", 8),
        ("PNG", ".png", 16),
        ("TIFF deflate", ".tif", 8),
        ("TIFF deflate", ".tif", 16),
        ("WebP q95", ".webp", 8),
        ("BMP", ".bmp", 8),
    ]
    pixels = {bits: synthetic(args.megapixels, bits) for bits in (8, 16)}
    rows = []
    exif = camera_exif()
    with tempfile.TemporaryDirectory() as folder:
        for label, suffix, bits in cases:
            photo = Photo(pixels[bits], bit_depth=bits, icc_profile=SRGB_PROFILE, exif=exif)
            target = Path(folder) / f"bench{bits}{suffix}"
            save_s, save_mib = timed(lambda: save_photo(photo, target), args.repeats)  # noqa: B023
            load_s, load_mib = timed(lambda: load_photo(target), args.repeats)  # noqa: B023
            size = target.stat().st_size / 2**20
            rows.append(
                (
                    label,
                    f"{bits}",
                    f"{save_s:.2f} s",
                    f"{load_s:.2f} s",
                    f"{size:.1f} MiB",
                    f"{save_mib:.0f} / {load_mib:.0f} MiB",
                )
            )
    height, width = pixels[8].shape[:2]
    print(f"{width}x{height} ({width * height / 1e6:.1f} MP), median of {args.repeats}")
    header = ("format", "bits", "save", "load", "file", "peak numpy save / load")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
