"""Does the restorer visibly change real old photos? Figures per face, against Lanczos.

Run: ``.venv/bin/python bench/visible_change.py [--weights A B ...] [--real ../shared/data/real]
[--scale 2] [--grid runs/visible/grid.png] [--blind runs/visible/blind]``.

Every photo under ``--real`` is restored at ``--scale`` by the real pipeline with each
weight set. Inside every face box of the result it measures:

* ``change``: the mean |restored - Lanczos| of luma (0-255), Lanczos being the same
  photo enlarged without restoration (the pipeline's own base image);
* ``sharp``: the standard deviation of the Laplacian of the restored luma over that of
  Lanczos (1.0: no sharper than an enlargement);
* ``likeness``: the app's likeness figure of the face (dlib cosine to the original).

It prints them per photo and per face-size bucket (the face box in the photo: under 64
px, 64 to 128, over 128) with medians, and the same for Lanczos plus an unsharp mask
whose amount is tuned so its median ``sharp`` equals the first weight set's (the cheap
way to look sharper, which a restorer must beat on fidelity). ``--grid`` writes every
face side by side (Lanczos | each weight set | unsharp mask); ``--blind`` writes shuffled,
unlabelled A/B pairs of the first two weight sets and of the first against the unsharp
mask, with the key in a separate file. Both show shared faces: they go to ``runs/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from engine.errors import ReviveError
from engine.io import collect_photos, load_photo
from engine.pipeline import RestoreOptions, Restorer
from engine.pixels import to_uint8

BUCKETS = (("<64", 0, 64), ("64-128", 64, 128), (">128", 128, 10**9))
CELL = 160


def luma(image: np.ndarray) -> np.ndarray:
    rgb = to_uint8(image)[..., :3].astype(np.float32)
    if rgb.ndim == 2 or rgb.shape[-1] == 1:
        return rgb.reshape(rgb.shape[:2])
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def laplacian_std(y: np.ndarray) -> float:
    return float(cv2.Laplacian(y, cv2.CV_32F, ksize=3).std())


def unsharp(y: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    return y + amount * (y - cv2.GaussianBlur(y, (0, 0), sigma))


@dataclass
class FaceFigures:
    photo: str
    side: float  # face box side in the input photo, px
    change: dict[str, float] = field(default_factory=dict)
    sharp: dict[str, float] = field(default_factory=dict)
    likeness: dict[str, float] = field(default_factory=dict)
    crops: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def box_region(box: np.ndarray, scale: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (np.asarray(box, np.float64) * scale).round().astype(int)
    h, w = shape[:2]
    return slice(max(0, y0), min(h, y1)), slice(max(0, x0), min(w, x1))


def square(image: np.ndarray, box: np.ndarray, scale: int) -> np.ndarray:
    """A square of 1.3 box sides around the face, at CELL px (for the grid)."""
    x0, y0, x1, y1 = np.asarray(box, np.float64) * scale
    side = 1.3 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    f = CELL / side
    m = np.array([[f, 0, CELL / 2 - cx * f], [0, f, CELL / 2 - cy * f]])
    img = to_uint8(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    flags = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(img[..., :3], m, (CELL, CELL), flags=flags,
                          borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip


def photo_label(path: Path, root: Path) -> str:
    """The photo's path under ``root``: two demo folders both hold a ``whole_imgs/00.jpg``."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def measure(weights: list[str], photos: list[Path], scale: int, root: Path) -> list[FaceFigures]:
    faces: dict[tuple[str, int], FaceFigures] = {}
    for name in weights:
        restorer = Restorer(RestoreOptions.of(model=name, scale=scale, identity=True))
        for path in photos:
            try:
                result = restorer.restore(load_photo(path))
            except ReviveError as err:
                print(f"{name}: {path.name}: {err}")
                continue
            assert result.base is not None
            base_y, out_y = luma(result.base), luma(result.image)
            for face in result.faces:
                key = (photo_label(path, root), face.index)
                x0, y0, x1, y1 = face.box
                fig = faces.setdefault(key, FaceFigures(key[0], float(max(x1 - x0, y1 - y0))))
                rows, cols = box_region(face.box, result.scale, base_y.shape)
                b, o = base_y[rows, cols], out_y[rows, cols]
                if b.size == 0:
                    continue
                fig.change[name] = float(np.abs(o - b).mean())
                fig.sharp[name] = laplacian_std(o) / max(laplacian_std(b), 1e-6)
                if face.identity is not None:
                    fig.likeness[name] = float(face.identity.cosine)
                fig.crops.setdefault("lanczos", square(result.base, face.box, result.scale))
                fig.crops[name] = square(result.image, face.box, result.scale)
                fig.crops.setdefault("_base_y", b)
    return list(faces.values())


def tune_unsharp(faces: list[FaceFigures], target: float) -> float:
    """The unsharp amount whose median sharpness ratio over the faces equals ``target``."""
    lo, hi = 0.0, 8.0
    for _ in range(30):
        mid = (lo + hi) / 2
        ratios = [
            laplacian_std(unsharp(f.crops["_base_y"], mid))
            / max(laplacian_std(f.crops["_base_y"]), 1e-6)
            for f in faces
        ]
        lo, hi = (mid, hi) if np.median(ratios) < target else (lo, mid)
    return (lo + hi) / 2


def add_unsharp(faces: list[FaceFigures], amount: float) -> str:
    name = f"lanczos+usm {amount:.2f}"
    for f in faces:
        b = f.crops["_base_y"]
        u = np.clip(unsharp(b, amount), 0, 255)
        f.change[name] = float(np.abs(u - b).mean())
        f.sharp[name] = laplacian_std(u) / max(laplacian_std(b), 1e-6)
        lanczos = f.crops["lanczos"].astype(np.float32)
        blurred = cv2.GaussianBlur(lanczos, (0, 0), 1.0 * CELL / max(b.shape))
        f.crops[name] = np.clip(lanczos + amount * (lanczos - blurred), 0, 255).astype(np.uint8)
    return name


def table(faces: list[FaceFigures], rows: list[str]) -> str:
    lines = [
        f"{'':24} {'bucket':>7} {'faces':>5} {'change':>7} {'sharp':>6} "
        f"{'likeness':>8} {'min like':>8}"
    ]
    for name in rows:
        for label, lo, hi in (*BUCKETS, ("all", 0, 10**9)):
            group = [f for f in faces if lo <= f.side < hi and name in f.change]
            if not group:
                continue
            like = [f.likeness[name] for f in group if name in f.likeness]
            lines.append(
                f"{name[:24]:24} {label:>7} {len(group):5d} "
                f"{np.median([f.change[name] for f in group]):7.2f} "
                f"{np.median([f.sharp[name] for f in group]):6.2f} "
                + (f"{np.median(like):8.3f} {min(like):8.3f}" if like else f"{'-':>8} {'-':>8}")
            )
    return "\n".join(lines)


def per_photo(faces: list[FaceFigures], rows: list[str]) -> str:
    lines = [f"{'photo':44} {'faces':>5} " + " ".join(f"{r[:18]:>18}" for r in rows)]
    for photo in sorted({f.photo for f in faces}):
        group = [f for f in faces if f.photo == photo]
        cells = []
        for r in rows:
            ch = [f.change[r] for f in group if r in f.change]
            sh = [f.sharp[r] for f in group if r in f.sharp]
            cells.append(f"{np.median(ch):7.2f} / {np.median(sh):5.2f}" if ch else "-")
        lines.append(f"{photo[:44]:44} {len(group):5d} " + " ".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


def write_grid(faces: list[FaceFigures], columns: list[str], out: Path) -> None:
    rows = []
    for f in faces:
        cells = [f.crops[c] for c in columns if c in f.crops]
        if len(cells) == len(columns):
            rows.append(
                np.concatenate(
                    [np.pad(c, ((2, 2), (2, 2), (0, 0)), constant_values=255) for c in cells], 1
                )
            )
    per_block = 12
    blocks = [np.concatenate(rows[i : i + per_block], 0) for i in range(0, len(rows), per_block)]
    height = max(b.shape[0] for b in blocks)
    blocks = [
        np.pad(b, ((0, height - b.shape[0]), (0, 12), (0, 0)), constant_values=255) for b in blocks
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(blocks, 1), cv2.COLOR_RGB2BGR))
    print(f"grid of {len(rows)} faces ({' | '.join(columns)}) -> {out}")


def write_blind(
    faces: list[FaceFigures], pairs: list[tuple[str, str]], folder: Path, seed: int = 5
) -> None:
    """Shuffled A/B pairs; the key (which side is which) goes to key.json, apart."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    key = {}
    items = [(f, a, b) for f in faces for a, b in pairs if a in f.crops and b in f.crops]
    order = rng.permutation(len(items))
    for n, i in enumerate(order):
        f, a, b = items[i]
        left, right = (a, b) if rng.random() < 0.5 else (b, a)
        big = [
            cv2.resize(f.crops[x], (2 * CELL, 2 * CELL), interpolation=cv2.INTER_NEAREST)
            for x in (left, right)
        ]
        sep = np.full((2 * CELL, 8, 3), 255, np.uint8)
        cv2.imwrite(
            str(folder / f"pair-{n:03d}.png"),
            cv2.cvtColor(np.concatenate([big[0], sep, big[1]], 1), cv2.COLOR_RGB2BGR),
        )
        key[f"pair-{n:03d}"] = {"A": left, "B": right, "photo": f.photo}
    (folder.parent / f"{folder.name}-key.json").write_text(json.dumps(key, indent=1))
    print(
        f"{len(items)} blind pairs -> {folder}/ "
        f"(key: {folder.parent / (folder.name + '-key.json')})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--weights", nargs="+", default=["auto"], help="weight sets; the first is judged"
    )
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--grid", help="write the face grid here (runs/...)")
    parser.add_argument("--blind", help="write shuffled A/B pairs into this folder (runs/...)")
    parser.add_argument("--json", help="per-face figures as JSON")
    args = parser.parse_args()
    photos = collect_photos([args.real], recursive=True)
    faces = measure(args.weights, photos, args.scale, args.real)
    if not faces:
        print("no faces restored")
        return 1
    first = args.weights[0]
    target = float(np.median([f.sharp[first] for f in faces if first in f.sharp]))
    usm = add_unsharp(faces, tune_unsharp(faces, target))
    rows = [*args.weights, usm]
    print(f"{len(photos)} photos, {len(faces)} faces at {args.scale}x; change = mean |restored - "
          f"Lanczos| of luma in the face box, sharp = Laplacian std over Lanczos'\n")  # fmt: skip
    print(per_photo(faces, rows) + "\n")
    print(table(faces, rows))
    if args.grid:
        write_grid(faces, ["lanczos", *args.weights, usm], Path(args.grid))
    if args.blind and len(args.weights) >= 2:
        write_blind(faces, [(first, args.weights[1]), (first, usm)], Path(args.blind))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([
            {"photo": f.photo, "side": f.side, "change": f.change, "sharp": f.sharp,
             "likeness": f.likeness}
            for f in faces], indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
