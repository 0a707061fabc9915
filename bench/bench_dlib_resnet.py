"""The torch port of dlib's face-recognition ResNet against dlib, and what it costs.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/bench_dlib_resnet.py [--faces N]``.
On ``N`` UTKFace validation faces (``../shared/data``) it prints the largest absolute
difference between dlib's descriptors and the port's, for the same chips cut two
ways: dlib's own ``compute_face_descriptor`` path (5-point predictor,
``get_face_chip`` at 150 px, padding 0.25) and Revive's (``IdentityModel.chip_matrix``
+ ``cut_chip``); then the port's forward time per face and the time of
``IdentityFeatureLoss`` forward + backward on a batch of 16 aligned 128 px faces.
A benchmark, not a test: no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.identity import IdentityModel, cut_chip
from training.degrade import bicubic_resize
from training.dlib_reference import dlib_descriptors
from training.dlib_resnet import load_dlib_resnet
from training.identity_loss import DEFAULT_LAYERS, IdentityFeatureLoss
from training.task import to_unit

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


def utkface(n: int, folder: Path) -> list[np.ndarray]:
    names = (folder.parent / "utkface-val.txt").read_text(encoding="utf-8").split()[:n]
    faces = []
    for name in names:
        with Image.open(folder / name) as img:
            faces.append(np.array(img.convert("RGB")))
    return faces


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--data", default=str(SHARED / "faces" / "utkface"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    port = load_dlib_resnet()
    model = IdentityModel.shared()
    faces = utkface(args.faces, Path(args.data))

    chips = [cut_chip(f, model.chip_matrix(f, template="utkface")) for f in faces]
    revive_diff = float(np.abs(port.embed_chips(chips) - model.embed_chips(chips)).max())
    dlib_chips, dlib_ref = dlib_descriptors(faces)
    dlib_diff = float(np.abs(port.embed_chips(dlib_chips) - dlib_ref).max())

    one = np.stack(chips[:1])
    per_face = timed(lambda: port.embed_chips(one), args.repeats)
    batch = np.stack(chips[:16])
    per_face_16 = timed(lambda: port.embed_chips(batch), args.repeats) / len(batch)
    dlib_face = timed(lambda: model.embed_chips(list(one)), args.repeats)

    aligned = to_unit(
        torch.from_numpy(np.stack([bicubic_resize(f, (128, 128)) for f in faces[:16]]))
    )
    print(f"{len(faces)} UTKFace validation faces, {args.threads} thread(s)")
    print("max |descriptor difference|, port vs dlib on the same chips:")
    print(f"  chips of dlib's compute_face_descriptor steps: {dlib_diff:.2e}")
    print(f"  chips of Revive's IdentityModel:               {revive_diff:.2e}")
    print(
        f"port forward: {per_face * 1000:.1f} ms a face alone,"
        f" {per_face_16 * 1000:.1f} ms a face in a batch of 16"
    )
    print(f"dlib forward: {dlib_face * 1000:.1f} ms a face")
    restored = (aligned + 0.05 * torch.randn_like(aligned)).clamp(-1, 1)
    for layers, descriptor in (
        (DEFAULT_LAYERS, 0.0),
        (DEFAULT_LAYERS, 1.0),
        (("level4", "level3"), 0.0),
    ):
        loss = IdentityFeatureLoss(layers, descriptor_weight=descriptor, net=port)
        x = restored.clone().requires_grad_(True)

        def step(loss=loss, x=x) -> None:
            loss(x, aligned).backward()

        seconds = timed(step, args.repeats)
        print(
            f"IdentityFeatureLoss {'+'.join(layers)}{' + descriptor' if descriptor else ''}: "
            f"{seconds:.2f} s forward + backward per batch of 16 (128 px)"
        )


if __name__ == "__main__":
    main()
