"""The result grid of a lease: real photos' faces before and after, one row per face.

``python -m tools.gpu_lease.grid --weights NAME [NAME ...] --out runs/lease-N/real.png
[PHOTO | FOLDER ...]`` (default: ``../shared/data/real``, its photos and face crops).
Each face is found, aligned and restored by the app's own pipeline
(``engine.pipeline.Restorer``: the crops it feeds the network and gets back), once
per weight set, so a row reads: the network's input, then each set's output, every
picture scaled to ``--cell`` pixels. Faces from many photos, at most ``--faces`` of them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def photos_of(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in PHOTO_SUFFIXES)
        elif p.is_file():
            found.append(p)
    return found


def main(argv: list[str] | None = None) -> int:
    from engine.errors import ReviveError
    from engine.options import RestoreOptions
    from engine.pipeline import Restorer
    from training.loop import sample_grid, save_png

    parser = argparse.ArgumentParser(
        prog="python -m tools.gpu_lease.grid",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("photos", nargs="*", default=["../shared/data/real"])
    parser.add_argument("--weights", nargs="+", required=True, help="weight set names")
    parser.add_argument("--out", required=True, help="the PNG grid")
    parser.add_argument("--faces", type=int, default=24, help="at most this many rows")
    parser.add_argument("--per-photo", type=int, default=2, help="faces taken from a photo")
    parser.add_argument("--cell", type=int, default=160, help="side of every picture (px)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    restorers = [
        Restorer(
            RestoreOptions.of(
                model=w, device=args.device, identity=False, masks=False, allow_no_faces=True
            )
        )
        for w in args.weights
    ]
    rows: list[list[np.ndarray]] = []
    for photo in photos_of(args.photos):
        if len(rows) >= args.faces:
            break
        try:
            results = [r.restore(photo) for r in restorers]
        except ReviveError as err:
            print(f"{photo.name}: {err}")
            continue
        faces = sorted(results[0].faces, key=lambda f: -f.crop_before.shape[0])
        for face in faces[: args.per_photo]:
            side = args.cell
            row = [_fit(face.crop_before, side), _fit(face.crop_after, side)]
            for other in results[1:]:
                match = [f for f in other.faces if f.index == face.index]
                if match:
                    row.append(_fit(match[0].crop_after, side))
            rows.append(row)
        print(f"{photo.name}: {len(results[0].faces)} face(s)")
    if not rows:
        print("no faces found")
        return 1
    save_png(Path(args.out), sample_grid(rows[: args.faces]))
    print(
        f"wrote {args.out}: {min(len(rows), args.faces)} faces; columns: input, "
        + ", ".join(args.weights)
    )
    return 0


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    if image.shape[0] == side:
        return image
    return np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC))


if __name__ == "__main__":
    sys.exit(main())
