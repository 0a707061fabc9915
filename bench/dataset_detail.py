"""How much fine detail do the training faces hold? A round trip through a smaller size.

Run: ``.venv/bin/python bench/dataset_detail.py [--shared ../shared/data] [--count 200]``.

A face that holds detail at its own resolution loses it when halved and enlarged back;
one that was enlarged from a smaller source loses almost nothing. So the PSNR of luma
after a round trip (area down by ``f``, Lanczos back up) says at what resolution a set
of faces really holds detail: the higher the figure, the less there is for a restorer to
learn to draw. It prints the figure for UTKFace (the restorers' training faces, at their
200 px and at the 128 px the restorers train at) and for the high-quality FFHQ and GPEN
faces of ``../shared`` at the same sizes. Nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from training.pack_detail import round_trip_psnr

FACTORS = (2, 3, 4)


def read_gray(path: Path, side: int | None) -> np.ndarray:
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise SystemExit(f"cannot read {path}")
    if side is not None:
        gray = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)
    return gray.astype(np.float32)


def row(label: str, files: list[Path], side: int | None) -> str:
    figures = [[round_trip_psnr(read_gray(f, side), k) for f in files] for k in FACTORS]
    cells = " ".join(f"{np.mean(v):7.2f}" for v in figures)
    return f"{label:34s} {len(files):5d} {cells}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--count", type=int, default=200, help="UTKFace validation faces")
    args = parser.parse_args()
    faces = args.shared / "faces"
    names = (faces / "utkface-val.txt").read_text(encoding="utf-8").split()[: args.count]
    utk = [faces / "utkface" / n for n in names]
    hq = sorted((args.shared / "paired" / "ffhq10").glob("*")) + sorted(
        (args.shared / "paired" / "gpen_val" / "hq").glob("*")
    )
    print("PSNR-Y (dB) after area down by f and Lanczos back: higher = less fine detail")
    print(f"{'faces':34s} {'count':>5s} " + " ".join(f"{'f=' + str(k):>7s}" for k in FACTORS))
    print(row("UTKFace, as stored (200 px)", utk, None))
    print(row("UTKFace at 128 px (training side)", utk, 128))
    print(row("FFHQ + GPEN HQ at 512 px", hq, 512))
    print(row("FFHQ + GPEN HQ at 128 px", hq, 128))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
