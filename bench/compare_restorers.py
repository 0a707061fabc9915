"""The restorer issue's fidelity rows: input, zero correction, Lanczos + unsharp mask, models.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/compare_restorers.py --weights NEW
revive-restorer-s128 [--data packs/utk128-val] [--limit 1000] [--no-identity]``.

On the validation faces, for each degradation (``RESTORER_EQ14``, ``RESTORER_OLD_PHOTO``,
bicubic x8, and clean faces given as input) it prints one row per restoration:

* ``input``: the degraded face itself (a zero correction of a residual restorer gives
  exactly this);
* ``usm``: the input sharpened by an unsharp mask whose amount makes its high-frequency
  energy over the input's match the first model's (the cheap way to look sharper);
* each weight set.

Columns: PSNR-Y and SSIM-Y against the clean face; ``hf``, the high-frequency energy
(Laplacian variance) of the output over the clean face's (1.0: as detailed as the
truth; the issue allows 0.8-1.2); and, with dlib installed, the identity cosine to the
clean face. The same seed draws the same damage for every row.
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np
import torch

from engine.weights import find_weights, load_model
from training.data import load_faces
from training.degrade import PRESETS, Degradation, sample_rng
from training.metrics import psnr_y, ssim_y
from training.tasks.sparnet import run_in_batches

SEED = 2024


def lap_var(images: np.ndarray) -> np.ndarray:
    out = []
    for im in images:
        y = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(np.float32)
        out.append(cv2.Laplacian(y, cv2.CV_32F).var())
    return np.asarray(out)


def unsharp(images: np.ndarray, amount: float) -> np.ndarray:
    x = images.astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(i, (0, 0), 1.0) for i in x])
    return np.clip(np.rint(x + amount * (x - blurred)), 0, 255).astype(np.uint8)


def tune_unsharp(lq: np.ndarray, target_ratio: float) -> float:
    """The amount whose mean HF energy over the input's equals ``target_ratio``."""
    base = lap_var(lq).mean()
    lo, hi = 0.0, 6.0
    for _ in range(25):
        mid = (lo + hi) / 2
        ratio = lap_var(unsharp(lq, mid)).mean() / base
        lo, hi = (mid, hi) if ratio < target_ratio else (lo, mid)
    return (lo + hi) / 2


def figures(out: np.ndarray, hq: np.ndarray, identity) -> dict[str, float]:
    row = {
        "psnr": float(np.mean([psnr_y(o, t) for o, t in zip(out, hq, strict=True)])),
        "ssim": float(np.mean([ssim_y(o, t) for o, t in zip(out, hq, strict=True)])),
        "hf": float(lap_var(out).mean() / lap_var(hq).mean()),
    }
    if identity is not None:
        row["identity"] = identity(out, hq)["identity_cos"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", nargs="+", required=True, help="the first is judged")
    parser.add_argument("--data", default="packs/utk128-val")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--no-identity", action="store_true")
    parser.add_argument("--degradations", default="eq14,old_photo,bicubic8x,clean")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    faces = load_faces(args.data, size=128, limit=args.limit).images
    nets = {w: load_model(find_weights(w)).eval() for w in args.weights}
    identity = None
    if not args.no_identity:
        from training.optional_metrics import make_identity

        identity, note = make_identity(None)
        if identity is None:
            print(f"note: {note}")
    print(f"{len(faces)} faces of {args.data}, seed {SEED}")
    for name in args.degradations.split(","):
        if name == "clean":
            lq, hq = faces.copy(), faces
        else:
            deg = (
                Degradation("eq14", PRESETS[name].for_size(128))
                if name in PRESETS
                else Degradation(name)
            )
            pairs = [deg(f, sample_rng(SEED, i)) for i, f in enumerate(faces)]
            lq, hq = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        outs = {w: run_in_batches(net, lq, torch.device("cpu")) for w, net in nets.items()}
        first = outs[args.weights[0]]
        ratio = float(lap_var(first).mean() / lap_var(lq).mean())
        amount = tune_unsharp(lq, ratio)
        rows = {"input": lq, f"usm {amount:.2f}": unsharp(lq, amount), **outs}
        print(f"\n{name}:")
        print(f"{'':28} {'PSNR-Y':>7} {'SSIM-Y':>7} {'hf':>6} {'identity':>9}")
        for label, out in rows.items():
            r = figures(out, hq, identity)
            ident = f"{r['identity']:9.4f}" if "identity" in r else f"{'-':>9}"
            print(f"{label[:28]:28} {r['psnr']:7.2f} {r['ssim']:7.4f} {r['hf']:6.2f} {ident}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
