"""How much does the network itself sharpen a face, before the photo dilutes it?

Run: ``.venv/bin/python bench/network_alone.py [--weights A B ...] [--real ../shared/data/real]
[--utk ../shared/data/faces] [--count 150]``.

``bench/visible_change.py`` measures the restorer inside whole photos at 2x, where a face
can be far larger than the 128 px the network was trained at. This bench takes the
network alone, on three kinds of aligned face, with no detection, paste or grain:

* ``utk clean``: UTKFace validation faces at 128 px as they are (a restorer should leave
  them alone);
* ``utk x2``: the same validation faces at 128 px, halved and enlarged back with
  Lanczos; the clean face is also measured, so the table shows what a perfect x2
  restoration would score;
* ``real 64->128`` and ``real 128``: the real low-quality aligned faces of
  ``--real`` (``*/cropped_faces``, ``codeformer/gray_faces``) reduced to 64 px and
  enlarged to 128, or reduced to 128;
* ``real 256`` and ``real 256 via 128``: the same faces at 256 px, restored at 256, or at
  128 with the correction enlarged and added (what the pipeline does above its working
  side).

Per row it prints the medians of ``sharp`` (Laplacian std of the output over the
input's) and ``change`` (mean |output - input| of luma, 0-255), and PSNR-Y to the clean
face where there is one. The faces come from ``../shared``: nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.weights import find_weights, load_model

Image = np.ndarray  # H x W x 3 float32 RGB in [0, 1]


def luma(image: Image) -> np.ndarray:
    return (image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114) * 255.0


def laplacian_std(image: Image) -> float:
    return float(cv2.Laplacian(luma(image), cv2.CV_32F).std())


def resize(image: Image, side: int, kind: int = cv2.INTER_AREA) -> Image:
    return np.clip(cv2.resize(image, (side, side), interpolation=kind), 0.0, 1.0)


def read_rgb(path: Path) -> Image:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def restore(net: torch.nn.Module, faces: list[Image], batch: int = 8) -> list[Image]:
    out: list[Image] = []
    for i in range(0, len(faces), batch):
        x = torch.from_numpy(np.stack(faces[i : i + batch]).transpose(0, 3, 1, 2)) * 2 - 1
        y = net(x)  # the restorers return the image alone unless asked for attention
        out += list(((y.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy())
    return out


def psnr_y(out: Image, clean: Image) -> float:
    mse = float(np.mean(((luma(out) - luma(clean)) / 255.0) ** 2))
    return 10 * np.log10(1 / max(mse, 1e-10))


def figures(outs: list[Image], inputs: list[Image], clean: list[Image] | None) -> str:
    pairs = list(zip(outs, inputs, strict=True))
    sharp = np.median([laplacian_std(o) / laplacian_std(i) for o, i in pairs])
    change = np.median([np.abs(luma(o) - luma(i)).mean() for o, i in pairs])
    text = f"{sharp:6.2f} {change:7.2f}"
    if clean is not None:
        psnr = [psnr_y(o, c) for o, c in zip(outs, clean, strict=True)]
        text += f" {np.mean(psnr):7.2f}"
    return text


Case = tuple[list[Image], list[Image] | None, Callable[[torch.nn.Module], list[Image]] | None]


def cases(utk: list[Image], real: list[Image]) -> dict[str, Case]:
    """Each case: the inputs, the clean faces (or None), and how a net restores them."""
    utk_in = [resize(resize(c, 64), 128, cv2.INTER_LANCZOS4) for c in utk]
    real_64 = [resize(resize(r, 64), 128, cv2.INTER_LANCZOS4) for r in real]
    real_128 = [resize(r, 128) for r in real]
    real_256 = [resize(r, 256) for r in real]

    def via_128(net: torch.nn.Module) -> list[Image]:
        small = restore(net, real_128)
        return [
            np.clip(big + cv2.resize(o - s, (256, 256), interpolation=cv2.INTER_CUBIC), 0, 1)
            for big, o, s in zip(real_256, small, real_128, strict=True)
        ]

    return {
        "utk clean": (utk, utk, None),
        "utk x2": (utk_in, utk, None),
        "real 64->128": (real_64, None, None),
        "real 128": (real_128, None, None),
        "real 256": (real_256, None, None),
        "real 256 via 128": (real_256, None, via_128),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="+", default=["revive-restorer-s128"])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--utk", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--count", type=int, default=150, help="UTKFace validation faces")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = (args.utk / "utkface-val.txt").read_text(encoding="utf-8").split()[: args.count]
    utk = [resize(read_rgb(args.utk / "utkface" / n), 128) for n in names]
    real_files = sorted(args.real.glob("*/cropped_faces/*")) + sorted(
        args.real.glob("codeformer/gray_faces/*")
    )
    real = [read_rgb(f) for f in real_files]
    if not utk or not real:
        print(f"no faces under {args.utk} or {args.real}", file=sys.stderr)
        return 1
    table = cases(utk, real)
    print(f"{len(utk)} UTKFace validation faces, {len(real)} real aligned faces; one thread")
    print(f"{'case':18s} {'row':34s} {'sharp':>6s} {'change':>7s} {'PSNR-Y':>7s}")
    for case, (inputs, clean, _) in table.items():
        if clean is not None:
            for label, faces in (("input (a zero correction)", inputs), ("clean face", clean)):
                print(f"{case:18s} {label:34s} {figures(faces, inputs, clean)}")
    nets = {w: load_model(find_weights(w)).eval() for w in args.weights}
    with torch.no_grad():
        for case, (inputs, clean, how) in table.items():
            for label, net in nets.items():
                outs = how(net) if how is not None else restore(net, inputs)
                print(f"{case:18s} {Path(label).name[:34]:34s} {figures(outs, inputs, clean)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
