"""At which side should a 128 px blind restorer work on a face that is big in the result?

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/working_side.py [--weights NAME ...]
[--faces ../shared/data/paired]``.

Clean 1024 px faces (FFHQ and GPEN samples) make the truth at the result's side
(256 or 384 px); the photo is the same face at half that side, softened (Gaussian 0.8
px) and saved as JPEG (quality 75), then enlarged 2x with Lanczos: what the pipeline
holds at scale 2 before any network. Each way of restoring is scored against the
truth (PSNR-Y) and by its sharpness (Laplacian std over Lanczos'):

* ``128 + correction``: the face shrunk to 128 px, restored, and the correction
  enlarged onto the face (the pipeline before the working side);
* ``256 + correction``: the same at a working side of 256 px (``WORK_MAX_SIDE``);
* ``full side``: the network run on the whole face at the result's side.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.weights import find_weights, load_model
from training.metrics import psnr_y

WAYS = ("lanczos", "128 + correction", "256 + correction", "full side")


def run(net: torch.nn.Module, image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        y = net(x)
    y = y[0] if isinstance(y, tuple) else y
    return (y[0].permute(1, 2, 0).numpy() + 1) * 127.5


def sharpness(image: np.ndarray) -> float:
    y = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(y.astype(np.float32), cv2.CV_32F).std())


def photo_of(hq: np.ndarray, side: int) -> np.ndarray:
    half = cv2.resize(hq, (side // 2, side // 2), interpolation=cv2.INTER_AREA)
    half = cv2.GaussianBlur(half, (0, 0), 0.8)
    ok, data = cv2.imencode(".jpg", half[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    half = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return cv2.resize(half, (side, side), interpolation=cv2.INTER_LANCZOS4)


def restore(net: torch.nn.Module, base: np.ndarray, way: str) -> np.ndarray:
    side = base.shape[0]
    if way == "lanczos":
        return base.astype(np.float32)
    if way == "full side":
        return run(net, base)
    work = 128 if way.startswith("128") else 256
    small = cv2.resize(base, (work, work), interpolation=cv2.INTER_AREA)
    correction = run(net, small) - small.astype(np.float32)
    return base + cv2.resize(correction, (side, side), interpolation=cv2.INTER_CUBIC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", nargs="+", default=["revive-restorer-s128"])
    parser.add_argument("--faces", default="../shared/data/paired")
    args = parser.parse_args()
    files = sorted(Path(args.faces).glob("ffhq10/*")) + sorted(
        Path(args.faces).glob("gpen_val/hq/*")
    )
    faces = [cv2.imread(str(f))[..., ::-1] for f in files]
    print(f"{len(faces)} clean faces; PSNR-Y against the truth / sharpness over Lanczos")
    print(f"{'weights':28} {'way':18} {'256 px result':>16} {'384 px result':>16}")
    for name in args.weights:
        net = load_model(find_weights(name)).eval()
        for way in WAYS:
            cells = []
            for side in (256, 384):
                scores, ratios = [], []
                for hq in faces:
                    truth = cv2.resize(hq, (side, side), interpolation=cv2.INTER_AREA)
                    base = photo_of(hq, side)
                    out = np.clip(np.rint(restore(net, base, way)), 0, 255).astype(np.uint8)
                    scores.append(psnr_y(out, truth))
                    ratios.append(sharpness(out) / sharpness(base.astype(np.float32)))
                cells.append(f"{np.mean(scores):6.2f} / {np.median(ratios):4.2f}")
            print(f"{Path(name).name[:28]:28} {way:18} {cells[0]:>16} {cells[1]:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
