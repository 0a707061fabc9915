"""Which model restores a small face better, by the face's size in the photo?

Run: ``.venv/bin/python bench/tiny_face_threshold.py --tiny TINY_WEIGHTS [--main MAIN_WEIGHTS]
[--utk ../shared/data/faces] [--count 200]``.

Auto sends a face to the tiny-face x8 model when its eyes are closer than
``PhotoOptions.tiny_face_eye_distance``, and to the default restorer otherwise. This
bench chooses that threshold by measurement. Each UTKFace validation face (clean,
aligned at 128 px) is shrunk (area) to a photo of side ``s`` px; each model then gets it
as the app's crops give it (``LowResAlignedCrop`` for x8: brought to 16 px and enlarged
x8 with PIL's bicubic; ``AlignedCrop`` for the default restorer: enlarged to 128 px),
with pixel centres kept in place, and its output is compared with the clean face. It
prints, per size, the eye distance in the photo, PSNR-Y of bicubic and each model's gain
over it. The first size
where the default restorer gains more than the tiny model is where Auto should switch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from engine.faces.align import TEMPLATES
from engine.weights import default_weights, find_weights, load_model

SIZES = (12, 14, 16, 17, 18, 19, 20, 24, 28, 32, 40, 48, 64)
TEMPLATE = "utkface"
SIDE = 128


def luma(image: np.ndarray) -> np.ndarray:
    return image[..., 0] * 65.481 + image[..., 1] * 128.553 + image[..., 2] * 24.966 + 16.0


def psnr_y(out: np.ndarray, clean: np.ndarray) -> float:
    mse = float(np.mean((luma(out) - luma(clean)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def pil_resize(image: np.ndarray, side: int) -> np.ndarray:
    """PIL's bicubic (antialiased when shrinking), as the tiny-face crops and training use."""
    pixels = Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8))
    out = pixels.resize((side, side), Image.Resampling.BICUBIC)
    return np.asarray(out).astype(np.float32) / 255.0


def inputs(clean: np.ndarray, side: int) -> dict[str, np.ndarray]:
    """The face as a photo of ``side`` px, and what each route feeds its network."""
    photo = cv2.resize(clean, (side, side), interpolation=cv2.INTER_AREA)
    return {
        "bicubic": pil_resize(photo, SIDE),
        "tiny": pil_resize(pil_resize(photo, SIDE // 8), SIDE),  # aligned at 16 px, x8
        "main": pil_resize(photo, SIDE),  # aligned at 128 px
    }


def run(net: torch.nn.Module, crops: list[np.ndarray]) -> list[np.ndarray]:
    x = torch.from_numpy(np.stack(crops).transpose(0, 3, 1, 2).copy()) * 2 - 1
    with torch.no_grad():
        y = net(x)
    return list(((y.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", required=True, help="the tiny-face x8 weight set")
    parser.add_argument("--main", default=None, help="the default restorer (default: shipped)")
    parser.add_argument("--utk", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = (args.utk / "utkface-val.txt").read_text(encoding="utf-8").split()[: args.count]
    clean = []
    for n in names:
        bgr = cv2.imread(str(args.utk / "utkface" / n), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        clean.append(cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA))
    tiny_info = find_weights(args.tiny)
    main_info = find_weights(args.main) if args.main else default_weights("restorer")
    assert main_info is not None, "no default restorer is installed"
    tiny, main_net = load_model(tiny_info).eval(), load_model(main_info).eval()
    eye_ratio = float(np.linalg.norm(TEMPLATES[TEMPLATE][1] - TEMPLATES[TEMPLATE][0]))
    print(f"{len(clean)} UTKFace validation faces; PSNR-Y against the clean 128 px face")
    print(f"tiny: {tiny_info.name}   default: {main_info.name}")
    header = ("face px", "eyes px", "bicubic", "tiny gain", "default gain")
    print(" ".join(f"{h:>12s}" for h in header))
    for side in SIZES:
        rows: dict[str, list[float]] = {"bicubic": [], "tiny": [], "main": []}
        for start in range(0, len(clean), 25):
            batch = clean[start : start + 25]
            made = [inputs(c, side) for c in batch]
            rows["bicubic"] += [psnr_y(m["bicubic"], c) for m, c in zip(made, batch, strict=True)]
            for key, net in (("tiny", tiny), ("main", main_net)):
                outs = run(net, [m[key] for m in made])
                rows[key] += [psnr_y(o, c) for o, c in zip(outs, batch, strict=True)]
        base = float(np.mean(rows["bicubic"]))
        tiny_gain = float(np.mean(rows["tiny"])) - base
        main_gain = float(np.mean(rows["main"])) - base
        eyes = eye_ratio * side
        print(f"{side:12d} {eyes:12.1f} {base:12.2f} {tiny_gain:+12.2f} {main_gain:+12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
